# The security events of the meter: every name any module reports, its event code (the value the
# security event log captures) and whether it is FREQUENT, i.e. something anyone on the line can
# cause as fast as requests arrive (a bad tag, a replay, a malformed APDU). The event log coalesces
# frequent events and never lets them push rare ones (a key change, a policy change, a lockout)
# out of its ring (dlms/eventlog.py). Names only: an event never carries a secret.
# The Blue Book defines the event-code objects but leaves the values to companion specifications;
# these are the project's own (README, "Security event log").
from dlms._compat import const

AUTH_FAILED = 'authentication-failed'
DECIPHERING = 'deciphering-failed'
REPLAY = 'invocation-counter-replay'
LOCKOUT = 'lockout-started'
KEY_CHANGED = 'key-changed'
POLICY_CHANGED = 'security-policy-changed'
STORE_FALLBACK = 'store-fallback'
IC_EXHAUSTED = 'invocation-counter-exhausted'
MALFORMED = 'malformed-request'
UNDER_PROTECTED = 'under-protected-request'
INTERNAL = 'internal-error'
COUNTER_STORE = 'counter-not-persisted'
KEYSTORE_FAILURE = 'keystore-failure'
KEY_TRANSFER_REJECTED = 'key-transfer-rejected'
STORE_WRITE = 'store-write-failed'
ABORTED = 'association-aborted'
CONNECTION_LIMIT = 'connection-limit'
PROVISIONED = 'keys-provisioned'
KEY_PAIR = 'key-pair-generated'
CERT_IMPORTED = 'certificate-imported'
CERT_REMOVED = 'certificate-removed'
CERT_REJECTED = 'certificate-rejected'
KEY_AGREEMENT_FAILED = 'key-agreement-failed'

# name -> (event code, frequent)
CODES = {
    AUTH_FAILED: (1, True),         # wrong LLS secret, failed HLS pass 1 or 3
    DECIPHERING: (2, True),         # GCM tag or ciphered envelope rejected
    REPLAY: (3, True),              # client invocation counter not above the last accepted
    LOCKOUT: (4, False),            # too many failed LLS authentications for one client SAP
    KEY_CHANGED: (5, False),        # key_transfer applied a new key
    POLICY_CHANGED: (6, False),     # security_activate raised the policy
    STORE_FALLBACK: (7, False),     # a persistent record was torn or corrupt: older copy used
    IC_EXHAUSTED: (8, False),       # a key's counter reached 2^32-1: no more protection
    MALFORMED: (9, True),           # an APDU that does not parse
    UNDER_PROTECTED: (10, True),    # less protection than the policy or the attribute requires
    INTERNAL: (11, True),           # an error inside the meter while handling a request
    COUNTER_STORE: (12, False),     # a counter floor or reservation could not be persisted
    KEYSTORE_FAILURE: (13, False),  # no usable keystore: ciphered service refused
    KEY_TRANSFER_REJECTED: (14, False),  # a wrapped key failed its integrity check
    STORE_WRITE: (15, False),       # a write of the security state failed
    ABORTED: (16, True),            # an association ended for a request it may not send
    CONNECTION_LIMIT: (17, True),   # a TCP connection refused or closed for another one
    PROVISIONED: (18, False),       # first start with keys written by tools/provision.py
    KEY_PAIR: (19, False),          # Security setup generate_key_pair made a key pair
    CERT_IMPORTED: (20, False),     # import_certificate accepted a certificate
    CERT_REMOVED: (21, False),      # remove_certificate removed one (a client's: revoked)
    CERT_REJECTED: (22, False),     # a certificate refused (chain, validity, usage, title)
    KEY_AGREEMENT_FAILED: (23, False),  # key_agreement refused (signature, point, certificate)
}

_NO_CODE = const(0)


def code(name):
    """The event code of `name`, or 0 for a name this table does not know."""
    e = CODES.get(name)
    return e[0] if e is not None else _NO_CODE


FREQUENT_CODES = {}                 # event code -> True, for the frequent ones
for _e in CODES.values():
    if _e[1]:
        FREQUENT_CODES[_e[0]] = True
