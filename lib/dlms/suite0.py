# Security suite 0 (AES-GCM-128), the meter's first suite behind the suite interface every suite
# module offers: ID (the SC suite nibble), KEY_LEN, Keys(ek, ak), protect/unprotect (SC || IC ||
# body [|| T12]), seal (the whole ciphered APDU in its envelope, in one buffer), open_content,
# and gmac (the GMAC of HLS-GMAC). Byte layouts of the envelopes: dlms/security.py. Drives GCM
# only through its checked calls (dlms/gcm.py). Knows nothing of sessions, policies or counters'
# storage: keys, titles and invocation counters are passed in.
# The functions take the suite from the Keys they are given (Keys.SUITE: the nibble every SC
# carries; Keys.KEY_SIZE: the length of EK and AK, hence of the AAD SC || AK): a suite with this
# ciphering (suite 1: AES-GCM-128 too; suite 2: the same with AES-256 and 32-byte keys)
# subclasses Keys and reuses them (dlms_pk/suite1.py, dlms_pk/suite2.py).
from dlms._compat import const
from dlms import gcm, security
from dlms.ct import equal as _ct_equal
from dlms.security import SC_AUTH, SC_ENC, SC_AUTH_ENC, SecurityError

ID = const(0)
KEY_LEN = const(16)
_GLO = const(1)             # security.KIND_GLO, KIND_DED
_DED = const(2)
_TAG_LEN = const(12)


class Keys:
    """A cipher key (global unicast EK or a dedicated key) with the authentication key AK, for
    suite SUITE, both KEY_SIZE bytes (SecurityError otherwise). The GHASH table is computed once
    per key, and the GHASH state after the AAD SC || AK of authenticated and encrypted APDUs
    (SC 0x30 | SUITE; la = its length) once per key instead of once per APDU. `of_suite(cls)`:
    the same keys for another suite of the same ciphering and key size (cls a Keys subclass),
    sharing the GCM tables; SecurityError when the key sizes differ (suite 2 keys are never
    made from 16-byte keys, nor suite 0/1 keys from 32-byte ones)."""
    SUITE = ID
    KEY_SIZE = KEY_LEN      # (not KEY_LEN: MicroPython takes that name for the constant)

    def __init__(self, ek, ak, g=None):
        n = self.KEY_SIZE
        if (g is None and len(ek) != n) or len(ak) != n:
            raise SecurityError('keys of %d bytes' % n)
        self.ak = bytes(ak)
        self.gcm = g if g is not None else gcm.Gcm(bytes(ek))
        self.sc_ae = SC_AUTH_ENC | self.SUITE
        self.pre = self.gcm.prefix(bytes((self.sc_ae,)) + self.ak)
        self.la = 1 + n

    def of_suite(self, cls):
        if cls is self.__class__:
            return self
        if cls.KEY_SIZE != self.KEY_SIZE:
            raise SecurityError('keys of %d bytes' % cls.KEY_SIZE)
        return cls(None, self.ak, self.gcm)

    def __repr__(self):  # never show key material
        return '<Keys>'


def _iv(system_title, ic):
    return bytes(system_title) + ic.to_bytes(4, 'big')


def protect(keys, sc, system_title, ic, apdu):
    """SC || IC || (apdu | ciphertext) [|| T12]; sender's system title and counter."""
    level = sc & 0x30
    if level == 0 or (sc & 0x0F) != keys.SUITE or len(system_title) != 8:
        raise SecurityError('security control')
    if not 0 <= ic <= 0xFFFFFFFF:
        raise SecurityError('invocation counter')
    iv = _iv(system_title, ic)
    head = bytes((sc,)) + ic.to_bytes(4, 'big')
    if level == SC_AUTH:
        tag = keys.gcm.gmac(iv, bytes((sc,)) + keys.ak + bytes(apdu))
        return head + bytes(apdu) + tag[:_TAG_LEN]
    if level == SC_ENC:
        ct, _ = keys.gcm.encrypt(iv, apdu, b'')
        return head + ct
    ct, tag = keys.gcm.encrypt(iv, apdu, bytes((sc,)) + keys.ak)
    return head + ct + tag[:_TAG_LEN]


def seal(keys, kind, sc, system_title, ic, apdu, ahead=None):
    """security.wrap(kind, system_title, protect(keys, sc, system_title, ic, apdu), apdu[0]),
    built in one buffer for glo-/ded- APDUs authenticated and encrypted (the others take that
    way). `ahead`: a gcm.Ahead its owner may have prepared for this IV. Bytes-like: a bytearray
    on the fast path."""
    n = len(apdu)
    if not n:
        raise SecurityError('empty')
    size = n + 5 + _TAG_LEN
    pair = security.CIPHERED.get(apdu[0])
    if (sc != keys.sc_ae or len(system_title) != 8 or size > 0xFF or pair is None
            or (kind != _GLO and kind != _DED)):
        return security.wrap(kind, system_title, protect(keys, sc, system_title, ic, apdu),
                             apdu[0])
    if not 0 <= ic <= 0xFFFFFFFF:
        raise SecurityError('invocation counter')
    o = 2 if size < 0x80 else 3
    out = bytearray(o + size)
    out[0] = pair[0] if kind == _GLO else pair[1]
    out[o - 1] = size
    if o == 3:
        out[1] = 0x81
    out[o] = sc
    out[o + 1] = ic >> 24
    out[o + 2] = (ic >> 16) & 0xFF
    out[o + 3] = (ic >> 8) & 0xFF
    out[o + 4] = ic & 0xFF
    keys.gcm.seal_into(system_title, out, o + 1, keys.pre, keys.la, apdu, 0, n, out, o + 5,
                       _TAG_LEN, ahead)
    return out          # a fresh bytearray: no copy into bytes


def open_content(keys, system_title, content, sc, ahead=None):
    """The APDU inside ciphered content whose SC security.split() has read (bytes-like: a
    bytearray for authenticated and encrypted content); a bad tag or layout raises
    SecurityError. The tag is checked (in constant time) before anything is deciphered."""
    if len(system_title) != 8:
        raise SecurityError('system title')
    n = len(content) - 5
    if sc == keys.sc_ae:
        n -= _TAG_LEN
        if n < 0:
            raise SecurityError('short tag')
        pt = bytearray(n)
        if not keys.gcm.open_into(system_title, content, 1, keys.pre, keys.la, content, 5, n,
                                  pt, 0, _TAG_LEN, ahead):
            raise SecurityError('tag')
        return pt           # a fresh bytearray: no copy into bytes
    iv = bytes(system_title) + bytes(content[1:5])
    level = sc & 0x30
    body = content[5:]
    if level == SC_ENC:
        pt, _ = keys.gcm.encrypt(iv, body, b'')
        return pt
    if n < _TAG_LEN:
        raise SecurityError('short tag')
    n -= _TAG_LEN
    tag = body[n:]
    if level == SC_AUTH:
        apdu = bytes(body[:n])
        expect = keys.gcm.gmac(iv, bytes((sc,)) + keys.ak + apdu)
        if not _ct_equal(expect[:_TAG_LEN], tag):
            raise SecurityError('tag')
        return apdu
    pt = keys.gcm.decrypt(iv, body[:n], bytes((sc,)) + keys.ak, tag)
    if pt is None:
        raise SecurityError('tag')
    return pt


def unprotect(keys, system_title, content):
    """Inverse of protect: returns (sc, ic, apdu); a bad tag or layout raises SecurityError."""
    sc, ic = security.split(content, keys.SUITE)
    return sc, ic, open_content(keys, system_title, content, sc)


def gmac(keys, system_title, ic, challenge, sc=None):
    """SC || IC || GMAC(SC || AK || challenge), IV = title || IC (HLS-GMAC f(challenge)); SC is
    authentication only, of the keys' suite, unless given."""
    if sc is None:
        sc = SC_AUTH | keys.SUITE
    tag = keys.gcm.gmac(_iv(system_title, ic), bytes((sc,)) + keys.ak + bytes(challenge))
    return bytes((sc,)) + ic.to_bytes(4, 'big') + tag[:_TAG_LEN]


def gmac_verify(keys, system_title, blob, challenge):
    """Check a received f(challenge) against the sender's title; the IC inside the blob is used
    and the whole 17 bytes are compared in constant time."""
    if len(blob) != 17 or (blob[0] & 0x3F) != (SC_AUTH | keys.SUITE):
        return False
    ic = int.from_bytes(blob[1:5], 'big')
    return _ct_equal(gmac(keys, system_title, ic, challenge, blob[0]), blob)

