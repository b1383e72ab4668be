# X.509 v3 certificates (RFC 5280) read and checked, and PKCS#10 requests (RFC 2986) written,
# for the meter's side of the DLMS public-key suites; issuing certificates, reading requests and
# PEM files belong to the host (dlms_ca/ca.py, never on a board). For the DLMS public-key
# suites (Green Book certificate profile, dlms-public-key.md 5.2 / 5.3): EC keys on P-256 / P-384,
# ecdsa-with-SHA256 / -SHA384. Sans-IO: time (`now`, Unix seconds) and signing entropy (`extra`)
# come in as arguments. Every refusal raises X509Error whose reason (e.reason, a short constant
# string, never key material) the meter maps to an event:
#   parse:  too-large malformed version serial sig-alg name validity key-algorithm curve
#           public-key extension unknown-critical key-usage-missing basic-constraints
#   check:  role key-usage-not-critical key-usage not-yet-valid expired subject
#           untrusted issuer-name issuer-not-ca issuer-curve signature (and issuer-* for the CA's
#           own validity: issuer-not-yet-valid, issuer-expired)
#   dlms_ca/ca.py: pem private-key csr
#
# Decisions (where the references leave a choice):
# - KeyUsage is mandatory: a certificate without it is refused at parse time. It must be
#   critical (Green Book 9.2.6.4-9.2.6.6, dlms-public-key.md 5.3): check() refuses a
#   non-critical one ('key-usage-not-critical'), because a CA that leaves it non-critical does
#   not follow the profile, and a verifier that ignores non-critical extensions would take the
#   key for any purpose. (Gurux Python 1.0.203 reads only non-critical KeyUsage: 6.3 bug 11.)
# - Chain: the certificate must be issued directly by one of the trust anchors (the CA
#   certificates imported into the meter, root or sub-CA alike: an anchor need not be
#   self-signed). No intermediates are built: DLMS import_certificate carries one certificate,
#   there is nowhere to fetch one from, and a sub-CA the operator wants is imported as an anchor.
#   That keeps it to one ECDSA verification per check. The anchor's own validity is checked too.
# - Names match by their DER bytes (issuer of the certificate == subject of the anchor).
# - Identity: a HardwareModuleName SAN (RFC 4108), when present, wins: its hwSerialNum must be
#   the system title, and a CN that is itself a system title (16 hex digits) must be the same
#   one (no certificate may name two devices). Without the SAN, the CN must be exactly the 16
#   upper-case hex digits of the title (the Gurux convention). More than one CN is refused.
# - The CSR subject CN is a UTF8String: RFC 5280 4.1.2.6 asks for UTF8String in new encodings,
#   Gurux C and Gurux Python (GXAsn1Converter.encodeSubject) encode CN so, and Gurux's parser
#   reads UTF8String and PrintableString alike. The reader accepts UTF8/Printable/IA5String.
# - Time: UTCTime through 2049, GeneralizedTime from 2050 when writing (RFC 5280); both read
#   for any year (unambiguous); 99991231235959Z is "no end" (not_after None).
# - Signature algorithm: the hash must be the issuer curve's (P-256 CA: SHA-256, P-384 CA:
#   SHA-384), and a P-384 key must be signed by a P-384 CA (5.3). ECDSA parameters must be
#   absent (RFC 5758); the TBS algorithm must equal the outer one byte for byte.
# - Key identifiers: SHA-1 (RFC 5280 4.2.1.2 methods 1 and 2 both use it) is missing on some
#   MicroPython ports, so the SubjectKeyIdentifier written is RFC 7093 method 1: the leftmost
#   160 bits of SHA-256 over the subjectPublicKey bits (04||X||Y). SKI / AKI are kept, not
#   recomputed, when read; both must be non-critical.
# - Signatures are canonical DER (ec.sig_to_der). Gurux Python (GXPkcs10) takes r and s as
#   32/48 content bytes or 33/49 with the 0x00 pad and fails on a shorter INTEGER (about 1 in
#   256 signatures), so _signed() signs again, one more byte of extra each time, while r or s
#   has a leading zero byte (1 in 128; the choice depends only on the public signature).
# - Refused as well: v1/v2, serial 0 or over 20 content bytes, unique IDs, an empty or
#   duplicated extension, an explicit DEFAULT FALSE, keyCertSign without CA=true, compressed
#   points, explicit curve parameters, certificates over MAX_CERT bytes.
from binascii import hexlify

from dlms._compat import const
from dlms_pk import asn1, ec
from dlms_pk.asn1 import DERError, Reader

MAX_CERT = const(2048)      # bytes: larger certificates and requests are refused

KU_DIGITAL_SIGNATURE = const(0x01)     # KeyUsage bit n is 1 << n
KU_KEY_ENCIPHERMENT = const(0x04)
KU_KEY_AGREEMENT = const(0x10)
KU_KEY_CERT_SIGN = const(0x20)
KU_CRL_SIGN = const(0x40)

ROLE_SIGN = 'digital-signature'
ROLE_AGREE = 'key-agreement'
ROLE_CA = 'ca'
_ROLE_KU = {ROLE_SIGN: KU_DIGITAL_SIGNATURE, ROLE_AGREE: KU_KEY_AGREEMENT,
            ROLE_CA: KU_KEY_CERT_SIGN}

# OBJECT IDENTIFIER contents
_EC_PUB = b'\x2a\x86\x48\xce\x3d\x02\x01'           # 1.2.840.10045.2.1 id-ecPublicKey
_SHA256 = b'\x2a\x86\x48\xce\x3d\x04\x03\x02'       # 1.2.840.10045.4.3.2 ecdsa-with-SHA256
_SHA384 = b'\x2a\x86\x48\xce\x3d\x04\x03\x03'       # 1.2.840.10045.4.3.3 ecdsa-with-SHA384
_CN = b'\x55\x04\x03'                               # 2.5.4.3 commonName
_SKI = b'\x55\x1d\x0e'                              # 2.5.29.14
_KU = b'\x55\x1d\x0f'                               # 2.5.29.15
_SAN = b'\x55\x1d\x11'                              # 2.5.29.17
_BC = b'\x55\x1d\x13'                               # 2.5.29.19
_AKI = b'\x55\x1d\x23'                              # 2.5.29.35
_HMN = b'\x2b\x06\x01\x05\x05\x07\x08\x04'          # 1.3.6.1.5.5.7.8.4 id-on-hardwareModuleName
_HASH = {_SHA256: 'sha256', _SHA384: 'sha384'}


class X509Error(DERError):
    @property
    def reason(self):
        return self.args[0]


def _guard(fn, der, reason='malformed', ec_reason='public-key'):
    # fn(der), with every DER / EC error turned into an X509Error
    try:
        return fn(der)
    except X509Error:
        raise
    except ec.ECError:
        raise X509Error(ec_reason)
    except DERError:
        raise X509Error(reason)


def _hash_of(alg):
    a = Reader(alg).enter()
    h = _HASH.get(a.oid())
    if h is None:
        raise X509Error('sig-alg')
    a.done()                    # no parameters (RFC 5758)
    return h


def _name(r):
    # a Name: (its DER, the CN as text or None)
    p = r.pos
    n = r.enter()
    raw = r.d[p:r.pos]
    cn = None
    while n.more():
        rdn = n.enter(asn1.SET)
        if not rdn.more():
            raise X509Error('name')
        while rdn.more():
            a = rdn.enter()
            if a.oid() == _CN:
                if cn is not None:
                    raise X509Error('name')
                cn = a.string()
            else:
                a.next()
            a.done()
    return raw, cn


def _spki(r):
    # SubjectPublicKeyInfo: (curve, X||Y), the point validated
    s = r.enter()
    a = s.enter()
    if a.oid() != _EC_PUB:
        raise X509Error('key-algorithm')
    if a.peek() != asn1.OID:
        raise X509Error('curve')        # namedCurve only: no parameters from the wire
    try:
        c = ec.curve_by_oid(a.oid())
    except ec.ECError:
        raise X509Error('curve')
    a.done()
    u, k = s.bits()
    s.done()
    if u or len(k) != 2 * c.size + 1 or k[0] != 4:
        raise X509Error('public-key')
    ec.decode_point(c, k)
    return c, k[1:]


def _signed_parts(der):
    # SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }: (tbs bytes, tbs Reader, alg, signature)
    if len(der) > MAX_CERT:
        raise X509Error('too-large')
    r = Reader(der)
    c = r.enter()
    r.done()
    p = c.pos
    t = c.enter()
    tbs = c.d[p:c.pos]
    alg = c.raw(asn1.SEQUENCE)
    u, sig = c.bits()
    c.done()
    if u:
        raise DERError('signature')
    return tbs, t, alg, sig


def _ku(u, b):
    # KeyUsage named bits -> flags; DER: at least one bit, trailing zero bits removed
    if not b or len(b) > 2 or not (b[len(b) - 1] >> u) & 1:
        raise X509Error('extension')
    v = 0
    for i in range(8 * len(b)):
        if b[i >> 3] & (0x80 >> (i & 7)):
            v |= 1 << i
    return v


class Certificate:
    """A parsed X.509 v3 EC certificate (raises X509Error). Attributes: der, tbs, signature (DER
    Ecdsa-Sig-Value), hash ('sha256' / 'sha384'), serial (int), issuer / subject (DER of the
    Name), issuer_cn / subject_cn (str or None), not_before, not_after (Unix seconds; not_after
    None: no end), curve (ec.P256 / ec.P384), public_key (X||Y), key_usage (KU_* flags),
    ku_critical, is_ca, path_len, hw_type / hw_serial (HardwareModuleName SAN or None),
    ski / aki (key identifiers, bytes or None)."""

    def __init__(self, der):
        _guard(self._parse, der)

    @staticmethod
    def parse(der):
        return Certificate(der)

    def __repr__(self):
        return '<Certificate %r>' % self.subject_cn

    def _parse(self, der):
        self.der = der = bytes(der)
        self.tbs, t, alg, self.signature = _signed_parts(der)
        v = t.enter(0xA0)
        if v.integer() != 2:
            raise X509Error('version')
        v.done()
        self.serial = t.integer()
        if not 0 < self.serial < 1 << 159:      # at most 20 content bytes, positive
            raise X509Error('serial')
        if t.raw(asn1.SEQUENCE) != alg:
            raise X509Error('sig-alg')
        self.hash = _hash_of(alg)
        self.issuer, self.issuer_cn = _name(t)
        v = t.enter()
        self.not_before = v.time()
        self.not_after = v.time()
        v.done()
        if self.not_before is None or (self.not_after is not None
                                       and self.not_after < self.not_before):
            raise X509Error('validity')
        self.subject, self.subject_cn = _name(t)
        self.curve, self.public_key = _spki(t)
        if not t.more():
            raise X509Error('key-usage-missing')
        v = t.enter(0xA3)
        t.done()
        self._extensions(v.enter())
        v.done()

    def _extensions(self, es):
        self.key_usage = None
        self.ku_critical = self.is_ca = False
        self.path_len = self.hw_type = self.hw_serial = self.ski = self.aki = None
        seen = []
        if not es.more():
            raise X509Error('extension')
        while es.more():
            e = es.enter()
            oid = e.oid()
            crit = False
            if e.peek() == asn1.BOOLEAN:
                crit = e.boolean()
                if not crit:
                    raise X509Error('extension')    # explicit FALSE: DER omits the DEFAULT
            v = e.enter(asn1.OCTET_STRING)
            e.done()
            if oid in seen:
                raise X509Error('extension')
            seen.append(oid)
            if oid == _KU:
                self.key_usage = _ku(*v.bits())
                self.ku_critical = crit
            elif oid == _BC:
                b = v.enter()
                if b.peek() == asn1.BOOLEAN:
                    if not b.boolean():
                        raise X509Error('extension')
                    self.is_ca = True
                if b.more():
                    self.path_len = b.integer()
                b.done()
            elif oid == _SAN:
                self._san(v.enter())
            elif oid == _SKI or oid == _AKI:
                if crit:
                    raise X509Error('extension')
                if oid == _SKI:
                    self.ski = v.get(asn1.OCTET_STRING)
                else:
                    a = v.enter()
                    if a.peek() == 0x80:
                        self.aki = a.get(0x80)
                    while a.more():
                        a.next()
            elif crit:
                raise X509Error('unknown-critical')
            else:
                continue
            v.done()
        if self.key_usage is None:
            raise X509Error('key-usage-missing')
        if self.key_usage & KU_KEY_CERT_SIGN and not self.is_ca:
            raise X509Error('basic-constraints')

    def _san(self, g):
        # GeneralNames: the one otherName HardwareModuleName is kept, other names are skipped
        if not g.more():
            raise X509Error('extension')
        while g.more():
            if g.peek() != 0xA0:
                g.next()
                continue
            o = g.enter(0xA0)
            if o.oid() == _HMN:
                if self.hw_serial is not None:
                    raise X509Error('extension')
                w = o.enter(0xA0)
                h = w.enter()
                self.hw_type = h.oid()
                self.hw_serial = h.get(asn1.OCTET_STRING)
                h.done()
                w.done()
            else:
                o.next()
            o.done()


def parse(der):
    """Certificate(der)."""
    return Certificate(der)


# ---------------------------------------------------------------------------
# Verification

def verify_signed_by(cert, issuer, verified=None):
    """Raises X509Error unless issuer (a Certificate) issued cert: names match, the issuer is a
    CA (CA=true, keyCertSign), the curve and hash rules hold, its key verifies the signature.
    `verified`: a set the caller keeps of (cert DER, issuer DER) whose signature verified
    before; such a pair skips the signature (the other checks are made every time)."""
    if cert.issuer != issuer.subject:
        raise X509Error('issuer-name')
    if not issuer.is_ca or not issuer.key_usage & KU_KEY_CERT_SIGN:
        raise X509Error('issuer-not-ca')
    if cert.curve.size > issuer.curve.size:
        raise X509Error('issuer-curve')         # a P-384 key under a P-256 CA
    if cert.hash != issuer.curve.hash:
        raise X509Error('sig-alg')
    if verified is not None and (cert.der, issuer.der) in verified:
        return
    if not ec.verify_der(issuer.curve, issuer.public_key, cert.tbs, cert.signature):
        raise X509Error('signature')
    if verified is not None:
        verified.add((cert.der, issuer.der))


def _in_time(c, now, pre=''):
    if now < c.not_before:
        raise X509Error(pre + 'not-yet-valid')
    if c.not_after is not None and now > c.not_after:
        raise X509Error(pre + 'expired')


def _is_hex(s):
    for ch in s:
        if ch not in '0123456789abcdefABCDEF':
            return False
    return True


def check(cert, role, system_title, now, anchors, verified=None):
    """Raises X509Error unless cert may be used for role (ROLE_SIGN, ROLE_AGREE, ROLE_CA) by
    the device with this system title (8 bytes; None: no binding, e.g. for a CA) at now (Unix
    seconds), issued directly by one of anchors (Certificates; a self-signed root checks
    against itself: anchors=[cert]). `verified`: as for verify_signed_by."""
    ku = _ROLE_KU.get(role)
    if ku is None:
        raise X509Error('role')
    if not cert.ku_critical:
        raise X509Error('key-usage-not-critical')
    if not cert.key_usage & ku:
        raise X509Error('key-usage')
    if cert.is_ca != (role == ROLE_CA):
        raise X509Error('basic-constraints')
    _in_time(cert, now)
    if system_title is not None:
        st = hexlify(system_title).decode().upper()
        cn = cert.subject_cn
        if cert.hw_serial is not None:
            ok = cert.hw_serial == bytes(system_title) and not (
                cn and len(cn) == 16 and _is_hex(cn) and cn.upper() != st)
        else:
            ok = len(system_title) == 8 and cn == st
        if not ok:
            raise X509Error('subject')
    why = 'untrusted'
    for a in anchors:
        if a.subject != cert.issuer or (cert.aki and a.ski and cert.aki != a.ski):
            continue
        try:
            verify_signed_by(cert, a, verified)
            _in_time(a, now, 'issuer-')
            return
        except X509Error as e:
            why = e.reason
    raise X509Error(why)


# ---------------------------------------------------------------------------
# Writing: PKCS#10 and certificates

def _name_cn(cn):
    return asn1.seq(asn1.set_(asn1.seq(asn1.oid(_CN), asn1.utf8(cn))))


def _spki_der(c, pub):
    x, y = ec.decode_point(c, pub)
    return asn1.seq(asn1.seq(asn1.oid(_EC_PUB), asn1.oid(c.oid)),
                    asn1.bit_string(ec.encode_point(c, x, y, True)))


def _signed(c, d, tbs, extra):
    # SEQUENCE { tbs, ecdsa-with-SHAxxx of curve c, BIT STRING DER signature }
    extra = bytes(extra)
    sig = ec.sign(c, d, tbs, extra)
    i = 0
    while sig[0] == 0 or sig[c.size] == 0:      # a short r or s: see the header (Gurux)
        i += 1
        sig = ec.sign(c, d, tbs, extra + bytes((i & 0xFF,)))
    alg = _SHA256 if c.hash == 'sha256' else _SHA384
    return asn1.seq(tbs, asn1.seq(asn1.oid(alg)), asn1.bit_string(ec.sig_to_der(c, sig)))


def csr(curve, d, public_key, subject_cn, extra=b''):
    """PKCS#10 request (DER): version 0, subject CN=subject_cn (UTF8String), the EC key
    public_key (X||Y or 04||X||Y) on curve, attributes [0] empty, signed with private key d
    by the curve's ecdsa-with-SHA256/384; extra: fresh entropy for the nonce."""
    cri = asn1.seq(asn1.integer(0), _name_cn(subject_cn), _spki_der(curve, public_key),
                   asn1.ctx(0, b''))
    return _signed(curve, d, cri, extra)
