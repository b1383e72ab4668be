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
#
# Owns the tables, the kernels and their control words: nothing outside this
# module drives them. Callers use encrypt/decrypt/gmac, or, on the path of
# every ciphered APDU, seal_into/open_into, which check every bound and then
# run one kernel call.  A keystream computed ahead in idle time (Ahead)
# belongs to whoever made it (an association), not to the key.

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


def _make_r8():
    # shared: 256 reduction values, 16-bit native-order words for viper
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


class Ahead:
    """A keystream computed ahead, in idle time, for a message of up to n bytes under one IV:
    made by Gcm.prepare(), handed out once by the seal_into/open_into call given this object
    with the same title object and counter (and a message that fits), and by nothing else.
    Whoever makes one owns it (the meter: one per direction per association)."""

    def __init__(self):
        self.buf = bytearray((SCRATCH_BLOCKS << 4) + 4)     # the blocks, then the IC's bytes
        self.view = memoryview(self.buf)
        self.title = None               # the `a` it was made for; None once handed out
        self.ic = 0
        self.nb = 0


class Gcm:
    """AES-GCM for one key.  backend: AES backend for aes.new();
    accel=False forces the plain-Python loops.

    encrypt/decrypt/gmac take and give whole byte strings. seal_into and
    open_into are the same algorithm for callers that build their own
    buffers (dlms/suite0.py, on the path of every ciphered APDU): the IV is
    a[0:8] || b[boff:boff+4] (a title and a counter already in a buffer),
    the AAD is given as the GHASH state after it (prefix()), and the text
    goes from src[soff:soff+n] to dst[doff:]; every bound is checked before
    the kernels, which check none, run.  A Gcm reuses a per-key scratch
    keystream buffer, so it serves one caller at a time (the meter handles
    one APDU at a time)."""

    def __init__(self, key, backend=None, accel=True):
        global _R8
        try:
            self._aes = _aes.new(key, backend)
        except _aes.AesError as e:
            raise GcmError(str(e))
        h = self._aes.encrypt_block(bytes(16))
        words = _make_table(h)
        if accel and _crypt_v is not None:
            if _R8 is None:
                _R8 = _make_r8()
            self._kernel = (_ctr_v, self._aes.encrypter(), _crypt_v, _words_le(words), _R8)
        else:
            from dlms_pure import gcm as gcm_py
            self._kernel = gcm_py.kernel(words, self._aes.encrypter())
        ks = bytearray(SCRATCH_BLOCKS << 4)
        mv = memoryview(ks)
        self._views = (ks,) + tuple(mv[0:16 * i] for i in range(1, SCRATCH_BLOCKS + 1))

    def prepare(self, ahead, a, ic, n):
        """Compute into `ahead` (an Ahead) the keystream of a message of up to n bytes whose
        IV will be a[0:8] || ic; nothing when it would not fit an Ahead."""
        nb = ((n + 15) >> 4) + 1
        if nb > SCRATCH_BLOCKS or not 0 <= ic <= 0xFFFFFFFF or len(a) != 8:
            return
        buf = ahead.buf
        o = SCRATCH_BLOCKS << 4
        buf[o] = ic >> 24
        buf[o + 1] = (ic >> 16) & 0xFF
        buf[o + 2] = (ic >> 8) & 0xFF
        buf[o + 3] = ic & 0xFF
        k = self._kernel
        k[0](buf, a, buf, o, nb)
        kv = ahead.view[0:nb << 4]
        k[1](kv, kv)
        ahead.title = a
        ahead.ic = ic
        ahead.nb = nb

    def _keystream(self, a, b, boff, n, ahead=None):
        # E(J0) then the counter blocks for an n-byte message, IV = a[0:8] || b[boff:boff+4]:
        # the one made ahead when it fits, else in the scratch buffer (or one of its own)
        nb = ((n + 15) >> 4) + 1
        if ahead is not None and ahead.title is a and nb <= ahead.nb and ahead.ic == (
                (b[boff] << 24) | (b[boff + 1] << 16) | (b[boff + 2] << 8) | b[boff + 3]):
            ahead.title = None          # handed out once
            return ahead.buf
        if nb > SCRATCH_BLOCKS:
            ks = kv = bytearray(nb << 4)
        else:
            ks = self._views[0]
            kv = self._views[nb]
        k = self._kernel
        k[0](ks, a, b, boff, nb)
        k[1](kv, kv)
        return ks

    # seal_into/open_into run on every ciphered APDU: the checks are inline, the control word
    # is made here (no call for either)
    def seal_into(self, a, b, boff, pre, la, src, soff, n, dst, doff, tl, ahead=None):
        """Encrypt src[soff:soff+n] into dst[doff:doff+n] and put the first tl bytes of the tag
        right after it; IV a[0:8] || b[boff:boff+4], AAD of la bytes hashed into pre."""
        if (len(a) < 8 or boff < 0 or boff + 4 > len(b) or len(pre) != 16 or n < 0
                or n > _MAX_LEN or la < 0 or la > _MAX_LEN or soff < 0 or soff + n > len(src)
                or doff < 0 or doff + n + tl > len(dst) or tl < _TAG_MIN or tl > 16):
            raise GcmError('bounds')
        k = self._kernel
        k[2](self._keystream(a, b, boff, n, ahead), k[3], k[4], pre, src, soff, dst, doff, n,
             la | (tl << _CTL_TL))

    def open_into(self, a, b, boff, pre, la, src, soff, n, dst, doff, tl, ahead=None):
        """Check the tag at src[soff+n:soff+n+tl] in constant time; only when it is right,
        decrypt src[soff:soff+n] into dst[doff:]. True when the tag was right."""
        if (len(a) < 8 or boff < 0 or boff + 4 > len(b) or len(pre) != 16 or n < 0
                or n > _MAX_LEN or la < 0 or la > _MAX_LEN or soff < 0
                or soff + n + tl > len(src) or doff < 0 or doff + n > len(dst)
                or tl < _TAG_MIN or tl > 16):
            raise GcmError('bounds')
        k = self._kernel
        return k[2](self._keystream(a, b, boff, n, ahead), k[3], k[4], pre, src, soff, dst, doff,
                    n, la | (tl << _CTL_TL) | _CTL_DEC) == 1

    def prefix(self, aad):
        """The GHASH state (16 bytes) after `aad`: the `pre` of the kernel for
        messages whose AAD is always this value."""
        la = len(aad)
        if la > _MAX_LEN:
            raise GcmError('aad too long')
        st = bytearray(16)
        k = self._kernel
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
        _, _, run, tab, r8 = self._kernel
        st = bytearray(16)                  # the GHASH state, then the tag
        if la:
            run(st, tab, r8, st, aad, 0, st, 0, la, _CTL_ABSORB)
        ks = self._keystream(iv, iv, 8, n)
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
        _, _, run, tab, r8 = self._kernel
        st = bytearray(16)
        if la:
            run(st, tab, r8, st, aad, 0, st, 0, la, _CTL_ABSORB)
        src = bytearray(n + tl)             # the kernel wants the tag after the text
        src[0:n] = ct
        src[n:n + tl] = tag
        ks = self._keystream(iv, iv, 8, n)
        pt = bytearray(n)
        if run(ks, tab, r8, st, src, 0, pt, 0, n, la | (tl << _CTL_TL) | _CTL_DEC) != 1:
            return None
        return bytes(pt)

    def gmac(self, iv, aad):
        """Return the 16-byte GMAC tag of aad (GCM with empty plaintext)."""
        return self.encrypt(iv, b'', aad)[1]
