# AES block cipher backend (ECB, many blocks per call).
#
# new(key) picks MicroPython's cryptolib (C, mbedTLS; hardware AES on most
# ESP32s) when it can be imported, otherwise the pure-Python AES of
# dlms_pure/aes.py (imported only then: a board never loads it).
#
# Both backends offer the same object:
#   encrypt_into(src, dst)  all 16-byte blocks of src, ECB, in one call;
#                           dst has the same length and may be src
#   decrypt_into(src, dst)  the inverse (used by AES key wrap)
#   encrypt_block(b)        one 16-byte block -> bytes
# Keys are 16 or 32 bytes (cryptolib accepts no other size).

from dlms._compat import const

try:
    import cryptolib as _cryptolib
except ImportError:
    _cryptolib = None

_ECB = const(1)  # cryptolib mode number for ECB (named constants are not always built in)

BACKEND = 'cryptolib' if _cryptolib is not None else 'python'


class AesError(ValueError):
    pass


class _CryptolibAes:
    # cryptolib objects work in one direction only; ECB keeps no state, so
    # one encryptor is cached and a decryptor is made on first use.

    def __init__(self, key):
        self._key = bytes(key)
        self._e = _cryptolib.aes(self._key, _ECB)
        self._d = None

    def encrypt_block(self, b):
        if len(b) != 16:
            raise AesError('block length')
        return self._e.encrypt(b)

    def encrypt_into(self, src, dst):
        if check(src, dst):
            self._e.encrypt(src, dst)

    def encrypter(self):
        # cryptolib's own method: no Python frame between the caller and the (hardware) AES
        return self._e.encrypt

    def decrypt_into(self, src, dst):
        if check(src, dst):
            d = self._d
            if d is None:
                d = self._d = _cryptolib.aes(self._key, _ECB)
            d.decrypt(src, dst)


def check(src, dst):
    try:
        n = len(src)
        m = len(dst)
    except TypeError:
        raise AesError('buffer expected')
    if n & 15:
        raise AesError('length not a multiple of 16')
    if m != n:
        raise AesError('dst length differs from src')
    return n


def new(key, backend=None):
    """Return an AES ECB object for a 16- or 32-byte key.

    backend: None (best available), 'cryptolib' or 'python'."""
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise AesError('key must be bytes')
    kl = len(key)
    if kl != 16 and kl != 32:
        raise AesError('key length')
    if backend is None:
        backend = BACKEND
    if backend == 'python':
        from dlms_pure.aes import PyAes
        return PyAes(key)
    if backend == 'cryptolib':
        if _cryptolib is None:
            raise AesError('cryptolib not available')
        return _CryptolibAes(key)
    raise AesError('unknown backend')
