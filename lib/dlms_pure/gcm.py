# The plain-Python GHASH loops of dlms/gcm.py: the same algorithm as its viper kernels, with Z as
# one 128-bit integer. CPython runs these; on MicroPython they are the reference the viper
# kernels are tested against (Gcm(key, accel=False)). Imported by gcm only when needed: the
# boards, which have viper, do not get this module (tools/mpy_build.py).
from dlms._compat import const
from dlms.gcm import _r

# the kernel's control word, as dlms/gcm.py defines it (private constants are not importable
# on MicroPython: the compiler inlines them)
_CTL_TL = const(21)
_CTL_DEC = const(0x4000000)
_CTL_ABSORB = const(0x8000000)
_CTL_TAG_PRE = const(0x10000000)
_MAX_LEN = const(0x1FFFFF)


def ctr(ks, a, b, boff, nb):
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


def crypt(ks, tab, r8, pre, src, soff, dst, doff, n, ctl):
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




_R8 = None          # 256 reduction values, made with the first key


def kernel(h_words, encrypter):
    """The kernel tuple of gcm.Gcm for the plain loops: (ctr, aes, run, table, r8)."""
    global _R8
    if _R8 is None:
        _R8 = [_r(i, 8) for i in range(256)]
    w = h_words
    tab = [(w[p] << 96) | (w[p + 1] << 64) | (w[p + 2] << 32) | w[p + 3]
           for p in range(0, 128, 4)]
    return (ctr, encrypter, crypt, tab, _R8)
