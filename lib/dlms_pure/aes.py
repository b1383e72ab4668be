# Pure-Python AES (FIPS-197) for runtimes without cryptolib (CPython, MicroPython builds without
# it): the backend dlms/aes.py's new() falls back to. Byte-oriented (S-box plus an xtime table,
# all values < 256) so that on 32-bit boards no operation creates a heap-allocated big int.
# The boards' firmware has cryptolib: this module is not deployed to them (tools/mpy_build.py).
from dlms.aes import AesError, check as _check

# ---------------------------------------------------------------------------
# Tables of the pure-Python AES: S-box, inverse S-box, multiplication by x.
# Computed on first use, so that a board running on cryptolib never holds them.

def _make_tables():
    x2 = bytearray(256)
    for a in range(256):
        b = a << 1
        if b & 0x100:
            b ^= 0x11B
        x2[a] = b
    # exp/log over the generator 3 give multiplicative inverses
    exp = bytearray(256)
    log = bytearray(256)
    v = 1
    for i in range(255):
        exp[i] = v
        log[v] = i
        v ^= x2[v]
    sbox = bytearray(256)
    inv = bytearray(256)
    for a in range(256):
        if a:
            y = exp[(255 - log[a]) % 255]
        else:
            y = 0
        s = y
        r = y
        for _ in range(4):
            r = ((r << 1) | (r >> 7)) & 0xFF
            s ^= r
        s ^= 0x63
        sbox[a] = s
        inv[s] = a
    return bytes(sbox), bytes(inv), bytes(x2)


_SBOX = _INV_SBOX = _X2 = None


def _tables():
    global _SBOX, _INV_SBOX, _X2
    if _SBOX is None:
        _SBOX, _INV_SBOX, _X2 = _make_tables()


def _expand_key(key):
    nk = len(key) >> 2
    nr = nk + 6
    w = bytearray(16 * (nr + 1))
    w[0:len(key)] = key
    sb = _SBOX
    rcon = 1
    for i in range(nk, 4 * (nr + 1)):
        p = 4 * (i - 1)
        t0 = w[p]
        t1 = w[p + 1]
        t2 = w[p + 2]
        t3 = w[p + 3]
        if i % nk == 0:
            t0, t1, t2, t3 = sb[t1] ^ rcon, sb[t2], sb[t3], sb[t0]
            rcon = _X2[rcon]
        elif nk > 6 and i % nk == 4:
            t0, t1, t2, t3 = sb[t0], sb[t1], sb[t2], sb[t3]
        q = 4 * (i - nk)
        o = 4 * i
        w[o] = w[q] ^ t0
        w[o + 1] = w[q + 1] ^ t1
        w[o + 2] = w[q + 2] ^ t2
        w[o + 3] = w[q + 3] ^ t3
    # one tuple of 16 ints per round: unpacking a tuple allocates nothing
    rks = []
    for r in range(nr + 1):
        rks.append(tuple(w[16 * r:16 * r + 16]))
    return rks


class PyAes:
    # State bytes are kept in 16 locals s0..s15, index = row + 4 * column.

    def __init__(self, key):
        _tables()
        rks = _expand_key(key)
        self._first = rks[0]
        self._mid = rks[1:-1]
        self._last = rks[-1]
        # decryption walks the round keys backwards
        dmid = []
        for i in range(len(rks) - 2, 0, -1):
            dmid.append(rks[i])
        self._dmid = dmid

    def encrypt_block(self, b):
        if len(b) != 16:
            raise AesError('block length')
        out = bytearray(16)
        self._enc(b, out, 16)
        return bytes(out)

    def encrypt_into(self, src, dst):
        n = _check(src, dst)
        if n:
            self._enc(src, dst, n)

    def encrypter(self):
        """f(src, dst) as encrypt_into, without its checks (callers that checked the lengths)."""
        return self.encrypt_into

    def decrypt_into(self, src, dst):
        n = _check(src, dst)
        if n:
            self._dec(src, dst, n)

    def _enc(self, src, dst, n):
        S = _SBOX
        X = _X2
        mid = self._mid
        k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15 = self._first
        for o in range(0, n, 16):
            s0 = src[o] ^ k0
            s1 = src[o + 1] ^ k1
            s2 = src[o + 2] ^ k2
            s3 = src[o + 3] ^ k3
            s4 = src[o + 4] ^ k4
            s5 = src[o + 5] ^ k5
            s6 = src[o + 6] ^ k6
            s7 = src[o + 7] ^ k7
            s8 = src[o + 8] ^ k8
            s9 = src[o + 9] ^ k9
            s10 = src[o + 10] ^ k10
            s11 = src[o + 11] ^ k11
            s12 = src[o + 12] ^ k12
            s13 = src[o + 13] ^ k13
            s14 = src[o + 14] ^ k14
            s15 = src[o + 15] ^ k15
            for r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15 in mid:
                # SubBytes and ShiftRows: row r of column c takes column c+r
                a0 = S[s0]
                a1 = S[s5]
                a2 = S[s10]
                a3 = S[s15]
                b0 = S[s4]
                b1 = S[s9]
                b2 = S[s14]
                b3 = S[s3]
                c0 = S[s8]
                c1 = S[s13]
                c2 = S[s2]
                c3 = S[s7]
                d0 = S[s12]
                d1 = S[s1]
                d2 = S[s6]
                d3 = S[s11]
                # MixColumns: out_i = a_i ^ (sum of column) ^ 2*(a_i ^ a_i+1)
                u = a0 ^ a1 ^ a2 ^ a3
                s0 = a0 ^ u ^ X[a0 ^ a1] ^ r0
                s1 = a1 ^ u ^ X[a1 ^ a2] ^ r1
                s2 = a2 ^ u ^ X[a2 ^ a3] ^ r2
                s3 = a3 ^ u ^ X[a3 ^ a0] ^ r3
                u = b0 ^ b1 ^ b2 ^ b3
                s4 = b0 ^ u ^ X[b0 ^ b1] ^ r4
                s5 = b1 ^ u ^ X[b1 ^ b2] ^ r5
                s6 = b2 ^ u ^ X[b2 ^ b3] ^ r6
                s7 = b3 ^ u ^ X[b3 ^ b0] ^ r7
                u = c0 ^ c1 ^ c2 ^ c3
                s8 = c0 ^ u ^ X[c0 ^ c1] ^ r8
                s9 = c1 ^ u ^ X[c1 ^ c2] ^ r9
                s10 = c2 ^ u ^ X[c2 ^ c3] ^ r10
                s11 = c3 ^ u ^ X[c3 ^ c0] ^ r11
                u = d0 ^ d1 ^ d2 ^ d3
                s12 = d0 ^ u ^ X[d0 ^ d1] ^ r12
                s13 = d1 ^ u ^ X[d1 ^ d2] ^ r13
                s14 = d2 ^ u ^ X[d2 ^ d3] ^ r14
                s15 = d3 ^ u ^ X[d3 ^ d0] ^ r15
            r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15 = self._last
            dst[o] = S[s0] ^ r0
            dst[o + 1] = S[s5] ^ r1
            dst[o + 2] = S[s10] ^ r2
            dst[o + 3] = S[s15] ^ r3
            dst[o + 4] = S[s4] ^ r4
            dst[o + 5] = S[s9] ^ r5
            dst[o + 6] = S[s14] ^ r6
            dst[o + 7] = S[s3] ^ r7
            dst[o + 8] = S[s8] ^ r8
            dst[o + 9] = S[s13] ^ r9
            dst[o + 10] = S[s2] ^ r10
            dst[o + 11] = S[s7] ^ r11
            dst[o + 12] = S[s12] ^ r12
            dst[o + 13] = S[s1] ^ r13
            dst[o + 14] = S[s6] ^ r14
            dst[o + 15] = S[s11] ^ r15

    def _dec(self, src, dst, n):
        S = _INV_SBOX
        X = _X2
        mid = self._dmid
        k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15 = self._last
        for o in range(0, n, 16):
            s0 = src[o] ^ k0
            s1 = src[o + 1] ^ k1
            s2 = src[o + 2] ^ k2
            s3 = src[o + 3] ^ k3
            s4 = src[o + 4] ^ k4
            s5 = src[o + 5] ^ k5
            s6 = src[o + 6] ^ k6
            s7 = src[o + 7] ^ k7
            s8 = src[o + 8] ^ k8
            s9 = src[o + 9] ^ k9
            s10 = src[o + 10] ^ k10
            s11 = src[o + 11] ^ k11
            s12 = src[o + 12] ^ k12
            s13 = src[o + 13] ^ k13
            s14 = src[o + 14] ^ k14
            s15 = src[o + 15] ^ k15
            for r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15 in mid:
                # InvShiftRows and InvSubBytes (row r of column c takes column c-r),
                # then AddRoundKey
                a0 = S[s0] ^ r0
                a1 = S[s13] ^ r1
                a2 = S[s10] ^ r2
                a3 = S[s7] ^ r3
                b0 = S[s4] ^ r4
                b1 = S[s1] ^ r5
                b2 = S[s14] ^ r6
                b3 = S[s11] ^ r7
                c0 = S[s8] ^ r8
                c1 = S[s5] ^ r9
                c2 = S[s2] ^ r10
                c3 = S[s15] ^ r11
                d0 = S[s12] ^ r12
                d1 = S[s9] ^ r13
                d2 = S[s6] ^ r14
                d3 = S[s3] ^ r15
                # InvMixColumns = MixColumns after a_i ^= 4*(a_i ^ a_i+2)
                u = X[X[a0 ^ a2]]
                v = X[X[a1 ^ a3]]
                a0 ^= u
                a1 ^= v
                a2 ^= u
                a3 ^= v
                u = a0 ^ a1 ^ a2 ^ a3
                s0 = a0 ^ u ^ X[a0 ^ a1]
                s1 = a1 ^ u ^ X[a1 ^ a2]
                s2 = a2 ^ u ^ X[a2 ^ a3]
                s3 = a3 ^ u ^ X[a3 ^ a0]
                u = X[X[b0 ^ b2]]
                v = X[X[b1 ^ b3]]
                b0 ^= u
                b1 ^= v
                b2 ^= u
                b3 ^= v
                u = b0 ^ b1 ^ b2 ^ b3
                s4 = b0 ^ u ^ X[b0 ^ b1]
                s5 = b1 ^ u ^ X[b1 ^ b2]
                s6 = b2 ^ u ^ X[b2 ^ b3]
                s7 = b3 ^ u ^ X[b3 ^ b0]
                u = X[X[c0 ^ c2]]
                v = X[X[c1 ^ c3]]
                c0 ^= u
                c1 ^= v
                c2 ^= u
                c3 ^= v
                u = c0 ^ c1 ^ c2 ^ c3
                s8 = c0 ^ u ^ X[c0 ^ c1]
                s9 = c1 ^ u ^ X[c1 ^ c2]
                s10 = c2 ^ u ^ X[c2 ^ c3]
                s11 = c3 ^ u ^ X[c3 ^ c0]
                u = X[X[d0 ^ d2]]
                v = X[X[d1 ^ d3]]
                d0 ^= u
                d1 ^= v
                d2 ^= u
                d3 ^= v
                u = d0 ^ d1 ^ d2 ^ d3
                s12 = d0 ^ u ^ X[d0 ^ d1]
                s13 = d1 ^ u ^ X[d1 ^ d2]
                s14 = d2 ^ u ^ X[d2 ^ d3]
                s15 = d3 ^ u ^ X[d3 ^ d0]
            r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15 = self._first
            dst[o] = S[s0] ^ r0
            dst[o + 1] = S[s13] ^ r1
            dst[o + 2] = S[s10] ^ r2
            dst[o + 3] = S[s7] ^ r3
            dst[o + 4] = S[s4] ^ r4
            dst[o + 5] = S[s1] ^ r5
            dst[o + 6] = S[s14] ^ r6
            dst[o + 7] = S[s11] ^ r7
            dst[o + 8] = S[s8] ^ r8
            dst[o + 9] = S[s5] ^ r9
            dst[o + 10] = S[s2] ^ r10
            dst[o + 11] = S[s15] ^ r11
            dst[o + 12] = S[s12] ^ r12
            dst[o + 13] = S[s9] ^ r13
            dst[o + 14] = S[s6] ^ r14
            dst[o + 15] = S[s3] ^ r15


