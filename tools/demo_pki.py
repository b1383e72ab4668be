"""Write the demo PKI of the virtual meter into tools/demo_pki/ (CPython, `cryptography`).

    .venv/bin/python tools/demo_pki.py [out_dir]

Every run makes new keys (so new certificates): everything that embeds the old ones must be
updated. The material is public demo material: never put it on a real meter.

Profile (dlms-public-key.md 5.3, Green Book 9.2.6): X.509 v3, KeyUsage critical, BasicConstraints
(critical, CA=true) on CA certificates only, SubjectKeyIdentifier / AuthorityKeyIdentifier
non-critical, subject CN = the 16 upper-case hex digits of the client's system title. Written:
  ca.pem / ca.key.pem                  P-256 demo CA, keyCertSign + cRLSign, 2026-01-01 + 30 years
  client-sign.pem / .key.pem           P-256, digitalSignature, CN=4D4D4D0000000001
  client-agree.pem / .key.pem          P-256, keyAgreement, same CN
  ca-p384.pem / .key.pem               P-384 demo CA
  client-sign-p384.pem / .key.pem      P-384, issued by the P-384 CA
  client-agree-p384.pem / .key.pem
  test/                                negative (and a few extra positive) certificates for tests
Private keys are PKCS#8 ('PRIVATE KEY'); test/*.sec1.key.pem repeat two of them as SEC1.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

TITLE = '4D4D4D0000000001'
OTHER_TITLE = '4D4D4D0000000002'
CA_CN = 'DLMS demo CA (never on a real meter)'
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
CA_END = datetime.datetime(2056, 1, 1, tzinfo=datetime.timezone.utc)        # 30 years
CLIENT_END = datetime.datetime(2046, 1, 1, tzinfo=datetime.timezone.utc)    # 20 years
HMN = ObjectIdentifier('1.3.6.1.5.5.7.8.4')         # id-on-hardwareModuleName (RFC 4108)
HW_TYPE = ObjectIdentifier('2.999.2')      # a demo hwType (2.999: the X.660 example arc)
UNKNOWN = ObjectIdentifier('2.999.1')      # an extension nobody knows (example arc)

_KU_NAMES = ('digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment',
             'key_agreement', 'key_cert_sign', 'crl_sign', 'encipher_only', 'decipher_only')


def key_usage(*names):
    return x509.KeyUsage(**{n: n in names for n in _KU_NAMES})


def _der_len(n):
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _der_oid(oid):
    # DER of an OBJECT IDENTIFIER (cryptography has no public encoder for a bare OID)
    parts = [int(p) for p in oid.dotted_string.split('.')]
    body = bytearray()
    for v in [40 * parts[0] + parts[1]] + parts[2:]:
        enc = [v & 0x7F]
        v >>= 7
        while v:
            enc.insert(0, 0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(enc)
    return b'\x06' + _der_len(len(body)) + bytes(body)


def hardware_module_name(title_hex):
    """otherName HardwareModuleName { hwType, hwSerialNum = the system title bytes }."""
    serial = bytes.fromhex(title_hex)
    inner = _der_oid(HW_TYPE) + b'\x04' + _der_len(len(serial)) + serial
    return x509.OtherName(HMN, b'\x30' + _der_len(len(inner)) + inner)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else x509.Name([])


def make(subject_key, subject_cn, issuer_cert, issuer_key, usage, *, is_ca=False,
         start=START, end=CLIENT_END, ku_critical=True, extra=(), san=None, san_critical=False):
    """One certificate; issuer_cert None: self-signed."""
    pub = subject_key.public_key()
    issuer_name = issuer_cert.subject if issuer_cert is not None else name(subject_cn)
    ca_pub = issuer_key.public_key()
    hash_cls = hashes.SHA384 if isinstance(issuer_key.curve, ec.SECP384R1) else hashes.SHA256
    b = (x509.CertificateBuilder()
         .subject_name(name(subject_cn))
         .issuer_name(issuer_name)
         .public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(end))
    if is_ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    b = b.add_extension(usage, critical=ku_critical)
    if san is not None:
        b = b.add_extension(x509.SubjectAlternativeName([san]), critical=san_critical)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_pub),
                        critical=False)
    for oid, value, critical in extra:
        b = b.add_extension(x509.UnrecognizedExtension(oid, value), critical=critical)
    return b.sign(issuer_key, hash_cls())


def write(out, rel, data):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key, fmt=serialization.PrivateFormat.PKCS8):
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def main(out):
    p256 = ec.SECP256R1()
    p384 = ec.SECP384R1()
    written = []

    def put(rel, cert, key=None, key_rel=None):
        write(out, rel, cert_pem(cert))
        written.append(rel)
        if key is not None:
            key_rel = key_rel or rel[:-4] + '.key.pem'
            write(out, key_rel, key_pem(key))
            written.append(key_rel)

    ca_usage = key_usage('key_cert_sign', 'crl_sign')
    sign = key_usage('digital_signature')
    agree = key_usage('key_agreement')

    cas = {}
    for suffix, curve in (('', p256), ('-p384', p384)):
        ca_key = ec.generate_private_key(curve)
        cn = CA_CN if not suffix else CA_CN.replace('CA', 'P-384 CA', 1)
        ca = make(ca_key, cn, None, ca_key, ca_usage, is_ca=True, end=CA_END)
        put('ca%s.pem' % suffix, ca, ca_key)
        cas[suffix] = (ca, ca_key)
        for role, usage in (('sign', sign), ('agree', agree)):
            key = ec.generate_private_key(curve)
            put('client-%s%s.pem' % (role, suffix), make(key, TITLE, ca, ca_key, usage), key)
            if role == 'sign':
                write(out, 'test/client-sign%s.sec1.key.pem' % suffix,
                      key_pem(key, serialization.PrivateFormat.TraditionalOpenSSL))
                written.append('test/client-sign%s.sec1.key.pem' % suffix)

    ca, ca_key = cas['']
    # negative certificates (each wrong in one way)
    other_key = ec.generate_private_key(p256)
    other = make(other_key, CA_CN, None, other_key, ca_usage, is_ca=True, end=CA_END)
    put('test/other-ca.pem', other)       # same name as the demo CA, another key
    k = ec.generate_private_key(p256)
    put('test/client-sign-other-ca.pem', make(k, TITLE, other, other_key, sign))
    put('test/client-sign-expired.pem',
        make(k, TITLE, ca, ca_key, sign, end=datetime.datetime(2026, 2, 1,
                                                                tzinfo=datetime.timezone.utc)))
    put('test/client-sign-no-ds.pem', make(k, TITLE, ca, ca_key, key_usage('key_encipherment')))
    put('test/client-sign-other-title.pem', make(k, OTHER_TITLE, ca, ca_key, sign))
    put('test/client-sign-unknown-critical.pem',
        make(k, TITLE, ca, ca_key, sign, extra=[(UNKNOWN, b'\x05\x00', True)]))
    put('test/client-sign-ku-noncritical.pem', make(k, TITLE, ca, ca_key, sign, ku_critical=False))
    k384 = ec.generate_private_key(p384)
    put('test/client-sign-p384-by-p256.pem', make(k384, TITLE, ca, ca_key, sign))
    put('test/client-sign-san-other.pem',
        make(k, TITLE, ca, ca_key, sign, san=hardware_module_name(OTHER_TITLE)))
    not_ca_key = ec.generate_private_key(p256)
    not_ca = make(not_ca_key, 'DLMS demo not-a-CA', ca, ca_key, sign)
    put('test/not-ca.pem', not_ca)
    put('test/client-sign-by-not-ca.pem', make(k, TITLE, not_ca, not_ca_key, sign))
    # extra positive ones: CN and SAN, SAN only (empty subject, SAN critical), no end, unknown
    # non-critical extension
    put('test/client-sign-san.pem', make(k, TITLE, ca, ca_key, sign,
                                         san=hardware_module_name(TITLE)))
    put('test/client-sign-san-only.pem', make(k, None, ca, ca_key, sign,
                                              san=hardware_module_name(TITLE), san_critical=True))
    put('test/client-sign-no-end.pem',
        make(k, TITLE, ca, ca_key, sign,
             end=datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)))
    put('test/client-sign-unknown-noncritical.pem',
        make(k, TITLE, ca, ca_key, sign, extra=[(UNKNOWN, b'\x05\x00', False)]))
    for rel in written:
        print(os.path.join(out, rel))


if __name__ == '__main__':
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'demo_pki'))
