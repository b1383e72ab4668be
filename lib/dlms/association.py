# The association state machine (IEC 62056-5-3 ACSE + HLS passes), one client SAP per instance.
# Everything that decides a state transition, and which services a state accepts, lives in the two
# tables below; the server asks this module and never keeps a state of its own.
# Knows nothing about bytes, keys or objects.
from dlms._compat import const

# States; the numbers are Association LN association_status (class 15, attribute 8).
NON_ASSOCIATED = const(0)
PENDING = const(1)      # HLS: AARE with StoC sent, waiting for reply_to_HLS_authentication
ASSOCIATED = const(2)

STATE_NAMES = ('non-associated', 'association-pending', 'associated')

# Events, raised by the server after it has judged a request.
AARQ_ACCEPTED = const(1)        # lowest / LLS accepted
AARQ_ACCEPTED_HLS = const(2)    # HLS: pass 1 accepted, pass 3 still to come
AARQ_REJECTED = const(3)
HLS_PASSED = const(4)           # pass 3 verified, pass 4 sent
HLS_FAILED = const(5)
RELEASED = const(6)             # RLRQ / RLRE
ABORTED = const(7)              # link lost, transport closed

# Services a request may ask for.
SVC_AARQ = const(1)
SVC_RLRQ = const(2)
SVC_GET = const(3)
SVC_SET = const(4)
SVC_ACTION = const(5)
SVC_HLS_REPLY = const(6)        # ACTION Association LN method 1 only

TRANSITIONS = {
    NON_ASSOCIATED: {
        AARQ_ACCEPTED: ASSOCIATED,
        AARQ_ACCEPTED_HLS: PENDING,
        AARQ_REJECTED: NON_ASSOCIATED,
        RELEASED: NON_ASSOCIATED,
        ABORTED: NON_ASSOCIATED,
    },
    PENDING: {
        AARQ_ACCEPTED: ASSOCIATED,
        AARQ_ACCEPTED_HLS: PENDING,
        AARQ_REJECTED: NON_ASSOCIATED,
        HLS_PASSED: ASSOCIATED,
        HLS_FAILED: NON_ASSOCIATED,
        RELEASED: NON_ASSOCIATED,
        ABORTED: NON_ASSOCIATED,
    },
    ASSOCIATED: {
        # a second AARQ on a live association is refused and the association stays
        AARQ_REJECTED: ASSOCIATED,
        RELEASED: NON_ASSOCIATED,
        ABORTED: NON_ASSOCIATED,
    },
}

ALLOWED = {
    NON_ASSOCIATED: (SVC_AARQ, SVC_RLRQ),
    PENDING: (SVC_AARQ, SVC_RLRQ, SVC_HLS_REPLY),
    ASSOCIATED: (SVC_AARQ, SVC_RLRQ, SVC_GET, SVC_SET, SVC_ACTION),
}


class AssociationError(Exception):
    pass


class Association:
    def __init__(self):
        self.state = NON_ASSOCIATED

    def allows(self, service):
        return service in ALLOWED[self.state]

    def event(self, ev):
        nxt = TRANSITIONS[self.state].get(ev)
        if nxt is None:
            raise AssociationError('event %d not allowed in state %s' % (ev, STATE_NAMES[self.state]))
        self.state = nxt
        return nxt

    def would_accept(self, ev):
        return ev in TRANSITIONS[self.state]
