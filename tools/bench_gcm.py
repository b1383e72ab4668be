# Time AES-GCM encryption (authentication and encryption, 17-byte AAD as in
# suite 0: SC || AK) of a 64-byte and a 1024-byte APDU.
#
#   MICROPYPATH=lib micropython tools/bench_gcm.py
#   PYTHONPATH=lib python tools/bench_gcm.py
#
# Prints one line per figure: gcm <runtime> <backend> <size> <microseconds per op>
# (under CPython also runtime 'cryptography' when that package is importable).

import sys
import time

from dlms import aes, gcm

_MICRO = sys.implementation.name == 'micropython'

if _MICRO:
    def _now():
        return time.ticks_us()

    def _elapsed_us(t0):
        return time.ticks_diff(time.ticks_us(), t0)
else:
    def _now():
        return time.perf_counter()

    def _elapsed_us(t0):
        return (time.perf_counter() - t0) * 1e6


_KEY = bytes(range(16))
_IV = b'\x4d\x4d\x4d\x00\x00\xbc\x61\x4e\x01\x23\x45\x67'
_AAD = b'\x30' + bytes(range(0xD0, 0xE0))
_SIZES = ((64, '64B'), (1024, '1K'))


def _time(fn, pt, budget_us):
    fn(_IV, pt, _AAD)  # warm up
    n = 0
    t0 = _now()
    while True:
        fn(_IV, pt, _AAD)
        n += 1
        el = _elapsed_us(t0)
        if el >= budget_us and n >= 5:
            return el / n


def _line(runtime, backend, label, us):
    print('gcm %s %s %s %.1f' % (runtime, backend, label, us))


def main():
    runtime = sys.implementation.name
    budget = 300000 if _MICRO else 500000
    backends = ['python']
    if aes.BACKEND == 'cryptolib':
        backends.insert(0, 'cryptolib')
    for be in backends:
        g = gcm.Gcm(_KEY, be)
        name = be if gcm.ACCEL == 'python' else be + '+' + gcm.ACCEL
        for size, label in _SIZES:
            _line(runtime, name, label, _time(g.encrypt, bytes(size), budget))
    if not _MICRO:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            return
        c = AESGCM(_KEY)
        for size, label in _SIZES:
            _line('cryptography', 'openssl', label, _time(c.encrypt, bytes(size), budget))


main()
