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

# FIPS 180-4 4.2.3: the 80 SHA-512 round constants, and 5.3.4: the SHA-384 initial value, as
# bytes literals (in a .mpy half the size of their hex; tests/vectors/test_sha2.py derives them
# from the cube and square roots of the primes, as FIPS 180-4 defines them)
_K512 = (  # 80 words of 8 bytes, big-endian: 428a2f98d728ae22, 7137449123ef65cd, ...
    b'\x42\x8a\x2f\x98\xd7\x28\xae\x22\x71\x37\x44\x91\x23\xef\x65\xcd'
    b'\xb5\xc0\xfb\xcf\xec\x4d\x3b\x2f\xe9\xb5\xdb\xa5\x81\x89\xdb\xbc'
    b'\x39\x56\xc2\x5b\xf3\x48\xb5\x38\x59\xf1\x11\xf1\xb6\x05\xd0\x19'
    b'\x92\x3f\x82\xa4\xaf\x19\x4f\x9b\xab\x1c\x5e\xd5\xda\x6d\x81\x18'
    b'\xd8\x07\xaa\x98\xa3\x03\x02\x42\x12\x83\x5b\x01\x45\x70\x6f\xbe'
    b'\x24\x31\x85\xbe\x4e\xe4\xb2\x8c\x55\x0c\x7d\xc3\xd5\xff\xb4\xe2'
    b'\x72\xbe\x5d\x74\xf2\x7b\x89\x6f\x80\xde\xb1\xfe\x3b\x16\x96\xb1'
    b'\x9b\xdc\x06\xa7\x25\xc7\x12\x35\xc1\x9b\xf1\x74\xcf\x69\x26\x94'
    b'\xe4\x9b\x69\xc1\x9e\xf1\x4a\xd2\xef\xbe\x47\x86\x38\x4f\x25\xe3'
    b'\x0f\xc1\x9d\xc6\x8b\x8c\xd5\xb5\x24\x0c\xa1\xcc\x77\xac\x9c\x65'
    b'\x2d\xe9\x2c\x6f\x59\x2b\x02\x75\x4a\x74\x84\xaa\x6e\xa6\xe4\x83'
    b'\x5c\xb0\xa9\xdc\xbd\x41\xfb\xd4\x76\xf9\x88\xda\x83\x11\x53\xb5'
    b'\x98\x3e\x51\x52\xee\x66\xdf\xab\xa8\x31\xc6\x6d\x2d\xb4\x32\x10'
    b'\xb0\x03\x27\xc8\x98\xfb\x21\x3f\xbf\x59\x7f\xc7\xbe\xef\x0e\xe4'
    b'\xc6\xe0\x0b\xf3\x3d\xa8\x8f\xc2\xd5\xa7\x91\x47\x93\x0a\xa7\x25'
    b'\x06\xca\x63\x51\xe0\x03\x82\x6f\x14\x29\x29\x67\x0a\x0e\x6e\x70'
    b'\x27\xb7\x0a\x85\x46\xd2\x2f\xfc\x2e\x1b\x21\x38\x5c\x26\xc9\x26'
    b'\x4d\x2c\x6d\xfc\x5a\xc4\x2a\xed\x53\x38\x0d\x13\x9d\x95\xb3\xdf'
    b'\x65\x0a\x73\x54\x8b\xaf\x63\xde\x76\x6a\x0a\xbb\x3c\x77\xb2\xa8'
    b'\x81\xc2\xc9\x2e\x47\xed\xae\xe6\x92\x72\x2c\x85\x14\x82\x35\x3b'
    b'\xa2\xbf\xe8\xa1\x4c\xf1\x03\x64\xa8\x1a\x66\x4b\xbc\x42\x30\x01'
    b'\xc2\x4b\x8b\x70\xd0\xf8\x97\x91\xc7\x6c\x51\xa3\x06\x54\xbe\x30'
    b'\xd1\x92\xe8\x19\xd6\xef\x52\x18\xd6\x99\x06\x24\x55\x65\xa9\x10'
    b'\xf4\x0e\x35\x85\x57\x71\x20\x2a\x10\x6a\xa0\x70\x32\xbb\xd1\xb8'
    b'\x19\xa4\xc1\x16\xb8\xd2\xd0\xc8\x1e\x37\x6c\x08\x51\x41\xab\x53'
    b'\x27\x48\x77\x4c\xdf\x8e\xeb\x99\x34\xb0\xbc\xb5\xe1\x9b\x48\xa8'
    b'\x39\x1c\x0c\xb3\xc5\xc9\x5a\x63\x4e\xd8\xaa\x4a\xe3\x41\x8a\xcb'
    b'\x5b\x9c\xca\x4f\x77\x63\xe3\x73\x68\x2e\x6f\xf3\xd6\xb2\xb8\xa3'
    b'\x74\x8f\x82\xee\x5d\xef\xb2\xfc\x78\xa5\x63\x6f\x43\x17\x2f\x60'
    b'\x84\xc8\x78\x14\xa1\xf0\xab\x72\x8c\xc7\x02\x08\x1a\x64\x39\xec'
    b'\x90\xbe\xff\xfa\x23\x63\x1e\x28\xa4\x50\x6c\xeb\xde\x82\xbd\xe9'
    b'\xbe\xf9\xa3\xf7\xb2\xc6\x79\x15\xc6\x71\x78\xf2\xe3\x72\x53\x2b'
    b'\xca\x27\x3e\xce\xea\x26\x61\x9c\xd1\x86\xb8\xc7\x21\xc0\xc2\x07'
    b'\xea\xda\x7d\xd6\xcd\xe0\xeb\x1e\xf5\x7d\x4f\x7f\xee\x6e\xd1\x78'
    b'\x06\xf0\x67\xaa\x72\x17\x6f\xba\x0a\x63\x7d\xc5\xa2\xc8\x98\xa6'
    b'\x11\x3f\x98\x04\xbe\xf9\x0d\xae\x1b\x71\x0b\x35\x13\x1c\x47\x1b'
    b'\x28\xdb\x77\xf5\x23\x04\x7d\x84\x32\xca\xab\x7b\x40\xc7\x24\x93'
    b'\x3c\x9e\xbe\x0a\x15\xc9\xbe\xbc\x43\x1d\x67\xc4\x9c\x10\x0d\x4c'
    b'\x4c\xc5\xd4\xbe\xcb\x3e\x42\xb6\x59\x7f\x29\x9c\xfc\x65\x7e\x2a'
    b'\x5f\xcb\x6f\xab\x3a\xd6\xfa\xec\x6c\x44\x19\x8c\x4a\x47\x58\x17')
_IV384 = (  # cbbb9d5dc1059ed8, 629a292a367cd507, ... 47b5481dbefa4fa4
    b'\xcb\xbb\x9d\x5d\xc1\x05\x9e\xd8\x62\x9a\x29\x2a\x36\x7c\xd5\x07'
    b'\x91\x59\x01\x5a\x30\x70\xdd\x17\x15\x2f\xec\xd8\xf7\x0e\x59\x39'
    b'\x67\x33\x26\x67\xff\xc0\x0b\x31\x8e\xb4\x4a\x87\x68\x58\x15\x11'
    b'\xdb\x0c\x2e\x0d\x64\xf9\x8f\xa7\x47\xb5\x48\x1d\xbe\xfa\x4f\xa4')


# ---------------------------------------------------------------------------
# SHA-512 compression, plain Python (64-bit words as ints, masked)

_M64 = 0xFFFFFFFFFFFFFFFF
_K64 = None     # the round constants as ints, made on first use


def _k64():
    global _K64
    if _K64 is None:
        raw = _K512
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
        _KV = bytes(_words_le(_K512))
        _WV = bytearray(640 + 64)
    return _KV, _WV




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
