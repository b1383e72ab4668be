# AES key wrap (RFC 3394), the form key_transfer carries keys in. Vectors: RFC 3394 sections
# 4.1 (also dlms-security.md 7.4), 4.3 and 4.6. Runs under CPython and MicroPython.
from binascii import unhexlify
from dlms import keywrap

KEK128 = unhexlify('000102030405060708090A0B0C0D0E0F')
KEK256 = unhexlify('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F')
KEY128 = unhexlify('00112233445566778899AABBCCDDEEFF')
KEY256 = unhexlify('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F')
RFC_4_1 = unhexlify('1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5')
RFC_4_3 = unhexlify('64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7')
RFC_4_6 = unhexlify('28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43B'
                    'FB988B9B7A02DD21')


def _fails(fn):
    try:
        fn()
    except keywrap.KeyWrapError:
        return True
    return False


def test_wrap_128_bit_key_under_128_bit_kek_matches_rfc3394_4_1():
    assert keywrap.wrap(KEK128, KEY128) == RFC_4_1
    assert keywrap.unwrap(KEK128, RFC_4_1) == KEY128


def test_wrap_under_256_bit_kek_matches_rfc3394_4_3_and_4_6():
    assert keywrap.wrap(KEK256, KEY128) == RFC_4_3
    assert keywrap.unwrap(KEK256, RFC_4_3) == KEY128
    assert keywrap.wrap(KEK256, KEY256) == RFC_4_6
    assert keywrap.unwrap(KEK256, RFC_4_6) == KEY256


def test_unwrap_with_wrong_master_key_fails_the_integrity_check():
    wrong = unhexlify('000102030405060708090A0B0C0D0E0E')
    assert _fails(lambda: keywrap.unwrap(wrong, RFC_4_1))


def test_any_flipped_bit_fails_the_integrity_check():
    for i in range(len(RFC_4_1)):
        b = bytearray(RFC_4_1)
        b[i] ^= 0x80 >> (i % 8)
        assert _fails(lambda: keywrap.unwrap(KEK128, bytes(b))), i


def test_bad_lengths_are_key_wrap_errors():
    assert _fails(lambda: keywrap.unwrap(KEK128, RFC_4_1[:-1]))
    assert _fails(lambda: keywrap.unwrap(KEK128, RFC_4_1[:16]))
    assert _fails(lambda: keywrap.wrap(KEK128, KEY128[:8]))
    assert _fails(lambda: keywrap.wrap(KEK128[:8], KEY128))
    assert isinstance(keywrap.KeyWrapError('x'), ValueError)
