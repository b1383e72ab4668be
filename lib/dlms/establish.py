# Association establishment and release (IEC 62056-5-3 ACSE services of the server): an AARQ
# judged into its AARE and an RLRQ into its RLRE, in the order the checks come: the client SAP
# and its lockout, application context, mechanism name, calling AP-title, the InitiateRequest
# (ciphered as the context and the policy ask, deciphered by the association's Protection),
# its negotiation (version, conformance, PDU size, dedicated key), then the mechanism's pass 1
# (dlms/authentication.py). Byte layouts: dlms/acse.py and dlms/xdlms.py.
from dlms._compat import const
from dlms import acse, authentication, events, security, xdlms
from dlms import association as am
from dlms.protection import ProtectionError

# application contexts (2.16.756.5.8.1.N)
CTX_LN = const(1)
CTX_LN_CIPHERED = const(3)

# conformance bits (24-bit value of the BIT STRING)
_GENERAL_PROTECTION = const(0x400000)
_SERVICES = const(0x000019)  # get, set, action
MIN_PDU = const(64)          # smaller client PDU sizes are refused (pdu-size-too-short)

# AARE results and result-source-diagnostic sources
_ACCEPTED = const(0)
_REJECTED_PERMANENT = const(1)
_REJECTED_TRANSIENT = const(2)
_USER = const(1)
_PROVIDER = const(2)
_DIAG_NULL = const(0)
_DIAG_NO_REASON = const(1)
_DIAG_CONTEXT_NOT_SUPPORTED = const(2)
_DIAG_CALLING_AP_TITLE = const(3)
_DIAG_MECHANISM_NOT_RECOGNISED = const(11)
_DIAG_MECHANISM_REQUIRED = const(12)
_DIAG_AUTHENTICATION_FAILURE = const(13)
_DIAG_AUTHENTICATION_REQUIRED = const(14)

# initiate errors (ConfirmedServiceError initiateError)
_INIT_OTHER = const(0)
_INIT_VERSION_TOO_LOW = const(1)
_INIT_INCOMPATIBLE_CONFORMANCE = const(2)
_INIT_PDU_TOO_SHORT = const(3)
_REQUEST_BITS = const(0x0C)  # cb.AUTH_REQUEST | cb.ENC_REQUEST


def _aare(s, context_id, result, diag, source=_USER, user_information=None, mechanism=None,
          auth_value=None, title=False):
    return acse.build_aare(context_id, result, source, diag,
                           s.server.system_title if title else None,
                           mechanism, auth_value, user_information)


def _reject(s, diag, user_information=None, source=_USER, result=_REJECTED_PERMANENT):
    was = s.assoc.state
    s.assoc.event(am.AARQ_REJECTED)
    if was != am.ASSOCIATED:
        s.clear()
    ctx = s.cfg.context_id if s.cfg is not None else CTX_LN
    return _aare(s, ctx, result, diag, source, user_information)


def initiate_protected(s, env, what):
    """A ciphered InitiateRequest (AARQ, RLRQ) carries at least the protection the policy asks
    of requests, and always a tag: encryption only has none, so anyone who knows one keystream
    could forge it. Anything less is a security event."""
    try:
        sc = security.split(env[3], s.protection.suite.ID)[0]
    except security.SecurityError:
        sc = 0
    need = security.SC_AUTH | ((s.cfg.require & _REQUEST_BITS) << 2)
    if sc & need == need:
        return True
    s.server.event(events.UNDER_PROTECTED, s.client_sap, what)
    return False


def aarq(s, apdu):
    """The AARE for an AARQ on session `s`."""
    server = s.server
    sap = s.client_sap
    try:
        req = acse.parse_aarq(apdu)
    except acse.AcseError:
        server.event(events.MALFORMED, sap, 'aarq')
        return _reject(s, _DIAG_NO_REASON, source=_PROVIDER)
    cfg = s.cfg
    if cfg is None or s.assoc.state == am.ASSOCIATED:
        return _reject(s, _DIAG_NO_REASON)
    lockout = server.lockout
    if lockout is not None and lockout.remaining(sap) > 0:
        # locked out after repeated authentication failures: try again later
        return _reject(s, _DIAG_NO_REASON, result=_REJECTED_TRANSIENT)
    if req.context_id != cfg.context_id:
        return _reject(s, _DIAG_CONTEXT_NOT_SUPPORTED)
    ciphered = cfg.context_id == CTX_LN_CIPHERED
    mech = authentication.mechanism(cfg.mechanism)
    if mech is None:
        return _reject(s, _DIAG_MECHANISM_NOT_RECOGNISED)
    if cfg.mechanism == authentication.LOWEST:
        if req.mechanism is not None and req.mechanism != authentication.LOWEST:
            return _reject(s, _DIAG_MECHANISM_NOT_RECOGNISED)
    elif req.mechanism is None:
        return _reject(s, _DIAG_MECHANISM_REQUIRED)
    elif req.mechanism != cfg.mechanism:
        return _reject(s, _DIAG_MECHANISM_NOT_RECOGNISED)
    st = req.calling_ap_title
    titled = ciphered or mech.calling_title
    if titled:
        if st is None or len(st) != 8:
            return _reject(s, _DIAG_CALLING_AP_TITLE)
        st = bytes(st)
        if st == server.system_title:
            # the meter's own title as a client's: the client's IVs would be the meter's own
            # response IVs under the same key (GCM nonce reuse), and the meter's own f(CtoS)
            # would pass as a pass 3 (HLS reflection)
            server.event(events.UNDER_PROTECTED, sap, 'own system title')
            return _reject(s, _DIAG_CALLING_AP_TITLE)
    else:
        st = None
    ui = req.user_information
    if not ui:
        return _reject(s, _DIAG_NO_REASON)
    # xDLMS InitiateRequest, plain or ciphered
    try:
        env = security.unwrap(ui)
    except security.SecurityError:
        return _reject(s, _DIAG_NO_REASON)
    prot = s.protection
    sc = 0
    kind = None
    keys = prot.keys()
    if env is not None:
        if not ciphered or env[1] not in (None, xdlms.INITIATE_REQUEST) or env[0] not in (
                security.KIND_GLO, security.KIND_GENERAL_GLO):
            return _reject(s, _DIAG_NO_REASON)
        if not initiate_protected(s, env, 'aarq initiate'):
            return _reject(s, _DIAG_NO_REASON)
        prot.client_title = st
        try:
            keys, sc, init = prot.open(env)
        except ProtectionError as e:
            prot.client_title = None
            if e.event is not None:
                server.event(e.event, sap, e.detail)
            if e.deciphering:             # wrong keys: a failed authentication, no guess of a
                server.auth_failed(sap, 'aarq deciphering')     # secret (no lockout)
            return _reject(s, _DIAG_NO_REASON)
        if init[0] != xdlms.INITIATE_REQUEST:
            return _reject(s, _DIAG_NO_REASON)
        kind = env[0]
    else:
        if ciphered:                  # a ciphered context: the InitiateRequest is ciphered
            server.event(events.UNDER_PROTECTED, sap, 'aarq initiate')
            return _reject(s, _DIAG_NO_REASON)
        init = ui

    def refuse(code):
        cse = xdlms.initiate_error(code)
        if kind is not None:
            try:
                cse = prot.seal(kind, keys, sc, cse)
            except ProtectionError:
                cse = None
        return _reject(s, _DIAG_NO_REASON, cse)

    try:
        ir = xdlms.parse_initiate_request(init)
    except xdlms.XdlmsError:
        return refuse(_INIT_OTHER)
    if ir.dlms_version < 6:
        return refuse(_INIT_VERSION_TOO_LOW)
    conformance = ir.conformance & server.conformance
    if not ciphered:
        conformance &= ~_GENERAL_PROTECTION
    if conformance & _SERVICES == 0:
        return refuse(_INIT_INCOMPATIBLE_CONFORMANCE)
    if ir.max_pdu < MIN_PDU:
        return refuse(_INIT_PDU_TOO_SHORT)
    dedicated = ir.dedicated_key
    if dedicated is not None and (kind is None or sc & 0x30 != security.SC_AUTH_ENC
                                  or len(dedicated) != prot.suite.KEY_LEN):
        return refuse(_INIT_OTHER)
    # authentication, pass 1
    failed = mech.pass1(s, req)
    if failed is not None:
        # a guess of the secret only where pass 1 checks it (LLS); a challenge mechanism tries
        # its secret at pass 3, so an unusable challenge is no guess (no lockout)
        server.auth_failed(sap, failed[1], mech.guessable and not mech.challenge)
        return _reject(s, failed[0])
    if (kind is not None or mech.challenge) and server.counter_exhausted(sap, s.protection.kc):
        return _reject(s, _DIAG_NO_REASON)
    # accepted
    s.clear()
    s.mechanism_obj = mech
    s.conformance = conformance
    s.client_max_pdu = ir.max_pdu
    prot.client_title = st
    if dedicated is not None:
        prot.set_dedicated(dedicated)
    resp = xdlms.build_initiate_response(conformance, server.max_pdu)
    if kind is not None:
        try:
            resp = prot.seal(kind, keys, sc, resp)
        except ProtectionError:       # no counter value could be reserved
            server.counter_exhausted(sap, s.protection.kc)
            return _reject(s, _DIAG_NO_REASON)
    if mech.challenge:
        s.ctos = bytes(req.auth_value)
        s.stoc = bytes(server.rng(max(server.challenge_length, mech.challenge_min)))
        s.assoc.event(am.AARQ_ACCEPTED_HLS)
        return _aare(s, cfg.context_id, _ACCEPTED, _DIAG_AUTHENTICATION_REQUIRED, _USER, resp,
                     mech.id, s.stoc, titled)
    s.assoc.event(am.AARQ_ACCEPTED)
    if mech.id != authentication.LOWEST:
        server.auth_succeeded(sap)
    return _aare(s, cfg.context_id, _ACCEPTED, _DIAG_NULL, _USER, resp, None, None, titled)


def rlrq(s, apdu):
    """The RLRE for an RLRQ on session `s`: a ciphered InitiateRequest in it must be as
    protected as an AARQ's, else the association stays (not-finished)."""
    try:
        reason, ui = acse.parse_rlrq(apdu)
    except acse.AcseError:
        s.server.event(events.MALFORMED, s.client_sap, 'rlrq')
        return acse.build_rlre(1)
    resp_ui = None
    if ui and s.assoc.state != am.NON_ASSOCIATED:
        try:
            env = security.unwrap(ui)
        except security.SecurityError:
            env = None
        if env is not None and s.context_id == CTX_LN_CIPHERED:
            if not initiate_protected(s, env, 'rlrq initiate'):
                return acse.build_rlre(1)     # not-finished: the association stays
            prot = s.protection
            try:
                keys, sc, init = prot.open(env)
            except ProtectionError as e:
                if e.event is not None:
                    s.server.event(e.event, s.client_sap, e.detail)
                return acse.build_rlre(1)
            try:
                xdlms.parse_initiate_request(init)
                resp_ui = prot.seal(env[0], keys, sc, xdlms.build_initiate_response(
                    s.conformance, s.server.max_pdu))
            except (xdlms.XdlmsError, ProtectionError):
                resp_ui = None
        elif env is None:
            resp_ui = xdlms.build_initiate_response(s.conformance, s.server.max_pdu)
    s.assoc.event(am.RELEASED)
    s.clear()
    return acse.build_rlre(0, resp_ui)

