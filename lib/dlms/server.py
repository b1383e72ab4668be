# The COSEM server core: one Server per logical device, one Session per client association.
# Owns the order in which a request is judged (framing -> ciphering envelope -> replay ->
# deciphering -> association state -> access rights -> object) and the answer each failure gets.
# Sans-IO: bytes in, bytes out. Randomness (`rng(n)`), persistence (counter reservations) and
# security-event sinks are passed in; the clock lives in the Clock object the firmware builds.
from dlms._compat import const
from dlms import acse, axdr, events, security, xdlms
from dlms import association as am
from dlms.cosem import base as cb
from dlms.gcm import ct_equal
from dlms.association import ASSOCIATED, NON_ASSOCIATED
from dlms.security import (KIND_DED, KIND_GENERAL_DED, SC_AUTH, SecurityError, open_content,
                           seal, split)

# conformance bits (24-bit value of the BIT STRING)
GENERAL_PROTECTION = const(0x400000)
BLOCK_TRANSFER_WITH_GET = const(0x001000)
MULTIPLE_REFERENCES = const(0x000200)
CONF_GET = const(0x000010)
CONF_SET = const(0x000008)
CONF_ACTION = const(0x000001)
SUPPORTED_CONFORMANCE = const(0x401219)

CTX_LN = const(1)
CTX_LN_CIPHERED = const(3)

MECH_LOWEST = const(0)
MECH_LLS = const(1)
MECH_HLS_GMAC = const(5)

_MIN_PDU = const(64)         # smaller client PDU sizes are refused (pdu-size-too-short)
_BLOCK_HEADER = const(12)    # C4 02 iid last block-number(4) choice length(<=3)
_CIPHER_OVERHEAD = const(30) # tag len(3) SC IC(4) T(12) [+ general: len + system title]
_AHEAD = const(48)           # Session.idle(): keystreams for APDUs of up to 48 bytes
_ASSOCIATION_LN = b'\x00\x00\x28\x00\x00\xff'

# exception-response
_SERVICE_NOT_ALLOWED = const(1)
_SERVICE_UNKNOWN = const(2)
_OPERATION_NOT_POSSIBLE = const(1)
_SERVICE_NOT_SUPPORTED = const(2)
_OTHER_REASON = const(3)
_PDU_TOO_LONG = const(4)
_DECIPHERING_ERROR = const(5)
_INVOCATION_COUNTER_ERROR = const(6)

# AARE
_ACCEPTED = const(0)
_REJECTED_PERMANENT = const(1)
_REJECTED_TRANSIENT = const(2)
_USER = const(1)
_PROVIDER = const(2)
DIAG_NULL = const(0)
DIAG_NO_REASON = const(1)
DIAG_CONTEXT_NOT_SUPPORTED = const(2)
DIAG_CALLING_AP_TITLE = const(3)
DIAG_MECHANISM_NOT_RECOGNISED = const(11)
DIAG_MECHANISM_REQUIRED = const(12)
DIAG_AUTHENTICATION_FAILURE = const(13)
DIAG_AUTHENTICATION_REQUIRED = const(14)

# initiate errors (ConfirmedServiceError initiateError)
_INIT_OTHER = const(0)
_INIT_VERSION_TOO_LOW = const(1)
_INIT_INCOMPATIBLE_CONFORMANCE = const(2)
_INIT_PDU_TOO_SHORT = const(3)

# data-access-results for long GET
_LONG_GET_ABORTED = const(15)
_NO_LONG_GET_IN_PROGRESS = const(16)

# security events (names, never secrets): dlms/events.py
EV_AUTH_FAILED = events.AUTH_FAILED
EV_DECIPHERING = events.DECIPHERING
EV_REPLAY = events.REPLAY
EV_MALFORMED = events.MALFORMED
EV_INTERNAL = events.INTERNAL
EV_LOCKOUT = events.LOCKOUT
EV_IC_EXHAUSTED = events.IC_EXHAUSTED
EV_COUNTER_STORE = events.COUNTER_STORE
EV_UNDER_PROTECTED = events.UNDER_PROTECTED
EV_ABORTED = events.ABORTED

_MAX_U32 = 0xFFFFFFFF


class InvocationCounter:
    """The server's own invocation counter for one key. A value is handed out only once it lies
    below a reservation that `persist(reserved)` has made durable, so a restart that resumes from
    the last reservation can never repeat a value. `persist` must raise if it cannot persist."""

    def __init__(self, start=0, persist=None, step=1024):
        self.value = start
        self.reserved = start
        self.step = step
        self._persist = persist
        self.reported = False          # exhaustion event already recorded

    @property
    def exhausted(self):
        return self.value > _MAX_U32

    def next_reservation(self):
        """The reservation that would cover the next value: `step` values on, at most 2^32."""
        r = self.value + self.step
        return r if r <= _MAX_U32 + 1 else _MAX_U32 + 1

    def ensure(self):
        """Make sure the next value is covered by a persisted reservation (persist now if not),
        e.g. before the stored keys change under a response that still needs this counter."""
        if self.reserved <= self.value <= _MAX_U32:
            self._reserve()

    def _reserve(self):
        r = self.next_reservation()
        if self._persist is not None:
            self._persist(r)
        self.reserved = r

    def next(self):
        v = self.value
        if v > _MAX_U32:
            raise security.SecurityError('invocation counter exhausted')
        if v >= self.reserved:
            self._reserve()
        self.value = v + 1
        return v


class ClientCounters:
    """Last accepted invocation counter per client system title (global key)."""

    def __init__(self):
        self._last = {}

    def fresh(self, system_title, ic):
        last = self._last.get(system_title)
        return last is None or ic > last

    def expected(self, system_title):
        last = self._last.get(system_title)
        return 0 if last is None else (last + 1) & _MAX_U32

    def accept(self, system_title, ic):
        self._last[bytes(system_title)] = ic


class AssociationConfig:
    """What one client SAP may do: its authentication, context, and granted objects with access
    modes (tuples of dlms.cosem.base access bits, one per attribute / method)."""

    def __init__(self, client_sap, name, mechanism=MECH_LOWEST, context_id=CTX_LN, secret=None,
                 objects=(), security_setup=None, require=0):
        self.client_sap = client_sap
        self.name = name
        self.mechanism = mechanism
        self.context_id = context_id
        self.secret = secret
        self.objects = list(objects)     # [(obj, attr_modes, method_modes)]
        self.security_setup = security_setup
        self.require = require           # AUTH_REQUEST / ENC_REQUEST bits every request needs
        self._by_ln = {}
        for entry in self.objects:
            self._by_ln[entry[0].logical_name] = entry

    def grant(self, ln):
        return self._by_ln.get(bytes(ln))

    def __repr__(self):
        return '<AssociationConfig %d %s>' % (self.client_sap, self.name)


class Server:
    def __init__(self, system_title, keys, associations, rng, counter, max_pdu=1024,
                 conformance=SUPPORTED_CONFORMANCE, client_counters=None, on_event=None,
                 challenge_length=16, lockout=None):
        if len(system_title) != 8:
            raise ValueError('system title')
        self.system_title = bytes(system_title)
        self.keys = keys                  # security.Keys for the global unicast key, or None
        self.associations = {}
        for a in associations:
            self.associations[a.client_sap] = a
        self.rng = rng
        self.counter = counter
        self.max_pdu = max_pdu
        self.conformance = conformance
        self.client_counters = client_counters if client_counters is not None else ClientCounters()
        self.on_event = on_event
        self.challenge_length = challenge_length   # StoC bytes (8..64)
        self.lockout = lockout            # dlms.lockout.Lockout, or None
        if lockout is not None:
            lockout.on_change = self._lockout_changed
        self.events = []                  # the most recent security events, for tests and logs
        self.secret_store = None          # optional: .set_secret(client_sap, secret) -> bool
        self._after = []                  # run once the current response has been made

    def after_response(self, fn):
        """Run fn() right after the response being made now (a key change applies only once the
        response has been protected under the old keys)."""
        self._after.append(fn)

    def _run_after_response(self):
        while self._after:
            fn = self._after.pop(0)
            try:
                fn()
            except Exception as e:
                self.event(EV_INTERNAL, 0, 'after response: ' + e.__class__.__name__)

    def counter_exhausted(self, client_sap):
        """True when the server invocation counter of the current key is used up; the event is
        recorded once per key."""
        c = self.counter
        if not c.exhausted:
            return False
        if not c.reported:
            c.reported = True
            self.event(EV_IC_EXHAUSTED, client_sap, 'no protection under this key until a new key')
        return True

    def _lockout_changed(self, sap, what, seconds):
        if what == 'started':
            self.event(EV_LOCKOUT, sap, '%d s' % seconds)

    def auth_failed(self, sap, detail, guessable=False):
        """A failed authentication: always a security event; it counts towards the lockout only
        when the mechanism's secret can be guessed (LLS). A failure of HLS-GMAC proves nothing
        about 128-bit keys and costs the meter no more than any ciphered request: counting it
        would let anyone who can reach the port lock the holder of the keys out."""
        self.event(EV_AUTH_FAILED, sap, detail)
        if guessable and self.lockout is not None:
            self.lockout.failure(sap)

    def auth_succeeded(self, sap):
        if self.lockout is not None:
            self.lockout.success(sap)

    def session(self, client_sap, server_sap=1):
        return Session(self, client_sap, server_sap)

    def event(self, name, client_sap, detail=''):
        rec = (name, client_sap, detail)
        self.events.append(rec)
        if len(self.events) > 32:
            self.events.pop(0)
        if self.on_event is not None:
            try:
                self.on_event(name, client_sap, detail)
            except Exception:
                pass


def _exception(state_error, service_error, ic=None):
    return xdlms.exception_response(state_error, service_error, ic)


class Session:
    """One association with one client SAP over one transport connection."""

    def __init__(self, server, client_sap, server_sap=1):
        self.server = server
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.cfg = server.associations.get(client_sap)
        self.assoc = am.Association()
        self._clear()

    def _clear(self):
        self.context_id = self.cfg.context_id if self.cfg is not None else CTX_LN
        self.mechanism = MECH_LOWEST
        self.client_system_title = None
        self.conformance = 0
        self.client_max_pdu = _MIN_PDU
        self.dedicated = None
        self._ded_last_ic = -1
        self._stoc = None
        self._ctos = None
        self._long_get = None

    # ---- what interface classes may ask of the current association (ctx) ----
    @property
    def server_max_pdu(self):
        return self.server.max_pdu

    @property
    def association_status(self):
        return self.assoc.state

    @property
    def authenticated(self):
        """An association stands that a secret authenticated (not lowest): the transports keep
        such a connection when they need room for another."""
        return self.assoc.state == ASSOCIATED and self.mechanism != MECH_LOWEST

    @property
    def security_setup_reference(self):
        ss = self.cfg.security_setup if self.cfg is not None else None
        return ss.logical_name if ss is not None else None

    def granted_objects(self):
        return self.cfg.objects if self.cfg is not None else ()

    def change_secret(self, secret):
        if self.cfg is None or self.cfg.mechanism != MECH_LLS or not 1 <= len(secret) <= 64:
            return cb.READ_WRITE_DENIED
        saver = self.server.secret_store
        if saver is not None and not saver.set_secret(self.client_sap, bytes(secret)):
            return cb.TEMPORARY_FAILURE
        self.cfg.secret = bytes(secret)
        return cb.SUCCESS

    def hls_reply(self, blob):
        """HLS pass 3 -> pass 4. Returns f(CtoS), or None after a failed pass 3."""
        if self.assoc.state != am.PENDING or self.mechanism != MECH_HLS_GMAC:
            return None
        keys = self.server.keys
        if keys is None or not security.hls_gmac_verify(keys, self.client_system_title, blob,
                                                         self._stoc):
            self.assoc.event(am.HLS_FAILED)
            self.server.auth_failed(self.client_sap, 'hls pass 3')
            return None
        try:
            ic = self.server.counter.next()
        except security.SecurityError:     # exhausted, or the reservation was not persisted
            self.server.counter_exhausted(self.client_sap)
            self.assoc.event(am.HLS_FAILED)
            return None
        reply = security.hls_gmac(keys, self.server.system_title, ic, self._ctos)
        self.assoc.event(am.HLS_PASSED)
        self._stoc = None
        self.server.auth_succeeded(self.client_sap)
        return reply

    # ---- transport side ----
    def idle(self):
        """Between requests (a transport calls it once a response is on its way): compute ahead
        the GCM keystreams that the next ciphered request (the client counter expected next) and
        its response (the next server counter) will use, so that neither waits for AES then.
        A guess that does not come true costs nothing but this idle time. Never raises."""
        if self.context_id != CTX_LN_CIPHERED or self.assoc.state != ASSOCIATED:
            return
        server = self.server
        keys = server.keys
        cst = self.client_system_title
        if keys is None or cst is None:
            return
        try:
            g = keys.gcm
            g.prepare(1, cst, server.client_counters.expected(cst), _AHEAD)
            if not server.counter.exhausted:
                g.prepare(0, server.system_title, server.counter.value, _AHEAD)
        except Exception as e:
            server.event(EV_INTERNAL, self.client_sap, 'idle: ' + e.__class__.__name__)

    def close(self):
        """The link under this association is gone (abort)."""
        self.assoc.event(am.ABORTED)
        self._clear()

    def handle(self, apdu):
        """One request APDU in, one response APDU (or None) out. Never raises."""
        try:
            resp = self._handle(apdu)
        except Exception as e:  # last line of defence: the meter keeps serving
            self.server.event(EV_INTERNAL, self.client_sap, e.__class__.__name__)
            resp = _exception(_SERVICE_NOT_ALLOWED, _OTHER_REASON)
        if self.server._after:
            self.server._run_after_response()
        return resp

    def _handle(self, apdu):
        if not apdu:
            return None
        tag = apdu[0]
        if tag == 0x60:
            return self._aarq(apdu)
        if tag == 0x62:
            return self._rlrq(apdu)
        if len(apdu) > self.server.max_pdu + _CIPHER_OVERHEAD:
            return _exception(_SERVICE_NOT_ALLOWED, _PDU_TOO_LONG)
        try:
            env = security.unwrap(apdu)
        except security.SecurityError:
            self.server.event(EV_MALFORMED, self.client_sap, 'ciphered envelope')
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        if env is None:
            return self._service(apdu, 0)
        return self._ciphered(env)

    # ---- ciphered requests ----
    # Every secured request takes this path: it is kept to few calls and lookups (no module
    # attribute lookups, the protection bits mapped arithmetically: SC 0x10/0x20 are the
    # access-right request bits 0x04/0x08 shifted, the response bits 0x20/0x40 SC's shifted).
    def _ciphered(self, env):
        if self.assoc.state == NON_ASSOCIATED:
            return _exception(_SERVICE_NOT_ALLOWED, _OPERATION_NOT_POSSIBLE)
        if self.context_id != CTX_LN_CIPHERED:
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        r = self._decipher(env)
        if type(r) is not tuple:        # an exception-response
            if self.assoc.state == am.PENDING:
                return self._abort('ciphered request refused')
            return r
        keys, sc, inner = r
        tag = inner[0]
        if tag != 0xC0 and tag != 0xC1 and tag != 0xC3:
            if self.assoc.state == am.PENDING:
                return self._abort('service')
            return _exception(_SERVICE_UNKNOWN, _SERVICE_NOT_SUPPORTED)
        server = self.server
        counter = server.counter
        if counter.exhausted and server.counter_exhausted(self.client_sap):
            return _exception(_SERVICE_NOT_ALLOWED, _OTHER_REASON)    # no response possible
        resp = self._service(inner, (sc & 0x30) >> 2,
                             _CIPHER_OVERHEAD + 9 if env[2] is not None else _CIPHER_OVERHEAD)
        if resp is None or resp[0] == 0xD8:     # exception-response has no ciphered form
            return resp
        # answer in the form the request came in, with at least what the policy requires
        sc = (sc | (self.cfg.require >> 1)) & 0x30
        try:
            ic = counter.next()                 # reserved (persisted) before it is used
            return seal(keys, env[0], sc, server.system_title, ic, resp)
        except SecurityError:
            server.counter_exhausted(self.client_sap)
            return _exception(_SERVICE_NOT_ALLOWED, _OTHER_REASON)

    def _decipher(self, env):
        """(keys, sc, inner apdu) or an exception-response (bytes) to send instead. The replay
        check comes before deciphering; the counter is accepted only once the tag is right."""
        kind, plain_tag, st, content = env
        cst = self.client_system_title
        dedicated = kind == KIND_DED or kind == KIND_GENERAL_DED
        keys = self.dedicated if dedicated else self.server.keys
        if keys is None or cst is None:
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        if st is not None and st != cst:
            self.server.event(EV_DECIPHERING, self.client_sap, 'system title')
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        try:
            sc, ic = split(content)
        except SecurityError:
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        counters = self.server.client_counters
        if not (ic > self._ded_last_ic if dedicated else counters.fresh(cst, ic)):
            expected = self._ded_last_ic + 1 if dedicated else counters.expected(cst)
            self.server.event(EV_REPLAY, self.client_sap, 'ic %d' % ic)
            return _exception(_SERVICE_NOT_ALLOWED, _INVOCATION_COUNTER_ERROR, expected)
        try:
            inner = open_content(keys, cst, content, sc)
        except SecurityError:
            self.server.event(EV_DECIPHERING, self.client_sap, 'tag')
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        # Only authenticated content moves a counter: without a tag (SC 0x20, encryption only)
        # anyone can send any counter, and accepting it would lock the client out (its next
        # counters replays), persistently with the keystore's floors. Such a request is still
        # checked for freshness above, and the policy decides below whether it is served.
        if sc & SC_AUTH:
            if dedicated:
                self._ded_last_ic = ic
            else:
                try:
                    counters.accept(cst, ic)      # persists a new reservation when one is due
                except SecurityError:
                    self.server.event(EV_COUNTER_STORE, self.client_sap, 'client counter')
                    return _exception(_SERVICE_NOT_ALLOWED, _OTHER_REASON)
        if not inner or (plain_tag is not None and inner[0] != plain_tag):
            return _exception(_SERVICE_NOT_ALLOWED, _DECIPHERING_ERROR)
        return keys, sc, inner

    def _protect(self, kind, keys, sc, apdu):
        if apdu is None or apdu[0] == 0xD8:   # exception-response has no ciphered form
            return apdu
        server = self.server
        ic = server.counter.next()            # reserved (persisted) before it is used
        return security.seal(keys, kind, sc & 0x30, server.system_title, ic, apdu)

    # ---- xDLMS services ----
    def _service(self, apdu, protection, overhead=0):
        tag = apdu[0]
        if tag == 0xC0:
            svc, need = am.SVC_GET, CONF_GET
        elif tag == 0xC1:
            svc, need = am.SVC_SET, CONF_SET
        elif tag == 0xC3:
            svc, need = am.SVC_ACTION, CONF_ACTION
            if self.assoc.state == am.PENDING and self._is_hls_reply(apdu):
                svc = am.SVC_HLS_REPLY
        else:
            svc = need = 0
        if not svc or not self.assoc.allows(svc):
            if self.assoc.state == am.PENDING:
                # until pass 4, the HLS reply is the only request the client may send
                return self._abort('service')
            if not svc:
                return _exception(_SERVICE_UNKNOWN, _SERVICE_NOT_SUPPORTED)
            return _exception(_SERVICE_NOT_ALLOWED, _OPERATION_NOT_POSSIBLE)
        if not self.conformance & need:
            return _exception(_SERVICE_NOT_ALLOWED, _SERVICE_NOT_SUPPORTED)
        try:
            if svc == am.SVC_GET:
                return self._get(apdu, protection, overhead)
            if svc == am.SVC_SET:
                return self._set(apdu, protection)
            resp = self._action(apdu, protection)
            if self.assoc.state == am.PENDING:  # an HLS reply that never reached its check
                self.assoc.event(am.HLS_FAILED)
                self.server.auth_failed(self.client_sap, 'hls pass 3')
            return resp
        except (xdlms.XdlmsError, axdr.AxdrError) as e:
            if self.assoc.state == am.PENDING:
                return self._abort('malformed')
            if getattr(e, 'unsupported', False):
                return _exception(_SERVICE_UNKNOWN, _SERVICE_NOT_SUPPORTED)
            self.server.event(EV_MALFORMED, self.client_sap, 'xdlms')
            return _exception(_SERVICE_NOT_ALLOWED, _OTHER_REASON)

    def _abort(self, detail):
        """A pending association sent what it may not send yet: it ends here, not kept open
        for more (each attempt would be another event in the log)."""
        self.server.event(EV_ABORTED, self.client_sap, detail)
        self.assoc.event(am.ABORTED)
        self._clear()
        return _exception(_SERVICE_NOT_ALLOWED, _OPERATION_NOT_POSSIBLE)

    def _is_hls_reply(self, apdu):
        # C3 01 iid class(2) instance(6) method(1): Association LN current, method 1
        return (len(apdu) >= 13 and apdu[1] == 1 and apdu[3] == 0 and apdu[4] == 15
                and bytes(apdu[5:11]) == _ASSOCIATION_LN and apdu[11] == 1)

    def _need(self, mode):
        """The request protection (AUTH_REQUEST / ENC_REQUEST bits) an access mode asks for under
        this association's policy."""
        return (mode | self.cfg.require) & (cb.AUTH_REQUEST | cb.ENC_REQUEST)

    def _allowed(self, mode, right, protection):
        if not mode & right:
            return False
        need = self._need(mode)
        return protection & need == need

    def _lookup(self, class_id, ln):
        entry = self.cfg.grant(ln) if self.cfg is not None else None
        if entry is None:
            return None, cb.OBJECT_UNDEFINED
        if entry[0].class_id != class_id:
            return None, cb.OBJECT_CLASS_INCONSISTENT
        return entry, 0

    def _target(self, class_id, ln, index, methods, right, protection):
        """(object, 0) when attribute (or method) `index` of the object may be used with
        `right` under this request's protection; else (None, the result code to answer)."""
        entry, err = self._lookup(class_id, ln)
        if entry is None:
            return None, err
        modes = entry[2] if methods else entry[1]
        if index < 1 or index > len(modes):
            return None, cb.OBJECT_UNDEFINED
        if not self._allowed(modes[index - 1], right, protection):
            return None, cb.READ_WRITE_DENIED
        return entry[0], 0

    def _read(self, class_id, ln, attr, selector, params, protection):
        obj, err = self._target(class_id, ln, attr, False, cb.READ, protection)
        if obj is None:
            return err
        return obj.get(attr, self, selector, params)

    def _read_need(self, class_id, ln, attr):
        # the protection an attribute that was just read asks for (its entry exists)
        return self._need(self._lookup(class_id, ln)[0][1][attr - 1])

    def _get(self, apdu, protection, overhead):
        req = xdlms.parse_get_request(apdu)
        iid = req.invoke_id
        if req.kind == 2:
            return self._get_next(iid, req.block_number, protection)
        self._long_get = None         # a new GET abandons any unfinished long GET
        if req.kind == 1:
            v = self._read(req.class_id, req.instance, req.attribute_id, req.access_selector,
                           req.access_params, protection)
            if isinstance(v, int):
                return xdlms.get_response_normal_error(iid, v)
            resp = xdlms.get_response_normal_value(iid, v)   # C4 01 iid 00, then the data
            if len(resp) + overhead <= self.client_max_pdu:
                return resp
            need = self._read_need(req.class_id, req.instance, req.attribute_id)
            return self._start_long_get(iid, memoryview(resp)[4:], overhead, need | protection)
        results = []
        need = protection
        for item in req.items:
            v = self._read(item[0], item[1], item[2], item[3], item[4], protection)
            if isinstance(v, int):
                results.append(('error', v))
            else:
                results.append(('data', axdr.to_bytes(v)))
                need |= self._read_need(item[0], item[1], item[2])
        resp = xdlms.get_response_with_list(iid, results)
        if len(resp) + overhead <= self.client_max_pdu:
            return resp
        return self._start_long_get(iid, resp[3:], overhead, need)

    # A long GET: the response goes in blocks, each fetched by a GET-request-next. The transfer
    # remembers `need`, the request protection of its first request together with what every
    # attribute in it asks for: a continuation with less is refused (read-write-denied, the
    # transfer ends), so every block is protected at least as the first one was and as the
    # policy and the access rights require (its response takes the continuation's protection,
    # raised to the policy's, in _ciphered).
    def _start_long_get(self, iid, raw, overhead, need):
        if not self.conformance & BLOCK_TRANSFER_WITH_GET:
            return xdlms.get_response_normal_error(iid, cb.OTHER_REASON)
        size = self.client_max_pdu - overhead - _BLOCK_HEADER
        self._long_get = [raw, size, 0, need]
        return self._next_block(iid)

    def _next_block(self, iid):
        lg = self._long_get
        raw, size, sent = lg[0], lg[1], lg[2]
        start = sent * size
        end = start + size
        last = end >= len(raw)
        lg[2] = sent + 1
        if last:
            self._long_get = None
        return xdlms.get_response_block(iid, last, sent + 1, raw[start:end])

    def _get_next(self, iid, block_number, protection):
        lg = self._long_get
        if lg is None:
            return xdlms.get_response_block_error(iid, True, block_number, _NO_LONG_GET_IN_PROGRESS)
        if protection & lg[3] != lg[3]:
            self._long_get = None
            self.server.event(EV_UNDER_PROTECTED, self.client_sap, 'get-next')
            return xdlms.get_response_block_error(iid, True, block_number, cb.READ_WRITE_DENIED)
        if block_number != lg[2]:
            self._long_get = None
            return xdlms.get_response_block_error(iid, True, block_number, _LONG_GET_ABORTED)
        return self._next_block(iid)

    def _set(self, apdu, protection):
        req = xdlms.parse_set_request(apdu)
        attr = req.attribute_id
        obj, dar = self._target(req.class_id, req.instance, attr, False, cb.WRITE, protection)
        if obj is not None:
            dar = obj.set(attr, req.value, self, req.access_selector, req.access_params)
        return xdlms.set_response_normal(req.invoke_id, dar)

    def _action(self, apdu, protection):
        req = xdlms.parse_action_request(apdu)
        m = req.method_id
        obj, err = self._target(req.class_id, req.instance, m, True, cb.INVOKE, protection)
        if obj is None:
            if self.assoc.state == am.PENDING:
                self.assoc.event(am.HLS_FAILED)
            return xdlms.action_response_normal(req.invoke_id, err)
        result, ret = obj.action(m, req.parameter, self)
        data = axdr.to_bytes(ret) if ret is not None else None
        return xdlms.action_response_normal(req.invoke_id, result, data)

    # ---- ACSE ----
    def _aare(self, result, diag, source=_USER, user_information=None, mechanism=None,
              auth_value=None, title=False):
        return acse.build_aare(self.context_id, result, source, diag,
                               self.server.system_title if title else None,
                               mechanism, auth_value, user_information)

    def _reject(self, diag, user_information=None, source=_USER, result=_REJECTED_PERMANENT):
        was = self.assoc.state
        self.assoc.event(am.AARQ_REJECTED)
        cfg_ctx = self.cfg.context_id if self.cfg is not None else CTX_LN
        if was != am.ASSOCIATED:
            self._clear()
        ctx = self.context_id
        self.context_id = cfg_ctx
        aare = self._aare(result, diag, source, user_information)
        self.context_id = ctx
        return aare

    def _aarq(self, apdu):
        try:
            aarq = acse.parse_aarq(apdu)
        except acse.AcseError:
            self.server.event(EV_MALFORMED, self.client_sap, 'aarq')
            return self._reject(DIAG_NO_REASON, source=_PROVIDER)
        cfg = self.cfg
        if cfg is None or self.assoc.state == am.ASSOCIATED:
            return self._reject(DIAG_NO_REASON)
        lockout = self.server.lockout
        if lockout is not None and lockout.remaining(self.client_sap) > 0:
            # locked out after repeated authentication failures: try again later
            return self._reject(DIAG_NO_REASON, result=_REJECTED_TRANSIENT)
        if aarq.context_id != cfg.context_id:
            return self._reject(DIAG_CONTEXT_NOT_SUPPORTED)
        ciphered = cfg.context_id == CTX_LN_CIPHERED
        if cfg.mechanism == MECH_LOWEST:
            if aarq.mechanism is not None and aarq.mechanism != MECH_LOWEST:
                return self._reject(DIAG_MECHANISM_NOT_RECOGNISED)
        elif aarq.mechanism is None:
            return self._reject(DIAG_MECHANISM_REQUIRED)
        elif aarq.mechanism != cfg.mechanism:
            return self._reject(DIAG_MECHANISM_NOT_RECOGNISED)
        st = aarq.calling_ap_title
        if ciphered or cfg.mechanism == MECH_HLS_GMAC:
            if st is None or len(st) != 8:
                return self._reject(DIAG_CALLING_AP_TITLE)
            st = bytes(st)
            if st == self.server.system_title:
                # the meter's own title as a client's: the client's IVs would be the meter's
                # own response IVs under the same key (GCM nonce reuse), and the meter's own
                # f(CtoS) would pass as a pass 3 (HLS reflection)
                self.server.event(EV_UNDER_PROTECTED, self.client_sap, 'own system title')
                return self._reject(DIAG_CALLING_AP_TITLE)
        else:
            st = None
        ui = aarq.user_information
        if not ui:
            return self._reject(DIAG_NO_REASON)
        # xDLMS InitiateRequest, plain or ciphered
        try:
            env = security.unwrap(ui)
        except security.SecurityError:
            return self._reject(DIAG_NO_REASON)
        sc = 0
        kind = None
        if env is not None:
            if not ciphered or env[1] not in (None, 0x01) or env[0] not in (
                    security.KIND_GLO, security.KIND_GENERAL_GLO):
                return self._reject(DIAG_NO_REASON)
            if not self._initiate_protected(env, 'aarq initiate'):
                return self._reject(DIAG_NO_REASON)
            self.client_system_title = st
            r = self._decipher(env)
            if isinstance(r, bytes):
                self.client_system_title = None
                if r[2] == _DECIPHERING_ERROR:    # wrong keys count as failed authentication
                    self.server.auth_failed(self.client_sap, 'aarq deciphering')
                return self._reject(DIAG_NO_REASON)
            _, sc, init = r
            if init[0] != 0x01:
                return self._reject(DIAG_NO_REASON)
            kind = env[0]
        else:
            if ciphered:                  # a ciphered context: the InitiateRequest is ciphered
                self.server.event(EV_UNDER_PROTECTED, self.client_sap, 'aarq initiate')
                return self._reject(DIAG_NO_REASON)
            init = ui
        keys = self.server.keys

        def refuse(code):
            cse = xdlms.initiate_error(code)
            if kind is not None:
                try:
                    cse = self._protect(kind, keys, sc, cse)
                except security.SecurityError:
                    cse = None
            return self._reject(DIAG_NO_REASON, cse)

        try:
            ir = xdlms.parse_initiate_request(init)
        except xdlms.XdlmsError:
            return refuse(_INIT_OTHER)
        if ir.dlms_version < 6:
            return refuse(_INIT_VERSION_TOO_LOW)
        conformance = ir.conformance & self.server.conformance
        if not ciphered:
            conformance &= ~GENERAL_PROTECTION
        if conformance & (CONF_GET | CONF_SET | CONF_ACTION) == 0:
            return refuse(_INIT_INCOMPATIBLE_CONFORMANCE)
        if ir.max_pdu < _MIN_PDU:
            return refuse(_INIT_PDU_TOO_SHORT)
        dedicated = None
        if ir.dedicated_key is not None:
            if kind is None or sc & 0x30 != 0x30 or len(ir.dedicated_key) != 16:
                return refuse(_INIT_OTHER)
            dedicated = security.Keys(ir.dedicated_key, keys.ak)
        # authentication (pass 1)
        if cfg.mechanism == MECH_LLS:
            secret = cfg.secret or b''
            if aarq.auth_value is None or not ct_equal(aarq.auth_value, secret):
                self.server.auth_failed(self.client_sap, 'lls', True)
                return self._reject(DIAG_AUTHENTICATION_FAILURE)
        elif cfg.mechanism == MECH_HLS_GMAC:
            ctos = aarq.auth_value
            if ctos is None or not 8 <= len(ctos) <= 64 or keys is None:
                self.server.auth_failed(self.client_sap, 'hls challenge')
                return self._reject(DIAG_AUTHENTICATION_FAILURE)
        if (kind is not None or cfg.mechanism == MECH_HLS_GMAC) and \
                self.server.counter_exhausted(self.client_sap):
            return self._reject(DIAG_NO_REASON)
        # accepted
        self._clear()
        self.context_id = cfg.context_id
        self.mechanism = cfg.mechanism
        self.client_system_title = st
        self.conformance = conformance
        self.client_max_pdu = ir.max_pdu
        self.dedicated = dedicated
        resp = xdlms.build_initiate_response(conformance, self.server.max_pdu)
        if kind is not None:
            try:
                resp = self._protect(kind, keys, sc, resp)
            except security.SecurityError:       # no counter value could be reserved
                self.server.counter_exhausted(self.client_sap)
                return self._reject(DIAG_NO_REASON)
        title = ciphered or cfg.mechanism == MECH_HLS_GMAC
        if cfg.mechanism == MECH_HLS_GMAC:
            self._ctos = bytes(aarq.auth_value)
            self._stoc = bytes(self.server.rng(self.server.challenge_length))
            self.assoc.event(am.AARQ_ACCEPTED_HLS)
            return self._aare(_ACCEPTED, DIAG_AUTHENTICATION_REQUIRED, _USER, resp,
                              MECH_HLS_GMAC, self._stoc, title)
        self.assoc.event(am.AARQ_ACCEPTED)
        if cfg.mechanism != MECH_LOWEST:
            self.server.auth_succeeded(self.client_sap)
        return self._aare(_ACCEPTED, DIAG_NULL, _USER, resp, None, None, title)

    def _initiate_protected(self, env, what):
        """A ciphered InitiateRequest (AARQ, RLRQ) carries at least the protection the policy
        asks of requests, and always a tag: encryption only has none, so anyone who knows one
        keystream could forge it. Anything less is a security event."""
        try:
            sc = split(env[3])[0]
        except SecurityError:
            sc = 0
        need = SC_AUTH | ((self.cfg.require & (cb.AUTH_REQUEST | cb.ENC_REQUEST)) << 2)
        if sc & need == need:
            return True
        self.server.event(EV_UNDER_PROTECTED, self.client_sap, what)
        return False

    def _rlrq(self, apdu):
        try:
            reason, ui = acse.parse_rlrq(apdu)
        except acse.AcseError:
            self.server.event(EV_MALFORMED, self.client_sap, 'rlrq')
            return acse.build_rlre(1)
        resp_ui = None
        if ui and self.assoc.state != am.NON_ASSOCIATED:
            try:
                env = security.unwrap(ui)
            except security.SecurityError:
                env = None
            if env is not None and self.context_id == CTX_LN_CIPHERED:
                if not self._initiate_protected(env, 'rlrq initiate'):
                    return acse.build_rlre(1)     # not-finished: the association stays
                r = self._decipher(env)
                if isinstance(r, bytes):
                    return acse.build_rlre(1)     # not-finished: the association stays
                keys, sc, init = r
                try:
                    xdlms.parse_initiate_request(init)
                    resp_ui = self._protect(env[0], keys, sc, xdlms.build_initiate_response(
                        self.conformance, self.server.max_pdu))
                except (xdlms.XdlmsError, security.SecurityError):
                    resp_ui = None
            elif env is None:
                resp_ui = xdlms.build_initiate_response(self.conformance, self.server.max_pdu)
        self.assoc.event(am.RELEASED)
        self._clear()
        return acse.build_rlre(0, resp_ui)
