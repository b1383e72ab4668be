# A-XDR Data: encodings of every type, length forms, limits, range checks, and the rule that any
# bad input raises AxdrError and nothing else. Bytes from shared/reference/dlms-security.md where
# the reference has them (conformance bit-string, logical names, max PDU), the rest from the
# Data CHOICE definition.

from dlms import axdr
from vector_rng import Rng
from vector_util import h as _h, raised


def _raises(fn, *args):
    return raised(axdr.AxdrError, fn, *args) is not None


# typed value -> expected encoding (hex)
_CASES = (
    (axdr.null(), '00'),
    (axdr.boolean(True), '03 01'),
    (axdr.boolean(False), '03 00'),
    (axdr.bitstring(24, _h('00 7E 1F')), '04 18 00 7E 1F'),
    (axdr.bitstring(3, _h('E0')), '04 03 E0'),
    (axdr.bitstring(0, b''), '04 00'),
    (axdr.i32(-2), '05 FFFFFFFE'),
    (axdr.i32(0x7FFFFFFF), '05 7FFFFFFF'),
    (axdr.u32(0x01234567), '06 01234567'),
    (axdr.octets(_h('0000010000FF')), '09 06 0000010000FF'),
    (axdr.octets(b''), '09 00'),
    (axdr.visible('ABC'), '0A 03 414243'),
    (axdr.utf8(_h('C3A9')), '0C 02 C3A9'),
    (axdr.bcd(0x12), '0D 12'),
    (axdr.i8(-1), '0F FF'),
    (axdr.i8(-128), '0F 80'),
    (axdr.i16(-900), '10 FC7C'),
    (axdr.u8(255), '11 FF'),
    (axdr.u16(1200), '12 04B0'),
    (axdr.i64(-2), '14 FFFFFFFFFFFFFFFE'),
    (axdr.i64(-(1 << 63)), '14 8000000000000000'),
    (axdr.u64((1 << 64) - 1), '15 FFFFFFFFFFFFFFFF'),
    (axdr.enum(30), '16 1E'),
    (axdr.float32(_h('3F800000')), '17 3F800000'),
    (axdr.float64(_h('3FF0000000000000')), '18 3FF0000000000000'),
    (axdr.date_time(_h('07E5 0C 1F 05 17 3B 3B 00 8000 00')), '19 07E50C1F05173B3B00800000'),
    ((axdr.DATE, _h('07E5 0C 1F 05')), '1A 07E50C1F05'),
    ((axdr.TIME, _h('17 3B 3B 00')), '1B 173B3B00'),
    ((axdr.DONT_CARE, None), 'FF'),
    (axdr.structure(axdr.i8(-3), axdr.enum(30)), '02 02 0F FD 16 1E'),
    (axdr.array([]), '01 00'),
    (axdr.array([axdr.structure(axdr.u16(8), axdr.octets(_h('0000010000FF')), axdr.i8(2)),
                 axdr.structure(axdr.u16(1), axdr.octets(_h('0000600100FF')), axdr.i8(2))]),
     '01 02 02 03 12 0008 09 06 0000010000FF 0F 02 02 03 12 0001 09 06 0000600100FF 0F 02'),
)


def test_every_type_encodes_to_the_expected_bytes():
    for v, hx in _CASES:
        assert axdr.to_bytes(v) == _h(hx), hx


def test_every_type_round_trips():
    for v, hx in _CASES:
        enc = _h(hx)
        assert axdr.decode_all(enc) == v, hx
        got, pos = axdr.decode(b'\xAA' + enc + b'\xBB', 1)
        assert got == v and pos == 1 + len(enc), hx


def test_encode_appends_to_an_existing_bytearray():
    out = bytearray(b'\xC4\x01\x00\x00')
    axdr.encode(axdr.u16(1200), out)
    assert bytes(out) == _h('C4010000 12 04B0')


def test_date_time_as_twelve_byte_octet_string_round_trips():
    dt = _h('07E50C1F05173B3B00800000')
    enc = axdr.to_bytes(axdr.octets(dt))
    assert enc == _h('090C') + dt
    assert axdr.decode_all(enc) == (axdr.OCTET_STRING, dt)
    assert axdr.decode_all(_h('19') + dt) == (axdr.DATE_TIME, dt)


def test_nonzero_boolean_byte_decodes_as_true():
    assert axdr.decode_all(_h('0302')) == (axdr.BOOLEAN, True)


def test_length_forms_encode():
    for n, hx in ((0, '00'), (0x7F, '7F'), (0x80, '8180'), (0xFF, '81FF'), (0x100, '820100'),
                  (0xFFFF, '82FFFF'), (0x10000, '83010000'), (0x1000000, '8401000000')):
        out = bytearray()
        axdr.encode_length(n, out)
        assert bytes(out) == _h(hx), hx


def test_length_forms_decode_when_the_buffer_holds_the_bytes():
    assert axdr.decode_length(_h('05') + bytes(5), 0) == (5, 1)
    assert axdr.decode_length(_h('8180') + bytes(0x80), 0) == (0x80, 2)
    assert axdr.decode_length(_h('820100') + bytes(0x100), 0) == (0x100, 3)
    assert axdr.decode_length(_h('83000101') + bytes(0x101), 0) == (0x101, 4)
    assert axdr.decode_length(_h('8400000102') + bytes(0x102), 0) == (0x102, 5)
    assert axdr.decode_count(_h('02 0000'), 0) == (2, 1)
    assert _raises(axdr.decode_count, _h('03 0000'), 0)
    out = bytearray()
    axdr.encode_count(3, out)
    assert bytes(out) == b'\x03'


def test_length_larger_than_the_rest_of_the_buffer_is_an_error():
    assert _raises(axdr.decode_length, _h('05') + bytes(4), 0)
    assert _raises(axdr.decode_length, _h('84FFFFFFFF'), 0)
    assert _raises(axdr.decode_length, _h('83FFFFFF') + bytes(16), 0)


def test_indefinite_and_five_byte_length_forms_are_errors():
    assert _raises(axdr.decode_length, _h('80') + bytes(4), 0)
    assert _raises(axdr.decode_length, _h('850000000001') + bytes(4), 0)
    assert _raises(axdr.decode_length, b'', 0)


def test_long_octet_string_uses_the_two_byte_length_form():
    data = bytes(range(256)) + bytes(44)
    enc = axdr.to_bytes(axdr.octets(data))
    assert enc[0:4] == _h('09 82 012C')
    assert axdr.decode_all(enc) == (axdr.OCTET_STRING, data)


def test_encoders_reject_out_of_range_values():
    bad = ((axdr.u8, 256), (axdr.u8, -1), (axdr.i8, 128), (axdr.i8, -129),
           (axdr.u16, 0x10000), (axdr.i16, -0x8001), (axdr.u32, 1 << 32), (axdr.i32, 1 << 31),
           (axdr.u64, 1 << 64), (axdr.i64, 1 << 63), (axdr.i64, -(1 << 63) - 1),
           (axdr.enum, 256), (axdr.u8, 'x'))
    for fn, v in bad:
        assert _raises(fn, v), (fn, v)
    assert _raises(axdr.bitstring, 9, b'\x00')
    assert _raises(axdr.date_time, bytes(11))
    assert _raises(axdr.float32, bytes(8))
    assert _raises(axdr.float64, bytes(4))


def test_encode_rejects_malformed_typed_values():
    for v in ((axdr.UNSIGNED, 300), (axdr.LONG, None), (axdr.OCTET_STRING, 5), (99, 0),
              (axdr.NULL, 1), (axdr.BOOLEAN, 'yes'), (axdr.BIT_STRING, (9, b'\x00')),
              (axdr.DATE_TIME, bytes(5)), (axdr.STRUCTURE, 5), 7, (1,),
              (axdr.STRUCTURE, [(axdr.UNSIGNED, -1)])):
        assert _raises(axdr.to_bytes, v), v


def test_encode_rejects_a_self_containing_structure():
    items = []
    v = (axdr.STRUCTURE, items)
    items.append(v)
    assert _raises(axdr.to_bytes, v)


def test_unknown_tags_are_errors():
    for tag in (7, 8, 11, 14, 19, 28, 100, 254):
        assert _raises(axdr.decode, bytes((tag, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 0), tag


def test_decode_all_rejects_trailing_bytes():
    assert _raises(axdr.decode_all, _h('11 05 00'))


def _nested(depth):
    return _h('0101') * depth + _h('00')


def test_nesting_up_to_max_depth_decodes():
    v = axdr.decode_all(_nested(8))
    for _ in range(8):
        assert v[0] == axdr.ARRAY and len(v[1]) == 1
        v = v[1][0]
    assert v == (axdr.NULL, None)


def test_nesting_deeper_than_max_depth_is_an_error():
    assert _raises(axdr.decode_all, _nested(9))
    assert _raises(axdr.decode_all, _nested(200))
    assert axdr.decode(_nested(9), 0, 9)[1] == 19


def test_more_elements_than_allowed_is_an_error():
    enc = _h('01 820201') + _h('00') * 0x201
    assert _raises(axdr.decode_all, enc)
    ok = _h('01 820200') + _h('00') * 0x200
    assert len(axdr.decode_all(ok)[1]) == 512
    # the budget counts every element of the tree, not per array
    two = _h('01 02 01 820100') + _h('00') * 0x100 + _h('01 820100') + _h('00') * 0x100
    assert _raises(axdr.decode, two, 0, 8, 300)


def test_array_count_beyond_the_buffer_is_an_error_without_allocating():
    assert _raises(axdr.decode_all, _h('01 84FFFFFFFF 00'))
    assert _raises(axdr.decode_all, _h('02 7F 00 00'))


def test_bit_string_bits_beyond_the_buffer_are_an_error():
    assert _raises(axdr.decode_all, _h('04 19 00 7E 1F'))
    assert _raises(axdr.decode_all, _h('04 84FFFFFFFF'))


_VALID = (
    '01 02 02 03 12 0008 09 06 0000010000FF 0F 02 02 03 12 0001 09 06 0000600100FF 0F 02',
    '02 02 0F FD 16 1E',
    '04 18 00 7E 1F',
    '09 0C 07E50C1F05173B3B00800000',
    '19 07E50C1F05173B3B00800000',
    '14 FFFFFFFFFFFFFFFE',
    '15 FFFFFFFFFFFFFFFF',
    '06 01234567',
    '0A 03 414243',
    '09 81 80' + '00' * 0x80,
    '18 3FF0000000000000',
)


def test_every_strict_prefix_of_a_valid_encoding_raises_axdr_error():
    for hx in _VALID:
        enc = _h(hx)
        axdr.decode_all(enc)
        for n in range(len(enc)):
            assert _raises(axdr.decode, enc[0:n], 0), (hx, n)
            assert _raises(axdr.decode_all, enc[0:n]), (hx, n)


def test_memoryview_and_bytearray_inputs_decode_like_bytes():
    enc = _h(_VALID[0])
    v = axdr.decode_all(enc)
    assert axdr.decode_all(bytearray(enc)) == v
    assert axdr.decode_all(memoryview(enc)) == v



def test_random_garbage_raises_only_axdr_error_or_decodes():
    rng = Rng(0x1234567)
    decoded = 0
    for i in range(1500):
        n = rng.byte() % 24
        buf = bytes([rng.byte() for _ in range(n)])
        if i % 3 == 0 and n:
            # bias towards containers and strings so the structure code is exercised
            buf = bytes((1 + rng.byte() % 2,)) + buf[1:]
        try:
            v, pos = axdr.decode(buf, 0)
            decoded += 1
            assert 0 < pos <= len(buf)
            assert axdr.decode_all(axdr.to_bytes(v)) == v
        except axdr.AxdrError:
            pass
    assert decoded > 0


def test_mutated_valid_encodings_raise_only_axdr_error_or_decode():
    rng = Rng(0xBADC0DE)
    for hx in _VALID:
        enc = _h(hx)
        for _ in range(60):
            b = bytearray(enc)
            b[rng.byte() % len(b)] = rng.byte()
            try:
                axdr.decode_all(b)
            except axdr.AxdrError:
                pass


def test_decoded_values_re_encode_to_the_same_bytes():
    for hx in _VALID:
        enc = _h(hx)
        assert axdr.to_bytes(axdr.decode_all(enc)) == enc
