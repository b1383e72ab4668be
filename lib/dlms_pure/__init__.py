# Pure-Python fallbacks of dlms for runtimes without cryptolib or the viper emitter (CPython,
# some MicroPython builds): the AES block cipher and the plain GHASH loops. The boards do not get
# this package (their firmware has both); `make mpy BOARD=... WITH=pure` adds it.
