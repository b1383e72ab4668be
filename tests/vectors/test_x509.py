# dlms_pk.asn1 and dlms_pk.x509 under both runtimes (CPython and the MicroPython unix port): the
# demo PKI of tools/demo_pki/ (read relative to the repository root, the working directory of
# both runners) parsed; chain, role, validity and identity checks pass for the good certificates
# and fail with the documented reason for each negative one; our CSRs and issued certificates
# verify with our own parser; malformed DER (every truncation, every byte changed, length tricks,
# trailing bytes) raises the module's error and nothing else; the size bounds hold. The
# cross-checks against `cryptography` are in tests/test_x509_oracle.py.
import os
from binascii import unhexlify

from dlms_pk import asn1, ec, x509
from dlms_ca import ca as dca
from vector_util import h, raised


def _root():
    try:
        os.stat('tools/demo_pki/ca.pem')
        return 'tools/demo_pki/'
    except OSError:     # pytest from elsewhere: relative to this file (tests/vectors/)
        f = __file__
        return f[0:f.rfind('/tests/vectors/') + 1] + 'tools/demo_pki/'


_DIR = _root()
_ST = unhexlify('4D4D4D0000000001')
_OTHER_ST = unhexlify('4D4D4D0000000002')
_DAY = 86400
_NOW = asn1.days(2026, 6, 1) * _DAY
_START = asn1.days(2026, 1, 1) * _DAY
_SIGN = x509.ROLE_SIGN
_AGREE = x509.ROLE_AGREE
_CA = x509.ROLE_CA
_cache = {}


def _text(rel):
    with open(_DIR + rel) as f:
        return f.read()


def _der(rel):
    return dca.pem_decode(_text(rel), 'CERTIFICATE')


def _cert(rel):
    if rel not in _cache:
        _cache[rel] = x509.Certificate(_der(rel))
    return _cache[rel]


def _key(rel):
    return dca.pem_private_key(_text(rel))


def _anchors():
    return [_cert('ca.pem'), _cert('ca-p384.pem')]


def _reason(fn, *args):
    e = raised(x509.X509Error, fn, *args)
    return e.reason if e is not None else None


def _check(cert, role, st=_ST, now=_NOW, anchors=None):
    return _reason(x509.check, cert, role, st, now, _anchors() if anchors is None else anchors)


def _pem_names(sub):
    out = []
    for n in sorted(os.listdir(_DIR + sub)):
        if n.endswith('.pem') and not n.endswith('.key.pem'):
            out.append(sub + n)
    return out


# ---------------------------------------------------------------------------
# The demo PKI

def test_demo_files_parse():
    names = _pem_names('') + _pem_names('test/')
    assert len(names) >= 20, names
    for n in names:
        if n == 'test/client-sign-unknown-critical.pem':
            continue
        c = _cert(n)
        assert c.tbs and c.signature and c.serial > 0, n
        assert c.der == _der(n)
        assert len(c.public_key) == 2 * c.curve.size, n


def test_demo_ca_fields():
    for rel, curve, hn in (('ca.pem', ec.P256, 'sha256'), ('ca-p384.pem', ec.P384, 'sha384')):
        ca = _cert(rel)
        assert ca.curve is curve and ca.hash == hn
        assert ca.is_ca and ca.path_len is None
        assert ca.key_usage == x509.KU_KEY_CERT_SIGN | x509.KU_CRL_SIGN and ca.ku_critical
        assert ca.not_before == _START
        assert ca.not_after == asn1.days(2056, 1, 1) * _DAY     # a GeneralizedTime (>= 2050)
        assert ca.issuer == ca.subject and ca.subject_cn == ca.issuer_cn
        assert len(ca.ski) == 20 and ca.aki == ca.ski
        assert ca.hw_serial is None
        x509.verify_signed_by(ca, ca)
    assert _cert('ca.pem').subject_cn == 'DLMS demo CA (never on a real meter)'


def test_demo_client_fields():
    for suffix, curve in (('', ec.P256), ('-p384', ec.P384)):
        ca = _cert('ca%s.pem' % suffix)
        for role, ku in (('sign', x509.KU_DIGITAL_SIGNATURE), ('agree', x509.KU_KEY_AGREEMENT)):
            c = _cert('client-%s%s.pem' % (role, suffix))
            assert c.curve is curve and c.hash == curve.hash
            assert c.subject_cn == '4D4D4D0000000001'
            assert c.key_usage == ku and c.ku_critical and not c.is_ca
            assert c.issuer == ca.subject and c.aki == ca.ski
            assert c.not_before == _START and c.not_after == asn1.days(2046, 1, 1) * _DAY


def test_demo_private_keys_match():
    for rel in ('ca', 'client-sign', 'client-agree', 'ca-p384', 'client-sign-p384',
                'client-agree-p384'):
        c, d = _key(rel + '.key.pem')
        cert = _cert(rel + '.pem')
        assert c is cert.curve and len(d) == c.size
        assert ec.public_key(c, d) == cert.public_key, rel
    for suffix in ('', '-p384'):     # SEC1 and PKCS#8 forms of the same key
        assert _key('test/client-sign%s.sec1.key.pem' % suffix) == \
            _key('client-sign%s.key.pem' % suffix)


def test_good_chains_and_roles():
    for rel, role in (('client-sign.pem', _SIGN), ('client-agree.pem', _AGREE),
                      ('client-sign-p384.pem', _SIGN), ('client-agree-p384.pem', _AGREE),
                      ('test/client-sign-san.pem', _SIGN),
                      ('test/client-sign-san-only.pem', _SIGN),
                      ('test/client-sign-no-end.pem', _SIGN),
                      ('test/client-sign-unknown-noncritical.pem', _SIGN)):
        assert _check(_cert(rel), role) is None, rel
        x509.verify_signed_by(_cert(rel), _cert('ca-p384.pem' if 'p384' in rel else 'ca.pem'))
    for rel in ('ca.pem', 'ca-p384.pem'):       # a root checks against itself
        assert _check(_cert(rel), _CA, None, _NOW, [_cert(rel)]) is None
    # the anchor order does not matter; an unrelated anchor is skipped
    c = _cert('client-sign.pem')
    assert _check(c, _SIGN, anchors=[_cert('test/other-ca.pem'), _cert('ca-p384.pem'),
                                     _cert('ca.pem')]) is None


def test_negative_certificates():
    t = 'test/'
    cases = (
        (t + 'client-sign-other-ca.pem', _SIGN, None, 'untrusted'),
        (t + 'client-sign-expired.pem', _SIGN, None, 'expired'),
        (t + 'client-sign-no-ds.pem', _SIGN, None, 'key-usage'),
        (t + 'client-sign-no-ds.pem', _AGREE, None, 'key-usage'),
        (t + 'client-sign-other-title.pem', _SIGN, None, 'subject'),
        (t + 'client-sign-ku-noncritical.pem', _SIGN, None, 'key-usage-not-critical'),
        (t + 'client-sign-p384-by-p256.pem', _SIGN, None, 'issuer-curve'),
        (t + 'client-sign-san-other.pem', _SIGN, None, 'subject'),
        (t + 'client-sign-by-not-ca.pem', _SIGN, None, 'untrusted'),
        (t + 'client-sign-by-not-ca.pem', _SIGN, [_cert('ca.pem'), _cert(t + 'not-ca.pem')],
         'issuer-not-ca'),
        ('client-sign.pem', _AGREE, None, 'key-usage'),
        ('client-agree.pem', _SIGN, None, 'key-usage'),
        ('client-sign.pem', _CA, None, 'key-usage'),
        ('ca.pem', _SIGN, None, 'key-usage'),
        ('client-sign.pem', 'tls', None, 'role'),
        ('client-sign.pem', _SIGN, [_cert('ca-p384.pem')], 'untrusted'),
        ('client-sign.pem', _SIGN, [], 'untrusted'),
    )
    for rel, role, anchors, why in cases:
        assert _check(_cert(rel), role, _ST, _NOW, anchors) == why, (rel, role, why)
    # the other CA's certificate is fine under its own CA
    assert _check(_cert(t + 'client-sign-other-ca.pem'), _SIGN,
                  anchors=[_cert(t + 'other-ca.pem')]) is None
    # bound to another title
    assert _check(_cert('client-sign.pem'), _SIGN, _OTHER_ST) == 'subject'
    assert _check(_cert('client-sign.pem'), _SIGN, _ST[0:7]) == 'subject'
    # the unknown critical extension is refused when parsing
    assert _reason(x509.Certificate, _der(t + 'client-sign-unknown-critical.pem')) == \
        'unknown-critical'


def test_identity_binding():
    san = _cert('test/client-sign-san.pem')
    assert san.hw_serial == _ST and san.subject_cn == '4D4D4D0000000001'
    assert san.hw_type == asn1.oid('2.999.2')[2:]
    only = _cert('test/client-sign-san-only.pem')
    assert only.subject == b'\x30\x00' and only.subject_cn is None and only.hw_serial == _ST
    assert _check(only, _SIGN, _OTHER_ST) == 'subject'
    other = _cert('test/client-sign-san-other.pem')
    assert other.hw_serial == _OTHER_ST
    # SAN wins, but a CN that is itself another title is refused
    assert _check(other, _SIGN, _OTHER_ST) == 'subject'


def test_tampered_signature():
    der = bytearray(_der('client-sign.pem'))
    good = x509.Certificate(der)
    # the serial (inside the TBS) changed: parses, but the signature fails
    i = der.find(asn1.integer(good.serial))
    assert i > 0
    der[i + 4] ^= 1
    assert _check(x509.Certificate(der), _SIGN) == 'signature'
    # the signature's last byte changed
    der = bytearray(_der('client-sign.pem'))
    der[len(der) - 1] ^= 1
    assert _check(x509.Certificate(der), _SIGN) == 'signature'


def test_validity_window():
    c = _cert('client-sign.pem')
    nb = c.not_before
    na = c.not_after
    for now, why in ((nb - 1, 'not-yet-valid'), (nb, None), (_NOW, None), (na, None),
                     (na + 1, 'expired'), (0, 'not-yet-valid')):
        assert _check(c, _SIGN, _ST, now) == why, now
    e = _cert('test/client-sign-expired.pem')
    assert _check(e, _SIGN, _ST, e.not_after) is None
    assert _check(e, _SIGN, _ST, e.not_after + 1) == 'expired'
    n = _cert('test/client-sign-no-end.pem')
    assert n.not_after is None
    assert _check(n, _SIGN, _ST, asn1.days(2055, 12, 31) * _DAY) is None
    # beyond the CA's end: the anchor itself is out of date
    assert _check(n, _SIGN, _ST, asn1.days(2056, 1, 2) * _DAY) == 'issuer-expired'


# ---------------------------------------------------------------------------
# Our PKCS#10 requests and certificates

def test_csr_roundtrip():
    for rel in ('client-sign', 'client-sign-p384'):
        c, d = _key(rel + '.key.pem')
        pub = _cert(rel + '.pem').public_key
        der = x509.csr(c, d, pub, '4D4D4D0000000001', b'entropy')
        assert b'\x0c\x104D4D4D0000000001' in der          # CN as a UTF8String
        assert der == x509.csr(c, d, b'\x04' + pub, '4D4D4D0000000001', b'entropy')
        r = dca.parse_csr(der)
        assert r.curve is c and r.public_key == pub and r.hash == c.hash
        assert r.subject_cn == '4D4D4D0000000001'
        assert r.subject == asn1.seq(asn1.set_(asn1.seq(asn1.oid('2.5.4.3'),
                                                        asn1.utf8('4D4D4D0000000001'))))
        # canonical DER signature (strict parse), r and s full length (for Gurux Python)
        t = asn1.Reader(der).enter()
        t.next()
        alg = asn1.Reader(t.raw(asn1.SEQUENCE)).enter()
        assert alg.oid() == asn1.oid('1.2.840.10045.4.3.2' if c is ec.P256
                                     else '1.2.840.10045.4.3.3')[2:]
        alg.done()
        u, sig = t.bits()
        raw = ec.sig_from_der(c, sig)
        assert u == 0 and raw[0] and raw[c.size]
        bad = bytearray(der)
        bad[len(bad) - 1] ^= 1
        assert _reason(dca.parse_csr, bytes(bad)) == 'signature'
        for n in range(0, len(der), 7):
            assert _reason(dca.parse_csr, der[0:n]) == 'csr'


def test_issue_end_entity_from_csr():
    ca = _cert('ca.pem')
    cc, cd = _key('ca.key.pem')
    c, d = _key('client-agree.key.pem')
    pub = _cert('client-agree.pem').public_key
    req = x509.csr(c, d, pub, '4D4D4D0000000001')
    nb = _START
    na = asn1.days(2050, 1, 1) * _DAY
    der = dca.issue(ca, cc, cd, req, 0x1234567890, nb, na, x509.KU_KEY_AGREEMENT,
                     extra=b'x')
    assert b'\x17\x0d260101000000Z' in der and b'\x18\x0f20500101000000Z' in der
    cert = x509.Certificate(der)
    x509.verify_signed_by(cert, ca)
    assert _check(cert, _AGREE) is None
    assert cert.serial == 0x1234567890 and cert.not_before == nb and cert.not_after == na
    assert cert.key_usage == x509.KU_KEY_AGREEMENT and cert.ku_critical and not cert.is_ca
    assert cert.ski == dca.key_id(pub) and cert.aki == ca.ski
    assert cert.issuer == ca.subject and cert.subject_cn == '4D4D4D0000000001'
    # a P-256 key under the P-384 CA is allowed (dlms-public-key.md 5.3), with SHA-384
    ca384 = _cert('ca-p384.pem')
    c3, d3 = _key('ca-p384.key.pem')
    der = dca.issue(ca384, c3, d3, (c, pub, '4D4D4D0000000001'), 7, nb, None,
                     x509.KU_DIGITAL_SIGNATURE | x509.KU_KEY_AGREEMENT)
    cert = x509.Certificate(der)
    assert cert.hash == 'sha384' and cert.not_after is None
    assert cert.key_usage == x509.KU_DIGITAL_SIGNATURE | x509.KU_KEY_AGREEMENT
    assert _check(cert, _SIGN) is None and _check(cert, _AGREE) is None
    # ... but not a P-384 key under the P-256 CA
    k384 = _cert('client-sign-p384.pem').public_key
    assert _reason(dca.issue, ca, cc, cd, (ec.P384, k384, 'x'), 1, nb, na,
                   x509.KU_DIGITAL_SIGNATURE) == 'issuer-curve'
    # and a forged request is refused
    bad = bytearray(req)
    bad[len(bad) - 1] ^= 1
    assert _reason(dca.issue, ca, cc, cd, bytes(bad), 1, nb, na, 1) == 'signature'


def test_issue_ca_and_expired_anchor():
    c, d = _key('ca.key.pem')
    pub = _cert('ca.pem').public_key
    old = dca.issue(None, c, d, (c, pub, 'old root'), 99, asn1.days(2020, 1, 1) * _DAY,
                     asn1.days(2021, 1, 1) * _DAY, x509.KU_KEY_CERT_SIGN | x509.KU_CRL_SIGN,
                     is_ca=True)
    root = x509.Certificate(old)
    assert root.is_ca and root.ski == dca.key_id(pub) and root.aki == root.ski
    assert _check(root, _CA, None, asn1.days(2020, 6, 1) * _DAY, [root]) is None
    assert _check(root, _CA, None, _NOW, [root]) == 'expired'
    cs, ds = _key('client-sign.key.pem')
    leaf = x509.Certificate(dca.issue(root, c, d, (cs, _cert('client-sign.pem').public_key,
                                                    '4D4D4D0000000001'),
                                       5, _START, None, x509.KU_DIGITAL_SIGNATURE))
    assert _check(leaf, _SIGN, _ST, _NOW, [root]) == 'issuer-expired'


# ---------------------------------------------------------------------------
# Malformed input

def _refused(der):
    # X509Error and nothing else (any other exception propagates and fails the test)
    return raised(x509.X509Error, x509.Certificate, der) is not None


def test_every_truncation_refused():
    for rel in ('client-sign.pem', 'ca-p384.pem', 'test/client-sign-san.pem'):
        der = _der(rel)
        for n in range(len(der)):
            assert _refused(der[0:n]), (rel, n)


def test_every_inner_truncation_refused():
    # the TBS cut at every point, re-wrapped with correct outer lengths (so the cut is found
    # inside: a nested element overruns its parent, or mandatory fields are missing)
    der = _der('client-sign.pem')
    r = asn1.Reader(der).enter()
    tbs = asn1.Reader(r.raw(asn1.SEQUENCE))
    t, s, e = tbs.next(asn1.SEQUENCE)
    rest = der[len(der) - (r.end - r.pos):]
    assert asn1.seq(asn1.seq(der[s + 4:e + 4]), rest) == der
    for n in range(e - s):
        assert _refused(asn1.seq(asn1.seq(der[s + 4:s + 4 + n]), rest)), n


def test_every_byte_changed():
    der = _der('client-sign.pem')
    ok = 0
    for i in range(len(der)):
        for x in (0xFF, 0x01):
            bad = bytearray(der)
            bad[i] ^= x
            e = raised(x509.X509Error, x509.Certificate, bytes(bad))
            if e is None:
                ok += 1         # e.g. a changed key byte that is still a valid point: parses
    assert ok < len(der)


def test_length_tricks_refused():
    der = _der('client-sign.pem')
    assert der[0] == 0x30 and der[1] == 0x82
    n = (der[2] << 8) | der[3]
    body = der[4:]
    assert _refused(der + b'\x00')                                  # trailing byte
    assert _refused(der[0:3] + bytes((der[3] ^ 1,)) + body)         # flipped length byte
    assert _refused(b'\x30\x83\x00' + der[2:])                     # non-minimal length
    assert _refused(b'\x30\x84\xff\xff\xff\xff' + body)             # huge length
    assert _refused(b'\x30\x80' + body + b'\x00\x00')               # indefinite length
    assert _refused(b'\x31' + der[1:])                              # SET, not SEQUENCE
    # a non-minimal inner length: the version [0] (a0 03 02 01 02) as a0 81 03 02 01 02,
    # with the two enclosing lengths grown by one
    i = der.find(b'\xa0\x03\x02\x01\x02')
    assert i > 0
    grown = der[0:i] + b'\xa0\x81\x03\x02\x01\x02' + der[i + 5:]
    m = n + 1
    tl = (der[6] << 8) | der[7]
    assert der[4] == 0x30 and der[5] == 0x82
    grown = (b'\x30\x82' + bytes((m >> 8, m & 0xFF)) + b'\x30\x82' +
             bytes(((tl + 1) >> 8, (tl + 1) & 0xFF)) + grown[8:])
    assert len(grown) == len(der) + 1
    assert _reason(x509.Certificate, grown) == 'malformed'


def test_size_bound():
    der = _der('client-sign.pem')
    assert _reason(x509.Certificate, der + bytes(x509.MAX_CERT)) == 'too-large'
    c, d = _key('ca.key.pem')
    cs = _cert('client-sign.pem')
    big = dca.issue(_cert('ca.pem'), c, d, (cs.curve, cs.public_key, 'A' * 1800), 3, _START,
                     None, x509.KU_DIGITAL_SIGNATURE)
    assert x509.MAX_CERT < len(big) < asn1.MAX_SIZE
    assert _reason(x509.Certificate, big) == 'too-large'
    assert raised(asn1.DERError, asn1.Reader, bytes(asn1.MAX_SIZE + 1)) is not None


def test_pem():
    der = _der('ca.pem')
    text = dca.pem_encode(der, 'CERTIFICATE')
    assert text.startswith('-----BEGIN CERTIFICATE-----\n') and text.endswith(
        '-----END CERTIFICATE-----\n')
    for line in text.split('\n'):
        assert len(line) <= 64
    assert text == _text('ca.pem')      # the same layout as cryptography's
    assert dca.pem_decode(text.encode(), 'CERTIFICATE') == der
    assert _reason(dca.pem_decode, text, 'PRIVATE KEY') == 'pem'
    assert _reason(dca.pem_decode, '-----BEGIN X-----\n@@@\n-----END X-----\n', 'X') in (
        'pem', None)
    assert _reason(dca.pem_private_key, text) == 'pem'
    assert _reason(dca.pem_private_key, dca.pem_encode(der, 'PRIVATE KEY')) == 'private-key'
    assert _reason(dca.pem_private_key, dca.pem_encode(b'\x30\x00', 'EC PRIVATE KEY')) == \
        'private-key'
    # d = 0 and d = n refused
    c = ec.P256
    for d in (bytes(32), c.n.to_bytes(32, 'big')):
        sec1 = asn1.seq(asn1.integer(1), asn1.octet_string(d), asn1.ctx(0, asn1.oid(c.oid)))
        assert _reason(dca.pem_private_key, dca.pem_encode(sec1, 'EC PRIVATE KEY')) == \
            'private-key'


# ---------------------------------------------------------------------------
# Profile refusals, on certificates built here (the parser does not verify signatures)

_ALG256 = asn1.seq(asn1.oid('1.2.840.10045.4.3.2'))
_EC_PUB = asn1.oid('1.2.840.10045.2.1')


def _ext(oid, crit, value):
    return asn1.seq(asn1.oid(oid), asn1.boolean(True) if crit else b'', asn1.octet_string(value))


def _cn(*cns):
    return asn1.seq(*[asn1.set_(asn1.seq(asn1.oid('2.5.4.3'), asn1.utf8(c))) for c in cns])


_KU_DS = _ext('2.5.29.15', True, asn1.bit_string(b'\x80', 7))


def _hmn(serial):
    return asn1.ctx(0, asn1.oid('1.3.6.1.5.5.7.8.4') + asn1.ctx(
        0, asn1.seq(asn1.oid('2.999.2'), asn1.octet_string(serial))))


def _build(version=None, serial=5, alg=_ALG256, outer_alg=None, issuer=None,
           validity=None, subject=None, spki=None, exts=(_KU_DS,), tail=b''):
    good = _cert('client-sign.pem')
    if version is None:
        version = asn1.ctx(0, asn1.integer(2))
    if validity is None:
        validity = asn1.seq(asn1.time(_START), asn1.time(None))
    if spki is None:
        spki = asn1.seq(asn1.seq(_EC_PUB, asn1.oid(ec.P256.oid)),
                        asn1.bit_string(b'\x04' + good.public_key))
    tbs = asn1.seq(version, asn1.integer(serial), alg, issuer or _cn('issuer'), validity,
                   subject or _cn('4D4D4D0000000001'), spki,
                   asn1.ctx(3, asn1.seq(*exts)) if exts is not None else b'', tail)
    return asn1.seq(tbs, outer_alg or alg, asn1.bit_string(good.signature))


def _spki(curve_oid, point, alg=None):
    return asn1.seq(asn1.seq(alg or _EC_PUB, asn1.oid(curve_oid)), asn1.bit_string(point))


def test_profile_refusals():
    pub = _cert('client-sign.pem').public_key
    x = int.from_bytes(pub[0:32], 'big')
    y = int.from_bytes(pub[32:64], 'big')
    ski = _ext('2.5.29.14', False, asn1.octet_string(bytes(20)))
    cases = (
        ({}, None),
        ({'version': b''}, 'malformed'),                                  # v1: no [0]
        ({'version': asn1.ctx(0, asn1.integer(1))}, 'version'),
        ({'serial': 0}, 'serial'),
        ({'serial': 1 << 159}, 'serial'),                                 # 21 content bytes
        ({'serial': (1 << 159) - 1}, None),                               # 20
        ({'outer_alg': asn1.seq(asn1.oid('1.2.840.10045.4.3.3'))}, 'sig-alg'),
        ({'alg': asn1.seq(asn1.oid('1.2.840.10045.4.1'))}, 'sig-alg'),     # ecdsa-with-SHA1
        ({'alg': asn1.seq(asn1.oid('1.2.840.10045.4.3.2'), asn1.null())}, 'malformed'),
        ({'validity': asn1.seq(asn1.time(_NOW), asn1.time(_START))}, 'validity'),
        ({'validity': asn1.seq(asn1.time(None), asn1.time(None))}, 'validity'),
        ({'validity': asn1.seq(asn1.time(_START))}, 'malformed'),
        ({'subject': _cn('4D4D4D0000000001', '4D4D4D0000000001')}, 'name'),
        ({'subject': asn1.seq(asn1.tlv(asn1.SET, b''))}, 'name'),
        ({'subject': asn1.seq(asn1.set_(asn1.seq(asn1.oid('2.5.4.3'),
                                                 asn1.tlv(0x1E, b'\x00A'))))}, 'malformed'),
        ({'subject': asn1.seq(asn1.set_(asn1.seq(asn1.oid('2.5.4.10'),
                                                 asn1.tlv(0x1E, b'\x00A'))))}, None),
        ({'spki': _spki(ec.P256.oid, b'\x04' + pub, asn1.oid('1.2.840.113549.1.1.1'))},
         'key-algorithm'),
        ({'spki': _spki(asn1.oid('1.3.132.0.10')[2:], b'\x04' + pub)}, 'curve'),   # secp256k1
        ({'spki': asn1.seq(asn1.seq(_EC_PUB, asn1.seq(asn1.integer(1))),
                           asn1.bit_string(b'\x04' + pub))}, 'curve'),   # explicit parameters
        ({'spki': _spki(ec.P256.oid, bytes((2 + (y & 1),)) + pub[0:32])}, 'public-key'),
        ({'spki': _spki(ec.P256.oid, b'\x04' + pub[0:63] + bytes((pub[63] ^ 1,)))},
         'public-key'),
        ({'spki': _spki(ec.P384.oid, b'\x04' + pub)}, 'public-key'),
        ({'spki': _spki(ec.P256.oid, pub)}, 'public-key'),                 # no 04
        ({'spki': asn1.seq(asn1.seq(_EC_PUB, asn1.oid(ec.P256.oid)),
                           asn1.bit_string(b'\x04' + pub[0:63] + b'\x10', 4))}, 'public-key'),
        ({'spki': asn1.seq(asn1.seq(_EC_PUB, asn1.oid(ec.P256.oid)),
                           asn1.bit_string(b'\x04' + pub[0:63] + b'\x11', 4))}, 'malformed'),
        ({'exts': None}, 'key-usage-missing'),
        ({'exts': ()}, 'extension'),
        ({'exts': (ski,)}, 'key-usage-missing'),
        ({'exts': (_KU_DS, _KU_DS)}, 'extension'),
        ({'exts': (asn1.seq(asn1.oid('2.5.29.15'), asn1.boolean(False),
                            asn1.octet_string(asn1.bit_string(b'\x80', 7))),)}, 'extension'),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'\x80', 0)),)}, 'extension'),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'', 0)),)}, 'extension'),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'\x00', 7)),)}, 'extension'),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'\x80\x80', 7)),)}, None),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'\x80', 7) + b'\x00'),)},
         'malformed'),
        ({'exts': (_ext('2.5.29.15', True, asn1.bit_string(b'\x04', 2)),)},
         'basic-constraints'),                                          # keyCertSign, no CA
        ({'exts': (_KU_DS, _ext('2.5.29.19', True, asn1.seq(asn1.boolean(False))))},
         'extension'),
        ({'exts': (_KU_DS, _ext('2.5.29.19', True, asn1.seq()))}, None),
        ({'exts': (_KU_DS, _ext('2.5.29.14', True, asn1.octet_string(bytes(20))))}, 'extension'),
        ({'exts': (_KU_DS, _ext('2.5.29.35', True, asn1.seq()))}, 'extension'),
        ({'exts': (_KU_DS, _ext('2.5.29.17', False, asn1.seq()))}, 'extension'),
        ({'exts': (_KU_DS, _ext('2.5.29.17', False, asn1.seq(_hmn(_ST), _hmn(_ST))))},
         'extension'),
        ({'exts': (_KU_DS, _ext('2.5.29.37', True, asn1.seq(asn1.oid('1.3.6.1.5.5.7.3.2'))))},
         'unknown-critical'),                                           # EKU is not interpreted
        ({'exts': (_KU_DS, _ext('2.5.29.37', False, asn1.seq(asn1.oid('1.3.6.1.5.5.7.3.2'))))},
         None),
        ({'tail': asn1.ctx(1, b'\x00\x01', False)}, 'malformed'),          # issuerUniqueID
    )
    for kw, why in cases:
        assert _reason(x509.Certificate, _build(**kw)) == why, (kw, why)
    # a SAN with a DNS name and the HardwareModuleName; BasicConstraints with a path length
    c = x509.Certificate(_build(exts=(
        _KU_DS, _ext('2.5.29.17', True, asn1.seq(asn1.tlv(0x82, b'meter.example'), _hmn(_ST))),
        _ext('2.5.29.19', True, asn1.seq(asn1.boolean(True), asn1.integer(0))),
        _ext('2.5.29.15', True, asn1.bit_string(b'\x06', 1))
    )[0:3] + (_ext('2.5.29.35', False, asn1.seq(asn1.ctx(0, b'\x01\x02', False),
                                                 asn1.ctx(2, b'\x05', False))),)))
    assert c.hw_serial == _ST and c.is_ca and c.path_len == 0 and c.aki == b'\x01\x02'
    assert x == int.from_bytes(c.public_key[0:32], 'big')


# ---------------------------------------------------------------------------
# asn1: reader strictness, writer encodings

def _der_refused(data, method):
    r = asn1.Reader(data)

    def go():
        getattr(r, method)()
        r.done()
    return raised(asn1.DERError, go) is not None


def test_asn1_reader_refusals():
    cases = (
        ('0200', 'integer'), ('02020001', 'integer'), ('020180', 'integer'),
        ('02020000', 'integer'), ('0401', 'integer'),
        ('010101', 'boolean'), ('01020000', 'boolean'),
        ('03020101', 'bits'), ('030101', 'bits'), ('0300', 'bits'), ('030208ff', 'bits'),
        ('06028001', 'oid'), ('060181', 'oid'), ('0600', 'oid'),
        ('050100', 'null'), ('0400', 'null'),
        ('048105 6869686968', 'next'), ('04820005 6869686968', 'next'),
        ('0480 6869 0000', 'next'), ('0483000005 6869686968', 'next'),
        ('0485ffffffffff', 'next'), ('1f0100', 'next'), ('04056869', 'next'),
        ('0405', 'next'), ('04', 'next'), ('', 'next'), ('0500 00', 'null'),
        ('1302c3a9', 'string'), ('0c02fffe', 'string'), ('0402 4142', 'string'),
        ('170d 323630323330313230303030 5a', 'time'),        # 2026-02-30
        ('170d 323530323239313230303030 5a', 'time'),        # 2025-02-29 (not a leap year)
        ('170d 323631333031303030303030 5a', 'time'),        # month 13
        ('170d 323630313030303030303030 5a', 'time'),        # day 0
        ('170d 323630313031323430303030 5a', 'time'),        # hour 24
        ('170d 323630313031323336303030 5a', 'time'),        # minute 60
        ('170d 323630313031323335393630 5a', 'time'),        # second 60
        ('170d 323630313031313230303030 30', 'time'),        # no Z
        ('170b 3236303130313132303030', 'time'),             # no seconds
        ('170d 32363031303131323030302b 5a', 'time'),        # not a digit
        ('1811 3230323630313031313230303030 2e31 5a', 'time'),  # fractional seconds
        ('180f 3230323630313031313230303030 30', 'time'),
        ('0403 6869', 'next'),
    )
    for hx, method in cases:
        assert _der_refused(h(hx), method), (hx, method)


def test_asn1_reader_accepts():
    r = asn1.Reader(h('020100 02017f 02020080 0209 00ffffffffffffffff 0101ff 010100'
                      '03020780 0301 00 0500 0603 2b0601 0c03 414243 1301 41 1600'))
    assert r.integer() == 0 and r.integer() == 127 and r.integer() == 128
    assert r.integer() == (1 << 64) - 1
    assert r.boolean() is True and r.boolean() is False
    assert r.bits() == (7, b'\x80') and r.bits() == (0, b'')
    r.null()
    assert r.oid() == b'\x2b\x06\x01'
    assert r.string() == 'ABC' and r.string() == 'A' and r.string() == ''
    r.done()
    assert not r.more() and r.peek() == -1
    long = b'\x04\x81\x80' + bytes(128)
    assert asn1.Reader(long).get(asn1.OCTET_STRING) == bytes(128)
    long = b'\x04\x82\x01\x00' + bytes(256)
    assert asn1.Reader(long).get(asn1.OCTET_STRING) == bytes(256)


def test_asn1_depth_bound():
    data = b''
    for _ in range(asn1.MAX_DEPTH + 2):
        data = asn1.seq(data)
    r = asn1.Reader(data)
    for _ in range(asn1.MAX_DEPTH):
        r = r.enter()
    assert raised(asn1.DERError, r.enter) is not None


def test_asn1_writer():
    assert asn1.integer(0) == h('020100')
    assert asn1.integer(127) == h('02017f')
    assert asn1.integer(128) == h('02020080')
    assert asn1.integer(256) == h('02020100')
    assert asn1.integer(0xFFFF) == h('020300ffff')
    assert raised(asn1.DERError, asn1.integer, -1) is not None
    assert asn1.oid('1.2.840.10045.3.1.7') == b'\x06\x08' + ec.P256.oid
    assert asn1.oid('1.3.132.0.34') == b'\x06\x05' + ec.P384.oid
    assert asn1.oid(ec.P384.oid) == b'\x06\x05' + ec.P384.oid
    assert asn1.oid('2.999.3') == h('0603 883703')
    assert asn1.null() == h('0500') and asn1.boolean(True) == h('0101ff')
    assert asn1.bit_string(b'\x80', 7) == h('03020780')
    assert asn1.octet_string(bytes(200))[0:3] == h('0481c8')
    assert asn1.octet_string(bytes(300))[0:4] == h('0482012c')
    assert asn1.ctx(0, b'') == h('a000') and asn1.ctx(0, b'\x01', False) == h('800101')
    assert asn1.set_(asn1.null()) == h('31020500')
    assert asn1.utf8('4D') == h('0c02 3444') and asn1.printable('A') == h('130141')
    for y, m, d, s, enc in (
            (2049, 12, 31, 86399, b'\x17\x0d491231235959Z'),
            (2050, 1, 1, 0, b'\x18\x0f20500101000000Z'),
            (1950, 1, 1, 0, b'\x17\x0d500101000000Z'),
            (1949, 12, 31, 3723, b'\x18\x0f19491231010203Z'),
            (2026, 1, 1, 0, b'\x17\x0d260101000000Z')):
        t = asn1.days(y, m, d) * _DAY + s
        assert asn1.time(t) == enc, (y, enc)
        assert asn1.Reader(enc).time() == t
    assert asn1.time(None) == b'\x18\x0f99991231235959Z'
    assert asn1.Reader(asn1.time(None)).time() is None
    assert asn1.days(1970, 1, 1) == 0 and asn1.days(2000, 3, 1) == 11017
    for n in range(-800, 200000, 997):
        y, m, d = asn1.civil(n)
        assert asn1.days(y, m, d) == n
