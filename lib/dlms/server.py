# The COSEM server core: one Server per logical device, one Session per client association.
# A Session is the orchestrator of one association: it sends each request down the layers in
# order and the answer back up. AARQ / RLRQ go to dlms/establish.py; every other APDU is
# unwrapped (dlms/security.py), opened by the association's Protection (dlms/protection.py) when
# ciphered, served (dlms/services.py: rights, GET/SET/ACTION, block transfer, the HLS reply through
# dlms/authentication.py) and its response protected by the same Protection. Interface classes see
# the association through an AssociationView: what they may read, and a few named requests.
# Sans-IO: bytes in, bytes out. Randomness (`rng(n)`), persistence (counters, keystore) and
# security-event sinks are passed in; the clock lives in the Clock object the firmware builds.
from dlms._compat import const
from dlms import authentication, events, security, services, xdlms
from dlms import association as am
from dlms import establish
from dlms.cosem import base as cb
from dlms.counters import InvocationCounter, ClientCounters  # noqa: F401 (part of this API)
from dlms.protection import Protection, ProtectionError
from dlms.association import ASSOCIATED, NON_ASSOCIATED

SUPPORTED_CONFORMANCE = const(0x401219)

CTX_LN = const(1)
CTX_LN_CIPHERED = const(3)

MECH_LOWEST = const(0)
MECH_LLS = const(1)
MECH_HLS_GMAC = const(5)

_CIPHER_OVERHEAD = const(30) # tag len(3) SC IC(4) T(12) [+ general: len + system title]
_REQUEST_BITS = const(0x0C)  # cb.AUTH_REQUEST | cb.ENC_REQUEST
_SIGNED_RESPONSE = const(0x80)  # security policy: digitally signed responses (suites 1/2)

class AssociationConfig:
    """What one client SAP may do: its authentication, context, and granted objects with access
    modes (tuples of dlms.cosem.base access bits, one per attribute / method). `require`, the
    protection every request and response needs, is read live: the floor given here with the
    security policy of the association's Security setup (security_activate raises it there)."""

    def __init__(self, client_sap, name, mechanism=MECH_LOWEST, context_id=CTX_LN, secret=None,
                 objects=(), security_setup=None, require=0):
        self.client_sap = client_sap
        self.name = name
        self.mechanism = mechanism
        self.context_id = context_id
        self.secret = secret
        self.objects = list(objects)     # [(obj, attr_modes, method_modes)]
        self.security_setup = security_setup
        self._require = require
        self._by_ln = {}
        for entry in self.objects:
            self._by_ln[entry[0].logical_name] = entry

    @property
    def require(self):
        ss = self.security_setup
        if ss is None:
            return self._require
        return self._require | ss.security_policy

    @require.setter
    def require(self, bits):
        self._require = bits

    def grant(self, ln):
        return self._by_ln.get(bytes(ln))

    def __repr__(self):
        return '<AssociationConfig %d %s>' % (self.client_sap, self.name)


class KeyContext:
    """The server side of one key set: the suite Keys of its global unicast key (or None: no
    ciphered service), its server invocation counter and its client counter table; `manager`
    the keystore KeySet it came from (key_transfer, key_agreement and an agreed key go there),
    or None. Associations whose Security setup uses the set share it (Server.context)."""

    def __init__(self, keys, counter, client_counters=None, manager=None):
        self.keys = keys
        self.counter = counter
        self.client_counters = client_counters if client_counters is not None \
            else ClientCounters()
        self.manager = manager

    def apply(self, epoch):
        """A key change (keystore.Epoch): the new keys, and for a new unicast key its counter
        and an empty client table. Called after the response under the old keys."""
        if epoch.keys is not None:
            self.keys = epoch.keys
        if epoch.counter is not None:
            self.counter = epoch.counter
            self.client_counters.reset()


class Server:
    def __init__(self, system_title, keys, associations, rng, counter, max_pdu=1024,
                 conformance=SUPPORTED_CONFORMANCE, client_counters=None, on_event=None,
                 challenge_length=16, lockout=None):
        if len(system_title) != 8:
            raise ValueError('system title')
        self.system_title = bytes(system_title)
        # the primary key set (Security setups without keys of their own); others: add_context
        self.primary = KeyContext(keys, counter, client_counters)
        self._contexts = {}               # Security setup logical name -> KeyContext
        self.associations = {}
        for a in associations:
            self.associations[a.client_sap] = a
        self.rng = rng
        self.max_pdu = max_pdu
        self.conformance = conformance
        self.on_event = on_event
        self.challenge_length = challenge_length   # StoC bytes (8..64)
        self.lockout = lockout            # dlms.lockout.Lockout, or None
        if lockout is not None:
            lockout.on_change = self._lockout_changed
        self.events = []                  # the most recent security events, for tests and logs
        self.serving_sap = 0              # the client SAP whose request is being handled
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
                self.event(events.INTERNAL, 0, 'after response: ' + e.__class__.__name__)

    # the primary key set, as before key sets (tests, the meter's start-up lines)
    @property
    def keys(self):
        return self.primary.keys

    @keys.setter
    def keys(self, k):
        self.primary.keys = k

    @property
    def counter(self):
        return self.primary.counter

    @property
    def client_counters(self):
        return self.primary.client_counters

    def add_context(self, security_setup, context):
        """The associations of `security_setup` (a Security setup object) use key set
        `context` (a KeyContext) instead of the primary one."""
        self._contexts[security_setup.logical_name] = context

    def context(self, security_setup=None):
        """The KeyContext of a Security setup (the primary one unless it has its own)."""
        if security_setup is None:
            return self.primary
        return self._contexts.get(security_setup.logical_name, self.primary)

    def context_of(self, manager):
        """The KeyContext whose keystore KeySet is `manager` (key_transfer through a Security
        setup's manager), else the primary one."""
        for c in self._contexts.values():
            if c.manager is manager:
                return c
        return self.primary

    def apply(self, epoch, context=None):
        """A key change (keystore.Epoch) of `context` (default the primary set), after the
        response under the old keys."""
        (context or self.primary).apply(epoch)

    def counter_exhausted(self, client_sap, context=None):
        """True when the server invocation counter of the key set's current key is used up;
        the event is recorded once per key."""
        c = (context or self.primary).counter
        if not c.exhausted:
            return False
        if not c.reported:
            c.reported = True
            self.event(events.IC_EXHAUSTED, client_sap, 'no protection under this key until a new key')
        return True

    def _lockout_changed(self, sap, what, seconds):
        if what == 'started':
            self.event(events.LOCKOUT, sap, '%d s' % seconds)

    def auth_failed(self, sap, detail, guessable=False):
        """A failed authentication: always a security event; it counts towards the lockout only
        when the mechanism's secret can be guessed (LLS). A failure of HLS-GMAC proves nothing
        about 128-bit keys and costs the meter no more than any ciphered request: counting it
        would let anyone who can reach the port lock the holder of the keys out."""
        self.event(events.AUTH_FAILED, sap, detail)
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


class AssociationView:
    """What an interface class may see of the association it is used in (`ctx` of get, set and
    action): the names in _READ, read from the session, and the named requests below. Nothing
    else of the session or the server."""
    _READ = ('client_sap', 'server_sap', 'context_id', 'mechanism', 'conformance',
             'client_max_pdu', 'server_max_pdu', 'association_status', 'client_system_title',
             'security_setup_reference')

    def __init__(self, session):
        self._s = session

    def __getattr__(self, name):
        if name in AssociationView._READ:
            return getattr(self._s, name)
        raise AttributeError(name)

    def granted_objects(self):
        cfg = self._s.cfg
        return cfg.objects if cfg is not None else ()

    def change_secret(self, secret):
        """Association LN attribute 7 (the LLS secret) or change_HLS_secret (HLS-SHA256): a
        data-access-result. The mechanisms with a shared secret; the others have keys."""
        s = self._s
        cfg = s.cfg
        if cfg is None or cfg.mechanism not in (MECH_LLS, authentication.HLS_SHA256) or \
                not 1 <= len(secret) <= 64:
            return cb.READ_WRITE_DENIED
        saver = s.server.secret_store
        if saver is not None and not saver.set_secret(s.client_sap, bytes(secret)):
            return cb.TEMPORARY_FAILURE
        cfg.secret = bytes(secret)
        return cb.SUCCESS

    def key_agreement(self, manager, new):
        """Security setup key_agreement: the agreed keys {name: key} installed in `manager`'s
        key set (a keystore KeySet) as key_transfer installs unwrapped ones; the keystore's
        result code. They apply after this response, which goes under the old keys."""
        server = self._s.server
        epoch = manager.install(new)
        if epoch.keys is not None:
            context = server.context_of(manager)
            server.after_response(lambda: context.apply(epoch))
        return epoch.result

    def key_transfer(self, manager, entries):
        """Security setup key_transfer through `manager` (dlms.keystore.KeyStore): the result
        code of the transfer; new keys apply after this response, which goes under the old."""
        server = self._s.server
        epoch = manager.transfer(entries)
        if epoch.keys is not None:
            context = server.context_of(manager)
            server.after_response(lambda: context.apply(epoch))
        return epoch.result


def _general(s, apdu, sign_response=False):
    # the public-key package serves general-ciphering and general-signing (suites 1 and 2),
    # and signs a response when the policy asks for it
    try:
        from dlms_pk import general_service
    except ImportError:
        return xdlms.refusal(xdlms.DECIPHERING_ERROR)
    if sign_response:
        return general_service.sign_response(s, apdu)
    return general_service.handle(s, apdu)


class Session:
    """One association with one client SAP over one transport connection."""

    def __init__(self, server, client_sap, server_sap=1):
        self.server = server
        self.client_sap = client_sap
        self.server_sap = server_sap
        cfg = server.associations.get(client_sap)
        ss = cfg.security_setup if cfg is not None else None
        try:
            self.protection = Protection(server, client_sap,
                                         ss.security_suite if ss is not None else 0,
                                         server.context(ss))
        except security.SecurityError:    # a suite this build does not have: not served
            cfg = None
            self.protection = Protection(server, client_sap)
        self.cfg = cfg
        self.context_id = cfg.context_id if cfg is not None else CTX_LN
        self.assoc = am.Association()
        self.view = AssociationView(self)
        self.clear()

    def clear(self):
        """No association: what the last one negotiated is forgotten."""
        self.mechanism_obj = authentication.MECHANISMS[MECH_LOWEST]
        self.conformance = 0
        self.client_max_pdu = establish.MIN_PDU
        self.protection.reset()
        self.stoc = None
        self.ctos = None
        self.long_get = None
        self.policy = 0              # cfg.require as read for the request being served

    @property
    def mechanism(self):
        return self.mechanism_obj.id

    @property
    def association_status(self):
        return self.assoc.state

    @property
    def server_max_pdu(self):
        return self.server.max_pdu

    @property
    def client_system_title(self):
        return self.protection.client_title

    @property
    def security_setup_reference(self):
        ss = self.cfg.security_setup if self.cfg is not None else None
        return ss.logical_name if ss is not None else None

    @property
    def authenticated(self):
        """An association stands that a secret authenticated (not lowest): the transports keep
        such a connection when they need room for another."""
        return self.assoc.state == ASSOCIATED and self.mechanism != MECH_LOWEST

    # ---- transport side ----
    def idle(self):
        """Between requests (a transport calls it once a response is on its way): the keystreams
        of the likely next request and response, computed ahead (Protection.idle)."""
        if self.assoc.state == ASSOCIATED and self.context_id == CTX_LN_CIPHERED:
            self.protection.idle()

    def close(self):
        """The link under this association is gone (abort)."""
        self.assoc.event(am.ABORTED)
        self.clear()

    def handle(self, apdu):
        """One request APDU in, one response APDU (or None) out. Never raises."""
        self.server.serving_sap = self.client_sap     # whose request events below stem from
        try:
            resp = self._handle(apdu)
        except Exception as e:  # last line of defence: the meter keeps serving
            self.server.event(events.INTERNAL, self.client_sap, e.__class__.__name__)
            resp = xdlms.refusal(xdlms.OTHER_REASON)
        self.server.serving_sap = 0
        if self.server._after:
            self.server._run_after_response()
        return resp

    def _handle(self, apdu):
        if not apdu:
            return None
        tag = apdu[0]
        if tag == 0x60:                          # AARQ
            return establish.aarq(self, apdu)
        if tag == 0x62:                          # RLRQ
            return establish.rlrq(self, apdu)
        if len(apdu) > self.server.max_pdu + _CIPHER_OVERHEAD:
            return xdlms.refusal(xdlms.PDU_TOO_LONG)
        cfg = self.cfg
        self.policy = policy = cfg.require if cfg is not None else 0   # read once per request
        if tag == 0xDD or tag == 0xDF:           # general-ciphering, general-signing
            return _general(self, apdu)
        try:
            env = security.unwrap(apdu)
        except security.SecurityError:
            self.server.event(events.MALFORMED, self.client_sap, 'ciphered envelope')
            return xdlms.refusal(xdlms.DECIPHERING_ERROR)
        if env is None:
            return services.serve(self, apdu, 0)
        # Every secured request takes this path: it is kept to few calls and lookups; the
        # protection bits map arithmetically (SC 0x10/0x20 are the access-right request bits
        # 0x04/0x08 shifted).
        state = self.assoc.state
        if state == NON_ASSOCIATED:
            return xdlms.refusal(xdlms.OPERATION_NOT_POSSIBLE)
        if self.context_id != CTX_LN_CIPHERED:
            return xdlms.refusal(xdlms.DECIPHERING_ERROR)
        prot = self.protection
        try:
            keys, sc, inner = prot.open(env)
        except ProtectionError as e:
            if e.event is not None:
                self.server.event(e.event, self.client_sap, e.detail)
            if state == am.PENDING:
                return services.abort(self, 'ciphered request refused')
            return e.answer
        resp = services.serve(self, inner, (sc & 0x30) >> 2,
                              _CIPHER_OVERHEAD + 9 if env[2] is not None else _CIPHER_OVERHEAD)
        try:
            resp = prot.seal(env[0], keys, sc, resp, policy)
        except ProtectionError as e:
            return e.answer
        if policy & _SIGNED_RESPONSE:              # suites 1/2: every response signed
            return _general(self, resp, True)
        return resp
