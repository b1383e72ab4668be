# The client side of xDLMS and ACSE, for tests (the meter's lib/dlms/ is server side only, and
# keeps the numbers it needs private so that a board stores none of their names): the request
# builders and response parsers a client needs, and the specification's numbers by name (APDU
# tags, conformance bits, result codes, application contexts, mechanisms, diagnostics).
# Runs under CPython and MicroPython like the vector tests that import it.
from dlms import axdr
from dlms.acse import AcseError, _tlv, _outer, _inner, _oid_arc, _int_field, _oid
from dlms.acse import _field, _wrapped, _byte, _apdu, _build_release, _parse_release
from dlms.xdlms import XdlmsError, _u8, _u16, _s8, _end, _conformance, _check
from dlms.xdlms import _put_u16, _put_u32, _put_conformance

# ================================================================ xDLMS (IEC 62056-5-3)

# ---------------------------------------------------------------- APDU tags
INITIATE_REQUEST = 0x01
READ_REQUEST = 0x05
WRITE_REQUEST = 0x06
INITIATE_RESPONSE = 0x08
READ_RESPONSE = 0x0C
WRITE_RESPONSE = 0x0D
CONFIRMED_SERVICE_ERROR = 0x0E
DATA_NOTIFICATION = 0x0F
UNCONFIRMED_WRITE_REQUEST = 0x16
INFORMATION_REPORT_REQUEST = 0x18
GLO_INITIATE_REQUEST = 0x21
GLO_READ_REQUEST = 0x25
GLO_WRITE_REQUEST = 0x26
GLO_INITIATE_RESPONSE = 0x28
GLO_READ_RESPONSE = 0x2C
GLO_WRITE_RESPONSE = 0x2D
GLO_CONFIRMED_SERVICE_ERROR = 0x2E
DED_INITIATE_REQUEST = 0x41
DED_READ_REQUEST = 0x45
DED_WRITE_REQUEST = 0x46
DED_INITIATE_RESPONSE = 0x48
DED_READ_RESPONSE = 0x4C
DED_WRITE_RESPONSE = 0x4D
DED_CONFIRMED_SERVICE_ERROR = 0x4E
AARQ = 0x60
AARE = 0x61
RLRQ = 0x62
RLRE = 0x63
GET_REQUEST = 0xC0
SET_REQUEST = 0xC1
EVENT_NOTIFICATION_REQUEST = 0xC2
ACTION_REQUEST = 0xC3
GET_RESPONSE = 0xC4
SET_RESPONSE = 0xC5
ACTION_RESPONSE = 0xC7
GLO_GET_REQUEST = 0xC8
GLO_SET_REQUEST = 0xC9
GLO_EVENT_NOTIFICATION_REQUEST = 0xCA
GLO_ACTION_REQUEST = 0xCB
GLO_GET_RESPONSE = 0xCC
GLO_SET_RESPONSE = 0xCD
GLO_ACTION_RESPONSE = 0xCF
DED_GET_REQUEST = 0xD0
DED_SET_REQUEST = 0xD1
DED_EVENT_NOTIFICATION_REQUEST = 0xD2
DED_ACTION_REQUEST = 0xD3
DED_GET_RESPONSE = 0xD4
DED_SET_RESPONSE = 0xD5
DED_ACTION_RESPONSE = 0xD7
EXCEPTION_RESPONSE = 0xD8
ACCESS_REQUEST = 0xD9
ACCESS_RESPONSE = 0xDA
GENERAL_GLO_CIPHERING = 0xDB
GENERAL_DED_CIPHERING = 0xDC
GENERAL_CIPHERING = 0xDD
GENERAL_SIGNING = 0xDF
GENERAL_BLOCK_TRANSFER = 0xE0
GATEWAY_REQUEST = 0xE6
GATEWAY_RESPONSE = 0xE7

# request / response kinds (the CHOICE byte after the service tag)
NORMAL = 1
NEXT = 2           # get-request-next
WITH_LIST = 3      # get-request-with-list, get-response-with-list
WITH_DATABLOCK = 2  # get-response-with-datablock

# ---------------------------------------------------------------- conformance (24-bit values)
CONF_RESERVED_ZERO = 0x800000
CONF_GENERAL_PROTECTION = 0x400000
CONF_GENERAL_BLOCK_TRANSFER = 0x200000
CONF_READ = 0x100000
CONF_WRITE = 0x080000
CONF_UNCONFIRMED_WRITE = 0x040000
CONF_DELTA_VALUE_ENCODING = 0x020000
CONF_RESERVED_SEVEN = 0x010000
CONF_ATTRIBUTE0_SUPPORTED_WITH_SET = 0x008000
CONF_PRIORITY_MGMT_SUPPORTED = 0x004000
CONF_ATTRIBUTE0_SUPPORTED_WITH_GET = 0x002000
CONF_BLOCK_TRANSFER_WITH_GET_OR_READ = 0x001000
CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE = 0x000800
CONF_BLOCK_TRANSFER_WITH_ACTION = 0x000400
CONF_MULTIPLE_REFERENCES = 0x000200
CONF_INFORMATION_REPORT = 0x000100
CONF_DATA_NOTIFICATION = 0x000080
CONF_ACCESS = 0x000040
CONF_PARAMETERIZED_ACCESS = 0x000020
CONF_GET = 0x000010
CONF_SET = 0x000008
CONF_SELECTIVE_ACCESS = 0x000004
CONF_EVENT_NOTIFICATION = 0x000002
CONF_ACTION = 0x000001

# ---------------------------------------------------------------- ConfirmedServiceError
# ConfirmedServiceError CHOICE (the service that failed)
CSE_INITIATE_ERROR = 1
CSE_GET_STATUS = 2
CSE_GET_NAME_LIST = 3
CSE_GET_VARIABLE_ATTRIBUTE = 4
CSE_READ = 5
CSE_WRITE = 6
# ServiceError CHOICE (the error class); change-scope [8] is reserved
SE_APPLICATION_REFERENCE = 0
SE_HARDWARE_RESOURCE = 1
SE_VDE_STATE_ERROR = 2
SE_SERVICE = 3
SE_DEFINITION = 4
SE_ACCESS = 5
SE_INITIATE = 6
SE_LOAD_DATA_SET = 7
SE_TASK = 9
SE_OTHER = 10
# initiate error codes (ServiceError initiate [6])
INITIATE_ERROR_OTHER = 0
INITIATE_ERROR_DLMS_VERSION_TOO_LOW = 1
INITIATE_ERROR_INCOMPATIBLE_CONFORMANCE = 2
INITIATE_ERROR_PDU_SIZE_TOO_SHORT = 3
INITIATE_ERROR_REFUSED_BY_VDE_HANDLER = 4

# ------------------------------------------------------- Data-Access-Result / Action-Result
# Shared numbering; names without a service word serve both.
SUCCESS = 0
HARDWARE_FAULT = 1
TEMPORARY_FAILURE = 2
READ_WRITE_DENIED = 3
OBJECT_UNDEFINED = 4
OBJECT_CLASS_INCONSISTENT = 9
OBJECT_UNAVAILABLE = 11
TYPE_UNMATCHED = 12
SCOPE_OF_ACCESS_VIOLATED = 13
DATA_BLOCK_UNAVAILABLE = 14
LONG_GET_ABORTED = 15
NO_LONG_GET_IN_PROGRESS = 16
LONG_SET_ABORTED = 17
NO_LONG_SET_IN_PROGRESS = 18
DATA_BLOCK_NUMBER_INVALID = 19
LONG_ACTION_ABORTED = 15
NO_LONG_ACTION_IN_PROGRESS = 16
OTHER_REASON = 250

# ---------------------------------------------------------------- exception-response
# state-error
STATE_SERVICE_NOT_ALLOWED = 1
STATE_SERVICE_UNKNOWN = 2
SERVICE_NOT_ALLOWED = 1
SERVICE_UNKNOWN = 2
# service-error (note: other-reason here is 3, not the Data-Access-Result OTHER_REASON 250)
SERVICE_OPERATION_NOT_POSSIBLE = 1
SERVICE_SERVICE_NOT_SUPPORTED = 2
SERVICE_OTHER_REASON = 3
SERVICE_PDU_TOO_LONG = 4
SERVICE_DECIPHERING_ERROR = 5
SERVICE_INVOCATION_COUNTER_ERROR = 6
OPERATION_NOT_POSSIBLE = 1
SERVICE_NOT_SUPPORTED = 2
PDU_TOO_LONG = 4
DECIPHERING_ERROR = 5
INVOCATION_COUNTER_ERROR = 6

_DLMS_VERSION = 6


# ---------------------------------------------------------------- request builders

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


def build_set_request_normal(invoke_id, class_id, instance, attribute_id, value,
                             access_selector=None, access_params=None):
    """Client side, for tests."""
    out = bytearray(b'\xC1\x01')
    out.append(_check(invoke_id, 0, 255, 'invoke_id'))
    _put_descriptor(out, class_id, instance, attribute_id)
    _put_selection(out, access_selector, access_params)
    _put_data(out, value)
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


# ================================================================ ACSE

# application-context-name 2.16.756.5.8.1.N
LN = 1
SN = 2
LN_CIPHERING = 3
SN_CIPHERING = 4

# mechanism-name 2.16.756.5.8.2.N
LOWEST = 0
LLS = 1
HLS = 2
HLS_MD5 = 3
HLS_SHA1 = 4
HLS_GMAC = 5
HLS_SHA256 = 6
HLS_ECDSA = 7
MECHANISM_UNKNOWN = -1

# association-result
ACCEPTED = 0
REJECTED_PERMANENT = 1
REJECTED_TRANSIENT = 2

# result-source-diagnostic choice
SOURCE_USER = 1      # acse-service-user [1]
SOURCE_PROVIDER = 2  # acse-service-provider [2]

# acse-service-user diagnostics
DIAG_NULL = 0
DIAG_NO_REASON_GIVEN = 1
DIAG_APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
DIAG_CALLING_AP_TITLE_NOT_RECOGNIZED = 3
DIAG_CALLING_AP_INVOCATION_ID_NOT_RECOGNIZED = 4
DIAG_CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
DIAG_CALLING_AE_INVOCATION_ID_NOT_RECOGNIZED = 6
DIAG_CALLED_AP_TITLE_NOT_RECOGNIZED = 7
DIAG_CALLED_AP_INVOCATION_ID_NOT_RECOGNIZED = 8
DIAG_CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
DIAG_CALLED_AE_INVOCATION_ID_NOT_RECOGNIZED = 10
DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
DIAG_AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
DIAG_AUTHENTICATION_FAILURE = 13
DIAG_AUTHENTICATION_REQUIRED = 14

# acse-service-provider diagnostics
PROVIDER_NULL = 0
PROVIDER_NO_REASON_GIVEN = 1
PROVIDER_NO_COMMON_ACSE_VERSION = 2

# release-request / release-response reasons
RELEASE_NORMAL = 0
RELEASE_URGENT = 1         # RLRQ urgent / RLRE not-finished
RELEASE_NOT_FINISHED = 1
RELEASE_USER_DEFINED = 30

_ACN_ARC = 1
_MECH_ARC = 2


def build_aarq(context_id=LN, calling_ap_title=None, calling_ae_invocation_id=None,
               mechanism=None, auth_value=None, user_information=None, acse_requirements=None):
    """AARQ (client side, for tests). acse_requirements defaults to `mechanism is not None`."""
    if acse_requirements is None:
        acse_requirements = mechanism is not None
    b = bytearray()
    _wrapped(b, 0xA1, 0x06, _oid(_ACN_ARC, context_id))
    if calling_ap_title is not None:
        _wrapped(b, 0xA6, 0x04, calling_ap_title)
    if calling_ae_invocation_id is not None:
        _wrapped(b, 0xA9, 0x02, bytes((_byte(calling_ae_invocation_id, 'invocation id'),)))
    if acse_requirements:
        b.extend(b'\x8A\x02\x07\x80')
    if mechanism is not None:
        _field(b, 0x8B, _oid(_MECH_ARC, mechanism))
    if auth_value is not None:
        _wrapped(b, 0xAC, 0x80, auth_value)
    if user_information is not None:
        _wrapped(b, 0xBE, 0x04, user_information)
    return _apdu(AARQ, b)


class Aare:
    def __init__(self):
        self.context_id = None
        self.result = None
        self.diag_source = None
        self.diagnostic = None
        self.responding_ap_title = None
        self.mechanism = None
        self.auth_value = None
        self.user_information = None


def parse_aare(buf):
    pos, end = _outer(buf, AARE)
    a = Aare()
    while pos < end:
        tag, s, e = _tlv(buf, pos, end)
        pos = e
        if tag == 0xA1:
            s, e = _inner(buf, s, e, 0x06)
            a.context_id = _oid_arc(buf, s, e, _ACN_ARC)
        elif tag == 0xA2:
            a.result = _int_field(buf, s, e)
        elif tag == 0xA3:
            t, s, e = _tlv(buf, s, e)
            if t != 0xA1 and t != 0xA2:
                raise AcseError('diagnostic source')
            a.diag_source = t & 0x0F
            a.diagnostic = _int_field(buf, s, e)
        elif tag == 0xA4:
            s, e = _inner(buf, s, e, 0x04)
            a.responding_ap_title = bytes(buf[s:e])
        elif tag == 0x89:
            m = _oid_arc(buf, s, e, _MECH_ARC)
            a.mechanism = MECHANISM_UNKNOWN if m is None else m
        elif tag == 0xAA:
            t, s, e2 = _tlv(buf, s, e)
            if e2 != e:
                raise AcseError('authentication-value')
            a.auth_value = bytes(buf[s:e2])
        elif tag == 0xBE:
            s, e = _inner(buf, s, e, 0x04)
            a.user_information = bytes(buf[s:e])
    return a


def parse_rlre(buf):
    return _parse_release(buf, RLRE)


def build_rlrq(reason=RELEASE_NORMAL, user_information=None):
    return _build_release(RLRQ, reason, user_information)
