"""Cross-check dlms_pk.x509 against the `cryptography` package (OpenSSL), with random keys:
- our PKCS#10 requests (P-256 and P-384) load in cryptography with a valid signature, CN = the
  hex system title as a UTF8String, the right key and hash; Gurux Python (the consumer of
  dlms-public-key.md 5.2) parses the P-256 ones, also in the case that needs the re-signing;
- certificates made by our issue() verify under cryptography with the CA key (P-256 and P-384
  CAs, a P-256 key under the P-384 CA, self-signed CAs) and carry the expected extensions;
- certificates made by cryptography (random keys, serials, key usages, validity up to 9999, SAN
  HardwareModuleName, CA or not) parse with ours to the same fields, and verify;
- the same CSR and issue() code under the MicroPython unix port (a driver in a subprocess),
  checked with cryptography.
"""
import datetime
import hashlib
import os
import random
import subprocess

import pytest

pytest.importorskip('cryptography')
from cryptography import x509 as cx  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec as cec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature, encode_dss_signature)
from cryptography.x509.name import _ASN1Type  # noqa: E402
from cryptography.x509.oid import NameOID, ObjectIdentifier  # noqa: E402

from dlms_pk import asn1, ec, x509  # noqa: E402
from dlms_ca import ca as dca  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PKI = os.path.join(_ROOT, 'tools', 'demo_pki')
_MICROPYTHON = os.path.join(_ROOT, '.venv', 'bin', 'micropython')
_UTC = datetime.timezone.utc
_CURVES = {'P-256': (ec.P256, cec.SECP256R1, hashes.SHA256),
           'P-384': (ec.P384, cec.SECP384R1, hashes.SHA384)}
_KU_ATTRS = ('digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment',
             'key_agreement', 'key_cert_sign', 'crl_sign', 'encipher_only', 'decipher_only')
_HMN = ObjectIdentifier('1.3.6.1.5.5.7.8.4')


def _raw_pub(key, size):
    n = key.public_key().public_numbers() if hasattr(key, 'private_numbers') else \
        key.public_numbers()
    return n.x.to_bytes(size, 'big') + n.y.to_bytes(size, 'big')


def _d(key, size):
    return key.private_numbers().private_value.to_bytes(size, 'big')


def _title(rnd):
    return bytes(rnd.randrange(256) for _ in range(8))


def _ts(dt):
    return int(dt.timestamp())


def _demo(name):
    with open(os.path.join(_PKI, name), 'rb') as f:
        return f.read()


def _demo_ca(suffix=''):
    """(cryptography cert, cryptography key, our Certificate, our curve, our d)."""
    cert = cx.load_pem_x509_certificate(_demo('ca%s.pem' % suffix))
    key = serialization.load_pem_private_key(_demo('ca%s.key.pem' % suffix), None)
    curve, d = dca.pem_private_key(_demo('ca%s.key.pem' % suffix))
    assert d == _d(key, curve.size)
    return cert, key, x509.Certificate(cert.public_bytes(serialization.Encoding.DER)), curve, d


def _ku_flags(ku):
    v = 0
    for i, a in enumerate(_KU_ATTRS):
        try:
            if getattr(ku, a):
                v |= 1 << i
        except ValueError:      # encipher_only / decipher_only without key_agreement
            pass
    return v


def _check_csr(der, c, key, title_hex, hash_cls):
    req = cx.load_der_x509_csr(der)
    assert req.is_signature_valid
    cn = req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert len(cn) == 1 and cn[0].value == title_hex and cn[0]._type == _ASN1Type.UTF8String
    assert len(req.subject.rdns) == 1
    assert _raw_pub(req.public_key(), c.size) == _raw_pub(key, c.size)
    assert isinstance(req.signature_hash_algorithm, hash_cls)
    assert len(list(req.attributes)) == 0 and len(req.extensions) == 0
    # canonical DER: cryptography re-encodes the signature identically
    r, s = decode_dss_signature(req.signature)
    assert encode_dss_signature(r, s) == req.signature
    assert r >> (8 * c.size - 8) and s >> (8 * c.size - 8)     # full length (Gurux)
    ours = dca.parse_csr(der)
    assert ours.subject_cn == title_hex and ours.public_key == _raw_pub(key, c.size)


@pytest.mark.parametrize('curve_name', ['P-256', 'P-384'])
def test_csr_verified_by_cryptography(curve_name):
    c, ccurve, hash_cls = _CURVES[curve_name]
    rnd = random.Random(curve_name)
    for i in range(12):
        key = cec.generate_private_key(ccurve())
        title = _title(rnd)
        extra = rnd.randbytes(rnd.choice((0, 16, 32))) if i else b''
        pub = _raw_pub(key, c.size)
        der = x509.csr(c, _d(key, c.size), pub if i % 2 else b'\x04' + pub, title.hex().upper(),
                       extra)
        _check_csr(der, c, key, title.hex().upper(), hash_cls)


def test_csr_parsed_by_gurux():
    pytest.importorskip('gurux_dlms')
    from gurux_dlms.asn.GXPkcs10 import GXPkcs10
    c = ec.P256
    key = cec.generate_private_key(cec.SECP256R1())
    d = _d(key, 32)
    pub = _raw_pub(key, 32)
    for i in range(6):
        der = x509.csr(c, d, pub, '4D4D4D0000BC614E', os.urandom(8))
        assert GXPkcs10(der).subject == 'CN=4D4D4D0000BC614E'
    # an extra for which the first signature has a short r or s (a 31-byte INTEGER breaks
    # Gurux): csr() signs again, and Gurux parses the result
    cri = x509.csr(c, d, pub, '4D4D4D0000BC614E')
    tbs = asn1.Reader(cri).enter().raw(asn1.SEQUENCE)
    for n in range(5000):
        extra = b'%d' % n
        sig = ec.sign(c, d, tbs, extra)
        if sig[0] == 0 and sig[1] < 0x80 or sig[32] == 0 and sig[33] < 0x80:
            break
    else:
        pytest.skip('no short signature found')
    der = x509.csr(c, d, pub, '4D4D4D0000BC614E', extra)
    assert ec.sig_to_der(c, sig) not in der
    assert GXPkcs10(der).subject == 'CN=4D4D4D0000BC614E'
    _check_csr(der, c, key, '4D4D4D0000BC614E', hashes.SHA256)


def _check_issued(der, ca_cert, ca_key, c, key, cn, serial, nb, na, ku, is_ca):
    cert = cx.load_der_x509_certificate(der)
    ca_hash = hashes.SHA384 if isinstance(ca_key.curve, cec.SECP384R1) else hashes.SHA256
    ca_key.public_key().verify(cert.signature, cert.tbs_certificate_bytes, cec.ECDSA(ca_hash()))
    if ca_cert is not None:
        cert.verify_directly_issued_by(ca_cert)
        assert cert.issuer == ca_cert.subject
    assert cert.version == cx.Version.v3 and cert.serial_number == serial
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    assert _ts(cert.not_valid_before_utc) == nb
    if na is None:
        assert cert.not_valid_after_utc == datetime.datetime(9999, 12, 31, 23, 59, 59,
                                                             tzinfo=_UTC)
    else:
        assert _ts(cert.not_valid_after_utc) == na
    assert _raw_pub(cert.public_key(), c.size) == _raw_pub(key, c.size)
    assert isinstance(cert.signature_hash_algorithm, ca_hash)
    e = cert.extensions.get_extension_for_class(cx.KeyUsage)
    assert e.critical and _ku_flags(e.value) == ku
    if is_ca:
        e = cert.extensions.get_extension_for_class(cx.BasicConstraints)
        assert e.critical and e.value.ca and e.value.path_length is None
    else:
        with pytest.raises(cx.ExtensionNotFound):
            cert.extensions.get_extension_for_class(cx.BasicConstraints)
    e = cert.extensions.get_extension_for_class(cx.SubjectKeyIdentifier)
    point = b'\x04' + _raw_pub(key, c.size)
    assert not e.critical and e.value.digest == hashlib.sha256(point).digest()[0:20]
    e = cert.extensions.get_extension_for_class(cx.AuthorityKeyIdentifier)
    assert not e.critical
    if ca_cert is not None:
        ski = ca_cert.extensions.get_extension_for_class(cx.SubjectKeyIdentifier).value.digest
        assert e.value.key_identifier == ski
    assert len(cert.extensions) == (4 if is_ca else 3)
    return cert


def test_issued_verified_by_cryptography():
    rnd = random.Random(5)
    cas = [_demo_ca(''), _demo_ca('-p384')]
    for i in range(12):
        ca_cert, ca_key, ours_ca, ca_curve, ca_d = cas[i % 2]
        # a P-256 key under either CA; a P-384 key only under the P-384 CA
        name = 'P-384' if i % 4 == 1 else 'P-256'
        c, ccurve, _ = _CURVES[name]
        key = cec.generate_private_key(ccurve())
        cn = _title(rnd).hex().upper()
        serial = rnd.randrange(1, 1 << 159)
        nb = rnd.randrange(_ts(datetime.datetime(2026, 1, 1, tzinfo=_UTC)),
                           _ts(datetime.datetime(2049, 1, 1, tzinfo=_UTC)))
        na = rnd.choice((None, nb + 86400, _ts(datetime.datetime(2050, 1, 1, tzinfo=_UTC)),
                         _ts(datetime.datetime(2055, 7, 1, 12, 30, 15, tzinfo=_UTC))))
        ku = rnd.choice((x509.KU_DIGITAL_SIGNATURE, x509.KU_KEY_AGREEMENT,
                         x509.KU_DIGITAL_SIGNATURE | x509.KU_KEY_AGREEMENT))
        subject = (c, _raw_pub(key, c.size), cn)
        if i % 3 == 0:
            subject = x509.csr(c, _d(key, c.size), _raw_pub(key, c.size), cn)
        der = dca.issue(ours_ca, ca_curve, ca_d, subject, serial, nb, na, ku,
                         extra=rnd.randbytes(16))
        _check_issued(der, ca_cert, ca_key, c, key, cn, serial, nb, na, ku, False)
        ours = x509.Certificate(der)
        x509.verify_signed_by(ours, ours_ca)
    # self-signed CAs
    for name in ('P-256', 'P-384'):
        c, ccurve, _ = _CURVES[name]
        key = cec.generate_private_key(ccurve())
        ku = x509.KU_KEY_CERT_SIGN | x509.KU_CRL_SIGN
        nb = _ts(datetime.datetime(2026, 1, 1, tzinfo=_UTC))
        der = dca.issue(None, c, _d(key, c.size), (c, _raw_pub(key, c.size), 'Test CA ' + name),
                         1, nb, nb + 86400 * 365 * 30, ku, is_ca=True)
        cert = _check_issued(der, None, key, c, key, 'Test CA ' + name, 1, nb,
                             nb + 86400 * 365 * 30, ku, True)
        cert.verify_directly_issued_by(cert)


def _crypto_cert(rnd, issuer_key, issuer_cert, key, cn, ku_names, is_ca, nb, na, san, serial):
    pub = key.public_key()
    name = cx.Name([cx.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else cx.Name([])
    b = (cx.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
         .public_key(pub).serial_number(serial).not_valid_before(nb).not_valid_after(na))
    if is_ca:
        b = b.add_extension(cx.BasicConstraints(ca=True, path_length=rnd.choice((None, 0, 3))),
                            critical=True)
    b = b.add_extension(cx.KeyUsage(**{a: a in ku_names for a in _KU_ATTRS}), critical=True)
    if san is not None:
        inner = (b'\x06\x03\x2b\x06\x01' + b'\x04' + bytes((len(san),)) + san)
        b = b.add_extension(cx.SubjectAlternativeName([
            cx.DNSName('meter.example'), cx.OtherName(_HMN, b'\x30' + bytes((len(inner),)) + inner)
        ]), critical=not cn)
    b = b.add_extension(cx.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    b = b.add_extension(cx.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                        critical=False)
    hash_cls = hashes.SHA384 if isinstance(issuer_key.curve, cec.SECP384R1) else hashes.SHA256
    return b.sign(issuer_key, hash_cls())


def _compare(ours, theirs, c):
    der = theirs.public_bytes(serialization.Encoding.DER)
    assert ours.der == der and ours.tbs == theirs.tbs_certificate_bytes
    assert ours.signature == theirs.signature
    assert ours.serial == theirs.serial_number
    assert ours.issuer == theirs.issuer.public_bytes()
    assert ours.subject == theirs.subject.public_bytes()
    cn = theirs.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert ours.subject_cn == (cn[0].value if cn else None)
    assert ours.not_before == _ts(theirs.not_valid_before_utc)
    na = theirs.not_valid_after_utc
    assert ours.not_after == (None if na.year == 9999 and na.second == 59 else _ts(na))
    assert ours.curve is c and ours.public_key == _raw_pub(theirs.public_key(), c.size)
    exts = theirs.extensions
    e = exts.get_extension_for_class(cx.KeyUsage)
    assert ours.key_usage == _ku_flags(e.value) and ours.ku_critical == e.critical
    try:
        bc = exts.get_extension_for_class(cx.BasicConstraints).value
        assert ours.is_ca == bc.ca and ours.path_len == bc.path_length
    except cx.ExtensionNotFound:
        assert not ours.is_ca
    assert ours.ski == exts.get_extension_for_class(cx.SubjectKeyIdentifier).value.digest
    assert ours.aki == exts.get_extension_for_class(
        cx.AuthorityKeyIdentifier).value.key_identifier


def test_cryptography_certificates_parsed_by_ours():
    rnd = random.Random(7)
    for ca_name in ('P-256', 'P-384'):
        cc, ccurve, _ = _CURVES[ca_name]
        ca_key = cec.generate_private_key(ccurve())
        t0 = datetime.datetime(2026, 1, 1, tzinfo=_UTC)
        ca = _crypto_cert(rnd, ca_key, None, ca_key, 'Random CA ' + ca_name,
                          ('key_cert_sign', 'crl_sign'), True, t0,
                          datetime.datetime(2060, 1, 1, tzinfo=_UTC), None,
                          cx.random_serial_number())
        ours_ca = x509.Certificate(ca.public_bytes(serialization.Encoding.DER))
        _compare(ours_ca, ca, cc)
        x509.check(ours_ca, x509.ROLE_CA, None, _ts(t0), [ours_ca])
        for i in range(10):
            name = 'P-384' if ca_name == 'P-384' and i % 2 else 'P-256'
            c, kcurve, _ = _CURVES[name]
            key = cec.generate_private_key(kcurve())
            title = _title(rnd)
            ku = rnd.choice((('digital_signature',), ('key_agreement',),
                             ('digital_signature', 'key_agreement'),
                             ('key_agreement', 'encipher_only'),
                             ('digital_signature', 'content_commitment', 'decipher_only',
                              'key_agreement')))
            nb = t0 + datetime.timedelta(seconds=rnd.randrange(10 ** 8))
            na = rnd.choice((nb + datetime.timedelta(days=1),
                             datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=_UTC),
                             datetime.datetime(2050, 1, 1, tzinfo=_UTC),
                             datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=_UTC)))
            san = title if i % 3 == 0 else None
            cn = None if i % 6 == 0 else title.hex().upper()
            serial = rnd.choice((1, 127, 128, rnd.randrange(1, 1 << 159), (1 << 159) - 1))
            theirs = _crypto_cert(rnd, ca_key, ca, key, cn, ku, False, nb, na, san, serial)
            ours = x509.Certificate(theirs.public_bytes(serialization.Encoding.DER))
            _compare(ours, theirs, c)
            assert ours.hw_serial == san
            x509.verify_signed_by(ours, ours_ca)
            role = x509.ROLE_SIGN if 'digital_signature' in ku else x509.ROLE_AGREE
            x509.check(ours, role, title, _ts(nb), [ours_ca])


_MP_DRIVER = r'''
import sys
from binascii import hexlify, unhexlify
from dlms_ca import ca as dca
from dlms_pk import ec, x509


def hx(b):
    return hexlify(b).decode()


def rd(path):
    with open(path) as f:
        return f.read()


f = open(sys.argv[1])
for line in f:
    p = line.split()
    if p[0] == 'csr':
        c = ec.curve_by_name(p[1])
        print(hx(x509.csr(c, unhexlify(p[2]), unhexlify(p[3]), p[4], unhexlify(p[5]))))
    else:
        ca = x509.Certificate(dca.pem_decode(rd(p[1]), 'CERTIFICATE'))
        cc, cd = dca.pem_private_key(rd(p[2]))
        c = ec.curve_by_name(p[3])
        na = None if p[8] == '-' else int(p[8])
        der = dca.issue(ca, cc, cd, (c, unhexlify(p[4]), p[5]), int(p[6]), int(p[7]), na,
                        int(p[9]), False, b'mp')
        x509.verify_signed_by(x509.Certificate(der), ca)
        print(hx(der))
f.close()
'''


@pytest.mark.skipif(not os.path.exists(_MICROPYTHON), reason='MicroPython unix port not installed')
def test_micropython_csr_and_issue(tmp_path):
    rnd = random.Random(11)
    lines = []
    todo = []
    nb = _ts(datetime.datetime(2026, 3, 1, tzinfo=_UTC))
    for i in range(8):
        name = ('P-256', 'P-384')[i % 2]
        c, ccurve, hash_cls = _CURVES[name]
        key = cec.generate_private_key(ccurve())
        cn = _title(rnd).hex().upper()
        pub = _raw_pub(key, c.size).hex()
        if i < 4:
            lines.append('csr %s %s %s %s %s' % (name, _d(key, c.size).hex(), pub, cn,
                                                 rnd.randbytes(16).hex()))
            todo.append(('csr', c, key, cn, hash_cls))
        else:
            suffix = '-p384' if name == 'P-384' else ''
            na = None if i == 5 else nb + 86400 * 365 * 25
            serial = rnd.randrange(1, 1 << 159)
            ku = x509.KU_DIGITAL_SIGNATURE if i % 2 else x509.KU_KEY_AGREEMENT
            lines.append('issue %s %s %s %s %s %d %d %s %d' % (
                os.path.join(_PKI, 'ca%s.pem' % suffix),
                os.path.join(_PKI, 'ca%s.key.pem' % suffix),
                name, pub, cn, serial, nb, '-' if na is None else na, ku))
            todo.append(('issue', c, key, cn, (suffix, serial, na, ku)))
    data = tmp_path / 'cases.txt'
    data.write_text('\n'.join(lines) + '\n')
    script = tmp_path / 'x509_driver.py'
    script.write_text(_MP_DRIVER)
    env = dict(os.environ, MICROPYPATH='.frozen:' + os.path.join(_ROOT, 'lib'))
    res = subprocess.run([_MICROPYTHON, str(script), str(data)], env=env, cwd=_ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.split()
    assert len(out) == len(todo)
    for (kind, c, key, cn, more), hexder in zip(todo, out):
        der = bytes.fromhex(hexder)
        if kind == 'csr':
            _check_csr(der, c, key, cn, more)
        else:
            suffix, serial, na, ku = more
            ca_cert, ca_key = _demo_ca(suffix)[0:2]
            _check_issued(der, ca_cert, ca_key, c, key, cn, serial, nb, na, ku, False)
