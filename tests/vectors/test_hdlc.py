# HDLC frame codec (lib/dlms/hdlc.py) against the bytes of reference/dlms-security.md section 8.
# Runs under CPython and MicroPython.
from binascii import hexlify
from dlms import hdlc
from vector_util import h, raised


def hx(b):
    return hexlify(bytes(b)).decode().upper()


# 8.4, full frames from dlms-cosem tests/test_hdlc/test_hdlc.py
SNRM = h('7E A008 0223 21 93 BD64 7E')
UA = h('7E A01F 21 0223 73 E6C7 81801205019A06019A070400000001080400000001 CCA2 7E')
AARQ_FRAME = h('7E A02C 0223 21 10 AF9F E6E600 601DA109060760857405080101BE10040E01000000065F1F'
               '0400001E1DFFFF C5E4 7E')
AARE_FRAME = h('7E A038 21 0223 30 34E7 E6E700 6129A109060760857405080101A203020100A305A10302010'
               '0BE10040E0800065F1F0400001E1D04C80007 B86A 7E')


def raises(fn, *args):
    return raised(hdlc.HdlcError, fn, *args) is not None


# ---- CRC-16/X.25 (8.4) ----

def test_fcs_vectors_from_the_reference():
    table = (
        ('A00802232193', 'BD64'),
        ('A00A000200232193', '1871'),
        ('A023210002002373F6C58180140502008006020080070400000001080400000001', 'CE6A'),
        ('A02E0002002321107ECBE6E600601DA109060760857405080101BE10040E01000000065F1F04000030'
         '1DFFFF', 'D4C5'),
        ('033F', '5BEC'),
    )
    for data, expect in table:
        v = hdlc.fcs(h(data))
        assert hx(bytes((v & 0xFF, v >> 8))) == expect, data


def test_crc_over_data_and_its_fcs_leaves_the_good_residue():
    data = h('A00802232193')
    v = hdlc.fcs(data)
    assert hdlc.crc16(data + bytes((v & 0xFF, v >> 8))) == 0xF0B8


def test_crc_can_be_folded_in_pieces():
    data = h('A02E0002002321107ECBE6E600601DA1')
    assert hdlc.crc16(data) == hdlc.crc16(data, 5, None, hdlc.crc16(data, 0, 5))


# ---- addresses (8.2) ----

def test_server_address_forms_from_the_reference():
    assert hx(hdlc.encode_server_address(1, 17)) == '0223'
    assert hx(hdlc.encode_server_address(145, 1, 4)) == '02220003'
    assert hx(hdlc.encode_server_address(1, 17, 4)) == '00020023'
    assert hx(hdlc.encode_server_address(100)) == 'C9'
    assert hx(hdlc.encode_server_address(1)) == '03'


def test_server_address_decodes_back():
    assert hdlc.decode_server_address(h('0223')) == (1, 17)
    assert hdlc.decode_server_address(h('02220003')) == (145, 1)
    assert hdlc.decode_server_address(h('00020023')) == (1, 17)
    assert hdlc.decode_server_address(h('C9')) == (100, None)
    assert hdlc.decode_server_address(hdlc.encode_server_address(0x3FFF, 0x3FFF, 4)) == \
        (0x3FFF, 0x3FFF)


def test_all_station_addresses_encode_as_the_reference_says():
    assert hx(hdlc.encode_server_address(1, hdlc.ALL_STATION)) == '02FF'
    assert hx(hdlc.encode_server_address(1, hdlc.ALL_STATION_4, 4)) == '0002FEFF'


def test_client_addresses_are_one_byte():
    assert hx(hdlc.encode_client_address(16)) == '21'
    assert hx(hdlc.encode_client_address(1)) == '03'
    assert hdlc.decode_client_address(h('21')) == 16
    assert raises(hdlc.decode_client_address, h('0223'))
    assert raises(hdlc.encode_client_address, 128)


def test_impossible_server_addresses_raise_hdlc_error():
    assert raises(hdlc.encode_server_address, 128)
    assert raises(hdlc.encode_server_address, 1, 128, 2)
    assert raises(hdlc.encode_server_address, 1, 0x4000, 4)
    assert raises(hdlc.encode_server_address, 1, None, 2)
    assert raises(hdlc.encode_server_address, 1, 1, 3)
    assert raises(hdlc.decode_server_address, h('000001'))


# ---- control field (8.3) ----

def test_control_field_values_with_poll_final():
    assert hdlc.u_control(hdlc.SNRM) == 0x93
    assert hdlc.u_control(hdlc.DISC) == 0x53
    assert hdlc.u_control(hdlc.UA) == 0x73
    assert hdlc.u_control(hdlc.DM) == 0x1F
    assert hdlc.u_control(hdlc.FRMR) == 0x97
    assert hdlc.u_control(hdlc.UI) == 0x13
    assert hdlc.u_control(hdlc.UI, False) == 0x03
    assert hdlc.s_control(hdlc.RR, 1) == 0x31
    assert hdlc.s_control(hdlc.RNR, 2) == 0x55
    assert hdlc.i_control(0, 1) == 0x30      # RSN 1, SSN 0, final
    assert hdlc.i_control(0, 0) == 0x10


def test_control_field_is_taken_apart():
    assert hdlc.is_i(0x30) and not hdlc.is_s(0x30)
    assert hdlc.n_r(0x30) == 1 and hdlc.n_s(0x30) == 0
    assert hdlc.n_s(0xFE) == 7 and hdlc.n_r(0xFE) == 7
    assert hdlc.is_s(0x31) and hdlc.s_kind(0x31) == hdlc.RR
    assert hdlc.s_kind(0x55) == hdlc.RNR
    assert hdlc.u_kind(0x93) == hdlc.SNRM and hdlc.u_kind(0x83) == hdlc.SNRM
    assert hdlc.u_kind(0x1F) == hdlc.DM


# ---- whole frames (8.1) ----

def test_reference_frames_parse():
    f = hdlc.parse_frame(SNRM, 1, len(SNRM) - 1)
    assert f.dest == h('0223') and f.src == h('21') and f.control == 0x93
    assert f.info == b'' and not f.segmented
    f = hdlc.parse_frame(UA, 1, len(UA) - 1)
    assert f.dest == h('21') and f.src == h('0223') and f.control == 0x73
    assert hx(f.info) == '81801205019A06019A070400000001080400000001'
    f = hdlc.parse_frame(AARQ_FRAME, 1, len(AARQ_FRAME) - 1)
    assert f.control == 0x10 and f.info[:3] == hdlc.LLC_REQUEST and f.info[3] == 0x60
    f = hdlc.parse_frame(AARE_FRAME, 1, len(AARE_FRAME) - 1)
    assert f.control == 0x30 and f.info[:3] == hdlc.LLC_RESPONSE and f.info[3] == 0x61


def test_reference_frames_encode_byte_for_byte():
    for frame in (SNRM, UA, AARQ_FRAME, AARE_FRAME):
        f = hdlc.parse_frame(frame, 1, len(frame) - 1)
        assert hdlc.encode_frame(f.dest, f.src, f.control, f.info, f.segmented) == frame


def test_segmentation_bit_and_eleven_bit_length():
    frame = hdlc.encode_frame(h('0223'), h('21'), 0x10, bytes(300), True)
    assert frame[1] == 0xA8 | 1 and frame[2] == (len(frame) - 2) & 0xFF
    f = hdlc.parse_frame(frame, 1, len(frame) - 1)
    assert f.segmented and len(f.info) == 300
    assert hdlc.encode_frame(h('21'), h('0223'), 0x73)[1] == 0xA0


def test_overlong_frame_cannot_be_encoded():
    assert raises(hdlc.encode_frame, h('0223'), h('21'), 0x10, bytes(2040))


def test_bad_check_sequences_are_rejected():
    bad_hcs = bytearray(AARQ_FRAME)
    bad_hcs[8] ^= 1
    assert hdlc.parse_frame(bad_hcs, 1, len(bad_hcs) - 1) is None
    bad_fcs = bytearray(AARQ_FRAME)
    bad_fcs[-2] ^= 0x80
    assert hdlc.parse_frame(bad_fcs, 1, len(bad_fcs) - 1) is None
    bad_info = bytearray(AARQ_FRAME)
    bad_info[20] ^= 0x10
    assert hdlc.parse_frame(bad_info, 1, len(bad_info) - 1) is None
    bad_snrm = bytearray(SNRM)
    bad_snrm[-3] ^= 1
    assert hdlc.parse_frame(bad_snrm, 1, len(bad_snrm) - 1) is None


def test_malformed_headers_are_rejected():
    # 3-byte destination address
    frame = bytearray(hdlc.encode_frame(h('000203'), h('21'), 0x93))
    assert hdlc.parse_frame(frame, 1, len(frame) - 1) is None
    # 2-byte remainder after the control field that is not a valid FCS, and a 3-byte one
    assert hdlc.parse_frame(h('A009022321930000'), 0, 8) is None
    # length field that does not match
    assert hdlc.parse_frame(SNRM, 1, len(SNRM) - 2) is None
    # not format type 3
    f = bytearray(SNRM)
    f[1] = 0x90
    assert hdlc.parse_frame(f, 1, len(f) - 1) is None


# ---- the stream decoder ----

def frames_of(decoder):
    out = []
    while True:
        f = decoder.next()
        if f is None:
            return out
        out.append(f)


def test_decoder_cuts_back_to_back_frames():
    d = hdlc.FrameDecoder()
    d.feed(SNRM + AARQ_FRAME + UA)
    fs = frames_of(d)
    assert [f.control for f in fs] == [0x93, 0x10, 0x73]
    assert d.dropped == 0 and d.pending() == 1     # the last closing flag may open a frame


def test_decoder_accepts_a_shared_flag_between_frames():
    d = hdlc.FrameDecoder()
    d.feed(SNRM[:-1] + AARQ_FRAME)        # SNRM's closing flag opens the AARQ
    assert [f.control for f in frames_of(d)] == [0x93, 0x10]


def test_decoder_takes_bytes_one_at_a_time():
    d = hdlc.FrameDecoder()
    got = []
    for b in AARQ_FRAME + SNRM:
        d.feed(bytes((b,)))
        got.extend(frames_of(d))
    assert [f.control for f in got] == [0x10, 0x93]


def test_decoder_resynchronises_after_noise():
    d = hdlc.FrameDecoder()
    d.feed(b'\x00\xff\x7e\x7e\x7e\x12\x34\x7e\xa0\x03' + SNRM + b'\x55\xaa' + AARQ_FRAME)
    assert [f.control for f in frames_of(d)] == [0x93, 0x10]
    assert d.dropped >= 1


def test_decoder_finds_frames_behind_a_false_start_once_the_line_is_idle():
    d = hdlc.FrameDecoder()
    # 7E A0 7E looks like the start of a 126-byte frame that swallows the SNRM
    d.feed(b'\x7e\xa0' + SNRM + AARQ_FRAME)
    assert frames_of(d) == []
    d.idle()
    assert [f.control for f in frames_of(d)] == [0x93, 0x10]
    assert d.pending() == 0


def test_decoder_drops_bad_fcs_and_keeps_the_next_frame():
    d = hdlc.FrameDecoder()
    bad = bytearray(AARQ_FRAME)
    bad[-2] ^= 1
    d.feed(bytes(bad) + SNRM)
    assert [f.control for f in frames_of(d)] == [0x93]
    assert d.dropped == 1


def test_decoder_drops_a_truncated_frame_and_finds_the_next():
    d = hdlc.FrameDecoder()
    d.feed(AARQ_FRAME[:20] + SNRM + AARQ_FRAME)
    fs = frames_of(d)
    assert [f.control for f in fs] == [0x93, 0x10]


def test_decoder_waits_for_the_rest_of_a_frame():
    d = hdlc.FrameDecoder()
    d.feed(AARQ_FRAME[:30])
    assert d.next() is None and d.pending() == 30
    d.feed(AARQ_FRAME[30:])
    assert d.next().control == 0x10


def test_decoder_ignores_claims_above_its_bound():
    d = hdlc.FrameDecoder(max_length=40)
    d.feed(AARQ_FRAME + SNRM)                 # the AARQ is 44 bytes long
    assert [f.control for f in frames_of(d)] == [0x93]


def test_decoder_reset_forgets_partial_input():
    d = hdlc.FrameDecoder()
    d.feed(AARQ_FRAME[:25])
    d.reset()
    d.feed(SNRM)
    assert [f.control for f in frames_of(d)] == [0x93]


# ---- SNRM/UA parameters (8.6) ----

def test_parameters_of_the_reference_ua():
    p = hdlc.parse_parameters(h('81801205019A06019A070400000001080400000001'))
    assert (p.max_info_tx, p.max_info_rx, p.window_tx, p.window_rx) == (154, 154, 1, 1)
    p = hdlc.parse_parameters(h('8180140502008006020080070400000001080400000001'))
    assert (p.max_info_tx, p.max_info_rx, p.window_tx, p.window_rx) == (128, 128, 1, 1)


def test_parameters_build_as_the_reference_ua():
    p = hdlc.LinkParameters(154, 154, 1, 1)
    assert hx(hdlc.build_parameters(p)) == '81801205019A06019A070400000001080400000001'
    p = hdlc.LinkParameters(512, 128, 1, 1)
    assert hx(hdlc.build_parameters(p)) == '8180130502020006018007040000000108040000000' + '1'


def test_absent_parameters_take_the_defaults():
    p = hdlc.parse_parameters(b'')
    assert (p.max_info_tx, p.max_info_rx, p.window_tx, p.window_rx) == (128, 128, 1, 1)
    p = hdlc.parse_parameters(h('818003050140'))
    assert (p.max_info_tx, p.max_info_rx, p.window_tx) == (64, 128, 1)


def test_unknown_parameters_and_groups_are_skipped():
    p = hdlc.parse_parameters(h('818006 0901FF 050140 F00201 02'))
    assert p.max_info_tx == 64


def test_malformed_parameters_raise_hdlc_error():
    assert raises(hdlc.parse_parameters, h('828003050140'))      # format id
    assert raises(hdlc.parse_parameters, h('818009050140'))      # group longer than field
    assert raises(hdlc.parse_parameters, h('81800305 0540'))     # parameter length 0x40
    assert raises(hdlc.parse_parameters, h('8180020501'))        # truncated parameter
    assert raises(hdlc.parse_parameters, h('81'))
