# HMAC_DRBG (NIST SP 800-90A rev. 1, section 10.1.2) over SHA-256, no prediction resistance.
# Where the meter gets anything a client must not predict (HLS challenges). Sans-IO: entropy,
# nonce and personalization are passed in; seeding policy (os.urandom + provisioned seed + the
# persisted forward seed) lives in dlms.keystore.
import hashlib
from dlms._compat import const

_OUTLEN = const(32)
_BLOCK = const(64)
_MAX_REQUEST = const(65536)    # 2^19 bits per generate call
_RESEED_INTERVAL = 1 << 48


class DrbgError(ValueError):
    pass


def _xor_pad(key, pad):
    out = bytearray(_BLOCK)
    for i in range(len(key)):
        out[i] = key[i] ^ pad
    for i in range(len(key), _BLOCK):
        out[i] = pad
    return out


def hmac_sha256(key, data):
    """HMAC-SHA-256 (RFC 2104) over hashlib.sha256 (no hmac module on the boards)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner = hashlib.sha256(_xor_pad(key, 0x36))
    inner.update(data)
    outer = hashlib.sha256(_xor_pad(key, 0x5C))
    outer.update(inner.digest())
    return outer.digest()


class HmacDrbg:
    """instantiate(entropy, nonce, personalization); generate(n) -> n bytes; reseed(entropy)."""

    def __init__(self, entropy, nonce=b'', personalization=b''):
        if len(entropy) < 32:
            raise DrbgError('at least 256 bits of entropy input')
        self._k = bytes(_OUTLEN)
        self._v = b'\x01' * _OUTLEN
        self._update(bytes(entropy) + bytes(nonce) + bytes(personalization))
        self._count = 1

    def _update(self, provided):
        self._k = hmac_sha256(self._k, self._v + b'\x00' + provided)
        self._v = hmac_sha256(self._k, self._v)
        if provided:
            self._k = hmac_sha256(self._k, self._v + b'\x01' + provided)
            self._v = hmac_sha256(self._k, self._v)

    def reseed(self, entropy, additional=b''):
        if len(entropy) < 32:
            raise DrbgError('at least 256 bits of entropy input')
        self._update(bytes(entropy) + bytes(additional))
        self._count = 1

    def generate(self, n, additional=b''):
        if n < 0 or n > _MAX_REQUEST:
            raise DrbgError('request size')
        if self._count > _RESEED_INTERVAL:
            raise DrbgError('reseed required')
        additional = bytes(additional)
        if additional:
            self._update(additional)
        out = bytearray()
        while len(out) < n:
            self._v = hmac_sha256(self._k, self._v)
            out.extend(self._v)
        self._update(additional)
        self._count += 1
        return bytes(out[:n])

    def __call__(self, n):
        return self.generate(n)

    def __repr__(self):  # never show the state
        return '<HmacDrbg>'
