# xDLMS APDUs of LN referencing (IEC 62056-5-3): InitiateRequest/Response, ConfirmedServiceError,
# exception-response, GET (normal, next, with-list), SET normal, ACTION normal.
# Owns: their byte layouts. Server-side perspective: requests are parsed into small objects,
# responses are built as bytes (result codes come from the caller: dlms.cosem.base). The invoke-id-and-priority byte is
# opaque and echoed. Decides nothing about access, state or ciphering. The client side (request
# builders, response parsers) is tests/vectors/dlms_client.py.
from dlms._compat import const
from dlms import axdr

# APDU tags and codes the server core uses (by these names, never as bare numbers); the rest of
# what this module needs is private (inlined by the compiler, nothing stored on a board). Every
# APDU tag, conformance bit and result code by name, for clients and tests:
# tests/vectors/dlms_client.py.
INITIATE_REQUEST = const(0x01)
_INITIATE_RESPONSE = const(0x08)
_CONFIRMED_SERVICE_ERROR = const(0x0E)
GET_REQUEST = const(0xC0)
SET_REQUEST = const(0xC1)
ACTION_REQUEST = const(0xC3)
_GET_RESPONSE = const(0xC4)
_SET_RESPONSE = const(0xC5)
EXCEPTION_RESPONSE = const(0xD8)
NORMAL = const(1)                 # request/response kinds: -normal, -next, -with-list
NEXT = const(2)
WITH_LIST = const(3)
_CSE_INITIATE_ERROR = const(1)    # ConfirmedServiceError initiateError
_SE_INITIATE = const(6)           # ServiceError initiate
_DLMS_VERSION = const(6)
_VAA_LN = const(0x0007)

# exception-response (D8): state-error, then service-error
SERVICE_NOT_ALLOWED = const(1)
SERVICE_UNKNOWN = const(2)
OPERATION_NOT_POSSIBLE = const(1)
SERVICE_NOT_SUPPORTED = const(2)
OTHER_REASON = const(3)
PDU_TOO_LONG = const(4)
DECIPHERING_ERROR = const(5)
INVOCATION_COUNTER_ERROR = const(6)


class XdlmsError(ValueError):
    """Malformed xDLMS APDU. `unsupported` is True when the APDU is well formed as far as read
    but asks for a variant this module does not implement (answer 'not supported', not 'bad')."""
    unsupported = False


class XdlmsUnsupported(XdlmsError):
    unsupported = True


# ---------------------------------------------------------------- reading helpers

def _need(buf, pos, n):
    if pos + n > len(buf):
        raise XdlmsError('truncated')


def _u8(buf, pos):
    _need(buf, pos, 1)
    return buf[pos], pos + 1


def _u16(buf, pos):
    _need(buf, pos, 2)
    return (buf[pos] << 8) | buf[pos + 1], pos + 2


def _u32(buf, pos):
    _need(buf, pos, 4)
    return (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3], pos + 4


def _s8(buf, pos):
    _need(buf, pos, 1)
    v = buf[pos]
    return (v - 256 if v > 127 else v), pos + 1


def _data(buf, pos):
    try:
        return axdr.decode(buf, pos)
    except axdr.AxdrError as e:
        raise XdlmsError('data: ' + str(e))


def _count(buf, pos):
    try:
        return axdr.decode_length(buf, pos)
    except axdr.AxdrError:
        raise XdlmsError('count')


def _descriptor(buf, pos):
    # class-id(u16) instance-id(6) attribute/method-id(i8)
    class_id, pos = _u16(buf, pos)
    _need(buf, pos, 6)
    instance = bytes(buf[pos:pos + 6])
    member, pos = _s8(buf, pos + 6)
    return class_id, instance, member, pos


def _selection(buf, pos):
    # access-selection OPTIONAL: 00 | 01 selector(u8) Data
    flag, pos = _u8(buf, pos)
    if flag == 0:
        return None, None, pos
    if flag != 1:
        raise XdlmsError('optional flag')
    selector, pos = _u8(buf, pos)
    params, pos = _data(buf, pos)
    return selector, params, pos


def _header(apdu, tag):
    # -> (kind, invoke_id, pos). Raises XdlmsError unless apdu starts with tag, kind, iid.
    if len(apdu) < 1 or apdu[0] != tag:
        raise XdlmsError('wrong apdu tag')
    if len(apdu) < 2:
        raise XdlmsError('truncated')
    kind = apdu[1]
    if len(apdu) < 3:
        raise XdlmsError('truncated')
    return kind, apdu[2], 3


def _end(buf, pos):
    if pos != len(buf):
        raise XdlmsError('trailing bytes')


# ---------------------------------------------------------------- writing helpers

def _check(v, lo, hi, what):
    if not isinstance(v, int) or v < lo or v > hi:
        raise XdlmsError(what)
    return v


def _put_u16(out, v):
    out.append(v >> 8)
    out.append(v & 0xFF)


def _put_u32(out, v):
    out.append(v >> 24)
    out.append((v >> 16) & 0xFF)
    out.append((v >> 8) & 0xFF)
    out.append(v & 0xFF)


def _put_conformance(out, conformance):
    _check(conformance, 0, 0xFFFFFF, 'conformance')
    out.extend(b'\x5F\x1F\x04\x00')
    out.append(conformance >> 16)
    out.append((conformance >> 8) & 0xFF)
    out.append(conformance & 0xFF)


# ---------------------------------------------------------------- Initiate

class InitiateRequest:
    def __init__(self):
        self.dedicated_key = None
        self.response_allowed = True
        self.proposed_qos = None
        self.dlms_version = None
        self.conformance = 0
        self.max_pdu = 0


def parse_initiate_request(buf):
    """InitiateRequest (the plain xDLMS APDU found in AARQ user-information, tag 01)."""
    if len(buf) < 1 or buf[0] != INITIATE_REQUEST:
        raise XdlmsError('not an InitiateRequest')
    r = InitiateRequest()
    flag, pos = _u8(buf, 1)
    if flag == 1:
        n, pos = _count(buf, pos)
        r.dedicated_key = bytes(buf[pos:pos + n])
        pos += n
    elif flag != 0:
        raise XdlmsError('optional flag')
    flag, pos = _u8(buf, pos)
    if flag == 1:
        v, pos = _u8(buf, pos)
        r.response_allowed = v != 0
    elif flag != 0:
        raise XdlmsError('optional flag')
    flag, pos = _u8(buf, pos)
    if flag == 1:
        r.proposed_qos, pos = _s8(buf, pos)
    elif flag != 0:
        raise XdlmsError('optional flag')
    r.dlms_version, pos = _u8(buf, pos)
    r.conformance, pos = _conformance(buf, pos)
    r.max_pdu, pos = _u16(buf, pos)
    _end(buf, pos)
    return r


def _conformance(buf, pos):
    # [APPLICATION 31] BIT STRING: 5F 1F 04 <unused bits> b0 b1 b2
    _need(buf, pos, 7)
    if buf[pos] != 0x5F or buf[pos + 1] != 0x1F or buf[pos + 2] != 0x04 or buf[pos + 3] > 7:
        raise XdlmsError('conformance')
    return (buf[pos + 4] << 16) | (buf[pos + 5] << 8) | buf[pos + 6], pos + 7


def build_initiate_response(conformance, max_pdu, vaa=_VAA_LN, qos=None):
    out = bytearray()
    out.append(_INITIATE_RESPONSE)
    if qos is None:
        out.append(0)
    else:
        out.append(1)
        out.append(_check(qos, -128, 127, 'qos') & 0xFF)
    out.append(_DLMS_VERSION)
    _put_conformance(out, conformance)
    _put_u16(out, _check(max_pdu, 0, 0xFFFF, 'max_pdu'))
    _put_u16(out, _check(vaa, 0, 0xFFFF, 'vaa'))
    return bytes(out)


def build_confirmed_service_error(service, error_class, code):
    """0E <ConfirmedServiceError choice> <ServiceError choice> <enum>."""
    return bytes((_CONFIRMED_SERVICE_ERROR, _check(service, 0, 255, 'service'),
                  _check(error_class, 0, 255, 'error class'), _check(code, 0, 255, 'code')))


def initiate_error(code):
    """ConfirmedServiceError initiateError / initiate: 0E 01 06 code."""
    return build_confirmed_service_error(_CSE_INITIATE_ERROR, _SE_INITIATE, code)


# ---------------------------------------------------------------- GET

class GetRequest:
    def __init__(self, kind, invoke_id):
        self.kind = kind
        self.invoke_id = invoke_id
        self.class_id = None
        self.instance = None
        self.attribute_id = None
        self.access_selector = None
        self.access_params = None
        self.block_number = None
        self.items = None


def parse_get_request(apdu):
    """C0 01 normal | C0 02 next | C0 03 with-list. Other kinds raise XdlmsUnsupported."""
    if len(apdu) == 13 and apdu[0] == GET_REQUEST and apdu[1] == NORMAL and apdu[12] == 0:
        # the form nearly every GET has (normal, no selective access), read in place: the
        # general way below makes a tuple per field, on every request
        r = GetRequest(NORMAL, apdu[2])
        r.class_id = (apdu[3] << 8) | apdu[4]
        r.instance = bytes(apdu[5:11])
        a = apdu[11]
        r.attribute_id = a - 256 if a > 127 else a
        return r
    return _parse_get(apdu)


def _parse_get(apdu):
    kind, iid, pos = _header(apdu, GET_REQUEST)
    r = GetRequest(kind, iid)
    if kind == NORMAL:
        r.class_id, r.instance, r.attribute_id, pos = _descriptor(apdu, pos)
        r.access_selector, r.access_params, pos = _selection(apdu, pos)
    elif kind == NEXT:
        r.block_number, pos = _u32(apdu, pos)
    elif kind == WITH_LIST:
        # SEQUENCE OF (attribute descriptor, access-selection OPTIONAL), interleaved per item
        n, pos = _count(apdu, pos)
        items = []
        for _ in range(n):
            class_id, instance, attr, pos = _descriptor(apdu, pos)
            sel, params, pos = _selection(apdu, pos)
            items.append((class_id, instance, attr, sel, params))
        r.items = items
    else:
        raise XdlmsUnsupported('get-request kind')
    _end(apdu, pos)
    return r


def get_response_normal_value(invoke_id, value):
    """C4 01 iid 00 and the A-XDR encoding of a typed value, made in one buffer (bytearray)."""
    out = bytearray(4)
    out[0] = _GET_RESPONSE
    out[1] = NORMAL
    out[2] = _check(invoke_id, 0, 255, 'invoke_id')
    axdr.encode(value, out)
    return out


def get_response_normal(invoke_id, data_bytes):
    """C4 01 iid 00 <A-XDR Data already encoded>."""
    return bytes((_GET_RESPONSE, NORMAL, _check(invoke_id, 0, 255, 'invoke_id'), 0)) + \
        data_bytes


def get_response_normal_error(invoke_id, dar):
    return bytes((_GET_RESPONSE, NORMAL, _check(invoke_id, 0, 255, 'invoke_id'), 1,
                  _check(dar, 0, 255, 'result')))


def _block_head(invoke_id, last, block_number):
    out = bytearray(b'\xC4\x02')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    out.append(1 if last else 0)
    _put_u32(out, _check(block_number, 0, 0xFFFFFFFF, 'block_number'))
    return out


def get_response_block(invoke_id, last, block_number, raw):
    """C4 02 iid last block-number(u32) 00 <length> raw."""
    out = _block_head(invoke_id, last, block_number)
    out.append(0)
    axdr.encode_length(len(raw), out)
    out.extend(raw)
    return bytes(out)


def get_response_block_error(invoke_id, last, block_number, dar):
    out = _block_head(invoke_id, last, block_number)
    out.append(1)
    out.append(_check(dar, 0, 255, 'result'))
    return bytes(out)


def get_response_with_list(invoke_id, results):
    """results: sequence of ('data', encoded Data bytes) or ('error', dar)."""
    out = bytearray(b'\xC4\x03')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    axdr.encode_length(len(results), out)
    for kind, v in results:
        if kind == 'data':
            out.append(0)
            out.extend(v)
        elif kind == 'error':
            out.append(1)
            out.append(_check(v, 0, 255, 'result'))
        else:
            raise XdlmsError('result kind')
    return bytes(out)


# ---------------------------------------------------------------- SET

class SetRequest:
    def __init__(self, kind, invoke_id):
        self.kind = kind
        self.invoke_id = invoke_id
        self.class_id = None
        self.instance = None
        self.attribute_id = None
        self.access_selector = None
        self.access_params = None
        self.value = None


def parse_set_request(apdu):
    """C1 01 only; the block and list variants raise XdlmsUnsupported."""
    kind, iid, pos = _header(apdu, SET_REQUEST)
    if kind != NORMAL:
        raise XdlmsUnsupported('set-request kind')
    r = SetRequest(kind, iid)
    r.class_id, r.instance, r.attribute_id, pos = _descriptor(apdu, pos)
    r.access_selector, r.access_params, pos = _selection(apdu, pos)
    r.value, pos = _data(apdu, pos)
    _end(apdu, pos)
    return r


def set_response_normal(invoke_id, dar):
    return bytes((_SET_RESPONSE, NORMAL, _check(invoke_id, 0, 255, 'invoke_id'),
                  _check(dar, 0, 255, 'result')))


# ---------------------------------------------------------------- ACTION

class ActionRequest:
    def __init__(self, kind, invoke_id):
        self.kind = kind
        self.invoke_id = invoke_id
        self.class_id = None
        self.instance = None
        self.method_id = None
        self.parameter = None


def parse_action_request(apdu):
    """C3 01 only; the block and list variants raise XdlmsUnsupported."""
    kind, iid, pos = _header(apdu, ACTION_REQUEST)
    if kind != NORMAL:
        raise XdlmsUnsupported('action-request kind')
    r = ActionRequest(kind, iid)
    r.class_id, r.instance, r.method_id, pos = _descriptor(apdu, pos)
    flag, pos = _u8(apdu, pos)
    if flag == 1:
        r.parameter, pos = _data(apdu, pos)
    elif flag != 0:
        raise XdlmsError('optional flag')
    _end(apdu, pos)
    return r


def action_response_normal(invoke_id, result, return_data=None):
    """C7 01 iid result 00, or C7 01 iid result 01 00 <encoded Data> with return data."""
    out = bytearray(b'\xC7\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    out.append(_check(result, 0, 255, 'result'))
    if return_data is None:
        out.append(0)
    else:
        out.append(1)
        out.append(0)
        out.extend(return_data)
    return bytes(out)


# ---------------------------------------------------------------- exception-response

def refusal(service_error, invocation_counter=None):
    """exception-response service-not-allowed with `service_error`."""
    return exception_response(SERVICE_NOT_ALLOWED, service_error, invocation_counter)


def exception_response(state_error, service_error, invocation_counter=None):
    """D8 state-error service-error [expected invocation counter, u32]."""
    out = bytearray()
    out.append(EXCEPTION_RESPONSE)
    out.append(_check(state_error, 1, 2, 'state error'))
    out.append(_check(service_error, 1, 6, 'service error'))
    if invocation_counter is not None:
        _put_u32(out, _check(invocation_counter, 0, 0xFFFFFFFF, 'invocation counter'))
    return bytes(out)
