# AES block cipher: FIPS-197 Appendix C vectors on every available backend.
from binascii import unhexlify

from dlms import aes
from vector_util import raised

_PT = unhexlify('00112233445566778899aabbccddeeff')
_K128 = unhexlify('000102030405060708090a0b0c0d0e0f')
_CT128 = unhexlify('69c4e0d86a7b0430d8cdb78070b4c55a')  # FIPS-197 C.1
_K256 = unhexlify('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
_CT256 = unhexlify('8ea2b7ca516745bfeafc49904b496089')  # FIPS-197 C.3


def _backends():
    if aes.BACKEND == 'cryptolib':
        return ('python', 'cryptolib')
    return ('python',)


def _raises(fn):
    return raised(aes.AesError, fn) is not None


def test_backend_name_is_known():
    assert aes.BACKEND in ('cryptolib', 'python')


def test_fips197_aes128_encrypts_block():
    for be in _backends():
        assert aes.new(_K128, be).encrypt_block(_PT) == _CT128, be


def test_fips197_aes256_encrypts_block():
    for be in _backends():
        assert aes.new(_K256, be).encrypt_block(_PT) == _CT256, be


def test_default_backend_matches_fips197():
    assert aes.new(_K128).encrypt_block(_PT) == _CT128
    assert aes.new(_K256).encrypt_block(_PT) == _CT256


def test_fips197_decrypt_into_inverts_both_key_sizes():
    for be in _backends():
        for key, ct in ((_K128, _CT128), (_K256, _CT256)):
            out = bytearray(16)
            aes.new(key, be).decrypt_into(ct, out)
            assert bytes(out) == _PT, be


def test_encrypt_into_does_all_blocks_in_one_call_and_in_place():
    # block i is the FIPS plaintext with its first byte xored by i
    n = 5
    src = bytearray(16 * n)
    for i in range(n):
        src[16 * i:16 * i + 16] = _PT
        src[16 * i] ^= i
    for be in _backends():
        for key in (_K128, _K256):
            a = aes.new(key, be)
            out = bytearray(16 * n)
            a.encrypt_into(src, out)
            for i in range(n):
                assert bytes(out[16 * i:16 * i + 16]) == a.encrypt_block(bytes(src[16 * i:16 * i + 16]))
            buf = bytearray(src)
            a.encrypt_into(buf, buf)
            assert buf == out
            a.decrypt_into(buf, buf)
            assert buf == src


def test_backends_agree_on_many_blocks():
    src = bytearray(16 * 8)
    for i in range(len(src)):
        src[i] = (i * 37 + 11) & 0xFF
    outs = []
    for be in _backends():
        out = bytearray(len(src))
        aes.new(_K256, be).encrypt_into(src, out)
        outs.append(bytes(out))
    for o in outs:
        assert o == outs[0]


def test_empty_buffer_is_a_no_op():
    for be in _backends():
        out = bytearray(0)
        aes.new(_K128, be).encrypt_into(b'', out)
        assert out == bytearray(0)


def test_key_of_wrong_length_is_rejected():
    for be in _backends():
        assert _raises(lambda: aes.new(bytes(24), be))
        assert _raises(lambda: aes.new(bytes(15), be))
    assert _raises(lambda: aes.new(None))


def test_buffer_not_a_multiple_of_16_is_rejected():
    for be in _backends():
        a = aes.new(_K128, be)
        assert _raises(lambda: a.encrypt_into(bytes(17), bytearray(17)))
        assert _raises(lambda: a.encrypt_into(bytes(16), bytearray(32)))
        assert _raises(lambda: a.decrypt_into(bytes(15), bytearray(15)))
        assert _raises(lambda: a.encrypt_block(bytes(15)))


def test_unknown_backend_is_rejected():
    assert _raises(lambda: aes.new(_K128, 'nope'))
