# general-ciphering (0xDD) and general-signing (0xDF) requests of an association, and their
# responses in kind: what dlms/server.py's Session hands over for those two tags (the core only
# knows the tags; this module comes with the public-key package). The codec and cryptography are
# dlms_pk/general.py; here: who may send them, freshness, which keys, and the layering.
#
# A request is served only in an associated, ciphered association whose Security setup is of a
# public-key suite (1 or 2) and has a certificate store. The originator must be the
# association's client (its calling AP-title), the recipient this meter. Layers (at most two,
# signed inside ciphered or ciphered inside signed, or one alone) are opened from the outside:
#   general-signing  -> the signature verified with the originator's digital-signature
#                       certificate (re-checked at each use: a removed one is revoked);
#   general-ciphering -> the content key from key-info: identified-key 0 (the global unicast key:
#                       its IC then passes the client counter check as every glo APDU does) or 1
#                       (broadcast key), wrapped-key under the master key, agreed-key C(1e,1s)
#                       (the originator's signature certificate) or C(0e,2s) (its key-agreement
#                       certificate); the meter's own key-agreement key; the suite's own AK;
#   a glo-/ded-ciphered or plain xDLMS APDU inside is opened as usual (dlms/protection.py).
# The protection the service sees is that of all layers together: authenticated (0x04),
# encrypted (0x08), digitally signed (0x10) request (dlms/services.py checks it against the
# policy and the access rights, which may require 0x10). The response goes back in the same
# layers, each raised to the policy: general-ciphering with a key of the same kind (the same
# identified key; the request's wrapped key, echoed; for agreed keys a new agreement with this
# meter as U and the client as V), signed when the request was or the policy asks for signed
# responses (0x80), under the next server invocation counter of the association's key set.
#
# Freshness, decided here (the reference leaves it open): a transaction-id, read as an unsigned
# big-endian integer, must be greater than every transaction-id accepted before from that
# originator. The highest is kept per originator in RAM; a floor (the accepted value + step) is
# persisted in the store record 'transactions' before a value at or above it is accepted, so
# that after a restart (a power cut) nothing below the floor is accepted: a client continues
# at least `step` above its last transaction-id, as with invocation counters. A date-time, when
# the request carries one, must be within `window_s` of the meter's clock. Every refusal is
# the protocol's answer (exception-response) and a security event; nothing is served.
from dlms._compat import const
from dlms import events, security, xdlms
from dlms import association as am
from dlms.counters import CounterError
from dlms.cosem.clock import decode_datetime
from dlms.protection import ProtectionError
from dlms_pk import general as g

RECORD = 'transactions'
_MAX_TITLES = const(16)
_MAX_DEPTH = const(2)
_SIGNED = const(0x10)           # access-right / policy bit: digitally signed request
_SIGNED_RESPONSE = const(0x80)  # policy bit: digitally signed response
_CIPHER_OVERHEAD = const(60)    # what general-ciphering adds to a response (F, key-info, SC..T)


class Freshness:
    """Transaction-ids per originator (see the header): fresh(title, tid), accept(title, tid)."""

    def __init__(self, store, step=1000):
        self.store = store
        self.step = step
        self._last = {}              # title (bytes) -> the highest accepted transaction-id
        self._floors = None          # hex title -> persisted floor (int)

    def _load(self):
        if self._floors is None:
            try:
                rec = self.store.load(RECORD)
            except Exception:
                rec = None
            f = {}
            for t, v in (rec or {}).get('floors', {}).items():
                if isinstance(v, int):
                    f[t] = v
            self._floors = f
            self._other = (rec or {}).get('other', 0)
        return self._floors

    def _floor(self, title):
        return self._load().get(_hex(title), self._other)

    def fresh(self, title, tid):
        last = self._last.get(bytes(title))
        if last is not None:
            return tid > last
        return tid >= self._floor(title)

    def accept(self, title, tid):
        """Raises CounterError when the new floor could not be persisted (then refused)."""
        floors = self._load()
        key = _hex(title)
        if tid >= floors.get(key, self._other):
            new = dict(floors)
            new[key] = tid + self.step
            other = self._other
            while len(new) > _MAX_TITLES:
                victim = None
                for t in new:
                    if t != key and (victim is None or new[t] < new[victim]):
                        victim = t
                other = max(other, new.pop(victim))
                for t in list(self._last):
                    if _hex(t) == victim:
                        del self._last[t]
            try:
                self.store.save(RECORD, {'floors': new, 'other': other})
            except Exception:
                raise CounterError('transaction-id floor not persisted')
            self._floors = new
            self._other = other
        self._last[bytes(title)] = tid


def _hex(b):
    from binascii import hexlify
    return hexlify(bytes(b)).decode().upper()


class _Refused(Exception):
    def __init__(self, service_error, event=None, detail=''):
        self.service_error = service_error
        self.event = event
        self.detail = detail


def _int(b):
    return int.from_bytes(bytes(b), 'big') if len(b) else 0


class _Request:
    # what the layers of one request told: the protection bits, and how to answer
    def __init__(self):
        self.protection = 0
        self.layers = []             # outermost first: ('sign', msg) | ('cipher', msg, key, gk)
        self.tids = []               # the authenticated layers' transaction-ids


def handle(s, apdu):
    """The response APDU to a general-ciphering or general-signing request of session `s`."""
    server = s.server
    cfg = s.cfg
    ss = cfg.security_setup if cfg is not None else None
    prot = s.protection
    if s.assoc.state != am.ASSOCIATED:
        return xdlms.refusal(xdlms.OPERATION_NOT_POSSIBLE)
    if ss is None or getattr(ss, 'pki', None) is None or prot.suite.ID == 0 or \
            prot.client_title is None:
        return xdlms.refusal(xdlms.DECIPHERING_ERROR)
    gs = _state(server)
    req = _Request()
    try:
        inner = _open(s, ss, gs, apdu, req, 0)
        # every layer was checked against the requests before this one; the request's
        # transaction-ids count from now on (one layer may carry a lower one than another:
        # a client signs, then ciphers)
        if req.tids:
            _accept(s, gs, max(req.tids))
        resp = _serve_inner(s, inner, req)
        if resp is None or resp[0] == xdlms.EXCEPTION_RESPONSE:
            return resp
        return _answer(s, ss, req, resp)
    except _Refused as e:
        if e.event is not None:
            server.event(e.event, s.client_sap, e.detail)
        return xdlms.refusal(e.service_error)
    except ProtectionError as e:
        if e.event is not None:
            server.event(e.event, s.client_sap, e.detail)
        return e.answer


class _ServerState:
    def __init__(self, store, step, window_s, now):
        self.fresh = Freshness(store, step)
        self.window_s = window_s
        self.now = now


def configure(server, store, now, step=1000, window_s=300):
    """Give `server` what general requests need beyond the session: the store of the
    transaction-id floors, the clock (now() -> Unix seconds) for date-times, the floor step and
    the date-time window. Without it general requests are refused."""
    server.general = _ServerState(store, step, window_s, now)


def _state(server):
    gs = getattr(server, 'general', None)
    if gs is None:
        raise _Refused(xdlms.DECIPHERING_ERROR)
    return gs


def _check_header(s, gs, msg):
    server = s.server
    cst = s.protection.client_title
    if bytes(msg.recipient) != server.system_title:
        raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING, 'recipient title')
    if bytes(msg.originator) != cst:
        raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING, 'originator title')
    if len(msg.date_time):
        t = decode_datetime(bytes(msg.date_time))
        now = gs.now()
        if t is None or t < now - gs.window_s or t > now + gs.window_s:
            raise _Refused(xdlms.INVOCATION_COUNTER_ERROR, events.REPLAY, 'date-time')
    if not gs.fresh.fresh(cst, _int(msg.transaction_id)):
        raise _Refused(xdlms.INVOCATION_COUNTER_ERROR, events.REPLAY, 'transaction-id')


def _accept(s, gs, tid):
    try:
        gs.fresh.accept(s.protection.client_title, tid)
    except CounterError:
        raise _Refused(xdlms.OTHER_REASON, events.COUNTER_STORE, 'transaction-id')


def _curve(s):
    return s.protection.suite.CURVE


def _open(s, ss, gs, apdu, req, depth):
    """The inner APDU of one layer (recursively), its protection added to req."""
    if depth >= _MAX_DEPTH or not apdu:
        raise _Refused(xdlms.DECIPHERING_ERROR, events.MALFORMED, 'general layers')
    tag = apdu[0]
    pki = ss.pki
    prot = s.protection
    suite = prot.suite
    if tag == g.GENERAL_SIGNING:
        try:
            msg = g.parse_signing(apdu)
        except g.GeneralError as e:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.MALFORMED, 'general-signing ' + str(e))
        _check_header(s, gs, msg)
        pub = pki.peer_key(prot.client_title, 0, _curve(s))
        try:
            ok = pub is not None and g.verify_signing(_curve(s), pub, msg)
        except g.GeneralError:
            ok = False
        if not ok:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING,
                           'signature' if pub is not None else 'no valid certificate')
        req.tids.append(_int(msg.transaction_id))
        req.protection |= _SIGNED
        req.layers.append(('sign', msg))
        return _open(s, ss, gs, bytes(msg.content), req, depth + 1) \
            if msg.content[0] in (g.GENERAL_CIPHERING, g.GENERAL_SIGNING) else bytes(msg.content)
    if tag == g.GENERAL_CIPHERING:
        try:
            msg = g.parse_ciphering(apdu)
        except g.GeneralError as e:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.MALFORMED,
                           'general-ciphering ' + str(e))
        _check_header(s, gs, msg)
        kc = prot.kc
        manager = kc.manager
        if manager is None or kc.keys is None:
            raise _Refused(xdlms.DECIPHERING_ERROR)
        ki = msg.key_info
        if ki is None:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING, 'no key-info')
        curve = _curve(s)
        global_ek = ki[0] == g.KEY_IDENTIFIED and ki[1] == g.KEY_ID_UNICAST
        try:
            sc, ic = g.split_content(suite, msg.content)
        except g.GeneralError:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING, 'security control')
        cst = prot.client_title
        if global_ek and not kc.client_counters.fresh(cst, ic):
            raise _Refused(xdlms.INVOCATION_COUNTER_ERROR, events.REPLAY, 'ic %d' % ic)
        try:
            key = g.content_key(
                suite, msg,
                global_key=lambda k: manager.key('ek' if k == 0 else 'bk'),
                kek=lambda k: manager.key('kek') if k == g.KEK_MASTER else None,
                own_agree_private=pki.own_key(1, curve),
                sign_public=lambda t: pki.peer_key(t, 0, curve),
                agree_public=lambda t: pki.peer_key(t, 1, curve))
            sc, ic, inner = g.open_content(suite, key, manager.key('ak'), msg.originator,
                                           msg.fields, msg.content)
        except g.GeneralError as e:
            raise _Refused(xdlms.DECIPHERING_ERROR, events.DECIPHERING, 'general ' + str(e))
        if sc & security.SC_AUTH:           # only authenticated content moves a counter
            if global_ek:
                try:
                    kc.client_counters.accept(cst, ic)
                except CounterError:
                    raise _Refused(xdlms.OTHER_REASON, events.COUNTER_STORE, 'client counter')
            req.tids.append(_int(msg.transaction_id))
        req.protection |= (sc & 0x30) >> 2
        req.layers.append(('cipher', msg, key, ki))
        if inner and inner[0] in (g.GENERAL_CIPHERING, g.GENERAL_SIGNING):
            return _open(s, ss, gs, inner, req, depth + 1)
        return inner
    raise _Refused(xdlms.DECIPHERING_ERROR)


def _serve_inner(s, inner, req):
    """Serve the innermost APDU: a glo-/ded-ciphered one through the association's Protection,
    a plain one as it is; both with the protection of the outer layers added."""
    from dlms import services
    prot = s.protection
    policy = s.policy
    try:
        env = security.unwrap(inner)
    except security.SecurityError:
        return xdlms.refusal(xdlms.DECIPHERING_ERROR)
    if env is None:
        if not inner or inner[0] not in (xdlms.GET_REQUEST, xdlms.SET_REQUEST,
                                         xdlms.ACTION_REQUEST):
            return xdlms.refusal(xdlms.DECIPHERING_ERROR)
        return services.serve(s, inner, req.protection, _CIPHER_OVERHEAD)
    keys, sc, plain = prot.open(env)
    req.protection |= (sc & 0x30) >> 2
    resp = services.serve(s, plain, req.protection, _CIPHER_OVERHEAD + 30)
    return prot.seal(env[0], keys, sc, resp, policy)


def sign_response(s, apdu):
    """A response of the glo/ded path in a general-signing of this meter (policy 0x80); the
    transaction-id is fresh from the DRBG. Without a signing key: an exception-response."""
    cfg = s.cfg
    ss = cfg.security_setup if cfg is not None else None
    if apdu is None or ss is None or getattr(ss, 'pki', None) is None or \
            s.protection.client_title is None:
        return apdu
    own = ss.pki.own_key(0, _curve(s))
    if own is None:
        s.server.event(events.INTERNAL, s.client_sap, 'no signing key')
        return xdlms.refusal(xdlms.OTHER_REASON)
    server = s.server
    return g.sign_signing(_curve(s), own, server.rng(8), server.system_title,
                          s.protection.client_title, b'', b'', apdu, server.rng)


def _answer(s, ss, req, resp):
    """The response in the request's layers (innermost first), each raised to the policy;
    signed when the request was, or the policy asks for it."""
    server = s.server
    prot = s.protection
    suite = prot.suite
    kc = prot.kc
    manager = kc.manager
    pki = ss.pki
    curve = _curve(s)
    policy = s.policy
    cst = prot.client_title
    me = server.system_title
    layers = list(req.layers)
    if policy & _SIGNED_RESPONSE and not [x for x in layers if x[0] == 'sign']:
        layers.insert(0, ('sign', None))     # the policy asks for a signature: outermost
    out = resp
    for layer in reversed(layers):
        if layer[0] == 'sign':
            own = pki.own_key(0, curve)
            if own is None:
                raise _Refused(xdlms.OTHER_REASON, events.INTERNAL, 'no signing key')
            tid = layer[1].transaction_id if layer[1] is not None else server.rng(8)
            out = g.sign_signing(curve, own, tid, me, cst, b'', b'', out, server.rng)
            continue
        msg, key, ki = layer[1], layer[2], layer[3]
        tid = msg.transaction_id
        sc = (msg.content[0] | (policy >> 1)) & 0x30 | suite.ID
        if ki[0] == g.KEY_AGREED:
            if ki[1] == g.C1E1S:
                peer = pki.peer_key(cst, 1, curve)
                if peer is None:
                    raise _Refused(xdlms.OTHER_REASON, events.DECIPHERING, 'no client key')
                key, kib = g.agreed_key_c1e1s(suite, pki.own_key(0, curve), peer, me, cst,
                                              server.rng)
            else:
                peer = pki.peer_key(cst, 1, curve)
                if peer is None:
                    raise _Refused(xdlms.OTHER_REASON, events.DECIPHERING, 'no client key')
                key, kib = g.agreed_key_c0e2s(suite, pki.own_key(1, curve), peer, me, cst, tid)
        else:
            kib = msg.key_info_bytes            # the same identified or wrapped key
        try:
            ic = kc.counter.next()
        except CounterError:
            server.counter_exhausted(s.client_sap, kc)
            raise _Refused(xdlms.OTHER_REASON)
        fields = g.encode_fields(tid, me, cst, b'', b'')
        content = g.seal_content(suite, key, manager.key('ak'), me, fields, sc, ic, out)
        out = g.build_ciphering(tid, me, cst, b'', b'', kib, content)
    return out
