# Elliptic curves P-256 and P-384 (FIPS 186-4 D.1.2.3 / D.1.2.4; domain parameters hard-coded,
# never taken from the wire) for DLMS security suites 1 and 2: ECDSA with SHA-256 / SHA-384,
# raw r||s signatures (and DER for certificates), RFC 6979 nonces hedged with caller entropy,
# ECDH (the x-coordinate), key generation. Sans-IO: randomness comes in as arguments.
#
# Arithmetic: Python integers (MicroPython's mpz does * and % in C; a special-prime reduction
# written in Python measured slower than one %), points in Jacobian coordinates (x = X/Z^2,
# y = Y/Z^3), a = -3 doubling (3M+5S), mixed addition with an affine table point (8M+3S). The
# point formulas carry @micropython.native (about twice as fast as bytecode under MicroPython;
# making the loops native too gained 2-3% for 5 KiB more code, so they stay bytecode); under
# CPython `micropython` below is a stand-in whose decorator changes nothing.
#
# Secret scalars (signing nonce k, private key d):
# - variable base (ECDH): Joye-Tunstall regular signed fixed window, w = 5. The scalar is made
#   odd (k or n - k, chosen by masks, the result negated back by masks); its digits are odd, in
#   +-{1, 3, .., 31}, so every window does 5 doublings and one addition; each digit is read
#   from fixed bit positions of the scalar (no carries) and turned into a table index and a
#   sign with arithmetic only. The table (16 odd multiples of the peer point, affine: 16 * 64
#   = 1 KiB for P-256, 1.5 KiB for P-384, per call) is read in full at every lookup, selecting
#   by masks (_sel: a viper routine over 32-bit words, else masked integers).
# - fixed base (G): a signed-digit multi-comb (as in libsecp256k1's ecmult_gen): with
#   L = blocks * teeth * spacing >= bits of n and d' = (k + 2^L - 1) / 2 mod n, every bit i of
#   d' stands for +-2^i, so every comb column is a nonzero signed sum, found in a table of
#   2^(teeth-1) entries per block up to a sign. 5 teeth, 2 blocks: spacing 26 (P-256) / 39
#   (P-384): 25 / 38 doublings and 52 / 78 additions. The table is made on first use per
#   curve (or by prepare(), e.g. at boot): 32 affine points, 32 * 64 = 2048 bytes (P-256),
#   32 * 96 = 3072 bytes (P-384), a bytearray in the Curve object. Every lookup reads all 16
#   entries of a block.
# - no branch depends on the scalar, no table index or memory address either. The formulas are
#   not complete: an exceptional addition (equal or opposite points) happens only for a few
#   scalars, whatever the point (fixed window: 38 and n - 38 on P-384, none on P-256; a random
#   scalar hits one with probability near 2^-250); it leaves Z = 0 for good, which is checked
#   once at the end, and then the result is computed again by a Montgomery ladder over
#   complete projective formulas (Renes-Costello-Batina 2016, Algorithm 4; swaps by masks).
#   That one branch reveals only that the scalar is one of those few.
# - inversions of secret-dependent values (Z of k*G, Z of d*Q, k mod n) are blinded: a secret
#   factor b (from the RFC 6979 HMAC state when signing, from HMAC(d, ...) otherwise) is
#   multiplied in, the blinded value inverted by the extended Euclidean algorithm (variable
#   time, but on a value independent of the secret), and b multiplied in again.
# - big-integer operations themselves take time that depends a little on the size of their
#   operands (mpz strips leading zero digits); that is below what this code controls.
# Public computations (verification, tables of public points) are variable time: u1*G + u2*Q
# by Shamir's trick (the u1*G comb columns and a width-5 wNAF of u2 over 8 affine odd
# multiples of Q share one doubling chain), compared as X == r * Z^2 (no inversion).
#
# Public keys are validated (coordinates in [0, p-1], on the curve; the point at infinity
# cannot be encoded; the cofactor is 1) before any use; SEC1 compressed points are refused.
# Private keys (size bytes, big-endian, in [1, n-1]) never appear in repr() or messages.
#
# Heap (MicroPython unix port, x64, beyond the loaded code): about 1 KiB to sign, 3 / 6 KiB to
# verify (P-256 / P-384), 5 / 6 KiB for ECDH, 7 / 8 KiB once to make the fixed-base table.
from array import array
from dlms_pk import sha2
from dlms._compat import const

try:
    import micropython
except ImportError:     # CPython: @micropython.native is a no-op
    class micropython:
        @staticmethod
        def native(f):
            return f

_W = const(5)               # fixed window of the variable-base multiplication
_WN = const(16)             # its table: 2^(W-1) odd multiples
_TEETH = const(5)
_BLOCKS = const(2)
_CN = const(16)             # comb entries per block: 2^(TEETH-1)
_WQ = const(5)              # wNAF width for Q in verification
_WQN = const(8)             # its table: 2^(WQ-2) odd multiples
_TRIES = const(64)          # key generation candidates before giving up


class ECError(ValueError):
    pass


class Curve:
    """A short Weierstrass curve y^2 = x^3 - 3x + b over GF(p), prime order n."""

    def __init__(self, name, oid, hash_name, size, p, b, n, gx, gy):
        self.name = name
        self.oid = oid              # OBJECT IDENTIFIER contents (no tag or length)
        self.hash = hash_name       # 'sha256' / 'sha384'
        self.size = size            # bytes of a coordinate, of a scalar, of r and of s
        self.p = p
        self.b = b
        self.n = n
        self.gx = gx
        self.gy = gy
        self.bits = 8 * size        # n has exactly this many bits for both curves
        self.spacing = (self.bits + _TEETH * _BLOCKS - 1) // (_TEETH * _BLOCKS)
        self._comb = None           # fixed-base table, made on first use

    def __repr__(self):
        return '<Curve %s>' % self.name


P256 = Curve(
    'P-256', b'\x2a\x86\x48\xce\x3d\x03\x01\x07', 'sha256', 32,
    0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff,
    0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b,
    0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551,
    0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
    0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)

P384 = Curve(
    'P-384', b'\x2b\x81\x04\x00\x22', 'sha384', 48,
    int('ffffffffffffffffffffffffffffffffffffffffffffffff'
        'fffffffffffffffeffffffff0000000000000000ffffffff', 16),
    int('b3312fa7e23ee7e4988e056be3f82d19181d9c6efe814112'
        '0314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef', 16),
    int('ffffffffffffffffffffffffffffffffffffffffffffffff'
        'c7634d81f4372ddf581a0db248b0a77aecec196accc52973', 16),
    int('aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98'
        '59f741e082542a385502f25dbf55296c3a545e3872760ab7', 16),
    int('3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c'
        'e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f', 16))

CURVES = (P256, P384)


def curve_by_name(name):
    for c in CURVES:
        if c.name == name:
            return c
    raise ECError('unknown curve')


def curve_by_oid(oid):
    for c in CURVES:
        if c.oid == bytes(oid):
            return c
    raise ECError('unknown curve')


# ---------------------------------------------------------------------------
# Field inversion

def _inv(a, m):
    # a^-1 mod m by the extended Euclidean algorithm; variable time (public or blinded input)
    a = a % m
    if not a:
        raise ECError('zero has no inverse')
    b = m
    x0 = 0
    x1 = 1
    while a:
        q, r = divmod(b, a)
        b = a
        a = r
        t = x0 - q * x1
        x0 = x1
        x1 = t
    return x0 % m


def _inv_blind(a, m, beta):
    # a^-1 mod m for a secret a: beta is a secret nonzero blinding factor
    return _inv(a * beta % m, m) * beta % m


# ---------------------------------------------------------------------------
# Jacobian point arithmetic (a = -3). A point is X, Y, Z; Z = 0 is the point at infinity.

@micropython.native
def _dbl(x, y, z, p):
    # dbl-2001-b: 3M + 5S
    d = z * z % p
    g = y * y % p
    b = x * g % p
    a = 3 * (x - d) * (x + d) % p
    x3 = (a * a - 8 * b) % p
    z3 = 2 * y * z % p
    return x3, (a * (4 * b - x3) - 8 * g * g) % p, z3


@micropython.native
def _dbln(x, y, z, p, k):
    # k doublings in a row
    while k:
        d = z * z % p
        g = y * y % p
        b = x * g % p
        a = 3 * (x - d) * (x + d) % p
        x = (a * a - 8 * b) % p
        z = 2 * y * z % p
        y = (a * (4 * b - x) - 8 * g * g) % p
        k -= 1
    return x, y, z


@micropython.native
def _madd(x1, y1, z1, x2, y2, p):
    # Jacobian + affine, 8M + 3S. No special cases: equal or opposite points (and an infinite
    # first point) give Z3 = 0, which stays 0 through every later doubling and addition.
    zz = z1 * z1 % p
    h = x2 * zz % p - x1
    r = y2 * (z1 * zz % p) % p - y1
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p


@micropython.native
def _madd_safe(x1, y1, z1, x2, y2, p):
    # Jacobian + affine with the special cases (public points only)
    if not z1:
        return x2, y2, 1
    zz = z1 * z1 % p
    h = (x2 * zz - x1) % p
    r = (y2 * (z1 * zz % p) - y1) % p
    if not h:
        if not r:
            return _dbl(x1, y1, z1, p)
        return 1, 1, 0
    hh = h * h % p
    hhh = h * hh % p
    v = x1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - y1 * hhh) % p, z1 * h % p


def _normalize(pts, p, out=None, size=0, o=0):
    # Jacobian points (none at infinity) -> affine, one inversion (Montgomery's trick). Into
    # lists xs, ys (returned), or with out: into table bytes out[o:], entry i at o + 2 size i,
    # x then y, each little-endian (so native 32-bit words for _sel_v); the points are dropped
    # from pts as they are written, to keep the peak heap low. Callers allocate out before the
    # work that fragments the heap.
    n = len(pts)
    acc = [0] * n
    a = 1
    for i in range(n):
        a = a * pts[i][2] % p
        acc[i] = a
    inv = _inv(a, p)
    if out is None:
        xs = [0] * n
        ys = [0] * n
    for i in range(n - 1, -1, -1):
        x, y, z = pts[i]
        zi = inv * acc[i - 1] % p if i else inv
        inv = inv * z % p
        z2 = zi * zi % p
        x = x * z2 % p
        y = y * (z2 * zi % p) % p
        if out is None:
            xs[i] = x
            ys[i] = y
        else:
            pts[i] = None
            acc[i] = None
            e = o + 2 * size * i
            out[e:e + size] = x.to_bytes(size, 'little')
            out[e + size:e + 2 * size] = y.to_bytes(size, 'little')
    if out is None:
        return xs, ys
    return out


# ---------------------------------------------------------------------------
# Complete projective formulas (x = X/Z, y = Y/Z), a = -3: Renes, Costello, Batina,
# "Complete addition formulas for prime order elliptic curves" (2016), Algorithm 4. They work
# for doubling and the point at infinity (0 : 1 : 0) too. Only the fallback ladder uses them.

def _cadd(x1, y1, z1, x2, y2, z2, p, b):
    t0 = x1 * x2 % p
    t1 = y1 * y2 % p
    t2 = z1 * z2 % p
    t3 = (x1 + y1) * (x2 + y2) % p
    t4 = t0 + t1
    t3 = t3 - t4
    t4 = (y1 + z1) * (y2 + z2) % p
    x3 = t1 + t2
    t4 = t4 - x3
    x3 = (x1 + z1) * (x2 + z2) % p
    y3 = t0 + t2
    y3 = x3 - y3
    z3 = b * t2 % p
    x3 = y3 - z3
    z3 = x3 + x3
    x3 = x3 + z3
    z3 = t1 - x3
    x3 = t1 + x3
    y3 = b * y3 % p
    t1 = t2 + t2
    t2 = t1 + t2
    y3 = y3 - t2
    y3 = y3 - t0
    t1 = y3 + y3
    y3 = t1 + y3
    t1 = t0 + t0
    t0 = t1 + t0
    t0 = t0 - t2
    t1 = t4 * y3 % p
    t2 = t0 * y3 % p
    y3 = (x3 * z3 + t2) % p
    x3 = (t3 * x3 - t1) % p
    z3 = (t4 * z3 + t3 * t0) % p
    return x3, y3, z3


def _ladder(c, x, y, k):
    # k*(x, y) by a Montgomery ladder over complete formulas, swaps by masks; returns Jacobian
    p = c.p
    b = c.b
    kb = k.to_bytes(c.size, 'big')
    r0x, r0y, r0z = 0, 1, 0
    r1x, r1y, r1z = x, y, 1
    for i in range(c.bits):
        m = -((kb[i >> 3] >> (7 - (i & 7))) & 1)
        t = (r0x ^ r1x) & m
        r0x ^= t
        r1x ^= t
        t = (r0y ^ r1y) & m
        r0y ^= t
        r1y ^= t
        t = (r0z ^ r1z) & m
        r0z ^= t
        r1z ^= t
        r1x, r1y, r1z = _cadd(r0x, r0y, r0z, r1x, r1y, r1z, p, b)
        r0x, r0y, r0z = _cadd(r0x, r0y, r0z, r0x, r0y, r0z, p, b)
        t = (r0x ^ r1x) & m
        r0x ^= t
        r1x ^= t
        t = (r0y ^ r1y) & m
        r0y ^= t
        r1y ^= t
        t = (r0z ^ r1z) & m
        r0z ^= t
        r1z ^= t
    # projective -> Jacobian: (X Z, Y Z^2, Z)
    return r0x * r0z % p, r0y * (r0z * r0z % p) % p, r0z


# ---------------------------------------------------------------------------
# Constant-access table lookup: entry idx of nent entries of nb bytes starting at byte base,
# every entry read. Result: the entry as one little-endian integer (x | y << 8*size).

_sel_v = None

try:
    @micropython.viper
    def _sel_vp(tab: ptr32, base: int, nent: int, nw: int, idx: int, out: ptr32):
        i = 0
        while i < nw:
            out[i] = 0
            i += 1
        e = 0
        o = base
        while e < nent:
            m = ((e ^ idx) - 1) >> 31       # -1 when e == idx, else 0
            i = 0
            while i < nw:
                out[i] = out[i] | (tab[o + i] & m)
                i += 1
            o += nw
            e += 1

    import sys as _sys
    if _sys.byteorder == 'little':
        _sel_v = _sel_vp
except (AttributeError, NameError, TypeError):
    pass

ACCEL = 'viper' if _sel_v is not None else 'python'


def _sel_py(tab, base, nent, nb, idx):
    acc = 0
    o = base
    for e in range(nent):
        acc |= int.from_bytes(tab[o:o + nb], 'little') & -(e == idx)
        o += nb
    return acc


# ---------------------------------------------------------------------------
# Variable base, secret scalar (regular signed fixed window)

def _odd_multiples(c, x, y, cnt):
    # x, y, 3(x, y), ..., (2 cnt - 1)(x, y), Jacobian (public input, variable time)
    p = c.p
    dx, dy, dz = _dbl(x, y, 1, p)
    zi = _inv(dz, p)
    z2 = zi * zi % p
    dx = dx * z2 % p
    dy = dy * (z2 * zi % p) % p
    pts = [(x, y, 1)]
    px, py, pz = x, y, 1
    for _ in range(cnt - 1):        # (2i+1) P + 2P: never equal or opposite points (n > 2 cnt)
        px, py, pz = _madd(px, py, pz, dx, dy, p)
        pts.append((px, py, pz))
    return pts


def _mul_ct_core(p, size, tab, kb, m, sel, out):
    # the main loop of _mul_ct; kb: the odd scalar, little-endian, zero padded
    nb = 2 * size
    nw = size >> 1
    mask = (1 << (8 * size)) - 1
    # top digit: 2 * (k >> ((m - 1) W + 1)) + 1 (positive, < 2^W)
    pos = (m - 1) * _W + 1
    j = pos >> 3
    t = (((kb[j] | (kb[j + 1] << 8)) >> (pos & 7)) << 1) | 1
    idx = t >> 1
    if sel is not None:
        sel(tab, 0, _WN, nw, idx, out)
        v = int.from_bytes(out, 'little')
    else:
        v = _sel_py(tab, 0, _WN, nb, idx)
    x = v & mask
    y = v >> (8 * size)
    z = 1
    i = m - 2
    while i >= 0:
        x, y, z = _dbln(x, y, z, p, _W)
        if i:
            pos = i * _W + 1
            j = pos >> 3
            t = (((((kb[j] | (kb[j + 1] << 8)) >> (pos & 7)) & 31) << 1) | 1) - 32
        else:
            t = (kb[0] & 63) - 32
        s = t >> 8                      # -1 when the digit is negative, else 0
        a = (t ^ s) - s                 # |t|, odd
        idx = a >> 1
        if sel is not None:
            sel(tab, 0, _WN, nw, idx, out)
            v = int.from_bytes(out, 'little')
        else:
            v = _sel_py(tab, 0, _WN, nb, idx)
        ty = v >> (8 * size)
        ty = ty ^ ((ty ^ (p - ty)) & s)     # negated by mask
        x, y, z = _madd(x, y, z, v & mask, ty, p)
        i -= 1
    return x, y, z


def _mul_ct(c, x, y, k):
    """k*(x, y) in Jacobian coordinates; k secret in [1, n-1], (x, y) validated."""
    p = c.p
    n = c.n
    even = (k & 1) - 1                  # -1 when k is even
    ko = k ^ ((k ^ (n - k)) & even)     # k or n - k, whichever is odd
    tab = bytearray(2 * c.size * _WN)
    _normalize(_odd_multiples(c, x, y, _WN), p, tab, c.size)
    m = (c.bits + _W - 1) // _W        # digits: m W >= bits keeps the top digit below 2^W
    kb = ko.to_bytes(c.size + 2, 'little')
    out = bytearray(2 * c.size) if _sel_v is not None else None
    X, Y, Z = _mul_ct_core(p, c.size, tab, kb, m, _sel_v, out)
    if not Z:
        return _ladder(c, x, y, k)
    Y = Y ^ ((Y ^ (p - Y)) & even)      # (n - k) P = -kP: negate back
    return X, Y, Z


# ---------------------------------------------------------------------------
# Fixed base G, secret scalar (signed-digit multi-comb)

def _comb_table(c):
    if c._comb is not None:
        return c._comb
    p = c.p
    s = c.spacing
    out = bytearray(2 * c.size * _CN * _BLOCKS)
    # B[b][t] = 2^(s (t + TEETH b)) G
    base = []
    x, y, z = c.gx, c.gy, 1
    for i in range(_TEETH * _BLOCKS):
        base.append((x, y, z))
        if i < _TEETH * _BLOCKS - 1:
            x, y, z = _dbln(x, y, z, p, s)
    bx, by = _normalize(base, p)
    base = None
    for blk in range(_BLOCKS):
        o = blk * _TEETH
        # entry 0: B[TEETH-1] - sum of B[t], t < TEETH-1
        e = (bx[o + _TEETH - 1], by[o + _TEETH - 1], 1)
        for t in range(_TEETH - 1):
            e = _madd_safe(e[0], e[1], e[2], bx[o + t], p - by[o + t], p)
        # twice each B[t], t < TEETH-1, affine
        tw = [_dbl(bx[o + t], by[o + t], 1, p) for t in range(_TEETH - 1)]
        twx, twy = _normalize(tw, p)
        ent = [e]
        for i in range(1, _CN):
            hb = 0
            while (2 << hb) <= i:
                hb += 1
            q = ent[i - (1 << hb)]
            ent.append(_madd_safe(q[0], q[1], q[2], twx[hb], twy[hb], p))
        tw = twx = twy = None
        _normalize(ent, p, out, c.size, blk * _CN * 2 * c.size)
        ent = None
    c._comb = out
    return out


def prepare(c):
    """Make the curve's fixed-base table now (2 KiB for P-256, 3 KiB for P-384; otherwise it is
    made by the first operation that needs it): at boot, while the heap is still unfragmented."""
    _comb_table(c)


def _comb_core(p, size, spacing, tab, db, sel, out):
    # sum over columns j (high to low, doubling between) and blocks of the signed comb entries;
    # db: the recoded scalar d', little-endian
    nb = 2 * size
    nw = size >> 1
    mask = (1 << (8 * size)) - 1
    hi = _CN - 1
    x = 0
    y = 0
    z = 0
    j = spacing - 1
    first = True
    while j >= 0:
        if not first:
            x, y, z = _dbl(x, y, z, p)
        blk = 0
        while blk < _BLOCKS:
            pos = j + spacing * _TEETH * blk
            low = 0
            t = 0
            while t < _TEETH - 1:
                low |= ((db[pos >> 3] >> (pos & 7)) & 1) << t
                pos += spacing
                t += 1
            top = (db[pos >> 3] >> (pos & 7)) & 1
            flip = top - 1                  # -1: tooth TEETH-1 is negative: negate all
            idx = low ^ (flip & hi)
            if sel is not None:
                sel(tab, blk * _CN * nw, _CN, nw, idx, out)
                v = int.from_bytes(out, 'little')
            else:
                v = _sel_py(tab, blk * _CN * nb, _CN, nb, idx)
            ty = v >> (8 * size)
            ty = ty ^ ((ty ^ (p - ty)) & flip)
            if first:
                x = v & mask
                y = ty
                z = 1
                first = False
            else:
                x, y, z = _madd(x, y, z, v & mask, ty, p)
            blk += 1
        j -= 1
    return x, y, z


def _comb_scalar(c, k):
    # d' = (k + 2^L - 1) / 2 mod n, as bytes (little-endian, zero padded)
    L = c.spacing * _TEETH * _BLOCKS
    d = (k + (1 << L) - 1) * ((c.n + 1) >> 1) % c.n
    return d.to_bytes((L + 7) // 8 + 1, 'little')


def _mul_g_ct(c, k):
    """k*G in Jacobian coordinates; k secret in [1, n-1]."""
    tab = _comb_table(c)
    out = bytearray(2 * c.size) if _sel_v is not None else None
    X, Y, Z = _comb_core(c.p, c.size, c.spacing, tab, _comb_scalar(c, k), _sel_v, out)
    if not Z:
        return _ladder(c, c.gx, c.gy, k)
    return X, Y, Z


def _affine_blind(c, X, Y, Z, beta):
    p = c.p
    zi = _inv_blind(Z, p, beta)
    z2 = zi * zi % p
    return X * z2 % p, Y * (z2 * zi % p) % p


# ---------------------------------------------------------------------------
# Verification: u1 G + u2 Q, public data, variable time

def _wnaf(k, nbits, w):
    # width-w NAF of k, digits low to high (0 or odd in +-[1, 2^(w-1) - 1]), read from bytes
    kb = k.to_bytes((nbits + 7) // 8 + 3, 'little')
    full = 1 << w
    half = full >> 1
    wm = full - 1
    out = array('b', bytes(nbits + w + 1))     # signed bytes: 1/8 of a list's memory
    i = 0
    carry = 0
    while i < nbits or carry:
        j = i >> 3
        bit = ((kb[j] >> (i & 7)) & 1) + carry
        if bit != 1:
            carry = bit >> 1
            i += 1
            continue
        v = (((kb[j] | (kb[j + 1] << 8) | (kb[j + 2] << 16)) >> (i & 7)) & wm) + carry
        if v >= half:
            out[i] = v - full
            carry = 1
        else:
            out[i] = v
            carry = 0
        i += w
    return out


def _shamir(c, u1, u2, qx, qy):
    # u1 G + u2 Q, Jacobian, with the special cases handled (public data)
    p = c.p
    size = c.size
    nb = 2 * size
    mask = (1 << (8 * size)) - 1
    tab = _comb_table(c)
    spacing = c.spacing
    db = _comb_scalar(c, u1)
    naf = _wnaf(u2, c.bits, _WQ)
    qxs, qys = _normalize(_odd_multiples(c, qx, qy, _WQN), p)
    x, y, z = 1, 1, 0
    top = len(naf) - 1
    while top >= 0 and not naf[top]:
        top -= 1
    i = top if top >= spacing else spacing - 1
    hi = _CN - 1
    while i >= 0:
        # positions i, i-1, .. down to the next one with an addition (j) only double: at once
        j = i
        while j >= spacing and (j > top or not naf[j]):
            j -= 1
        if z:
            x, y, z = _dbln(x, y, z, p, i - j + 1)
        i = j
        d = naf[i] if i <= top else 0
        if d > 0:
            x, y, z = _madd_safe(x, y, z, qxs[d >> 1], qys[d >> 1], p)
        elif d < 0:
            x, y, z = _madd_safe(x, y, z, qxs[(-d) >> 1], p - qys[(-d) >> 1], p)
        if i < spacing:
            for blk in range(_BLOCKS):
                pos = i + spacing * _TEETH * blk
                low = 0
                for t in range(_TEETH - 1):
                    low |= ((db[pos >> 3] >> (pos & 7)) & 1) << t
                    pos += spacing
                o = blk * _CN * nb
                if (db[pos >> 3] >> (pos & 7)) & 1:
                    o += low * nb
                    v = int.from_bytes(tab[o:o + nb], 'little')
                    ty = v >> (8 * size)
                else:
                    o += (low ^ hi) * nb
                    v = int.from_bytes(tab[o:o + nb], 'little')
                    ty = p - (v >> (8 * size))
                x, y, z = _madd_safe(x, y, z, v & mask, ty, p)
        i -= 1
    return x, y, z


# ---------------------------------------------------------------------------
# Encodings

def _b2i(b):
    return int.from_bytes(b, 'big')


def _validate(c, x, y):
    p = c.p
    if not (0 <= x < p and 0 <= y < p):
        raise ECError('public key coordinate out of range')
    if (y * y - (x * x * x - 3 * x + c.b)) % p:
        raise ECError('public key not on the curve')


def decode_point(c, data):
    """X||Y (2 size bytes, as DLMS sends it) or SEC1 04||X||Y -> (x, y), validated."""
    size = c.size
    n = len(data)
    if n == 2 * size + 1 and data[0] == 4:
        data = data[1:]
    elif n != 2 * size:
        raise ECError('public key encoding')
    x = _b2i(data[0:size])
    y = _b2i(data[size:2 * size])
    _validate(c, x, y)
    return x, y


def encode_point(c, x, y, sec1=False):
    """(x, y) -> X||Y, or 04||X||Y with sec1=True."""
    raw = x.to_bytes(c.size, 'big') + y.to_bytes(c.size, 'big')
    return b'\x04' + raw if sec1 else raw


def _point(c, pub):
    # a public key as bytes (raw or SEC1) or an (x, y) pair -> validated (x, y)
    if isinstance(pub, tuple):
        x, y = pub
        _validate(c, x, y)
        return x, y
    return decode_point(c, pub)


def _priv(c, d):
    # private key bytes (exactly size bytes, big-endian) -> int in [1, n-1]
    if len(d) != c.size:
        raise ECError('private key length')
    k = _b2i(d)
    if not 0 < k < c.n:
        raise ECError('private key out of range')
    return k


def _bits2int(c, h):
    e = _b2i(h)
    excess = 8 * len(h) - c.bits
    if excess > 0:
        e >>= excess
    return e


# ---------------------------------------------------------------------------
# Keys

def _blind(c, key, data):
    # a secret nonzero blinding factor mod p derived from a secret key
    v = _b2i(sha2.hmac(c.hash, key, data))
    return v % (c.p - 1) + 1


def public_key(c, d):
    """The public key X||Y of private key d (size bytes)."""
    k = _priv(c, d)
    X, Y, Z = _mul_g_ct(c, k)
    x, y = _affine_blind(c, X, Y, Z, _blind(c, d, b'Q'))
    return encode_point(c, x, y)


def generate_keypair(c, rng):
    """(d, X||Y): d drawn by rejection sampling from rng(n) (n random bytes), in [1, n-1]."""
    for _ in range(_TRIES):
        d = bytes(rng(c.size))
        if len(d) != c.size:
            raise ECError('rng returned the wrong length')
        k = _b2i(d)
        if 0 < k < c.n:
            return d, public_key(c, d)
    raise ECError('rng failure')


def point_mul(c, d, pub):
    """d * pub (a public point, validated first) as X||Y; d secret (size bytes)."""
    x, y = _point(c, pub)
    k = _priv(c, d)
    X, Y, Z = _mul_ct(c, x, y, k)
    x, y = _affine_blind(c, X, Y, Z, _blind(c, d, encode_point(c, x, y)))
    return encode_point(c, x, y)


def shared_secret(c, d, peer):
    """ECDH (SP 800-56A ECC CDH, cofactor 1): Z = x(d * peer), size bytes. The peer's public key
    (X||Y, 04||X||Y or (x, y)) is validated first; ECError if it is not a valid point."""
    x, y = _point(c, peer)
    k = _priv(c, d)
    X, Y, Z = _mul_ct(c, x, y, k)
    p = c.p
    zi = _inv_blind(Z, p, _blind(c, d, encode_point(c, x, y)))
    return (X * (zi * zi % p) % p).to_bytes(c.size, 'big')


# ---------------------------------------------------------------------------
# ECDSA

class _Nonces:
    # RFC 6979 section 3.2 HMAC_DRBG, with section 3.6 additional data k' = extra
    def __init__(self, c, x, e, extra):
        hn = c.hash
        hl = sha2.DIGEST_SIZE[hn]
        self._hn = hn
        self._c = c
        xo = x.to_bytes(c.size, 'big')
        h1 = (e % c.n).to_bytes(c.size, 'big')      # bits2octets
        v = b'\x01' * hl
        k = sha2.HmacKey(hn, b'\x00' * hl)
        k = sha2.HmacKey(hn, k.mac(v, b'\x00', xo, h1, extra))
        v = k.mac(v)
        k = sha2.HmacKey(hn, k.mac(v, b'\x01', xo, h1, extra))
        self._v = k.mac(v)
        self._k = k
        self._first = True

    def next(self):
        if not self._first:
            k = sha2.HmacKey(self._hn, self._k.mac(self._v, b'\x00'))
            self._v = k.mac(self._v)
            self._k = k
        self._first = False
        size = self._c.size
        t = b''
        while len(t) < size:
            self._v = self._k.mac(self._v)
            t += self._v
        return _b2i(t[0:size])         # bits2int: qlen = 8 size bits for both curves

    def blind(self, tag, m):
        # a secret nonzero blinding factor mod m, without touching K and V
        return _b2i(self._k.mac(self._v, tag)) % (m - 1) + 1

    def __repr__(self):
        return '<_Nonces>'


def sign_digest(c, d, h, extra=b''):
    """ECDSA signature r||s (2 size bytes) of digest h with private key d (size bytes).
    k per RFC 6979 with `extra` (fresh DRBG bytes) as additional data; extra=b'' gives the
    deterministic RFC 6979 signature."""
    x = _priv(c, d)
    n = c.n
    e = _bits2int(c, h)
    gen = _Nonces(c, x, e, bytes(extra))
    while True:
        k = gen.next()
        if not 0 < k < n:
            continue
        X, Y, Z = _mul_g_ct(c, k)
        p = c.p
        zi = _inv_blind(Z, p, gen.blind(b'\x02', p))
        r = X * (zi * zi % p) % p % n
        if not r:
            continue
        s = _inv_blind(k, n, gen.blind(b'\x03', n)) * (e + r * x) % n
        if not s:
            continue
        return r.to_bytes(c.size, 'big') + s.to_bytes(c.size, 'big')


def sign(c, d, msg, extra=b''):
    """ECDSA over msg with the curve's hash (P-256: SHA-256, P-384: SHA-384); raw r||s."""
    return sign_digest(c, d, sha2.digest(c.hash, msg), extra)


def verify_digest(c, pub, h, sig):
    """True when sig (raw r||s, 2 size bytes) is a valid signature of digest h under pub. The
    public key is validated first (ECError if invalid); a malformed signature is just False."""
    qx, qy = _point(c, pub)
    size = c.size
    if len(sig) != 2 * size:
        return False
    n = c.n
    r = _b2i(sig[0:size])
    s = _b2i(sig[size:2 * size])
    if not (0 < r < n and 0 < s < n):
        return False
    w = _inv(s, n)
    e = _bits2int(c, h)
    X, Y, Z = _shamir(c, e * w % n, r * w % n, qx, qy)
    if not Z:
        return False
    p = c.p
    zz = Z * Z % p
    if (X - r * zz) % p == 0:
        return True
    return r + n < p and (X - (r + n) * zz) % p == 0


def verify(c, pub, msg, sig):
    """verify_digest over msg hashed with the curve's hash."""
    return verify_digest(c, pub, sha2.digest(c.hash, msg), sig)


# ---------------------------------------------------------------------------
# DER signatures (RFC 5480 / X9.62 Ecdsa-Sig-Value: SEQUENCE { r INTEGER, s INTEGER })

def _der_int(v, size):
    b = v.to_bytes(size + 1, 'big')     # room for a leading 0 if needed
    i = 0
    while i < size and b[i] == 0 and b[i + 1] < 0x80:
        i += 1
    return bytes([2, size + 1 - i]) + b[i:]


def sig_to_der(c, raw):
    """Raw r||s (2 size bytes) -> DER Ecdsa-Sig-Value (minimal INTEGERs, short lengths)."""
    size = c.size
    if len(raw) != 2 * size:
        raise ECError('signature length')
    body = _der_int(_b2i(raw[0:size]), size) + _der_int(_b2i(raw[size:2 * size]), size)
    return bytes([0x30, len(body)]) + body     # at most 2 * 51 bytes: short form


def _der_read_int(der, pos, end):
    if pos + 2 > end or der[pos] != 2:
        raise ECError('DER: INTEGER expected')
    ln = der[pos + 1]
    pos += 2
    if ln == 0 or ln >= 0x80 or pos + ln > end:
        raise ECError('DER: INTEGER length')
    if der[pos] & 0x80:
        raise ECError('DER: negative INTEGER')
    if ln > 1 and der[pos] == 0 and der[pos + 1] < 0x80:
        raise ECError('DER: INTEGER not minimal')
    return _b2i(der[pos:pos + ln]), pos + ln


def sig_from_der(c, der):
    """Strict DER Ecdsa-Sig-Value -> raw r||s; ECError for anything not exactly DER (long or
    indefinite lengths, padding, negative or non-minimal INTEGERs, trailing bytes) or for r or
    s outside [1, n-1]."""
    n = len(der)
    if n < 2 or der[0] != 0x30 or der[1] >= 0x80 or der[1] + 2 != n:
        raise ECError('DER: SEQUENCE')
    r, pos = _der_read_int(der, 2, n)
    s, pos = _der_read_int(der, pos, n)
    if pos != n:
        raise ECError('DER: trailing bytes')
    if not (0 < r < c.n and 0 < s < c.n):
        raise ECError('DER: r or s out of range')
    return r.to_bytes(c.size, 'big') + s.to_bytes(c.size, 'big')


def verify_der(c, pub, msg, der):
    """verify() with a DER signature; anything not strict DER is just False."""
    try:
        raw = sig_from_der(c, der)
    except ECError:
        return False
    return verify(c, pub, msg, raw)

