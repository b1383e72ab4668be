# AES-GCM / GMAC (NIST SP 800-38D) with a 96-bit IV, for DLMS security suite 0.
#
# GHASH works a byte at a time with Shoup's tables: per key, the 16 multiples
# i*H of a 4-bit value i and the same multiplied by x^4 (two tables of 16
# entries, four 32-bit words each: 512 bytes), plus one shared table of 256
# 16-bit reduction values (512 bytes).  A block costs 16 steps of a byte
# shift of Z, one reduction lookup and two table XORs.  (An 8-bit table would
# halve the table XORs but costs 4 KiB per key.)
#
# One routine does a whole message: keystream XOR, GHASH over the ciphertext
# and the length block, the tag (written out, or compared in constant time
# before any plaintext is written).  It starts from a GHASH state that already
# holds the AAD, so a fixed AAD (DLMS: SC || AK) is hashed once per key, not
# once per message (see prefix()).  The same routine, in "absorb" mode, hashes
# the AAD.
#
# On MicroPython the loops run as viper functions working on 32-bit words (no
# 128-bit integers); elsewhere (CPython) the same algorithm runs in plain
# Python with Z as one integer.  Both give identical results.  The viper words
# are 64 bits wide on the unix port, so the code never lets a value exceed 32
# bits (every left shift is masked first), which makes it behave the same on
# 32-bit boards.
#
# The keystream for a message (E(J0) followed by all counter blocks) is built
# in one buffer (a per-key scratch buffer for short messages) and encrypted
# with a single call to the AES backend.

import sys

from dlms import aes as _aes
from dlms._compat import const


class GcmError(ValueError):
    pass


_TAG_MIN = const(12)
SCRATCH_BLOCKS = const(5)   # per-key keystream buffer: E(J0) + 4 blocks (messages <= 64 bytes)
# ctl word of the message routine: AAD length (bits 0-20), tag length (21-25), flags
_CTL_TL = const(21)
_CTL_DEC = const(0x4000000)     # decrypt: verify the tag, then write the plaintext
_CTL_ABSORB = const(0x8000000)  # only hash src into the state (AAD); no lengths, no tag
_CTL_TAG_PRE = const(0x10000000)    # encrypt: the tag goes to pre[0:tl], not after the text
_MAX_LEN = const(0x1FFFFF)      # AAD and text lengths (2 MiB, far above any APDU)


# ---------------------------------------------------------------------------
# Tables.  Word i of an entry is bits 32i..32i+31 of the field element, most
# significant first, in GCM's bit order (x^0 is the top bit of word 0).

def _r(rem, bits):
    # the reduction folded into the top 16 bits when `bits` low bits `rem` are
    # shifted out of Z (multiplication by x^bits)
    v = 0
    for k in range(bits):
        if rem & (1 << k):
            v ^= 0xE100 >> (bits - 1 - k)
    return v


def _make_r8(native):
    # shared: 256 reduction values; 16-bit native-order words for viper, else a list
    if not native:
        return [_r(i, 8) for i in range(256)]
    b = bytearray(512)
    for i in range(256):
        v = _r(i, 8)
        b[2 * i] = v & 0xFF
        b[2 * i + 1] = v >> 8
    return b


def _make_table(h):
    # h: 16 bytes (H = E_K(0^128)).  Returns 128 words: entries 0..15 are
    # i*H (nibble bit 8 stands for x^0, 4 for x^1, 2 for x^2, 1 for x^3),
    # entries 16..31 are i*H*x^4.
    w0 = (h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]
    w1 = (h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]
    w2 = (h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11]
    w3 = (h[12] << 24) | (h[13] << 16) | (h[14] << 8) | h[15]
    m = [0] * 128
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
    for i in range(16):
        p = 4 * i
        w0, w1, w2, w3 = m[p], m[p + 1], m[p + 2], m[p + 3]
        q = p + 64
        m[q] = (w0 >> 4) ^ (_r(w3 & 15, 4) << 16)
        m[q + 1] = (w1 >> 4) | ((w0 & 15) << 28)
        m[q + 2] = (w2 >> 4) | ((w1 & 15) << 28)
        m[q + 3] = (w3 >> 4) | ((w2 & 15) << 28)
    return m


# ---------------------------------------------------------------------------
# Plain-Python loops (CPython, and reference results on MicroPython).

def _ctr_py(ks, a, b, boff, nb):
    # block j of ks (j < nb) = a[0:8] || b[boff:boff+4] || (j + 1) as 32-bit big-endian
    for j in range(nb):
        o = 16 * j
        for i in range(8):
            ks[o + i] = a[i]
        for i in range(4):
            ks[o + 8 + i] = b[boff + i]
        c = j + 1
        ks[o + 12] = (c >> 24) & 0xFF
        ks[o + 13] = (c >> 16) & 0xFF
        ks[o + 14] = (c >> 8) & 0xFF
        ks[o + 15] = c & 0xFF


def _crypt_py(ks, tab, r8, pre, src, soff, dst, doff, n, ctl):
    # One message, see the kernel in Gcm.  Returns 1, or 0 for a wrong tag (decrypt).
    # tab: 32 entries as 128-bit integers, Z one 128-bit integer (x^0 is bit 127).
    dec = ctl & _CTL_DEC
    absorb = ctl & _CTL_ABSORB
    g = src
    go = soff
    if not (dec or absorb):
        for i in range(n):
            dst[doff + i] = src[soff + i] ^ ks[16 + i]
        g = dst
        go = doff
    z = int.from_bytes(bytes(pre[0:16]), 'big')
    for p in range(0, n if absorb else n + 16, 16):
        if p < n:
            q = min(16, n - p)
            x = int.from_bytes(bytes(g[go + p:go + p + q]), 'big') << (128 - 8 * q)
        else:           # the length block: AAD and text lengths in bits
            x = ((ctl & _MAX_LEN) << 67) | (n << 3)
        x ^= z
        z = 0
        for i in range(16):         # the bytes of X, last first
            b = x & 0xFF
            x >>= 8
            z = (z >> 8) ^ (r8[z & 0xFF] << 112) ^ tab[b >> 4] ^ tab[16 + (b & 15)]
    if absorb:
        dst[doff:doff + 16] = z.to_bytes(16, 'big')
        return 1
    t = (z ^ int.from_bytes(bytes(ks[0:16]), 'big')).to_bytes(16, 'big')
    tl = (ctl >> _CTL_TL) & 31
    if ctl & _CTL_TAG_PRE:
        pre[0:tl] = t[0:tl]
        return 1
    if not dec:
        dst[doff + n:doff + n + tl] = t[0:tl]
        return 1
    acc = 0
    for i in range(tl):
        acc |= t[i] ^ src[soff + n + i]
    if acc:
        return 0
    for i in range(n):
        dst[doff + i] = src[soff + i] ^ ks[16 + i]
    return 1


# ---------------------------------------------------------------------------
# viper versions (MicroPython with a native emitter: unix, esp32, rp2).

_ctr_v = None
_crypt_v = None

try:
    import micropython

    @micropython.viper
    def _ctr_vp(ks: ptr8, a: ptr8, b: ptr8, boff: int, nb: int):
        o = 0
        c = uint(1)
        end = nb << 4
        while o < end:
            i = 0
            while i < 8:
                ks[o + i] = a[i]
                i += 1
            ks[o + 8] = b[boff]
            ks[o + 9] = b[boff + 1]
            ks[o + 10] = b[boff + 2]
            ks[o + 11] = b[boff + 3]
            ks[o + 12] = c >> 24
            ks[o + 13] = c >> 16
            ks[o + 14] = c >> 8
            ks[o + 15] = c
            c += 1
            o += 16

    @micropython.viper
    def _crypt_vp(ks: ptr8, tab: ptr32, r8: ptr16, pre: ptr8, src: ptr8, soff: int,
                  dst: ptr8, doff: int, n: int, ctl: int) -> int:
        dec = ctl & _CTL_DEC
        absorb = ctl & _CTL_ABSORB
        g = src
        go = soff
        if (dec | absorb) == 0:
            i = 0
            while i < n:
                dst[doff + i] = src[soff + i] ^ ks[16 + i]
                i += 1
            g = dst
            go = doff
        z0 = uint(0)
        z1 = uint(0)
        z2 = uint(0)
        z3 = uint(0)
        nb = (n + 15) >> 4
        if absorb == 0:
            nb += 1
        ta = uint(tab)
        u = -1          # -1: load the start state; then the text blocks, the length block
        while u < nb:
            b = g
            o = go + (u << 4)
            m = n - (u << 4)            # bytes in this block, zero padded (<= 0: lengths)
            if u < 0:
                b = pre
                o = 0
            if m > 16:
                m = 16
            if m == 16:                 # a whole block: four words at once
                z0 ^= (uint(b[o]) << 24) | (uint(b[o + 1]) << 16) | (uint(b[o + 2]) << 8) \
                    | uint(b[o + 3])
                z1 ^= (uint(b[o + 4]) << 24) | (uint(b[o + 5]) << 16) | (uint(b[o + 6]) << 8) \
                    | uint(b[o + 7])
                z2 ^= (uint(b[o + 8]) << 24) | (uint(b[o + 9]) << 16) | (uint(b[o + 10]) << 8) \
                    | uint(b[o + 11])
                z3 ^= (uint(b[o + 12]) << 24) | (uint(b[o + 13]) << 16) \
                    | (uint(b[o + 14]) << 8) | uint(b[o + 15])
            elif m > 0:
                i = 0
                while i < m:
                    v = uint(b[o + i]) << (24 - ((i & 3) << 3))
                    if i < 4:
                        z0 ^= v
                    elif i < 8:
                        z1 ^= v
                    elif i < 12:
                        z2 ^= v
                    else:
                        z3 ^= v
                    i += 1
            else:
                z1 ^= uint(ctl & _MAX_LEN) << 3
                z3 ^= uint(n) << 3
            if u >= 0:
                # Z = X * H, a byte of X at a time, the last byte first
                x0 = z0
                x1 = z1
                x2 = z2
                x3 = z3
                z0 = uint(0)
                z1 = uint(0)
                z2 = uint(0)
                z3 = uint(0)
                k = 0
                while k < 16:
                    if k == 0:
                        w = x3
                    elif k == 4:
                        w = x2
                    elif k == 8:
                        w = x1
                    elif k == 12:
                        w = x0
                    r = int(z3 & 0xFF)
                    z3 = (z3 >> 8) | ((z2 & 0xFF) << 24)
                    z2 = (z2 >> 8) | ((z1 & 0xFF) << 24)
                    z1 = (z1 >> 8) | ((z0 & 0xFF) << 24)
                    z0 = (z0 >> 8) ^ (uint(r8[r]) << 16)
                    # entries of 16 bytes: i*H for the high nibble, i*H*x^4 for the low
                    e = ptr32(ta + (w & 0xF0))
                    f = ptr32(ta + 256 + ((w & 15) << 4))
                    z0 ^= uint(e[0]) ^ uint(f[0])
                    z1 ^= uint(e[1]) ^ uint(f[1])
                    z2 ^= uint(e[2]) ^ uint(f[2])
                    z3 ^= uint(e[3]) ^ uint(f[3])
                    w = w >> 8
                    k += 1
            u += 1
        # out: the state (absorb), the tag (encrypt) or the tag compared (decrypt)
        tl = (ctl >> _CTL_TL) & 31
        od = dst
        q = doff + n
        if absorb:
            tl = 16
            q = doff
        else:                           # the tag: Z xor E(J0), as words
            z0 ^= (uint(ks[0]) << 24) | (uint(ks[1]) << 16) | (uint(ks[2]) << 8) | uint(ks[3])
            z1 ^= (uint(ks[4]) << 24) | (uint(ks[5]) << 16) | (uint(ks[6]) << 8) | uint(ks[7])
            z2 ^= (uint(ks[8]) << 24) | (uint(ks[9]) << 16) | (uint(ks[10]) << 8) | uint(ks[11])
            z3 ^= (uint(ks[12]) << 24) | (uint(ks[13]) << 16) | (uint(ks[14]) << 8) \
                | uint(ks[15])
        if ctl & _CTL_TAG_PRE:
            od = pre
            q = 0
        acc = 0
        i = 0
        while i < tl:
            if i < 4:
                w = z0
            elif i < 8:
                w = z1
            elif i < 12:
                w = z2
            else:
                w = z3
            t = int(w >> (24 - ((i & 3) << 3))) & 0xFF
            if dec:
                acc |= t ^ int(src[soff + n + i])
            else:
                od[q + i] = t
            i += 1
        if dec:
            if acc:
                return 0
            i = 0
            while i < n:
                dst[doff + i] = src[soff + i] ^ ks[16 + i]
                i += 1
        return 1

    # the tables are handed to viper as native 32-bit (16-bit) words, written little-endian
    if sys.byteorder == 'little':
        _ctr_v = _ctr_vp
        _crypt_v = _crypt_vp
except (ImportError, AttributeError, NameError):
    pass

ACCEL = 'viper' if _crypt_v is not None else 'python'

_R8 = None          # the shared reduction table of the viper loops (made with the first key)
_R8_PY = None       # the same for the plain loops


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


def ctl(la, tl, dec):
    """The control word of the message kernel: AAD length la, tag length tl, decrypt."""
    if la > _MAX_LEN or tl > 16:
        raise GcmError('length')
    return la | (tl << _CTL_TL) | (_CTL_DEC if dec else 0)


class Gcm:
    """AES-GCM for one key.  backend: AES backend for aes.new();
    accel=False forces the plain-Python loops.

    Besides encrypt/decrypt/gmac, a caller that builds its own buffers and has
    checked every length (security.py, on the path of every ciphered APDU) may
    drive the kernels itself, which spares it a call with a dozen arguments:
      kernel = (ctr, aes, run, tab, r8)
        ctr(ks, a, b, boff, nb)  writes nb counter blocks into ks, the first
                                 being J0; IV = a[0:8] || b[boff:boff+4]
        aes(kv, kv)              encrypts them in place (kv: exactly nb blocks)
        run(ks, tab, r8, pre, src, soff, dst, doff, n, ctl)  one message:
                                 pre is the GHASH state after the AAD
                                 (prefix()), ctl from ctl(la, tl, dec).
                                 Encrypt: src[soff:soff+n] into
                                 dst[doff:doff+n], the first tl bytes of the
                                 tag right after it.  Decrypt: check the tag
                                 at src[soff+n:soff+n+tl] in constant time and
                                 only when it is right write the plaintext to
                                 dst[doff:]; returns 1, or 0 for a wrong tag
      keystream(a, b, boff, n) does ctr and aes for an n-byte message: in the
      key's scratch buffer (views[0]; views[nb] its first nb blocks) when it
      fits SCRATCH_BLOCKS, in a buffer of its own otherwise; or hands out
      what prepare() computed ahead for that IV.
    The kernels check no bounds.  The scratch buffer makes one Gcm usable by
    one caller at a time (the meter handles one APDU at a time)."""

    def __init__(self, key, backend=None, accel=True):
        global _R8, _R8_PY
        try:
            self._aes = _aes.new(key, backend)
        except _aes.AesError as e:
            raise GcmError(str(e))
        h = self._aes.encrypt_block(bytes(16))
        words = _make_table(h)
        if accel and _crypt_v is not None:
            if _R8 is None:
                _R8 = _make_r8(True)
            self.kernel = (_ctr_v, self._aes.encrypter(), _crypt_v, _words_le(words), _R8)
        else:
            if _R8_PY is None:
                _R8_PY = _make_r8(False)
            tab = [(words[p] << 96) | (words[p + 1] << 64) | (words[p + 2] << 32) | words[p + 3]
                   for p in range(0, 128, 4)]
            self.kernel = (_ctr_py, self._aes.encrypter(), _crypt_py, tab, _R8_PY)
        ks = bytearray(SCRATCH_BLOCKS << 4)
        mv = memoryview(ks)
        self.views = (ks,) + tuple(mv[0:16 * i] for i in range(1, SCRATCH_BLOCKS + 1))
        self._ahead = [None, None]      # prepare()'s slots: [a, ic, nb, buffer, its view]

    def prepare(self, slot, a, ic, n):
        """Compute ahead (in idle time) the keystream of a message of up to n bytes whose IV
        will be a[0:8] || ic, in slot 0 or 1 (one per direction). keystream() hands it out
        once, to the first call with that very `a` object, that IV and a message that fits."""
        nb = ((n + 15) >> 4) + 1
        if nb > SCRATCH_BLOCKS or not 0 <= ic <= 0xFFFFFFFF or len(a) != 8:
            return
        e = self._ahead[slot]
        if e is None:
            buf = bytearray((SCRATCH_BLOCKS << 4) + 4)      # the blocks, then the IC's bytes
            e = self._ahead[slot] = [None, 0, 0, buf, memoryview(buf)]
        buf = e[3]
        o = SCRATCH_BLOCKS << 4
        buf[o] = ic >> 24
        buf[o + 1] = (ic >> 16) & 0xFF
        buf[o + 2] = (ic >> 8) & 0xFF
        buf[o + 3] = ic & 0xFF
        k = self.kernel
        k[0](buf, a, buf, o, nb)
        kv = e[4][0:nb << 4]
        k[1](kv, kv)
        e[0] = a
        e[1] = ic
        e[2] = nb

    def keystream(self, a, b, boff, n):
        """E(J0) then the counter blocks for an n-byte message, IV = a[0:8] || b[boff:boff+4]."""
        nb = ((n + 15) >> 4) + 1
        e = self._ahead[0]              # made ahead for this IV? (handed out once)
        if e is None or e[0] is not a:
            e = self._ahead[1]
        if e is not None and e[0] is a and nb <= e[2] and e[1] == (
                (b[boff] << 24) | (b[boff + 1] << 16) | (b[boff + 2] << 8) | b[boff + 3]):
            e[0] = None
            return e[3]
        if nb > SCRATCH_BLOCKS:
            ks = kv = bytearray(nb << 4)
        else:
            ks = self.views[0]
            kv = self.views[nb]
        k = self.kernel
        k[0](ks, a, b, boff, nb)
        k[1](kv, kv)
        return ks

    def prefix(self, aad):
        """The GHASH state (16 bytes) after `aad`: the `pre` of the kernel for
        messages whose AAD is always this value."""
        la = len(aad)
        if la > _MAX_LEN:
            raise GcmError('aad too long')
        st = bytearray(16)
        k = self.kernel
        k[2](st, k[3], k[4], st, aad, 0, st, 0, la, _CTL_ABSORB)
        return st

    def encrypt(self, iv, pt, aad=b''):
        """Return (ciphertext, 16-byte tag)."""
        if len(iv) != 12:
            raise GcmError('iv must be 12 bytes')
        n = len(pt)
        la = len(aad)
        if n > _MAX_LEN or la > _MAX_LEN:
            raise GcmError('length')
        _, _, run, tab, r8 = self.kernel
        st = bytearray(16)                  # the GHASH state, then the tag
        if la:
            run(st, tab, r8, st, aad, 0, st, 0, la, _CTL_ABSORB)
        ks = self.keystream(iv, iv, 8, n)
        ct = bytearray(n)
        run(ks, tab, r8, st, pt, 0, ct, 0, n, la | (16 << _CTL_TL) | _CTL_TAG_PRE)
        return bytes(ct), bytes(st)

    def decrypt(self, iv, ct, aad, tag):
        """Return the plaintext, or None when the tag (12..16 bytes; only
        that many leading bytes of the full tag are compared) is wrong."""
        tl = len(tag)
        if tl < _TAG_MIN or tl > 16:
            raise GcmError('tag length')
        if len(iv) != 12:
            raise GcmError('iv must be 12 bytes')
        n = len(ct)
        la = len(aad)
        if n > _MAX_LEN or la > _MAX_LEN:
            raise GcmError('length')
        _, _, run, tab, r8 = self.kernel
        st = bytearray(16)
        if la:
            run(st, tab, r8, st, aad, 0, st, 0, la, _CTL_ABSORB)
        src = bytearray(n + tl)             # the kernel wants the tag after the text
        src[0:n] = ct
        src[n:n + tl] = tag
        ks = self.keystream(iv, iv, 8, n)
        pt = bytearray(n)
        if run(ks, tab, r8, st, src, 0, pt, 0, n, la | (tl << _CTL_TL) | _CTL_DEC) != 1:
            return None
        return bytes(pt)

    def gmac(self, iv, aad):
        """Return the 16-byte GMAC tag of aad (GCM with empty plaintext)."""
        return self.encrypt(iv, b'', aad)[1]
