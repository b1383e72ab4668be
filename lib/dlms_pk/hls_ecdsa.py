# HLS-ECDSA (authentication mechanism 7, 2.16.756.5.8.2.7): an entry of the mechanism table of
# dlms/authentication.py that lives here, with the public-key package, so that a board without it
# carries none of it. dlms.authentication.mechanism(7) imports it at its first use.
import gc
from dlms import security
from dlms.authentication import Mechanism, HLS_ECDSA, DIAG_AUTHENTICATION_FAILURE
from dlms_pk import ec


class HlsEcdsa(Mechanism):
    """HLS-ECDSA (7), suites 1 and 2: pass 3 is the client's ECDSA signature (raw r || s) over
    STc || STs || StoC || CtoS, verified with the key of the client's digital-signature
    certificate held for its calling AP-title (dlms_pk/certstore.py; removed: revoked); pass 4 the
    meter's signature over STs || STc || CtoS || StoC with its own digital-signature key, the
    nonce hedged with the DRBG. Challenges 32..64 bytes. Nothing to guess: no lockout."""
    id = HLS_ECDSA
    calling_title = True
    challenge = True
    challenge_min = 32

    @staticmethod
    def _pk(s):
        # (certificate store, curve) of the association's Security setup, or None
        ss = s.cfg.security_setup
        if ss is None or getattr(ss, 'pki', None) is None:
            return None
        try:
            return ss.pki, security.suite(ss.security_suite).CURVE
        except (AttributeError, ValueError):
            return None

    def pass1(self, s, aarq):
        if not self._ctos(aarq):
            return DIAG_AUTHENTICATION_FAILURE, 'hls challenge'
        pk = self._pk(s)
        if pk is None or pk[0].own_key(0, pk[1]) is None:
            return DIAG_AUTHENTICATION_FAILURE, 'no signing key'
        if pk[0].peer_key(bytes(aarq.calling_ap_title), 0, pk[1]) is None:
            return DIAG_AUTHENTICATION_FAILURE, 'no valid client certificate'
        return None

    def pass3(self, s, blob):
        gc.collect()        # the verifications and the signature below allocate some 20 KB of
        #                     short-lived integers: start them on a collected heap (the peak is
        #                     then what they hold, not that plus what the request left behind)
        pk = self._pk(s)
        if pk is None:
            return False
        cst = s.protection.client_title
        pub = pk[0].peer_key(cst, 0, pk[1])      # again: removed meanwhile is revoked
        return pub is not None and ec.verify(pk[1], pub, cst + s.server.system_title + s.stoc +
                                             s.ctos, blob)

    def pass4(self, s):
        pk = self._pk(s)
        d = pk[0].own_key(0, pk[1]) if pk is not None else None
        if d is None:
            return None
        return ec.sign(pk[1], d, s.server.system_title + s.protection.client_title + s.ctos +
                       s.stoc, s.server.rng(32))
