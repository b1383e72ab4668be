# AES key wrap (RFC 3394) with the default initial value A6A6A6A6A6A6A6A6: how key_transfer
# carries a key under the master key (KEK). Sans-IO; the AES block cipher comes from dlms.aes.
# An unwrap whose integrity check fails raises KeyWrapError and returns nothing of the key.
from dlms._compat import const
from dlms import aes
from dlms.ct import equal as ct_equal

_IV = b'\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6'
_ROUNDS = const(6)


class KeyWrapError(ValueError):
    pass


def _cipher(kek):
    if len(kek) != 16 and len(kek) != 32:
        raise KeyWrapError('KEK must be 16 or 32 bytes')
    return aes.new(bytes(kek))


def _xor_t(buf, t):
    # A ^= t, t as a 64-bit big-endian integer (t is small: at most 6 * n)
    i = 7
    while t and i >= 0:
        buf[i] ^= t & 0xFF
        t >>= 8
        i -= 1


def wrap(kek, key):
    """Wrap `key` (a multiple of 8 bytes, at least 16) under `kek`; returns len(key) + 8 bytes."""
    n = len(key) >> 3
    if len(key) & 7 or n < 2:
        raise KeyWrapError('key data must be a multiple of 8 bytes, at least 16')
    c = _cipher(kek)
    r = bytearray(key)
    b = bytearray(16)
    b[0:8] = _IV
    for j in range(_ROUNDS):
        for i in range(n):
            p = i << 3
            b[8:16] = r[p:p + 8]
            c.encrypt_into(b, b)
            _xor_t(b, n * j + i + 1)
            r[p:p + 8] = b[8:16]
    return bytes(b[0:8]) + bytes(r)


def unwrap(kek, wrapped):
    """Inverse of wrap; raises KeyWrapError when the integrity check fails."""
    n = (len(wrapped) >> 3) - 1
    if len(wrapped) & 7 or n < 2:
        raise KeyWrapError('wrapped key must be a multiple of 8 bytes, at least 24')
    c = _cipher(kek)
    r = bytearray(wrapped[8:])
    b = bytearray(16)
    b[0:8] = wrapped[0:8]
    for j in range(_ROUNDS - 1, -1, -1):
        for i in range(n - 1, -1, -1):
            p = i << 3
            _xor_t(b, n * j + i + 1)
            b[8:16] = r[p:p + 8]
            c.decrypt_into(b, b)
            r[p:p + 8] = b[8:16]
    if not ct_equal(bytes(b[0:8]), _IV):
        for k in range(len(r)):
            r[k] = 0
        raise KeyWrapError('integrity check failed')
    return bytes(r)
