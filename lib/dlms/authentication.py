# The authentication mechanisms (IEC 62056-5-3, 2.16.756.5.8.2.N), one small class each in the
# table MECHANISMS, and HLS pass 3 / pass 4, handled here and nowhere else.
# A mechanism says whether it needs a calling AP-title (the client system title), whether its
# secret can be guessed (then failures count towards the lockout), what pass 1 checks, whether
# the AARE carries a challenge (StoC), and for those how pass 3 is verified and pass 4 made.
# Adding a mechanism: one class here and its entry in MECHANISMS (one that needs the public-key
# package: its own module in lib/dlms_pk, found by mechanism() as HLS-ECDSA is). The session
# gives each the association's state (`s`: cfg, server, protection, ctos, stoc); nothing here
# parses an APDU other than the HLS reply's parameter.
import hashlib
from dlms._compat import const
from dlms import axdr, xdlms
from dlms.ct import equal
from dlms.counters import CounterError
from dlms import association as am
from dlms.cosem import base as cb

LOWEST = const(0)
LLS = const(1)
HLS_GMAC = const(5)
HLS_SHA256 = const(6)
HLS_ECDSA = const(7)

# Association LN (class 15), the current association, method 1 reply_to_HLS_authentication
_ASSOCIATION_LN = const(15)
_CURRENT = b'\x00\x00\x28\x00\x00\xff'
_REPLY_TO_HLS = const(1)

# acse-service-user diagnostics pass 1 may answer
DIAG_AUTHENTICATION_FAILURE = const(13)


class Mechanism:
    id = LOWEST
    calling_title = False     # pass 1 needs the client system title (calling-AP-title)
    challenge = False         # the AARE carries StoC; passes 3 and 4 follow
    guessable = False         # failures count towards the lockout: the secret can be guessed
    challenge_min = 8         # CtoS and StoC lengths, bytes
    challenge_max = 64

    def pass1(self, s, aarq):
        """None when the AARQ's authentication is acceptable, else (diagnostic, detail)."""
        return None

    def pass3(self, s, blob):
        """True when f(StoC) from the client is right."""
        return False

    def pass4(self, s):
        """f(CtoS) for the client, or None when it cannot be made; CounterError when no
        counter value is left to make it with."""
        return None

    def _ctos(self, aarq):
        ctos = aarq.auth_value
        return ctos is not None and self.challenge_min <= len(ctos) <= self.challenge_max


class Lowest(Mechanism):
    pass


class Lls(Mechanism):
    id = LLS
    guessable = True

    def pass1(self, s, aarq):
        secret = s.cfg.secret or b''
        if aarq.auth_value is None or not equal(aarq.auth_value, secret):
            return DIAG_AUTHENTICATION_FAILURE, 'lls'
        return None


class HlsGmac(Mechanism):
    """HLS-GMAC (5): f(challenge) = SC || IC || GMAC(SC || AK || challenge) under the unicast
    key, IV = the sender's title || IC. 128-bit keys: nothing to guess."""
    id = HLS_GMAC
    calling_title = True
    challenge = True

    def pass1(self, s, aarq):
        if not self._ctos(aarq) or s.protection.keys() is None:
            return DIAG_AUTHENTICATION_FAILURE, 'hls challenge'
        return None

    def pass3(self, s, blob):
        keys = s.protection.keys()
        return keys is not None and s.protection.suite.gmac_verify(
            keys, s.protection.client_title, blob, s.stoc)

    def pass4(self, s):
        p = s.protection
        ic = p.kc.counter.next()
        return p.suite.gmac(p.keys(), s.server.system_title, ic, s.ctos)


class HlsSha256(Mechanism):
    """HLS-SHA256 (6): pass 3 SHA-256(secret || STc || STs || StoC || CtoS), pass 4
    SHA-256(secret || STs || STc || CtoS || StoC) (dlms-public-key.md 2.1), the secret being the
    association's (Association LN attribute 7, change_HLS_secret). A shared secret may be weak:
    failures count towards the lockout."""
    id = HLS_SHA256
    calling_title = True
    challenge = True
    guessable = True

    def pass1(self, s, aarq):
        if not self._ctos(aarq) or not s.cfg.secret:
            return DIAG_AUTHENTICATION_FAILURE, 'hls challenge'
        return None

    @staticmethod
    def _f(secret, first, second, c1, c2):
        h = hashlib.sha256(secret)
        for part in (first, second, c1, c2):
            h.update(part)
        return h.digest()

    def pass3(self, s, blob):
        return equal(blob, self._f(s.cfg.secret, s.protection.client_title,
                                   s.server.system_title, s.stoc, s.ctos))

    def pass4(self, s):
        return self._f(s.cfg.secret, s.server.system_title, s.protection.client_title, s.ctos,
                       s.stoc)


MECHANISMS = {
    LOWEST: Lowest(),
    LLS: Lls(),
    HLS_GMAC: HlsGmac(),
    HLS_SHA256: HlsSha256(),
}


def mechanism(mechanism_id):
    """The mechanism object, or None when the meter has not got it. HLS-ECDSA (7) lives in the
    optional public-key package (dlms_pk/hls_ecdsa.py) and joins the table at its first use."""
    m = MECHANISMS.get(mechanism_id)
    if m is None and mechanism_id == HLS_ECDSA:
        try:
            from dlms_pk.hls_ecdsa import HlsEcdsa
        except ImportError:
            return None
        m = MECHANISMS[HLS_ECDSA] = HlsEcdsa()
    return m


def is_reply(req):
    """Is this ACTION request HLS pass 3 (reply_to_HLS_authentication of the current
    association)?"""
    return (req.kind == 1 and req.class_id == _ASSOCIATION_LN and req.instance == _CURRENT
            and req.method_id == _REPLY_TO_HLS)


def reply(s, req):
    """HLS pass 3 -> pass 4, as the ACTION response. A pass 3 that does not verify (or cannot be
    answered) leaves the association non-associated and is a security event."""
    mech = s.mechanism_obj
    param = req.parameter
    if param is not None and param[0] == axdr.OCTET_STRING and mech.pass3(s, bytes(param[1])):
        try:
            f = mech.pass4(s)
        except CounterError:           # exhausted, or the reservation was not persisted
            s.server.counter_exhausted(s.client_sap, s.protection.kc)
            f = None
        if f is None:
            s.assoc.event(am.HLS_FAILED)
            return xdlms.action_response_normal(req.invoke_id, cb.READ_WRITE_DENIED)
        s.assoc.event(am.HLS_PASSED)
        s.stoc = None
        s.server.auth_succeeded(s.client_sap)
        return xdlms.action_response_normal(req.invoke_id, cb.SUCCESS,
                                            axdr.to_bytes(axdr.octets(f)))
    s.assoc.event(am.HLS_FAILED)
    s.server.auth_failed(s.client_sap, 'hls pass 3', mech.guessable)
    code = cb.TYPE_UNMATCHED if param is None or param[0] != axdr.OCTET_STRING \
        else cb.READ_WRITE_DENIED
    return xdlms.action_response_normal(req.invoke_id, code)

