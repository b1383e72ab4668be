# SHA-256 and SHA-384 (FIPS 180-4) and HMAC (RFC 2104) over them, for the public-key suites
# (suite 1: SHA-256, suite 2: SHA-384) and RFC 6979 nonces in dlms.ec.
#
# sha256 is always hashlib's (C, and hardware on the ESP32). sha384 is hashlib's when the
# runtime has it (CPython); MicroPython (unix port and boards) has no SHA-512 family, so there
# it is done here: the compression function in viper over 32-bit halves of the 64-bit words
# (every left shift is masked first and sums are masked to 32 bits, so the 64-bit viper words
# of the unix port give the same results as a 32-bit board; the carry of each 32-bit addition
# is computed arithmetically, no branch on data), else in plain Python over 64-bit integers.
# BACKEND384 says which ('hashlib', 'viper' or 'python').
#
# Our own SHA-384 objects can be copied, so an HmacKey over it hashes the padded key blocks once
# per key (RFC 6979 reuses each key several times); with hashlib (no copy()) it keeps the padded
# keys. No hexdigest() anywhere (MicroPython has none).
import hashlib

from dlms._compat import const

_B512 = const(128)      # SHA-384/512 block size
_B256 = const(64)

# FIPS 180-4 4.2.3: the 80 SHA-512 round constants, and 5.3.4: the SHA-384 initial value
_K512_HEX = (
    '428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc3956c25bf348b538'
    '59f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118d807aa98a303024212835b0145706fbe'
    '243185be4ee4b28c550c7dc3d5ffb4e272be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235'
    'c19bf174cf692694e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65'
    '2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5983e5152ee66dfab'
    'a831c66d2db43210b00327c898fb213fbf597fc7beef0ee4c6e00bf33da88fc2d5a79147930aa725'
    '06ca6351e003826f142929670a0e6e7027b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed'
    '53380d139d95b3df650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b'
    'a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30d192e819d6ef5218'
    'd69906245565a910f40e35855771202a106aa07032bbd1b819a4c116b8d2d0c81e376c085141ab53'
    '2748774cdf8eeb9934b0bcb5e19b48a8391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373'
    '682e6ff3d6b2b8a3748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec'
    '90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532bca273eceea26619c'
    'd186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed17806f067aa72176fba0a637dc5a2c898a6'
    '113f9804bef90dae1b710b35131c471b28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc'
    '431d67c49c100d4c4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817')
_IV384_HEX = ('cbbb9d5dc1059ed8629a292a367cd5079159015a3070dd17152fecd8f70e5939'
              '67332667ffc00b318eb44a8768581511db0c2e0d64f98fa747b5481dbefa4fa4')


def _unhex(s):
    from binascii import unhexlify
    return unhexlify(s)


# ---------------------------------------------------------------------------
# SHA-512 compression, plain Python (64-bit words as ints, masked)

_M64 = 0xFFFFFFFFFFFFFFFF
_K64 = None     # the round constants as ints, made on first use


def _k64():
    global _K64
    if _K64 is None:
        raw = _unhex(_K512_HEX)
        _K64 = [int.from_bytes(raw[8 * i:8 * i + 8], 'big') for i in range(80)]
    return _K64


def _compress_py(h, block, off):
    """h: list of 8 ints, updated in place with one 128-byte block at block[off:]."""
    m = _M64
    k = _k64()
    w = [int.from_bytes(block[off + 8 * i:off + 8 * i + 8], 'big') for i in range(16)]
    for t in range(16, 80):
        x = w[t - 15]
        s0 = ((x >> 1) | (x << 63)) ^ ((x >> 8) | (x << 56)) ^ (x >> 7)
        x = w[t - 2]
        s1 = ((x >> 19) | (x << 45)) ^ ((x >> 61) | (x << 3)) ^ (x >> 6)
        w.append((w[t - 16] + (s0 & m) + w[t - 7] + (s1 & m)) & m)
    a, b, c, d, e, f, g, hh = h
    for t in range(80):
        s1 = ((e >> 14) | (e << 50)) ^ ((e >> 18) | (e << 46)) ^ ((e >> 41) | (e << 23))
        t1 = hh + (s1 & m) + ((e & f) ^ (~e & g)) + k[t] + w[t]
        s0 = ((a >> 28) | (a << 36)) ^ ((a >> 34) | (a << 30)) ^ ((a >> 39) | (a << 25))
        t2 = (s0 & m) + ((a & b) ^ (a & c) ^ (b & c))
        hh = g
        g = f
        f = e
        e = (d + t1) & m
        d = c
        c = b
        b = a
        a = (t1 + t2) & m
    h[0] = (h[0] + a) & m
    h[1] = (h[1] + b) & m
    h[2] = (h[2] + c) & m
    h[3] = (h[3] + d) & m
    h[4] = (h[4] + e) & m
    h[5] = (h[5] + f) & m
    h[6] = (h[6] + g) & m
    h[7] = (h[7] + hh) & m


# ---------------------------------------------------------------------------
# SHA-512 compression in viper: a 64-bit word is a (hi, lo) pair of 32-bit words. The state is
# 64 bytes, big-endian (so it is also the digest); k the 160 native words of the constants, w a
# scratch of 176 words (the message schedule, then the state as words).

_compress_v = None

try:
    import micropython

    @micropython.viper
    def _compress_vp(sb: ptr8, blk: ptr8, boff: int, k: ptr32, w: ptr32):
        mm = (uint(0xFFFF) << 16) | uint(0xFFFF)
        # w[160:176]: the state as words, from and back to the big-endian bytes sb[0:64]
        st = ptr32(uint(w) + 640)
        i = 0
        while i < 16:
            o = i << 2
            st[i] = (uint(sb[o]) << 24) | (uint(sb[o + 1]) << 16) | (uint(sb[o + 2]) << 8) \
                | uint(sb[o + 3])
            i += 1
        i = 0
        while i < 32:
            o = boff + (i << 2)
            w[i] = (uint(blk[o]) << 24) | (uint(blk[o + 1]) << 16) | (uint(blk[o + 2]) << 8) \
                | uint(blk[o + 3])
            i += 1
        while i < 160:
            # s0 = sigma0(W[t-15]) = ROTR1 ^ ROTR8 ^ SHR7
            h = uint(w[i - 30])
            l = uint(w[i - 29])
            s0h = ((h >> 1) | ((l & 1) << 31)) ^ ((h >> 8) | ((l & 0xFF) << 24)) ^ (h >> 7)
            s0l = ((l >> 1) | ((h & 1) << 31)) ^ ((l >> 8) | ((h & 0xFF) << 24)) \
                ^ ((l >> 7) | ((h & 0x7F) << 25))
            # s1 = sigma1(W[t-2]) = ROTR19 ^ ROTR61 ^ SHR6
            h = uint(w[i - 4])
            l = uint(w[i - 3])
            s1h = ((h >> 19) | ((l & 0x7FFFF) << 13)) ^ ((l >> 29) | ((h & 0x1FFFFFFF) << 3)) \
                ^ (h >> 6)
            s1l = ((l >> 19) | ((h & 0x7FFFF) << 13)) ^ ((h >> 29) | ((l & 0x1FFFFFFF) << 3)) \
                ^ ((l >> 6) | ((h & 0x3F) << 26))
            # W[t-16] + s0
            ah = uint(w[i - 32])
            al = uint(w[i - 31])
            sl = (al + s0l) & mm
            c = ((al & s0l) | ((al | s0l) & (sl ^ mm))) >> 31
            ah = (ah + s0h + c) & mm
            al = sl
            # + W[t-7]
            bh = uint(w[i - 14])
            bl = uint(w[i - 13])
            sl = (al + bl) & mm
            c = ((al & bl) | ((al | bl) & (sl ^ mm))) >> 31
            ah = (ah + bh + c) & mm
            al = sl
            # + s1
            sl = (al + s1l) & mm
            c = ((al & s1l) | ((al | s1l) & (sl ^ mm))) >> 31
            w[i] = (ah + s1h + c) & mm
            w[i + 1] = sl
            i += 2
        ah = uint(st[0])
        al = uint(st[1])
        bh = uint(st[2])
        bl = uint(st[3])
        ch = uint(st[4])
        cl = uint(st[5])
        dh = uint(st[6])
        dl = uint(st[7])
        eh = uint(st[8])
        el = uint(st[9])
        fh = uint(st[10])
        fl = uint(st[11])
        gh = uint(st[12])
        gl = uint(st[13])
        hh = uint(st[14])
        hl = uint(st[15])
        i = 0
        while i < 160:
            # t1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]
            xh = ((eh >> 14) | ((el & 0x3FFF) << 18)) ^ ((eh >> 18) | ((el & 0x3FFFF) << 14)) \
                ^ ((el >> 9) | ((eh & 0x1FF) << 23))
            xl = ((el >> 14) | ((eh & 0x3FFF) << 18)) ^ ((el >> 18) | ((eh & 0x3FFFF) << 14)) \
                ^ ((eh >> 9) | ((el & 0x1FF) << 23))
            sl = (hl + xl) & mm
            c = ((hl & xl) | ((hl | xl) & (sl ^ mm))) >> 31
            th = (hh + xh + c) & mm
            tl = sl
            xh = (eh & fh) ^ ((eh ^ mm) & gh)
            xl = (el & fl) ^ ((el ^ mm) & gl)
            sl = (tl + xl) & mm
            c = ((tl & xl) | ((tl | xl) & (sl ^ mm))) >> 31
            th = (th + xh + c) & mm
            tl = sl
            xh = uint(k[i])
            xl = uint(k[i + 1])
            sl = (tl + xl) & mm
            c = ((tl & xl) | ((tl | xl) & (sl ^ mm))) >> 31
            th = (th + xh + c) & mm
            tl = sl
            xh = uint(w[i])
            xl = uint(w[i + 1])
            sl = (tl + xl) & mm
            c = ((tl & xl) | ((tl | xl) & (sl ^ mm))) >> 31
            th = (th + xh + c) & mm
            tl = sl
            # t2 = Sigma0(a) + Maj(a, b, c)
            xh = ((ah >> 28) | ((al & 0xFFFFFFF) << 4)) ^ ((al >> 2) | ((ah & 3) << 30)) \
                ^ ((al >> 7) | ((ah & 0x7F) << 25))
            xl = ((al >> 28) | ((ah & 0xFFFFFFF) << 4)) ^ ((ah >> 2) | ((al & 3) << 30)) \
                ^ ((ah >> 7) | ((al & 0x7F) << 25))
            yh = (ah & bh) ^ (ah & ch) ^ (bh & ch)
            yl = (al & bl) ^ (al & cl) ^ (bl & cl)
            sl = (xl + yl) & mm
            c = ((xl & yl) | ((xl | yl) & (sl ^ mm))) >> 31
            yh = (xh + yh + c) & mm
            yl = sl
            hh = gh
            hl = gl
            gh = fh
            gl = fl
            fh = eh
            fl = el
            # e = d + t1
            sl = (dl + tl) & mm
            c = ((dl & tl) | ((dl | tl) & (sl ^ mm))) >> 31
            eh = (dh + th + c) & mm
            el = sl
            dh = ch
            dl = cl
            ch = bh
            cl = bl
            bh = ah
            bl = al
            # a = t1 + t2
            sl = (tl + yl) & mm
            c = ((tl & yl) | ((tl | yl) & (sl ^ mm))) >> 31
            ah = (th + yh + c) & mm
            al = sl
            i += 2
        # H += working variables
        i = 0
        while i < 16:
            if i == 0:
                xh = ah
                xl = al
            elif i == 2:
                xh = bh
                xl = bl
            elif i == 4:
                xh = ch
                xl = cl
            elif i == 6:
                xh = dh
                xl = dl
            elif i == 8:
                xh = eh
                xl = el
            elif i == 10:
                xh = fh
                xl = fl
            elif i == 12:
                xh = gh
                xl = gl
            else:
                xh = hh
                xl = hl
            yh = uint(st[i])
            yl = uint(st[i + 1])
            sl = (yl + xl) & mm
            c = ((yl & xl) | ((yl | xl) & (sl ^ mm))) >> 31
            xh = (yh + xh + c) & mm
            o = i << 2
            sb[o] = xh >> 24
            sb[o + 1] = (xh >> 16) & 0xFF
            sb[o + 2] = (xh >> 8) & 0xFF
            sb[o + 3] = xh & 0xFF
            sb[o + 4] = sl >> 24
            sb[o + 5] = (sl >> 16) & 0xFF
            sb[o + 6] = (sl >> 8) & 0xFF
            sb[o + 7] = sl & 0xFF
            i += 2

    import sys
    if sys.byteorder == 'little':
        _compress_v = _compress_vp
except (ImportError, AttributeError, NameError):
    pass

_KV = None      # the constants as native 32-bit words (viper)
_WV = None      # the message schedule scratch (viper); one hash at a time uses it


def _words_le(raw):
    # big-endian 32-bit words -> the same words in native (little-endian) order
    out = bytearray(len(raw))
    for i in range(0, len(raw), 4):
        out[i] = raw[i + 3]
        out[i + 1] = raw[i + 2]
        out[i + 2] = raw[i + 1]
        out[i + 3] = raw[i]
    return out


def _viper_tables():
    global _KV, _WV
    if _KV is None:
        _KV = bytes(_words_le(_unhex(_K512_HEX)))
        _WV = bytearray(640 + 64)
    return _KV, _WV


_IV384 = _unhex(_IV384_HEX)


class Sha384:
    """SHA-384 in this module: update(data), digest() (does not finalise), copy()."""
    digest_size = 48
    block_size = _B512

    def __init__(self, data=b'', _viper=None, _from=None):
        if _from is not None:       # copy()
            self._viper = _from._viper
            self._h = _from._h[:] if not self._viper else bytearray(_from._h)
            self._buf = bytearray(_from._buf)
            self._n = _from._n
            return
        if _viper is None:
            _viper = _compress_v is not None
        self._viper = _viper
        if _viper:
            self._h = bytearray(_IV384)     # the state, big-endian bytes
        else:
            iv = _IV384
            self._h = [int.from_bytes(iv[8 * i:8 * i + 8], 'big') for i in range(8)]
        self._buf = bytearray()
        self._n = 0
        if data:
            self.update(data)

    def copy(self):
        return Sha384(_from=self)

    def _blocks(self, data, off, end):
        # compress whole blocks data[off:end] (end - off a multiple of 128)
        if self._viper:
            kv, wv = _viper_tables()
            st = self._h
            while off < end:
                _compress_v(st, data, off, kv, wv)
                off += _B512
        else:
            h = self._h
            while off < end:
                _compress_py(h, data, off)
                off += _B512

    def update(self, data):
        n = len(data)
        self._n += n
        buf = self._buf
        off = 0
        if buf:
            take = _B512 - len(buf)
            if take > n:
                take = n
            buf.extend(data[0:take])
            off = take
            if len(buf) < _B512:
                return
            self._blocks(buf, 0, _B512)
            buf = bytearray()
            self._buf = buf
        whole = off + ((n - off) // _B512) * _B512
        if whole > off:
            if not isinstance(data, (bytes, bytearray)):
                data = bytes(data)
            self._blocks(data, off, whole)
        if whole < n:
            buf.extend(data[whole:n])

    def digest(self):
        return self.copy()._final()

    def _final(self):
        # pad and finish this object (it is not usable afterwards)
        c = self
        bits = c._n * 8
        tail = bytearray(c._buf)
        tail.append(0x80)
        pad = (_B512 - 16 - len(tail)) % _B512
        tail.extend(bytes(pad))
        tail.extend(bits.to_bytes(16, 'big'))
        c._blocks(tail, 0, len(tail))
        if c._viper:
            return bytes(c._h[0:48])
        out = bytearray(48)
        for i in range(6):
            out[8 * i:8 * i + 8] = c._h[i].to_bytes(8, 'big')
        return bytes(out)


# ---------------------------------------------------------------------------
# Public functions

try:
    _sha384_hashlib = hashlib.sha384
except AttributeError:
    _sha384_hashlib = None

if _sha384_hashlib is not None:
    BACKEND384 = 'hashlib'
elif _compress_v is not None:
    BACKEND384 = 'viper'
else:
    BACKEND384 = 'python'

DIGEST_SIZE = {'sha256': 32, 'sha384': 48}
BLOCK_SIZE = {'sha256': _B256, 'sha384': _B512}


def sha256(data):
    return hashlib.sha256(data).digest()


def sha384(data):
    if _sha384_hashlib is not None:
        return _sha384_hashlib(data).digest()
    return Sha384(data).digest()


def new(name, data=b''):
    """A hash object (update, digest) for 'sha256' or 'sha384'; digest() may finalise it."""
    if name == 'sha256':
        return hashlib.sha256(data)
    if name == 'sha384':
        if _sha384_hashlib is not None:
            return _sha384_hashlib(data)
        return Sha384(data)
    raise ValueError('unknown hash')


def digest(name, data):
    return new(name, data).digest()


def _xor_const(key, pad, size):
    # key (<= size bytes) zero-padded to size and xored with the byte pad, without a byte loop
    k = int.from_bytes(key, 'big') << (8 * (size - len(key)))
    return (k ^ int.from_bytes(bytes([pad]) * size, 'big')).to_bytes(size, 'big')


class HmacKey:
    """HMAC (RFC 2104) with one key: mac(data) -> tag, as often as wanted."""

    def __init__(self, name, key):
        size = BLOCK_SIZE.get(name)
        if size is None:
            raise ValueError('unknown hash')
        self._name = name
        if len(key) > size:
            key = digest(name, key)
        ipad = _xor_const(key, 0x36, size)
        opad = _xor_const(key, 0x5C, size)
        if name == 'sha384' and _sha384_hashlib is None:
            # our own SHA-384 can be copied: hash the padded keys once
            self._inner = Sha384(ipad)
            self._outer = Sha384(opad)
            self._ipad = None
        else:
            self._ipad = ipad
            self._opad = opad

    def mac(self, data, *more):
        if self._ipad is None:
            h = self._inner.copy()
            h.update(data)
            for d in more:
                h.update(d)
            o = self._outer.copy()
            o.update(h._final())
            return o._final()
        h = new(self._name, self._ipad)
        h.update(data)
        for d in more:
            h.update(d)
        o = new(self._name, self._opad)
        o.update(h.digest())
        return o.digest()

    def __repr__(self):  # never show the key
        return '<HmacKey %s>' % self._name


def hmac(name, key, data):
    """HMAC-SHA-256 or HMAC-SHA-384 (name 'sha256' / 'sha384') of data under key."""
    return HmacKey(name, key).mac(data)
