# The host side of the public-key part: a certificate authority (issuing X.509 v3 certificates,
# reading PKCS#10 requests) and PEM files with their EC private keys, for the virtual meter's
# demo CA (boards/host/demo_enroll.py), the host tools (tools/provision.py) and the tests. Never
# on a board: a meter makes its key pairs itself, never reads a private key from a file, and
# issues no certificates; it only reads them (dlms_pk/x509.py) and writes requests (x509.csr).
# Decisions on what is written are those of dlms_pk/x509.py's header (KeyUsage critical, SKI by
# RFC 7093 method 1, canonical DER signatures, UTF8String CN).
from binascii import a2b_base64, b2a_base64

from dlms_pk import asn1, ec, sha2
from dlms_pk.asn1 import DERError, Reader
from dlms_pk.x509 import (Certificate, X509Error, _guard, _signed_parts, _name, _spki,
                          _hash_of, _name_cn, _spki_der, _signed, _BC, _KU, _SKI, _AKI,
                          _SHA256, _SHA384, _EC_PUB)


class Csr:
    """A parsed PKCS#10 request whose self-signature verified. Attributes: der, subject (DER),
    subject_cn, curve, public_key (X||Y), hash."""

    def __init__(self, der):
        _guard(self._parse, der, 'csr')

    def _parse(self, der):
        self.der = der = bytes(der)
        tbs, t, alg, sig = _signed_parts(der)
        if t.integer() != 0:
            raise X509Error('version')
        self.subject, self.subject_cn = _name(t)
        self.curve, self.public_key = _spki(t)
        a = t.enter(0xA0)         # attributes: not interpreted
        while a.more():
            a.next()
        t.done()
        self.hash = _hash_of(alg)
        if self.hash != self.curve.hash:
            raise X509Error('sig-alg')
        if not ec.verify_der(self.curve, self.public_key, tbs, sig):
            raise X509Error('signature')


def parse_csr(der):
    """Csr(der): raises X509Error unless well formed and self-signed."""
    return Csr(der)



def key_id(public_key):
    """SubjectKeyIdentifier of an X||Y key: RFC 7093 method 1 (SHA-256 of 04||X||Y, 20 bytes)."""
    return sha2.sha256(b'\x04' + bytes(public_key))[0:20]


def _ext(oid, critical, value):
    return asn1.seq(asn1.oid(oid), asn1.boolean(True) if critical else b'',
                    asn1.octet_string(value))


def _ku_der(flags):
    h = 0
    while flags >> (h + 1):
        h += 1
    b = bytearray(h // 8 + 1)
    for i in range(h + 1):
        if flags & (1 << i):
            b[i >> 3] |= 0x80 >> (i & 7)
    return asn1.bit_string(bytes(b), 7 - h % 8)


def issue(ca_cert, ca_curve, ca_d, subject, serial, not_before, not_after, key_usage,
          is_ca=False, extra=b''):
    """A certificate (DER) signed by the CA key ca_d on ca_curve. subject: a PKCS#10 request
    (DER or Csr, verified) or a tuple (curve, public key X||Y, CN). ca_cert: the CA's
    Certificate (or DER), or None for a self-signed certificate (subject's key is ca_d's).
    not_after None: no end. key_usage: KU_* flags (critical); is_ca: BasicConstraints CA=true
    (critical; end entities get none). SKI per key_id(); AKI = the CA's SKI."""
    if isinstance(subject, tuple):
        c, pub, cn = subject
        name = _name_cn(cn)
    else:
        if not isinstance(subject, Csr):
            subject = Csr(subject)
        c, pub, name = subject.curve, subject.public_key, subject.subject
    spki = _spki_der(c, pub)
    if ca_cert is None:
        issuer, aki = name, key_id(pub[len(pub) - 2 * c.size:])
    else:
        if not isinstance(ca_cert, Certificate):
            ca_cert = Certificate(ca_cert)
        issuer, aki = ca_cert.subject, ca_cert.ski or key_id(ca_cert.public_key)
    if c.size > ca_curve.size:
        raise X509Error('issuer-curve')
    if not 0 < serial < 1 << 159:
        raise X509Error('serial')
    exts = _ext(_BC, True, asn1.seq(asn1.boolean(True))) if is_ca else b''
    exts += _ext(_KU, True, _ku_der(key_usage))
    exts += _ext(_SKI, False, asn1.octet_string(key_id(pub[len(pub) - 2 * c.size:])))
    exts += _ext(_AKI, False, asn1.seq(asn1.ctx(0, aki, False)))
    alg = _SHA256 if ca_curve.hash == 'sha256' else _SHA384
    tbs = asn1.seq(asn1.ctx(0, asn1.integer(2)), asn1.integer(serial), asn1.seq(asn1.oid(alg)),
                   issuer, asn1.seq(asn1.time(not_before), asn1.time(not_after)), name, spki,
                   asn1.ctx(3, asn1.seq(exts)))
    return _signed(ca_curve, ca_d, tbs, extra)



# ---------------------------------------------------------------------------
# PEM (RFC 7468) and EC private keys

def pem_decode(text, label):
    """The DER of the first '-----BEGIN label-----' block of text (str or bytes)."""
    if not isinstance(text, str):
        text = bytes(text).decode()
    b = '-----BEGIN %s-----' % label
    i = text.find(b)
    j = text.find('-----END %s-----' % label, i)
    if i < 0 or j < 0:
        raise X509Error('pem')
    try:
        return a2b_base64(''.join(text[i + len(b):j].split()))
    except ValueError:
        raise X509Error('pem')


def pem_encode(der, label):
    s = b2a_base64(der).decode().strip()
    return '-----BEGIN %s-----\n%s\n-----END %s-----\n' % (
        label, '\n'.join([s[i:i + 64] for i in range(0, len(s), 64)]), label)


def _sec1(der, c):
    # RFC 5915 ECPrivateKey: SEQUENCE { 1, OCTET STRING d, [0] curve OPTIONAL, [1] pub OPTIONAL }
    s = Reader(der)
    r = s.enter()
    s.done()
    if r.integer() != 1:
        raise DERError('version')
    d = r.get(asn1.OCTET_STRING)
    if r.peek() == 0xA0:
        p = r.enter(0xA0)
        o = ec.curve_by_oid(p.oid())
        p.done()
        if c is not None and o is not c:
            raise DERError('curve')
        c = o
    if r.peek() == 0xA1:
        r.next()
    r.done()
    if c is None or len(d) != c.size or not 0 < int.from_bytes(d, 'big') < c.n:
        raise DERError('key')
    return c, d


def _pkcs8(der):
    # RFC 5208 / 5958 PrivateKeyInfo with id-ecPublicKey
    s = Reader(der)
    r = s.enter()
    s.done()
    if r.integer() > 1:
        raise DERError('version')
    a = r.enter()
    if a.oid() != _EC_PUB:
        raise DERError('algorithm')
    c = ec.curve_by_oid(a.oid())
    a.done()
    k = r.get(asn1.OCTET_STRING)
    while r.more():             # [0] attributes, [1] public key
        r.next()
    return _sec1(k, c)


def pem_private_key(text):
    """(curve, d) from a PEM 'EC PRIVATE KEY' (SEC1) or 'PRIVATE KEY' (PKCS#8) of a P-256 /
    P-384 key (unencrypted). The error never says anything about the key."""
    if not isinstance(text, str):
        text = bytes(text).decode()
    if 'BEGIN EC PRIVATE KEY' in text:
        der = pem_decode(text, 'EC PRIVATE KEY')
        return _guard(lambda x: _sec1(x, None), der, 'private-key', 'private-key')
    return _guard(_pkcs8, pem_decode(text, 'PRIVATE KEY'), 'private-key', 'private-key')
