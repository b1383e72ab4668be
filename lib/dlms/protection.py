# The protection of one association: the whole order in which a ciphered request is judged and
# its response protected, and the state that belongs to it (the client system title, the
# dedicated key and its counter, the keystreams made ahead in idle time).
# A request:  envelope -> originator title -> replay check -> decipher and verify -> the client
#             counter accepted, for authenticated content only -> the plain tag inside.
# A response: in the envelope of the request, at least as protected as the request and as the
#             policy requires, under the next server invocation counter.
# Every refusal raises ProtectionError, which carries the standard answer and the security
# event; nothing here decides about services, rights or the association state. The suite's
# cryptography: security.suite(id); the counters: dlms/counters.py, owned by the server.
from dlms._compat import const
from dlms import events, security, xdlms
from dlms.counters import CounterError
from dlms.gcm import Ahead
from dlms.security import SecurityError, split

# exception-response: state-error service-not-allowed (1), service-error ...
_NOT_ALLOWED = const(1)
_OPERATION_NOT_POSSIBLE = const(1)
_OTHER_REASON = const(3)
_DECIPHERING_ERROR = const(5)
_INVOCATION_COUNTER_ERROR = const(6)
_AHEAD = const(48)            # idle(): keystreams for APDUs of up to 48 bytes
_MAX_U32 = const(0xFFFFFFFF)
_SC_AUTH = const(0x10)        # security.SC_AUTH
_KIND_DED = const(2)          # security.KIND_DED, KIND_GENERAL_DED
_KIND_GENERAL_DED = const(4)


class ProtectionError(Exception):
    """A ciphered request (or its response) refused: `answer` is the APDU to send instead (an
    exception-response), `event` the security event (a dlms/events.py name) or None, `detail`
    what went wrong (never a secret). `deciphering` says the keys did not fit (a wrong key
    fails an AARQ's authentication)."""

    def __init__(self, answer, event=None, detail='', deciphering=False):
        self.answer = answer
        self.event = event
        self.detail = detail
        self.deciphering = deciphering


def _refuse(service_error, event=None, detail='', ic=None):
    return ProtectionError(xdlms.exception_response(_NOT_ALLOWED, service_error, ic), event,
                           detail, service_error == _DECIPHERING_ERROR)


class Protection:
    def __init__(self, server, sap, suite_id=0, context=None):
        self.server = server
        self.sap = sap               # the client SAP, for the events
        self.kc = context if context is not None else server.primary   # server.KeyContext
        self.suite = suite = security.suite(suite_id)
        self._sid = suite.ID         # what every request uses, bound once
        self._open = suite.open_content
        self._seal = suite.seal
        self._in = None              # gcm.Ahead of the next request, of its response
        self._out = None
        self._src = None             # the server's suite 0 keys, and the same for this suite
        self._glob = None
        self.reset()

    def keys(self):
        """The global unicast keys for this association's suite (suite 0: the server's own;
        another suite of the same ciphering: the same keys with its SC, made once per key)."""
        k = self.kc.keys
        if self._sid == 0 or k is None:
            return k
        if k is not self._src:
            self._src = k
            try:
                self._glob = k.of_suite(self.suite.Keys)
            except (ValueError, SecurityError):   # keys of another size than the suite's
                self._glob = None
        return self._glob

    def reset(self):
        """A new association (or none): no client title, no dedicated key."""
        self.client_title = None
        self.dedicated = None        # suite Keys of the dedicated key, or None
        self._ded_last = -1

    def set_dedicated(self, key):
        self.dedicated = self.suite.Keys(key, self.kc.keys.ak)
        self._ded_last = -1

    # ---- requests ----
    def open(self, env):
        """(keys, sc, the plain APDU) of an unwrapped ciphered request (security.unwrap). The
        replay check comes before deciphering; the client counter is accepted only once the tag
        is right, and only for authenticated content; and a request whose response could not be
        protected (the server counter used up) is refused before it is served."""
        kind, plain_tag, st, content = env
        cst = self.client_title
        dedicated = kind == _KIND_DED or kind == _KIND_GENERAL_DED
        keys = self.dedicated if dedicated else (
            self.kc.keys if self._sid == 0 else self.keys())
        if keys is None or cst is None:
            raise _refuse(_DECIPHERING_ERROR)
        if st is not None and st != cst:
            raise _refuse(_DECIPHERING_ERROR, events.DECIPHERING, 'system title')
        try:
            sc, ic = split(content, self._sid)
        except SecurityError:
            raise _refuse(_DECIPHERING_ERROR)
        counters = self.kc.client_counters
        if not (ic > self._ded_last if dedicated else counters.fresh(cst, ic)):
            expected = self._ded_last + 1 if dedicated else counters.expected(cst)
            raise _refuse(_INVOCATION_COUNTER_ERROR, events.REPLAY, 'ic %d' % ic, expected)
        try:
            inner = self._open(keys, cst, content, sc, self._in)
        except SecurityError:
            raise _refuse(_DECIPHERING_ERROR, events.DECIPHERING, 'tag')
        # Only authenticated content moves a counter: without a tag (SC 0x20, encryption only)
        # anyone can send any counter with it, and accepting it would lock the client out (its
        # next counters replays), persistently with the keystore's floors. Such a request is
        # still checked for freshness above, and the policy decides whether it is served.
        if sc & _SC_AUTH:
            if dedicated:
                self._ded_last = ic
            else:
                try:
                    counters.accept(cst, ic)      # persists a new floor when one is due
                except CounterError:
                    raise _refuse(_OTHER_REASON, events.COUNTER_STORE, 'client counter')
        if not inner or (plain_tag is not None and inner[0] != plain_tag):
            raise _refuse(_DECIPHERING_ERROR)
        # no response could be protected: the server counter of the key is used up
        kc = self.kc
        if kc.counter.value > _MAX_U32 and self.server.counter_exhausted(self.sap, kc):
            raise _refuse(_OTHER_REASON)
        return keys, sc, inner

    # ---- responses ----
    def seal(self, kind, keys, sc, apdu, policy=0):
        """The response APDU in envelope `kind`, protected as the request (`sc`) and at least as
        the policy's response bits ask (AUTH_RESPONSE 0x20 / ENC_RESPONSE 0x40 are SC's bits
        shifted), under the next server invocation counter. An exception-response has no
        ciphered form and goes as it is."""
        if apdu is None or apdu[0] == 0xD8:
            return apdu
        server = self.server
        try:
            ic = self.kc.counter.next()           # reserved (persisted) before it is used
            return self._seal(keys, kind, (sc | (policy >> 1)) & 0x30 | self._sid,
                              server.system_title, ic, apdu, self._out)
        except (CounterError, SecurityError):
            server.counter_exhausted(self.sap, self.kc)
            raise _refuse(_OTHER_REASON)

    # ---- idle time ----
    def idle(self):
        """Between requests (a transport calls it once a response is on its way): compute ahead
        the keystreams that the next ciphered request (the client counter expected next) and its
        response (the next server counter) will use, so that neither waits for AES then. A guess
        that does not come true costs nothing but this idle time. Never raises."""
        server = self.server
        kc = self.kc
        keys = kc.keys
        cst = self.client_title
        if keys is None or cst is None:
            return
        try:
            if self._in is None:
                self._in = Ahead()
                self._out = Ahead()
            g = keys.gcm
            g.prepare(self._in, cst, kc.client_counters.expected(cst), _AHEAD)
            if not kc.counter.exhausted:
                g.prepare(self._out, server.system_title, kc.counter.value, _AHEAD)
        except Exception as e:
            server.event(events.INTERNAL, self.sap, 'idle: ' + e.__class__.__name__)
