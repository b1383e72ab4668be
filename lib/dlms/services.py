# The xDLMS services of an association (IEC 62056-5-3, LN referencing): GET (normal, next,
# with-list), SET normal, ACTION normal, the block transfer of a long GET, and the access-rights
# check every request passes (rights of the attribute or method, and the request protection
# they and the security policy ask for). A pending association (HLS pass 2 sent) may only send
# its HLS reply: anything else aborts it; the reply itself goes to dlms/authentication.py.
# Takes plain APDUs (already deciphered) and the protection they came with; gives plain APDUs.
# Knows nothing of ciphering or transports.
from dlms._compat import const
from dlms import authentication, axdr, events, xdlms
from dlms import association as am
from dlms.cosem import base as cb
from dlms.xdlms import GET_REQUEST, SET_REQUEST, ACTION_REQUEST, NORMAL, NEXT

# conformance bits (24-bit value of the BIT STRING)
_BLOCK_TRANSFER_WITH_GET = const(0x001000)
_CONF_GET = const(0x000010)
_CONF_SET = const(0x000008)
_CONF_ACTION = const(0x000001)

_BLOCK_HEADER = const(12)    # C4 02 iid last block-number(4) choice length(<=3)
# data-access-results of a long GET
_LONG_GET_ABORTED = const(15)
_NO_LONG_GET_IN_PROGRESS = const(16)
_REQUEST_BITS = const(0x1C)  # cb.AUTH_REQUEST | cb.ENC_REQUEST | cb.SIGNED_REQUEST
_SIGNED = const(0x10)        # cb.SIGNED_REQUEST


class LongGet:
    """A GET answered in blocks: the encoded result, the block size, the blocks sent, and
    `need`: the request protection of its first request with what every attribute in it asks
    for. A continuation with less is refused (read-write-denied, the transfer ends), so every
    block is protected at least as the first one was and as the policy and the rights require."""

    def __init__(self, raw, size, need):
        self.raw = raw
        self.size = size
        self.sent = 0
        self.need = need


def serve(s, apdu, protection, overhead=0):
    """The response to one plain request APDU of session `s`, given the protection it came with
    (AUTH_REQUEST / ENC_REQUEST bits) and the bytes ciphering will add to the response."""
    tag = apdu[0]
    svc = need = 0
    if tag == GET_REQUEST:
        svc, need = am.SVC_GET, _CONF_GET
    elif tag == SET_REQUEST:
        svc, need = am.SVC_SET, _CONF_SET
    elif tag == ACTION_REQUEST:
        svc, need = am.SVC_ACTION, _CONF_ACTION
    pending = s.assoc.state == am.PENDING
    if pending and svc == am.SVC_ACTION:
        svc = am.SVC_HLS_REPLY
    if not svc or not s.assoc.allows(svc):
        if pending:
            return abort(s, 'service')      # until pass 4 only the HLS reply may come
        if not svc:
            return xdlms.exception_response(xdlms.SERVICE_UNKNOWN, xdlms.SERVICE_NOT_SUPPORTED)
        return xdlms.refusal(xdlms.OPERATION_NOT_POSSIBLE)
    if not s.conformance & need:
        return xdlms.refusal(xdlms.SERVICE_NOT_SUPPORTED)
    try:
        if svc == am.SVC_GET:
            return _get(s, apdu, protection, overhead)
        if svc == am.SVC_SET:
            return _set(s, apdu, protection)
        return _action(s, apdu, protection)
    except (xdlms.XdlmsError, axdr.AxdrError) as e:
        if pending:
            return abort(s, 'malformed')
        if getattr(e, 'unsupported', False):
            return xdlms.exception_response(xdlms.SERVICE_UNKNOWN, xdlms.SERVICE_NOT_SUPPORTED)
        s.server.event(events.MALFORMED, s.client_sap, 'xdlms')
        return xdlms.refusal(xdlms.OTHER_REASON)


def abort(s, detail):
    """A pending association sent what it may not send yet: it ends here, not kept open for
    more (each attempt would be another event in the log)."""
    s.server.event(events.ABORTED, s.client_sap, detail)
    s.assoc.event(am.ABORTED)
    s.clear()
    return xdlms.refusal(xdlms.OPERATION_NOT_POSSIBLE)


# ---- access rights ----

def _need(s, mode):
    # the request protection an access mode asks for under this association's policy (as the
    # session read it for this request)
    return (mode | s.policy) & _REQUEST_BITS


def _lookup(s, class_id, ln):
    entry = s.cfg.grant(ln) if s.cfg is not None else None
    if entry is None:
        return None, cb.OBJECT_UNDEFINED
    if entry[0].class_id != class_id:
        return None, cb.OBJECT_CLASS_INCONSISTENT
    return entry, 0


def target(s, class_id, ln, index, methods, right, protection):
    """(object, 0) when attribute (or method) `index` of the object may be used with `right`
    under this request's protection; else (None, the result code to answer)."""
    entry, err = _lookup(s, class_id, ln)
    if entry is None:
        return None, err
    modes = entry[2] if methods else entry[1]
    if index < 1 or index > len(modes):
        return None, cb.OBJECT_UNDEFINED
    mode = modes[index - 1]
    if not mode & right:
        return None, cb.READ_WRITE_DENIED
    need = _need(s, mode)
    if protection & need != need:
        return None, cb.READ_WRITE_DENIED
    return entry[0], 0


def _read(s, class_id, ln, attr, selector, params, protection):
    obj, err = target(s, class_id, ln, attr, False, cb.READ, protection)
    if obj is None:
        return err
    return obj.get(attr, s.view, selector, params)


def _read_need(s, class_id, ln, attr):
    # the protection an attribute that was just read asks for (its entry exists)
    return _need(s, _lookup(s, class_id, ln)[0][1][attr - 1])


# ---- GET ----

def _get(s, apdu, protection, overhead):
    req = xdlms.parse_get_request(apdu)
    iid = req.invoke_id
    if req.kind == NEXT:
        return _get_next(s, iid, req.block_number, protection)
    s.long_get = None             # a new GET abandons any unfinished long GET
    if req.kind == NORMAL:
        v = _read(s, req.class_id, req.instance, req.attribute_id, req.access_selector,
                  req.access_params, protection)
        if isinstance(v, int):
            return xdlms.get_response_normal_error(iid, v)
        resp = xdlms.get_response_normal_value(iid, v)   # C4 01 iid 00, then the data
        if len(resp) + overhead <= s.client_max_pdu:
            return resp
        need = _read_need(s, req.class_id, req.instance, req.attribute_id)
        return _start_long_get(s, iid, memoryview(resp)[4:], overhead, need | protection)
    results = []
    need = protection
    for item in req.items:
        v = _read(s, item[0], item[1], item[2], item[3], item[4], protection)
        if isinstance(v, int):
            results.append(('error', v))
        else:
            results.append(('data', axdr.to_bytes(v)))
            need |= _read_need(s, item[0], item[1], item[2])
    resp = xdlms.get_response_with_list(iid, results)
    if len(resp) + overhead <= s.client_max_pdu:
        return resp
    return _start_long_get(s, iid, resp[3:], overhead, need)


def _start_long_get(s, iid, raw, overhead, need):
    if not s.conformance & _BLOCK_TRANSFER_WITH_GET:
        return xdlms.get_response_normal_error(iid, cb.OTHER_REASON)
    s.long_get = LongGet(raw, s.client_max_pdu - overhead - _BLOCK_HEADER, need)
    return _next_block(s, iid)


def _next_block(s, iid):
    lg = s.long_get
    start = lg.sent * lg.size
    end = start + lg.size
    last = end >= len(lg.raw)
    lg.sent += 1
    if last:
        s.long_get = None
    return xdlms.get_response_block(iid, last, lg.sent, lg.raw[start:end])


def _get_next(s, iid, block_number, protection):
    lg = s.long_get
    if lg is None:
        return xdlms.get_response_block_error(iid, True, block_number, _NO_LONG_GET_IN_PROGRESS)
    if protection & lg.need != lg.need:
        s.long_get = None
        s.server.event(events.UNDER_PROTECTED, s.client_sap, 'get-next')
        return xdlms.get_response_block_error(iid, True, block_number, cb.READ_WRITE_DENIED)
    if block_number != lg.sent:
        s.long_get = None
        return xdlms.get_response_block_error(iid, True, block_number, _LONG_GET_ABORTED)
    return _next_block(s, iid)


# ---- SET, ACTION ----

def _set(s, apdu, protection):
    req = xdlms.parse_set_request(apdu)
    attr = req.attribute_id
    obj, dar = target(s, req.class_id, req.instance, attr, False, cb.WRITE, protection)
    if obj is not None:
        dar = obj.set(attr, req.value, s.view, req.access_selector, req.access_params)
    return xdlms.set_response_normal(req.invoke_id, dar)


def _action(s, apdu, protection):
    req = xdlms.parse_action_request(apdu)
    m = req.method_id
    pending = s.assoc.state == am.PENDING
    if pending and not authentication.is_reply(req):
        return abort(s, 'service')
    if pending:
        # the HLS reply completes the association: the policy's digitally-signed-request bit
        # (0x10, suites 1/2) is for the services of an association, which general-signing can
        # only carry once it stands (an HLS-ECDSA pass 3 is a signature itself)
        protection |= _SIGNED
    obj, err = target(s, req.class_id, req.instance, m, True, cb.INVOKE, protection)
    if pending:
        if obj is None:                 # the reply without the right or the protection
            s.assoc.event(am.HLS_FAILED)
            s.server.auth_failed(s.client_sap, 'hls pass 3', s.mechanism_obj.guessable)
            return xdlms.action_response_normal(req.invoke_id, err)
        return authentication.reply(s, req)
    if obj is None:
        return xdlms.action_response_normal(req.invoke_id, err)
    result, ret = obj.action(m, req.parameter, s.view)
    data = axdr.to_bytes(ret) if ret is not None else None
    return xdlms.action_response_normal(req.invoke_id, result, data)
