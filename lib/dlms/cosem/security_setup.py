# Security setup, class_id 64, version 1 (0.0.43.0.e.255): security policy (version 1 flags) and
# suite of the associations that reference it (they read the policy from here, live), the two
# system titles, and the key management methods security_activate (1) and key_transfer (2). Key
# material is never an attribute. Persistence and the keys themselves belong to a manager
# (dlms.keystore.KeyStore) given at construction; without one both methods answer
# read-write-denied. A key transfer is a named request of the association (ctx.key_transfer):
# the new keys apply once the response under the old ones is out. Methods 4..8 (key pairs and
# certificates) belong to suites 1/2 and take a certificate store (`pki`,
# dlms_pk/certstore.py); their parameters are read in dlms_pk/setup_methods.py, with the optional
# package; without a store, or for suite 0, read-write-denied. Attribute 6 lists the
# certificates held: entity, type, serial (big-endian bytes), issuer and subject (DER Names),
# subject_alt_name (empty). Method 3 (key_agreement, C(2e,0s)) likewise lives with the package.
from dlms._compat import const
from dlms import axdr
from dlms.cosem.base import (CosemObject, SUCCESS, READ_WRITE_DENIED, TYPE_UNMATCHED,
                             TEMPORARY_FAILURE, OBJECT_CLASS_INCONSISTENT, OTHER_REASON,
                             AUTH_REQUEST, ENC_REQUEST, AUTH_RESPONSE, ENC_RESPONSE)

# security policy, version 1 flags
POLICY_SUITE0 = AUTH_REQUEST | ENC_REQUEST | AUTH_RESPONSE | ENC_RESPONSE   # 0x6C
POLICY_SIGNATURES = const(0x90)   # digitally signed request/response: suites 1 and 2 only
_POLICY_UNUSED = const(0x03)
_MAX_KEYS = const(4)              # key_id 0..3 at most once each
_WRAPPED_LEN = const(24)          # a 16-byte key after RFC 3394 wrap
_WRAPPED_LEN_256 = const(40)      # a 32-byte key (suite 2)

# manager.transfer() results -> action-result
_TRANSFER_RESULT = {
    0: SUCCESS,
    1: OTHER_REASON,              # unwrap integrity check failed
    2: OTHER_REASON,              # unwrapped key of the wrong length
    3: TEMPORARY_FAILURE,         # could not be persisted
    4: READ_WRITE_DENIED,         # no usable keystore
}


class SecuritySetup(CosemObject):
    class_id = 64
    version = 1
    attribute_count = 6
    method_count = 8

    def __init__(self, logical_name, server_system_title, security_policy=0, security_suite=0,
                 manager=None, pki=None):
        CosemObject.__init__(self, logical_name)
        self.server_system_title = bytes(server_system_title)
        self.security_policy = security_policy
        self.security_suite = security_suite
        self.manager = manager
        self.pki = pki                    # dlms_pk.certstore.CertStore (suites 1 and 2)

    def get_attribute(self, attr, ctx):
        if attr == 2:
            return axdr.enum(self.security_policy)
        if attr == 3:
            return axdr.enum(self.security_suite)
        if attr == 4:
            st = ctx.client_system_title
            return axdr.octets(st if st is not None else b'')
        if attr == 5:
            return axdr.octets(self.server_system_title)
        if attr == 6:                     # certificates (none without public-key material)
            if self.pki is None:
                return axdr.array([])
            from dlms_pk.setup_methods import certificates
            return certificates(self.pki)
        return CosemObject.get_attribute(self, attr, ctx)

    def set_attribute(self, attr, value, ctx):
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        if self.manager is None:
            return READ_WRITE_DENIED, None
        if method == 1:
            return self._activate(param, ctx), None
        if method == 2:
            return self._key_transfer(param, ctx), None
        if self.pki is None or self.security_suite == 0:
            return READ_WRITE_DENIED, None    # methods 3..8 belong to suites 1 and 2
        from dlms_pk.setup_methods import invoke   # the pki is there, so is the package
        return invoke(self, method, param, ctx)

    def _activate(self, param, ctx):
        """security_activate: the policy can only be raised (every current flag stays set)."""
        if param is None or param[0] != axdr.ENUM:
            return TYPE_UNMATCHED
        new = param[1]
        cur = self.security_policy
        if new & cur != cur:
            return OBJECT_CLASS_INCONSISTENT        # lowering: refused, nothing changes
        if new & _POLICY_UNUSED or (new & POLICY_SIGNATURES and
                                    (self.security_suite == 0 or self.pki is None)):
            return OTHER_REASON                     # not a flag this setup can honour
        if new == cur:
            return SUCCESS
        if not self.manager.set_policy(self.logical_name, new, self.security_suite):
            return TEMPORARY_FAILURE
        self.security_policy = new     # the associations that use it read it live
        return SUCCESS

    def _key_transfer(self, param, ctx):
        """key_transfer: array of structure {key_id enum, key_wrapped octet-string}."""
        if param is None or param[0] != axdr.ARRAY or not 1 <= len(param[1]) <= _MAX_KEYS:
            return TYPE_UNMATCHED
        entries = []
        seen = 0
        for item in param[1]:
            if item[0] != axdr.STRUCTURE or len(item[1]) != 2:
                return TYPE_UNMATCHED
            kid, wrapped = item[1]
            if kid[0] != axdr.ENUM or wrapped[0] != axdr.OCTET_STRING:
                return TYPE_UNMATCHED
            k = kid[1]
            if k > 3 or seen & (1 << k):
                return OTHER_REASON
            seen |= 1 << k
            if len(wrapped[1]) != _WRAPPED_LEN and len(wrapped[1]) != _WRAPPED_LEN_256:
                return OTHER_REASON        # the manager checks it fits its key set's size
            entries.append((k, bytes(wrapped[1])))
        return _TRANSFER_RESULT.get(ctx.key_transfer(self.manager, entries), OTHER_REASON)
