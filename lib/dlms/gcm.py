# AES-GCM / GMAC (NIST SP 800-38D) with a 96-bit IV, for DLMS security suite 0.
#
# GHASH uses Shoup's 4-bit table method: per key, the 16 multiples i*H
# (i a 4-bit value) are precomputed as four 32-bit words each, plus a shared
# 16-entry reduction table.  A block then costs 32 table steps of word shifts
# and XORs; no 128-bit integers are used.
#
# On MicroPython the inner loops (GHASH, counter blocks, XOR) run as viper
# functions working on machine words; elsewhere (CPython) the same algorithm
# runs in plain Python.  Both give identical results.  The viper words are
# 64 bits wide on the unix port, so the code never lets a value exceed 32 bits
# (no left shift that could overflow), which makes it behave the same on
# 32-bit boards.
#
# The keystream for a message (E(J0) followed by all counter blocks) is built
# in one buffer and encrypted with a single call to the AES backend.

import sys

from dlms import aes as _aes
from dlms._compat import const


class GcmError(ValueError):
    pass


_TAG_MIN = const(12)


# ---------------------------------------------------------------------------
# Shared reduction table: when 4 bits b (value 0..15) are shifted out of the
# low end of Z, the polynomial 0xE1 << 120 folded in for each bit lands, after
# the remaining shifts, in the top 16 bits.  Stored already shifted into the
# top 32-bit word (<< 16).

def _make_r4():
    r = []
    for rem in range(16):
        v = 0
        for k in range(4):
            if rem & (1 << k):
                v ^= 0xE100 >> (3 - k)
        r.append(v << 16)
    return r


_R4 = _make_r4()


def _make_table(h):
    # h: 16 bytes (H = E_K(0^128)).  Returns a list of 64 words: entry i
    # (words 4i..4i+3, most significant first) is i*H in GCM's bit order,
    # where nibble bit 8 stands for x^0, 4 for x^1, 2 for x^2, 1 for x^3.
    w0 = (h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]
    w1 = (h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]
    w2 = (h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11]
    w3 = (h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15]
    m = [0] * 64
    i = 8
    while i:
        p = 4 * i
        m[p] = w0
        m[p + 1] = w1
        m[p + 2] = w2
        m[p + 3] = w3
        # multiply by x: shift right by one bit, reduce if a bit fell off
        lsb = w3 & 1
        w3 = (w3 >> 1) | ((w2 & 1) << 31)
        w2 = (w2 >> 1) | ((w1 & 1) << 31)
        w1 = (w1 >> 1) | ((w0 & 1) << 31)
        w0 = w0 >> 1
        if lsb:
            w0 ^= 0xE1000000
        i >>= 1
    for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
        hi = 8
        while not (i & hi):
            hi >>= 1
        a = 4 * hi
        b = 4 * (i ^ hi)
        p = 4 * i
        for k in range(4):
            m[p + k] = m[a + k] ^ m[b + k]
    return m


# ---------------------------------------------------------------------------
# Plain-Python inner loops (CPython, and reference results on MicroPython).

def _ghash_py(st, tab, data, off, n):
    # Z (in st, 16 bytes) <- GHASH update over data[off:off+n], the last
    # partial block padded with zeros.  tab: list of 80 words (M then R4).
    z0 = (st[0] << 24) | (st[1] << 16) | (st[2] << 8) | st[3]
    z1 = (st[4] << 24) | (st[5] << 16) | (st[6] << 8) | st[7]
    z2 = (st[8] << 24) | (st[9] << 16) | (st[10] << 8) | st[11]
    z3 = (st[12] << 24) | (st[13] << 16) | (st[14] << 8) | st[15]
    x = bytearray(16)
    end = off + n
    p = off
    while p < end:
        q = end - p
        if q > 16:
            q = 16
        for i in range(q):
            x[i] = data[p + i]
        for i in range(q, 16):
            x[i] = 0
        x[0] ^= z0 >> 24
        x[1] ^= (z0 >> 16) & 0xFF
        x[2] ^= (z0 >> 8) & 0xFF
        x[3] ^= z0 & 0xFF
        x[4] ^= z1 >> 24
        x[5] ^= (z1 >> 16) & 0xFF
        x[6] ^= (z1 >> 8) & 0xFF
        x[7] ^= z1 & 0xFF
        x[8] ^= z2 >> 24
        x[9] ^= (z2 >> 16) & 0xFF
        x[10] ^= (z2 >> 8) & 0xFF
        x[11] ^= z2 & 0xFF
        x[12] ^= z3 >> 24
        x[13] ^= (z3 >> 16) & 0xFF
        x[14] ^= (z3 >> 8) & 0xFF
        x[15] ^= z3 & 0xFF
        z0 = z1 = z2 = z3 = 0
        i = 15
        while i >= 0:
            b = x[i]
            # low nibble
            r = z3 & 15
            z3 = (z3 >> 4) | ((z2 & 15) << 28)
            z2 = (z2 >> 4) | ((z1 & 15) << 28)
            z1 = (z1 >> 4) | ((z0 & 15) << 28)
            z0 = (z0 >> 4) ^ tab[64 + r]
            c = (b & 15) << 2
            z0 ^= tab[c]
            z1 ^= tab[c + 1]
            z2 ^= tab[c + 2]
            z3 ^= tab[c + 3]
            # high nibble
            r = z3 & 15
            z3 = (z3 >> 4) | ((z2 & 15) << 28)
            z2 = (z2 >> 4) | ((z1 & 15) << 28)
            z1 = (z1 >> 4) | ((z0 & 15) << 28)
            z0 = (z0 >> 4) ^ tab[64 + r]
            c = (b >> 4) << 2
            z0 ^= tab[c]
            z1 ^= tab[c + 1]
            z2 ^= tab[c + 2]
            z3 ^= tab[c + 3]
            i -= 1
        p += 16
    for k in range(4):
        st[k] = (z0 >> (24 - 8 * k)) & 0xFF
        st[4 + k] = (z1 >> (24 - 8 * k)) & 0xFF
        st[8 + k] = (z2 >> (24 - 8 * k)) & 0xFF
        st[12 + k] = (z3 >> (24 - 8 * k)) & 0xFF


def _ctr_py(buf, iv, nb):
    # buf[16j:16j+16] = iv || (j + 1) as 32-bit big-endian, for j < nb
    for j in range(nb):
        o = 16 * j
        buf[o:o + 12] = iv
        c = j + 1
        buf[o + 12] = (c >> 24) & 0xFF
        buf[o + 13] = (c >> 16) & 0xFF
        buf[o + 14] = (c >> 8) & 0xFF
        buf[o + 15] = c & 0xFF


def _xor_py(dst, src, ks, koff, n):
    # dst[i] = src[i] ^ ks[koff + i] for i < n
    if n:
        v = int.from_bytes(bytes(src[0:n]), 'big') ^ int.from_bytes(bytes(ks[koff:koff + n]), 'big')
        dst[0:n] = v.to_bytes(n, 'big')


# ---------------------------------------------------------------------------
# viper versions (MicroPython with a native emitter: unix, esp32, rp2).

_ghash_v = None
_ctr_v = None
_xor_v = None

try:
    import micropython

    @micropython.viper
    def _ghash_vp(st: ptr8, tab: ptr32, data: ptr8, off: int, n: int):
        z0 = (uint(st[0]) << 24) | (uint(st[1]) << 16) | (uint(st[2]) << 8) | uint(st[3])
        z1 = (uint(st[4]) << 24) | (uint(st[5]) << 16) | (uint(st[6]) << 8) | uint(st[7])
        z2 = (uint(st[8]) << 24) | (uint(st[9]) << 16) | (uint(st[10]) << 8) | uint(st[11])
        z3 = (uint(st[12]) << 24) | (uint(st[13]) << 16) | (uint(st[14]) << 8) | uint(st[15])
        end = off + n
        p = off
        while p < end:
            if end - p >= 16:
                z0 ^= (uint(data[p]) << 24) | (uint(data[p + 1]) << 16) | (uint(data[p + 2]) << 8) | uint(data[p + 3])
                z1 ^= (uint(data[p + 4]) << 24) | (uint(data[p + 5]) << 16) | (uint(data[p + 6]) << 8) | uint(data[p + 7])
                z2 ^= (uint(data[p + 8]) << 24) | (uint(data[p + 9]) << 16) | (uint(data[p + 10]) << 8) | uint(data[p + 11])
                z3 ^= (uint(data[p + 12]) << 24) | (uint(data[p + 13]) << 16) | (uint(data[p + 14]) << 8) | uint(data[p + 15])
            else:
                # last partial block, zero padded
                i = 0
                while p + i < end:
                    v = uint(data[p + i]) << (24 - ((i & 3) << 3))
                    if i < 4:
                        z0 ^= v
                    elif i < 8:
                        z1 ^= v
                    elif i < 12:
                        z2 ^= v
                    else:
                        z3 ^= v
                    i += 1
            x0 = z0
            x1 = z1
            x2 = z2
            x3 = z3
            z0 = uint(0)
            z1 = uint(0)
            z2 = uint(0)
            z3 = uint(0)
            k = 0
            while k < 4:
                if k == 0:
                    w = x3
                elif k == 1:
                    w = x2
                elif k == 2:
                    w = x1
                else:
                    w = x0
                j = 0
                while j < 8:
                    r = int(z3 & 15)
                    z3 = (z3 >> 4) | ((z2 & 15) << 28)
                    z2 = (z2 >> 4) | ((z1 & 15) << 28)
                    z1 = (z1 >> 4) | ((z0 & 15) << 28)
                    z0 = (z0 >> 4) ^ uint(tab[64 + r])
                    c = int(w & 15) << 2
                    z0 ^= uint(tab[c])
                    z1 ^= uint(tab[c + 1])
                    z2 ^= uint(tab[c + 2])
                    z3 ^= uint(tab[c + 3])
                    w = w >> 4
                    j += 1
                k += 1
            p += 16
        st[0] = z0 >> 24
        st[1] = z0 >> 16
        st[2] = z0 >> 8
        st[3] = z0
        st[4] = z1 >> 24
        st[5] = z1 >> 16
        st[6] = z1 >> 8
        st[7] = z1
        st[8] = z2 >> 24
        st[9] = z2 >> 16
        st[10] = z2 >> 8
        st[11] = z2
        st[12] = z3 >> 24
        st[13] = z3 >> 16
        st[14] = z3 >> 8
        st[15] = z3

    @micropython.viper
    def _ctr_vp(buf: ptr8, iv: ptr8, nb: int):
        o = 0
        c = uint(1)
        end = nb << 4
        while o < end:
            i = 0
            while i < 12:
                buf[o + i] = iv[i]
                i += 1
            buf[o + 12] = c >> 24
            buf[o + 13] = c >> 16
            buf[o + 14] = c >> 8
            buf[o + 15] = c
            c += 1
            o += 16

    @micropython.viper
    def _xor_vp(dst: ptr8, src: ptr8, ks: ptr8, koff: int, n: int):
        i = 0
        while i < n:
            dst[i] = src[i] ^ ks[koff + i]
            i += 1

    # the table is handed to viper as native 32-bit words, written little-endian
    if sys.byteorder == 'little':
        _ghash_v = _ghash_vp
        _ctr_v = _ctr_vp
        _xor_v = _xor_vp
except (ImportError, AttributeError, NameError):
    pass

ACCEL = 'viper' if _ghash_v is not None else 'python'


def _words_le(words):
    b = bytearray(4 * len(words))
    for i in range(len(words)):
        w = words[i]
        o = 4 * i
        b[o] = w & 0xFF
        b[o + 1] = (w >> 8) & 0xFF
        b[o + 2] = (w >> 16) & 0xFF
        b[o + 3] = (w >> 24) & 0xFF
    return b


def ct_equal(a, b):
    """Compare two byte strings in time independent of their contents."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


class Gcm:
    """AES-GCM for one key.  backend: AES backend for aes.new();
    accel=False forces the plain-Python GHASH/CTR loops."""

    def __init__(self, key, backend=None, accel=True):
        try:
            self._aes = _aes.new(key, backend)
        except _aes.AesError as e:
            raise GcmError(str(e))
        h = self._aes.encrypt_block(bytes(16))
        words = _make_table(h) + _R4
        if accel and _ghash_v is not None:
            self._tab = _words_le(words)
            self._gh = _ghash_v
            self._ctr = _ctr_v
            self._xor = _xor_v
        else:
            self._tab = words
            self._gh = _ghash_py
            self._ctr = _ctr_py
            self._xor = _xor_py

    def _keystream(self, iv, n):
        # E(J0) followed by ceil(n/16) counter blocks, one AES call
        if len(iv) != 12:
            raise GcmError('iv must be 12 bytes')
        nb = ((n + 15) >> 4) + 1
        ks = bytearray(nb << 4)
        self._ctr(ks, iv, nb)
        self._aes.encrypt_into(ks, ks)
        return ks

    def _tag(self, aad, ct, ks):
        gh = self._gh
        tab = self._tab
        st = bytearray(16)
        la = len(aad)
        lc = len(ct)
        if la:
            gh(st, tab, aad, 0, la)
        if lc:
            gh(st, tab, ct, 0, lc)
        lens = (la << 3).to_bytes(8, 'big') + (lc << 3).to_bytes(8, 'big')
        gh(st, tab, lens, 0, 16)
        self._xor(st, st, ks, 0, 16)
        return st

    def encrypt(self, iv, pt, aad=b''):
        """Return (ciphertext, 16-byte tag)."""
        n = len(pt)
        ks = self._keystream(iv, n)
        ct = bytearray(n)
        self._xor(ct, pt, ks, 16, n)
        tag = self._tag(aad, ct, ks)
        return bytes(ct), bytes(tag)

    def decrypt(self, iv, ct, aad, tag):
        """Return the plaintext, or None when the tag (12..16 bytes; only
        that many leading bytes of the full tag are compared) is wrong."""
        tl = len(tag)
        if tl < _TAG_MIN or tl > 16:
            raise GcmError('tag length')
        n = len(ct)
        ks = self._keystream(iv, n)
        full = self._tag(aad, ct, ks)
        if not ct_equal(memoryview(full)[0:tl], tag):
            return None
        pt = bytearray(n)
        self._xor(pt, ct, ks, 16, n)
        return bytes(pt)

    def gmac(self, iv, aad):
        """Return the 16-byte GMAC tag of aad (GCM with empty plaintext)."""
        ks = self._keystream(iv, 0)
        return bytes(self._tag(aad, b'', ks))
