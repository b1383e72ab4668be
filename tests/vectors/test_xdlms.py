# xDLMS APDUs: InitiateRequest/Response (shared/reference/dlms-security.md §2.2, §2.3, §7.2,
# §7.5), the get-request of §7, the HLS pass-3/4 ACTION vectors of §4.1 and §7.3, the
# key-transfer ACTION of §7.4, GET/SET/ACTION response layouts, exception-response, and
# malformed input.

from dlms import axdr, xdlms
import dlms_client as client
from vector_rng import Rng
from vector_util import h as _h, raised


def _raises(fn, *args):
    return raised(xdlms.XdlmsError, fn, *args) is not None


def _error(fn, *args):
    try:
        fn(*args)
    except xdlms.XdlmsError as e:
        return e
    return None


CLOCK = _h('0000010000FF')
ASSOCIATION = _h('0000280000FF')

INIT_REQ = _h('01000000065F1F0400007E1F04B0')
INIT_REQ_KEY = _h('01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0')
INIT_REQ_FFFF = _h('01000000065F1F0400001E1DFFFF')
INIT_RESP = _h('0800065F1F040000501F01F40007')
INIT_RESP_QOS = _h('080100065F1F0400001E1D04C80007')
INIT_RESP_DECRYPTED = _h('0800065F1F0400007C1F04000007')  # §7.5 glo-initiateResponse, decrypted

GET_CLOCK_TIME = _h('C0 01 00 00 08 00 00 01 00 00 FF 02 00')

# §4.1 Kaifa capture
KAIFA_REQ = _h('c301c1000f0000280000ff0101091110012345677d52391c407e3a45210f000e')
KAIFA_RESP = _h('c701c10001000911101a9190bc0a587217bcd2bcd4fddb7143')
# §7.3 derived pass 3 / pass 4
PASS3_REQ = _h('C301C1000F0000280000FF0101091110000000011A52FE7DD3E72748973C1E28')
PASS4_RESP = _h('C701C100010009111001234567FE1466AFB3DBCD4F9389E2B7')
F_STOC = _h('10000000011A52FE7DD3E72748973C1E28')
F_CTOS = _h('1001234567FE1466AFB3DBCD4F9389E2B7')
# §7.4 derived key_transfer
KEY_TRANSFER = _h('C301C1004000002B0000FF020101010202160009181FA68B0A8112B447AEF34BD8FB5A7B829D3E86'
                  '2371D2CFE5')


# ---------------------------------------------------------------- Initiate

def test_initiate_request_without_key_parses():
    r = xdlms.parse_initiate_request(INIT_REQ)
    assert r.dedicated_key is None
    assert r.response_allowed is True
    assert r.proposed_qos is None
    assert r.dlms_version == 6
    assert r.conformance == 0x007E1F
    assert r.max_pdu == 1200


def test_initiate_request_with_dedicated_key_parses():
    r = xdlms.parse_initiate_request(INIT_REQ_KEY)
    assert r.dedicated_key == _h('00112233445566778899AABBCCDDEEFF')
    assert r.conformance == 0x007E1F
    assert r.max_pdu == 1200


def test_initiate_request_with_max_pdu_ffff_parses():
    r = xdlms.parse_initiate_request(INIT_REQ_FFFF)
    assert (r.conformance, r.max_pdu) == (0x001E1D, 0xFFFF)


def test_initiate_request_optional_response_allowed_and_qos_parse():
    r = xdlms.parse_initiate_request(_h('01 00 01 00 01 05 06 5F1F0400007E1F 04B0'))
    assert r.response_allowed is False
    assert r.proposed_qos == 5
    r = xdlms.parse_initiate_request(_h('01 00 01 01 01 FF 06 5F1F0400007E1F 04B0'))
    assert r.response_allowed is True
    assert r.proposed_qos == -1


def test_build_initiate_request_reproduces_the_published_requests():
    assert client.build_initiate_request(0x007E1F, 1200) == INIT_REQ
    assert client.build_initiate_request(
        0x007E1F, 1200, dedicated_key=_h('00112233445566778899AABBCCDDEEFF')) == INIT_REQ_KEY
    r = xdlms.parse_initiate_request(
        client.build_initiate_request(0x1E1D, 512, response_allowed=False, qos=3, dlms_version=5))
    assert (r.response_allowed, r.proposed_qos, r.dlms_version, r.max_pdu) == (False, 3, 5, 512)


def test_build_initiate_response_reproduces_the_published_responses():
    assert xdlms.build_initiate_response(0x00501F, 500) == INIT_RESP
    assert xdlms.build_initiate_response(0x001E1D, 1224, qos=0) == INIT_RESP_QOS
    assert xdlms.build_initiate_response(0x007C1F, 1024) == INIT_RESP_DECRYPTED
    assert xdlms.build_initiate_response(0x00501F, 500, vaa=0xFA00)[-2:] == _h('FA00')


def test_parse_initiate_response():
    r = client.parse_initiate_response(INIT_RESP_QOS)
    assert (r.qos, r.dlms_version, r.conformance, r.max_pdu, r.vaa) == (0, 6, 0x1E1D, 1224, 7)


def test_initiate_error_matches_the_aare_user_information():
    assert xdlms.initiate_error(client.INITIATE_ERROR_DLMS_VERSION_TOO_LOW) == _h('0E010601')
    assert xdlms.build_confirmed_service_error(client.CSE_INITIATE_ERROR, client.SE_INITIATE,
                                               client.INITIATE_ERROR_PDU_SIZE_TOO_SHORT) == \
        _h('0E010603')
    assert xdlms.build_confirmed_service_error(client.CSE_READ, client.SE_SERVICE, 2) == \
        _h('0E050302')


def test_malformed_initiate_requests_raise():
    assert _raises(xdlms.parse_initiate_request, INIT_REQ + b'\x00')           # trailing
    assert _raises(xdlms.parse_initiate_request, _h('21') + INIT_REQ[1:])      # wrong tag
    assert _raises(xdlms.parse_initiate_request, _h('01 02') + INIT_REQ[2:])   # bad flag
    assert _raises(xdlms.parse_initiate_request, _h('01000000065F1E0400007E1F04B0'))
    assert _raises(xdlms.parse_initiate_request, _h('01000000065F1F0300007E1F04B0'))
    assert _raises(xdlms.parse_initiate_request, _h('0101FF00'))              # key too long


def test_conformance_constants_have_the_reference_values():
    c = xdlms.parse_initiate_request(INIT_REQ).conformance
    want = (client.CONF_PRIORITY_MGMT_SUPPORTED | client.CONF_ATTRIBUTE0_SUPPORTED_WITH_GET
            | client.CONF_BLOCK_TRANSFER_WITH_GET_OR_READ
            | client.CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | client.CONF_BLOCK_TRANSFER_WITH_ACTION
            | client.CONF_MULTIPLE_REFERENCES | client.CONF_GET | client.CONF_SET
            | client.CONF_SELECTIVE_ACCESS | client.CONF_EVENT_NOTIFICATION | client.CONF_ACTION)
    assert c == want
    assert client.CONF_GENERAL_PROTECTION == 0x400000
    assert client.CONF_GENERAL_BLOCK_TRANSFER == 0x200000


# ---------------------------------------------------------------- GET

def test_get_request_normal_of_the_clock_parses():
    r = xdlms.parse_get_request(GET_CLOCK_TIME)
    assert r.kind == 1
    assert r.invoke_id == 0
    assert r.class_id == 8
    assert r.instance == CLOCK
    assert r.attribute_id == 2
    assert r.access_selector is None and r.access_params is None
    assert client.build_get_request_normal(0, 8, CLOCK, 2) == GET_CLOCK_TIME


def test_invoke_id_and_priority_byte_is_kept_whole():
    r = xdlms.parse_get_request(_h('C0 01 C1 0008 0000010000FF 02 00'))
    assert r.invoke_id == 0xC1
    assert xdlms.get_response_normal(r.invoke_id, _h('1200B4'))[2] == 0xC1


def test_negative_attribute_id_parses_signed():
    assert xdlms.parse_get_request(_h('C0 01 81 0001 0000600100FF FF 00')).attribute_id == -1


def test_get_request_with_selective_access_parses():
    # profile generic buffer, entry descriptor (selector 2): from 1 to 10, all columns
    params = axdr.structure(axdr.u32(1), axdr.u32(10), axdr.u16(1), axdr.u16(0))
    buf = client.build_get_request_normal(0xC1, 7, _h('0100630100FF'), 2, 2, params)
    assert buf == _h('C001C1 0007 0100630100FF 02 01 02 0204 0600000001 060000000A 120001 120000')
    r = xdlms.parse_get_request(buf)
    assert (r.class_id, r.instance, r.attribute_id) == (7, _h('0100630100FF'), 2)
    assert r.access_selector == 2
    assert r.access_params == params


def test_get_request_next_parses():
    buf = _h('C0 02 C1 00000002')
    r = xdlms.parse_get_request(buf)
    assert (r.kind, r.invoke_id, r.block_number) == (2, 0xC1, 2)
    assert client.build_get_request_next(0xC1, 2) == buf


def test_get_request_with_list_interleaves_descriptor_and_selection():
    buf = _h('C0 03 C1 02  0008 0000010000FF 02 00  0003 0100010800FF 02 01 01 0F05')
    r = xdlms.parse_get_request(buf)
    assert (r.kind, r.invoke_id) == (3, 0xC1)
    assert r.items == [(8, CLOCK, 2, None, None),
                       (3, _h('0100010800FF'), 2, 1, (axdr.INTEGER, 5))]
    assert client.build_get_request_with_list(0xC1, r.items) == buf


def test_unknown_get_request_kind_is_unsupported_not_malformed():
    for kind in (0, 4, 0xFF):
        e = _error(xdlms.parse_get_request, bytes((0xC0, kind, 0xC1)) + bytes(12))
        assert e is not None and e.unsupported is True, kind


def test_malformed_get_request_is_not_flagged_unsupported():
    for buf in (_h('C0'), _h('C001C1 0008'), GET_CLOCK_TIME + b'\x00',
                _h('C1') + GET_CLOCK_TIME[1:],
                _h('C0 01 00 0008 0000010000FF 02 02'),
                _h('C0 01 00 0008 0000010000FF 02 01 01 63'),
                _h('C0 03 C1 05 0008 0000010000FF 02 00')):
        e = _error(xdlms.parse_get_request, buf)
        assert e is not None and e.unsupported is False


def test_get_response_normal_with_data():
    data = axdr.to_bytes(axdr.octets(_h('07E50C1F05173B3B00800000')))
    assert xdlms.get_response_normal(0xC1, data) == _h('C401C100 090C07E50C1F05173B3B00800000')


def test_get_response_normal_with_error():
    assert xdlms.get_response_normal_error(0xC1, client.OBJECT_UNDEFINED) == _h('C401C10104')


def test_get_response_with_datablock():
    assert xdlms.get_response_block(0xC1, False, 1, _h('0102')) == \
        _h('C402C1 00 00000001 00 02 0102')
    assert xdlms.get_response_block(0xC1, True, 0x10203, bytes(200))[0:11] == \
        _h('C402C1 01 00010203 00 81C8')
    assert xdlms.get_response_block_error(0xC1, True, 3, client.DATA_BLOCK_NUMBER_INVALID) == \
        _h('C402C1 01 00000003 01 13')


def test_get_response_with_list():
    got = xdlms.get_response_with_list(0xC1, [('data', _h('1204B0')),
                                              ('error', client.READ_WRITE_DENIED)])
    assert got == _h('C403C1 02 00 1204B0 01 03')


# ---------------------------------------------------------------- SET

def test_set_request_normal_parses_value():
    buf = _h('C1 01 C1 0008 0000010000FF 03 00 10 FFC4')
    r = xdlms.parse_set_request(buf)
    assert (r.kind, r.invoke_id, r.class_id, r.instance, r.attribute_id) == (1, 0xC1, 8, CLOCK, 3)
    assert r.access_selector is None
    assert r.value == (axdr.LONG, -60)
    assert client.build_set_request_normal(0xC1, 8, CLOCK, 3, axdr.i16(-60)) == buf


def test_set_request_with_selection_parses():
    buf = client.build_set_request_normal(0x41, 1, _h('0000600100FF'), 2, axdr.octets(b'x'), 1,
                                         axdr.null())
    assert buf == _h('C1 01 41 0001 0000600100FF 02 01 01 00 09 01 78')
    r = xdlms.parse_set_request(buf)
    assert (r.access_selector, r.access_params, r.value) == (1, (0, None), (9, b'x'))


def test_set_request_block_and_list_kinds_are_unsupported():
    for kind in (2, 3, 4, 5, 9):
        e = _error(xdlms.parse_set_request, bytes((0xC1, kind, 0xC1, 0, 0, 0, 0, 0)))
        assert e is not None and e.unsupported is True, kind


def test_set_request_without_value_is_malformed():
    e = _error(xdlms.parse_set_request, _h('C1 01 C1 0008 0000010000FF 03 00'))
    assert e is not None and e.unsupported is False


def test_set_response_normal():
    assert xdlms.set_response_normal(0xC1, client.SUCCESS) == _h('C501C100')
    assert xdlms.set_response_normal(0xC1, client.TYPE_UNMATCHED) == _h('C501C10C')


# ---------------------------------------------------------------- ACTION

def test_hls_pass3_action_request_of_the_kaifa_capture_parses():
    r = xdlms.parse_action_request(KAIFA_REQ)
    assert (r.kind, r.invoke_id, r.class_id, r.instance, r.method_id) == \
        (1, 0xC1, 15, ASSOCIATION, 1)
    assert r.parameter == (axdr.OCTET_STRING, KAIFA_REQ[-17:])
    assert client.build_action_request_normal(0xC1, 15, ASSOCIATION, 1, r.parameter) == KAIFA_REQ


def test_hls_pass3_derived_action_request_parses():
    r = xdlms.parse_action_request(PASS3_REQ)
    assert (r.class_id, r.instance, r.method_id) == (15, ASSOCIATION, 1)
    assert r.parameter == (axdr.OCTET_STRING, F_STOC)


def test_hls_pass4_action_responses_build_byte_exact():
    assert xdlms.action_response_normal(0xC1, client.SUCCESS,
                                        axdr.to_bytes(axdr.octets(F_CTOS))) == PASS4_RESP
    assert xdlms.action_response_normal(0xC1, client.SUCCESS,
                                        axdr.to_bytes(axdr.octets(KAIFA_RESP[-17:]))) == KAIFA_RESP


def test_action_response_without_data():
    assert xdlms.action_response_normal(0xC1, client.READ_WRITE_DENIED) == _h('C701C10300')


def test_key_transfer_action_parses_the_wrapped_key():
    r = xdlms.parse_action_request(KEY_TRANSFER)
    assert (r.class_id, r.instance, r.method_id) == (64, _h('00002B0000FF'), 2)
    assert r.parameter == axdr.array([axdr.structure(
        axdr.enum(0), axdr.octets(_h('1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5')))])


def test_action_request_without_parameter():
    buf = _h('C3 01 C1 0008 0000010000FF 03 00')
    r = xdlms.parse_action_request(buf)
    assert (r.method_id, r.parameter) == (3, None)
    assert client.build_action_request_normal(0xC1, 8, CLOCK, 3) == buf


def test_action_request_other_kinds_are_unsupported():
    for kind in (2, 3, 4, 5, 6):
        e = _error(xdlms.parse_action_request, bytes((0xC3, kind, 0xC1)) + bytes(10))
        assert e is not None and e.unsupported is True, kind


# ---------------------------------------------------------------- exception-response

def test_exception_response_bytes():
    assert xdlms.exception_response(client.STATE_SERVICE_NOT_ALLOWED,
                                    client.SERVICE_INVOCATION_COUNTER_ERROR, 0x01234568) == \
        _h('D8 01 06 01234568')
    assert xdlms.exception_response(client.SERVICE_NOT_ALLOWED, client.DECIPHERING_ERROR) == \
        _h('D80105')
    assert xdlms.exception_response(client.SERVICE_UNKNOWN, client.SERVICE_NOT_SUPPORTED) == \
        _h('D80202')


def test_exception_response_rejects_the_data_access_other_reason_code():
    assert _raises(xdlms.exception_response, 1, client.OTHER_REASON)
    assert xdlms.exception_response(1, client.SERVICE_OTHER_REASON) == _h('D80103')


def test_result_code_constants_have_the_reference_values():
    assert (client.SUCCESS, client.HARDWARE_FAULT, client.TEMPORARY_FAILURE, client.READ_WRITE_DENIED,
            client.OBJECT_UNDEFINED, client.OBJECT_CLASS_INCONSISTENT, client.OBJECT_UNAVAILABLE,
            client.TYPE_UNMATCHED, client.SCOPE_OF_ACCESS_VIOLATED, client.DATA_BLOCK_UNAVAILABLE,
            client.LONG_GET_ABORTED, client.NO_LONG_GET_IN_PROGRESS, client.LONG_SET_ABORTED,
            client.NO_LONG_SET_IN_PROGRESS, client.DATA_BLOCK_NUMBER_INVALID,
            client.OTHER_REASON) == (0, 1, 2, 3, 4, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 250)
    assert (client.LONG_ACTION_ABORTED, client.NO_LONG_ACTION_IN_PROGRESS) == (15, 16)
    assert (client.GLO_GET_REQUEST, client.DED_ACTION_RESPONSE, client.GENERAL_GLO_CIPHERING) == \
        (0xC8, 0xD7, 0xDB)


# ---------------------------------------------------------------- truncation and garbage

_REQUESTS = (
    (xdlms.parse_get_request, GET_CLOCK_TIME),
    (xdlms.parse_get_request, _h('C0 02 C1 00000002')),
    (xdlms.parse_get_request,
     _h('C0 03 C1 02 0008 0000010000FF 02 00 0003 0100010800FF 02 01 01 0F05')),
    (xdlms.parse_get_request,
     _h('C001C1 0007 0100630100FF 02 01 02 0204 0600000001 060000000A 120001 120000')),
    (xdlms.parse_set_request, _h('C1 01 C1 0008 0000010000FF 03 00 10 FFC4')),
    (xdlms.parse_action_request, KAIFA_REQ),
    (xdlms.parse_action_request, KEY_TRANSFER),
    (xdlms.parse_initiate_request, INIT_REQ_KEY),
    (xdlms.parse_initiate_request, INIT_REQ),
    (client.parse_initiate_response, INIT_RESP_QOS),
)


def test_every_strict_prefix_raises_xdlms_error_as_malformed():
    for fn, buf in _REQUESTS:
        fn(buf)
        for n in range(len(buf)):
            e = _error(fn, buf[0:n])
            assert e is not None, (buf, n)
            assert e.unsupported is False, (buf, n)



def test_random_and_mutated_requests_raise_only_xdlms_error():
    rng = Rng(0xD1D1)
    parsers = (xdlms.parse_get_request, xdlms.parse_set_request, xdlms.parse_action_request,
               xdlms.parse_initiate_request)
    for fn, base in _REQUESTS:
        for _ in range(150):
            b = bytearray(base)
            b[rng.byte() % len(b)] = rng.byte()
            try:
                fn(bytes(b))
            except xdlms.XdlmsError:
                pass
    for _ in range(800):
        n = rng.byte() % 30
        tail = bytes([rng.byte() for _ in range(n)])
        for i, tag in enumerate((0xC0, 0xC1, 0xC3, 0x01)):
            kind = 1 + rng.byte() % 3
            try:
                parsers[i](bytes((tag, kind)) + tail)
            except xdlms.XdlmsError:
                pass


def test_builders_reject_out_of_range_arguments():
    assert _raises(xdlms.get_response_normal_error, 256, 0)
    assert _raises(xdlms.get_response_block, 0, True, -1, b'')
    assert _raises(xdlms.build_initiate_response, 0x1000000, 500)
    assert _raises(xdlms.build_initiate_response, 0x1F, 0x10000)
    assert _raises(client.build_get_request_normal, 0, 8, _h('0000010000'), 2)
    assert _raises(client.build_set_request_normal, 0, 8, CLOCK, 2, (axdr.UNSIGNED, 300))



def test_short_normal_get_read_in_place_equals_the_general_parse():
    fields = ('kind', 'invoke_id', 'class_id', 'instance', 'attribute_id', 'access_selector',
              'access_params', 'block_number', 'items')
    rng = Rng(13)
    apdus = [_h('C0 01 C1 0008 0000010000FF 02 00'), _h('C0 01 81 0001 0000600100FF FF 00')]
    for _ in range(200):
        apdus.append(b'\xC0\x01' + bytes([rng.byte() for _ in range(10)]) + b'\x00')
    for apdu in apdus:
        fast = xdlms.parse_get_request(apdu)
        slow = xdlms._parse_get(apdu)
        assert [getattr(fast, f) for f in fields] == [getattr(slow, f) for f in fields], apdu
        assert type(fast.instance) is bytes
    assert xdlms.parse_get_request(bytearray(apdus[0])).instance == apdus[0][5:11]
