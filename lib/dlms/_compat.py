# Runtime shims so one source runs on MicroPython and CPython. Owns nothing else.
try:
    from micropython import const  # noqa: F401
except ImportError:  # CPython
    def const(x):
        return x
