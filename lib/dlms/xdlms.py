# xDLMS APDUs of LN referencing (IEC 62056-5-3): InitiateRequest/Response, ConfirmedServiceError,
# exception-response, GET (normal, next, with-list), SET normal, ACTION normal.
# Owns: their byte layouts and the result-code numbers. Server-side perspective: requests are
# parsed into small objects, responses are built as bytes. The invoke-id-and-priority byte is
# opaque and echoed. Decides nothing about access, state or ciphering.
from dlms._compat import const
from dlms import axdr

# ---------------------------------------------------------------- APDU tags
INITIATE_REQUEST = const(0x01)
READ_REQUEST = const(0x05)
WRITE_REQUEST = const(0x06)
INITIATE_RESPONSE = const(0x08)
READ_RESPONSE = const(0x0C)
WRITE_RESPONSE = const(0x0D)
CONFIRMED_SERVICE_ERROR = const(0x0E)
DATA_NOTIFICATION = const(0x0F)
UNCONFIRMED_WRITE_REQUEST = const(0x16)
INFORMATION_REPORT_REQUEST = const(0x18)
GLO_INITIATE_REQUEST = const(0x21)
GLO_READ_REQUEST = const(0x25)
GLO_WRITE_REQUEST = const(0x26)
GLO_INITIATE_RESPONSE = const(0x28)
GLO_READ_RESPONSE = const(0x2C)
GLO_WRITE_RESPONSE = const(0x2D)
GLO_CONFIRMED_SERVICE_ERROR = const(0x2E)
DED_INITIATE_REQUEST = const(0x41)
DED_READ_REQUEST = const(0x45)
DED_WRITE_REQUEST = const(0x46)
DED_INITIATE_RESPONSE = const(0x48)
DED_READ_RESPONSE = const(0x4C)
DED_WRITE_RESPONSE = const(0x4D)
DED_CONFIRMED_SERVICE_ERROR = const(0x4E)
AARQ = const(0x60)
AARE = const(0x61)
RLRQ = const(0x62)
RLRE = const(0x63)
GET_REQUEST = const(0xC0)
SET_REQUEST = const(0xC1)
EVENT_NOTIFICATION_REQUEST = const(0xC2)
ACTION_REQUEST = const(0xC3)
GET_RESPONSE = const(0xC4)
SET_RESPONSE = const(0xC5)
ACTION_RESPONSE = const(0xC7)
GLO_GET_REQUEST = const(0xC8)
GLO_SET_REQUEST = const(0xC9)
GLO_EVENT_NOTIFICATION_REQUEST = const(0xCA)
GLO_ACTION_REQUEST = const(0xCB)
GLO_GET_RESPONSE = const(0xCC)
GLO_SET_RESPONSE = const(0xCD)
GLO_ACTION_RESPONSE = const(0xCF)
DED_GET_REQUEST = const(0xD0)
DED_SET_REQUEST = const(0xD1)
DED_EVENT_NOTIFICATION_REQUEST = const(0xD2)
DED_ACTION_REQUEST = const(0xD3)
DED_GET_RESPONSE = const(0xD4)
DED_SET_RESPONSE = const(0xD5)
DED_ACTION_RESPONSE = const(0xD7)
EXCEPTION_RESPONSE = const(0xD8)
ACCESS_REQUEST = const(0xD9)
ACCESS_RESPONSE = const(0xDA)
GENERAL_GLO_CIPHERING = const(0xDB)
GENERAL_DED_CIPHERING = const(0xDC)
GENERAL_CIPHERING = const(0xDD)
GENERAL_SIGNING = const(0xDF)
GENERAL_BLOCK_TRANSFER = const(0xE0)
GATEWAY_REQUEST = const(0xE6)
GATEWAY_RESPONSE = const(0xE7)

# request / response kinds (the CHOICE byte after the service tag)
NORMAL = const(1)
NEXT = const(2)           # get-request-next
WITH_LIST = const(3)      # get-request-with-list, get-response-with-list
WITH_DATABLOCK = const(2)  # get-response-with-datablock

# ---------------------------------------------------------------- conformance (24-bit values)
CONF_RESERVED_ZERO = const(0x800000)
CONF_GENERAL_PROTECTION = const(0x400000)
CONF_GENERAL_BLOCK_TRANSFER = const(0x200000)
CONF_READ = const(0x100000)
CONF_WRITE = const(0x080000)
CONF_UNCONFIRMED_WRITE = const(0x040000)
CONF_DELTA_VALUE_ENCODING = const(0x020000)
CONF_RESERVED_SEVEN = const(0x010000)
CONF_ATTRIBUTE0_SUPPORTED_WITH_SET = const(0x008000)
CONF_PRIORITY_MGMT_SUPPORTED = const(0x004000)
CONF_ATTRIBUTE0_SUPPORTED_WITH_GET = const(0x002000)
CONF_BLOCK_TRANSFER_WITH_GET_OR_READ = const(0x001000)
CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE = const(0x000800)
CONF_BLOCK_TRANSFER_WITH_ACTION = const(0x000400)
CONF_MULTIPLE_REFERENCES = const(0x000200)
CONF_INFORMATION_REPORT = const(0x000100)
CONF_DATA_NOTIFICATION = const(0x000080)
CONF_ACCESS = const(0x000040)
CONF_PARAMETERIZED_ACCESS = const(0x000020)
CONF_GET = const(0x000010)
CONF_SET = const(0x000008)
CONF_SELECTIVE_ACCESS = const(0x000004)
CONF_EVENT_NOTIFICATION = const(0x000002)
CONF_ACTION = const(0x000001)

# ---------------------------------------------------------------- ConfirmedServiceError
# ConfirmedServiceError CHOICE (the service that failed)
CSE_INITIATE_ERROR = const(1)
CSE_GET_STATUS = const(2)
CSE_GET_NAME_LIST = const(3)
CSE_GET_VARIABLE_ATTRIBUTE = const(4)
CSE_READ = const(5)
CSE_WRITE = const(6)
# ServiceError CHOICE (the error class); change-scope [8] is reserved
SE_APPLICATION_REFERENCE = const(0)
SE_HARDWARE_RESOURCE = const(1)
SE_VDE_STATE_ERROR = const(2)
SE_SERVICE = const(3)
SE_DEFINITION = const(4)
SE_ACCESS = const(5)
SE_INITIATE = const(6)
SE_LOAD_DATA_SET = const(7)
SE_TASK = const(9)
SE_OTHER = const(10)
# initiate error codes (ServiceError initiate [6])
INITIATE_ERROR_OTHER = const(0)
INITIATE_ERROR_DLMS_VERSION_TOO_LOW = const(1)
INITIATE_ERROR_INCOMPATIBLE_CONFORMANCE = const(2)
INITIATE_ERROR_PDU_SIZE_TOO_SHORT = const(3)
INITIATE_ERROR_REFUSED_BY_VDE_HANDLER = const(4)

# ------------------------------------------------------- Data-Access-Result / Action-Result
# Shared numbering; names without a service word serve both.
SUCCESS = const(0)
HARDWARE_FAULT = const(1)
TEMPORARY_FAILURE = const(2)
READ_WRITE_DENIED = const(3)
OBJECT_UNDEFINED = const(4)
OBJECT_CLASS_INCONSISTENT = const(9)
OBJECT_UNAVAILABLE = const(11)
TYPE_UNMATCHED = const(12)
SCOPE_OF_ACCESS_VIOLATED = const(13)
DATA_BLOCK_UNAVAILABLE = const(14)
LONG_GET_ABORTED = const(15)
NO_LONG_GET_IN_PROGRESS = const(16)
LONG_SET_ABORTED = const(17)
NO_LONG_SET_IN_PROGRESS = const(18)
DATA_BLOCK_NUMBER_INVALID = const(19)
LONG_ACTION_ABORTED = const(15)
NO_LONG_ACTION_IN_PROGRESS = const(16)
OTHER_REASON = const(250)

# ---------------------------------------------------------------- exception-response
# state-error
STATE_SERVICE_NOT_ALLOWED = const(1)
STATE_SERVICE_UNKNOWN = const(2)
SERVICE_NOT_ALLOWED = const(1)
SERVICE_UNKNOWN = const(2)
# service-error (note: other-reason here is 3, not the Data-Access-Result OTHER_REASON 250)
SERVICE_OPERATION_NOT_POSSIBLE = const(1)
SERVICE_SERVICE_NOT_SUPPORTED = const(2)
SERVICE_OTHER_REASON = const(3)
SERVICE_PDU_TOO_LONG = const(4)
SERVICE_DECIPHERING_ERROR = const(5)
SERVICE_INVOCATION_COUNTER_ERROR = const(6)
OPERATION_NOT_POSSIBLE = const(1)
SERVICE_NOT_SUPPORTED = const(2)
PDU_TOO_LONG = const(4)
DECIPHERING_ERROR = const(5)
INVOCATION_COUNTER_ERROR = const(6)

_DLMS_VERSION = const(6)
_VAA_LN = const(0x0007)


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


def _put_descriptor(out, class_id, instance, member):
    _put_u16(out, _check(class_id, 0, 0xFFFF, 'class_id'))
    if len(instance) != 6:
        raise XdlmsError('instance')
    out.extend(instance)
    out.append(_check(member, -128, 127, 'attribute/method id') & 0xFF)


def _put_selection(out, selector, params):
    if selector is None:
        out.append(0)
        return
    out.append(1)
    out.append(_check(selector, 0, 255, 'selector'))
    _put_data(out, params)


def _put_data(out, v):
    try:
        axdr.encode(v, out)
    except axdr.AxdrError as e:
        raise XdlmsError('data: ' + str(e))


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
    out.append(INITIATE_RESPONSE)
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


def build_initiate_request(conformance, max_pdu, dedicated_key=None, response_allowed=True,
                           qos=None, dlms_version=_DLMS_VERSION):
    """Client side, for tests."""
    out = bytearray()
    out.append(INITIATE_REQUEST)
    if dedicated_key is None:
        out.append(0)
    else:
        out.append(1)
        axdr.encode_length(len(dedicated_key), out)
        out.extend(dedicated_key)
    if response_allowed:
        out.append(0)  # DEFAULT TRUE is conveyed by absence
    else:
        out.extend(b'\x01\x00')
    if qos is None:
        out.append(0)
    else:
        out.append(1)
        out.append(_check(qos, -128, 127, 'qos') & 0xFF)
    out.append(_check(dlms_version, 0, 255, 'dlms_version'))
    _put_conformance(out, conformance)
    _put_u16(out, _check(max_pdu, 0, 0xFFFF, 'max_pdu'))
    return bytes(out)


class InitiateResponse:
    def __init__(self):
        self.qos = None
        self.dlms_version = None
        self.conformance = 0
        self.max_pdu = 0
        self.vaa = None


def parse_initiate_response(buf):
    """Client side, for tests."""
    if len(buf) < 1 or buf[0] != INITIATE_RESPONSE:
        raise XdlmsError('not an InitiateResponse')
    r = InitiateResponse()
    flag, pos = _u8(buf, 1)
    if flag == 1:
        r.qos, pos = _s8(buf, pos)
    elif flag != 0:
        raise XdlmsError('optional flag')
    r.dlms_version, pos = _u8(buf, pos)
    r.conformance, pos = _conformance(buf, pos)
    r.max_pdu, pos = _u16(buf, pos)
    r.vaa, pos = _u16(buf, pos)
    _end(buf, pos)
    return r


def build_confirmed_service_error(service, error_class, code):
    """0E <ConfirmedServiceError choice> <ServiceError choice> <enum>."""
    return bytes((CONFIRMED_SERVICE_ERROR, _check(service, 0, 255, 'service'),
                  _check(error_class, 0, 255, 'error class'), _check(code, 0, 255, 'code')))


def initiate_error(code):
    """ConfirmedServiceError initiateError / initiate: 0E 01 06 code."""
    return build_confirmed_service_error(CSE_INITIATE_ERROR, SE_INITIATE, code)


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


def get_response_normal(invoke_id, data_bytes):
    """C4 01 iid 00 <A-XDR Data already encoded>."""
    out = bytearray(b'\xC4\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    out.append(0)
    out.extend(data_bytes)
    return bytes(out)


def get_response_normal_error(invoke_id, dar):
    return bytes((GET_RESPONSE, NORMAL, _check(invoke_id, 0, 255, 'invoke_id'), 1,
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


def build_get_request_normal(invoke_id, class_id, instance, attribute_id, access_selector=None,
                             access_params=None):
    """Client side, for tests."""
    out = bytearray(b'\xC0\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    _put_descriptor(out, class_id, instance, attribute_id)
    _put_selection(out, access_selector, access_params)
    return bytes(out)


def build_get_request_next(invoke_id, block_number):
    out = bytearray(b'\xC0\x02')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    _put_u32(out, _check(block_number, 0, 0xFFFFFFFF, 'block_number'))
    return bytes(out)


def build_get_request_with_list(invoke_id, items):
    """items: (class_id, instance, attribute_id, access_selector, access_params) tuples."""
    out = bytearray(b'\xC0\x03')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    axdr.encode_length(len(items), out)
    for class_id, instance, attr, sel, params in items:
        _put_descriptor(out, class_id, instance, attr)
        _put_selection(out, sel, params)
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
    return bytes((SET_RESPONSE, NORMAL, _check(invoke_id, 0, 255, 'invoke_id'),
                  _check(dar, 0, 255, 'result')))


def build_set_request_normal(invoke_id, class_id, instance, attribute_id, value,
                             access_selector=None, access_params=None):
    """Client side, for tests."""
    out = bytearray(b'\xC1\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    _put_descriptor(out, class_id, instance, attribute_id)
    _put_selection(out, access_selector, access_params)
    _put_data(out, value)
    return bytes(out)


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


def build_action_request_normal(invoke_id, class_id, instance, method_id, parameter=None):
    """Client side, for tests. parameter is a typed value or None."""
    out = bytearray(b'\xC3\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    _put_descriptor(out, class_id, instance, method_id)
    if parameter is None:
        out.append(0)
    else:
        out.append(1)
        _put_data(out, parameter)
    return bytes(out)


# ---------------------------------------------------------------- exception-response

def exception_response(state_error, service_error, invocation_counter=None):
    """D8 state-error service-error [expected invocation counter, u32]."""
    out = bytearray()
    out.append(EXCEPTION_RESPONSE)
    out.append(_check(state_error, 1, 2, 'state error'))
    out.append(_check(service_error, 1, 6, 'service error'))
    if invocation_counter is not None:
        _put_u32(out, _check(invocation_counter, 0, 0xFFFFFFFF, 'invocation counter'))
    return bytes(out)
