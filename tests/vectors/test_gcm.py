# AES-GCM / GMAC: NIST (McGrew-Viega GCM spec) test cases, DLMS Green Book
# vectors (shared/reference/dlms-security.md sections 7.1-7.3), tag checks.
from binascii import unhexlify as _h

from dlms import aes, gcm
from vector_util import raised

# --- McGrew & Viega, "The Galois/Counter Mode of Operation", test cases ---
_K3 = _h('feffe9928665731c6d6a8f9467308308')
_IV3 = _h('cafebabefacedbaddecaf888')
_P3 = _h('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72'
         '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255')
_A4 = _h('feedfacedeadbeeffeedfacedeadbeefabaddad2')
_C3 = _h('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e'
         '21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985')
_C15 = _h('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa'
          '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad')

# (name, key, iv, plaintext, aad, ciphertext, tag)
_NIST = (
    ('tc1', bytes(16), bytes(12), b'', b'', b'', _h('58e2fccefa7e3061367f1d57a4e7455a')),
    ('tc2', bytes(16), bytes(12), bytes(16), b'',
     _h('0388dace60b6a392f328c2b971b2fe78'), _h('ab6e47d42cec13bdf53a67b21257bddf')),
    ('tc3', _K3, _IV3, _P3, b'', _C3, _h('4d5c2af327cd64a62cf35abd2ba6fab4')),
    ('tc4', _K3, _IV3, _P3[0:60], _A4, _C3[0:60], _h('5bc94fbc3221a5db94fae95ae7121a47')),
    ('tc13', bytes(32), bytes(12), b'', b'', b'', _h('530f8afbc74536b9a963b4f1c4cb738b')),
    ('tc14', bytes(32), bytes(12), bytes(16), b'',
     _h('cea7403d4d606b6e074ec5d3baf39d18'), _h('d0d1c8a799996bf0265b98b5d48ab919')),
    ('tc15', _K3 + _K3, _IV3, _P3, b'', _C15, _h('b094dac5d93471bdec1a502270e3cc6c')),
    ('tc16', _K3 + _K3, _IV3, _P3[0:60], _A4, _C15[0:60], _h('76fc6ece0f4e1768cddf8853bb2d551b')),
)

# --- DLMS Green Book vectors (suite 0) ---
_EK = _h('000102030405060708090A0B0C0D0E0F')
_AK = _h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
_IV_SERVER = _h('4D4D4D0000BC614E01234567')  # server system title || IC 0x01234567
_IV_CLIENT = _h('4D4D4D000000000100000001')  # client system title || IC 1
_APDU = _h('C0010000080000010000FF0200')  # get-request-normal, clock attribute 2
_GB_CT = _h('411312FF935A47566827C467BC')
_INITIATE = _h('01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0')
_INITIATE_CT = _h('801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68')


def _variants():
    # every AES backend on this runtime, with and without the viper loops
    bes = ['python']
    if aes.BACKEND == 'cryptolib':
        bes.append('cryptolib')
    out = []
    for be in bes:
        out.append((be, True))
        out.append((be, False))
    return out


def _each(key):
    for be, accel in _variants():
        yield gcm.Gcm(key, be, accel)


def _raises(fn):
    return raised(gcm.GcmError, fn) is not None


def test_nist_gcm_test_cases_encrypt():
    for name, key, iv, pt, aad, ct, tag in _NIST:
        for g in _each(key):
            c, t = g.encrypt(iv, pt, aad)
            assert c == ct, name
            assert t == tag, name


def test_nist_gcm_test_cases_decrypt_with_full_and_12_byte_tags():
    for name, key, iv, pt, aad, ct, tag in _NIST:
        for g in _each(key):
            assert g.decrypt(iv, ct, aad, tag) == pt, name
            assert g.decrypt(iv, ct, aad, tag[0:12]) == pt, name


def test_nist_empty_plaintext_tag_equals_gmac():
    for name, key, iv, pt, aad, ct, tag in _NIST:
        if not pt:
            for g in _each(key):
                assert g.gmac(iv, aad) == tag, name


def test_green_book_auth_only_tag_over_sc_ak_apdu():
    aad = b'\x10' + _AK + _APDU
    for g in _each(_EK):
        assert g.gmac(_IV_SERVER, aad)[0:12] == _h('06725D910F9221D263877516')
        ct, tag = g.encrypt(_IV_SERVER, b'', aad)
        assert ct == b''
        assert tag[0:12] == _h('06725D910F9221D263877516')
        assert g.decrypt(_IV_SERVER, b'', aad, _h('06725D910F9221D263877516')) == b''


def test_green_book_encryption_only_ciphertext():
    for g in _each(_EK):
        ct, _ = g.encrypt(_IV_SERVER, _APDU, b'')
        assert ct == _GB_CT


def test_green_book_auth_and_encryption_ciphertext_and_tag():
    aad = b'\x30' + _AK
    for g in _each(_EK):
        ct, tag = g.encrypt(_IV_SERVER, _APDU, aad)
        assert ct == _GB_CT
        assert tag[0:12] == _h('7D825C3BE4A77C3FCC056B6B')
        assert g.decrypt(_IV_SERVER, _GB_CT, aad, _h('7D825C3BE4A77C3FCC056B6B')) == _APDU


def test_green_book_glo_initiate_request_ciphertext_and_tag():
    aad = b'\x30' + _AK
    for g in _each(_EK):
        ct, tag = g.encrypt(_IV_SERVER, _INITIATE, aad)
        assert ct == _INITIATE_CT
        assert tag[0:12] == _h('41DB204D39EE6FDB8E356855')


def test_green_book_hls_gmac_pass3_tag_with_client_iv():
    aad = b'\x10' + _AK + b'P6wRJ21F'  # StoC challenge
    for g in _each(_EK):
        assert g.gmac(_IV_CLIENT, aad)[0:12] == _h('1A52FE7DD3E72748973C1E28')


def test_green_book_hls_gmac_pass4_tag_with_server_iv():
    aad = b'\x10' + _AK + b'K56iVagY'  # CtoS challenge
    for g in _each(_EK):
        assert g.gmac(_IV_SERVER, aad)[0:12] == _h('FE1466AFB3DBCD4F9389E2B7')


def test_tampered_tag_is_rejected_with_none():
    aad = b'\x30' + _AK
    tag = _h('7D825C3BE4A77C3FCC056B6B')
    for g in _each(_EK):
        for i in range(12):
            bad = bytearray(tag)
            bad[i] ^= 0x01
            assert g.decrypt(_IV_SERVER, _GB_CT, aad, bytes(bad)) is None


def test_tampered_ciphertext_aad_or_iv_is_rejected_with_none():
    aad = b'\x30' + _AK
    tag = _h('7D825C3BE4A77C3FCC056B6B')
    for g in _each(_EK):
        bad = bytearray(_GB_CT)
        bad[-1] ^= 0x80
        assert g.decrypt(_IV_SERVER, bytes(bad), aad, tag) is None
        assert g.decrypt(_IV_SERVER, _GB_CT, b'\x31' + _AK, tag) is None
        assert g.decrypt(_IV_CLIENT, _GB_CT, aad, tag) is None
        assert g.decrypt(_IV_SERVER, _GB_CT[0:12], aad, tag) is None


def test_tag_length_outside_12_to_16_is_an_error():
    g = gcm.Gcm(_EK)
    assert _raises(lambda: g.decrypt(_IV_SERVER, _GB_CT, b'', bytes(11)))
    assert _raises(lambda: g.decrypt(_IV_SERVER, _GB_CT, b'', bytes(17)))


def test_iv_must_be_12_bytes():
    g = gcm.Gcm(_EK)
    assert _raises(lambda: g.encrypt(bytes(16), _APDU, b''))
    assert _raises(lambda: g.decrypt(bytes(8), _GB_CT, b'', bytes(12)))
    assert _raises(lambda: g.gmac(bytes(13), b''))


def test_key_of_wrong_length_is_an_error():
    assert _raises(lambda: gcm.Gcm(bytes(24)))
    assert _raises(lambda: gcm.Gcm(bytes(0)))


def test_accelerated_and_plain_loops_agree_on_all_short_lengths():
    key = _h('00112233445566778899aabbccddeeff')
    fast = gcm.Gcm(key, None, True)
    slow = gcm.Gcm(key, None, False)
    data = bytearray(96)
    for i in range(len(data)):
        data[i] = (i * 73 + 5) & 0xFF
    for n in range(0, 70):
        iv = bytes(data[n:n + 12])
        aad = bytes(data[0:(n * 7) % 41])
        pt = bytes(data[0:n])
        r = fast.encrypt(iv, pt, aad)
        assert r == slow.encrypt(iv, pt, aad), n
        assert fast.decrypt(iv, r[0], aad, r[1]) == pt
        assert slow.decrypt(iv, r[0], aad, r[1][0:12]) == pt


def test_inputs_may_be_bytearray_or_memoryview():
    aad = bytearray(b'\x30' + _AK)
    for g in _each(_EK):
        ct, tag = g.encrypt(bytearray(_IV_SERVER), memoryview(_APDU), aad)
        assert ct == _GB_CT
        assert g.decrypt(memoryview(_IV_SERVER), bytearray(ct), memoryview(aad), bytearray(tag)) == _APDU


def test_ct_equal():
    from dlms.ct import equal
    assert equal(b'', b'')
    assert equal(b'\x01\x02\x03', bytearray(b'\x01\x02\x03'))
    assert not equal(b'\x01\x02\x03', b'\x01\x02\x04')
    assert not equal(b'\x81\x02\x03', b'\x01\x02\x03')
    assert not equal(b'\x01\x02', b'\x01\x02\x03')
    assert not equal(b'\x01\x02\x03', b'\x01\x02')
    assert equal(memoryview(bytes(16)), bytes(16))


def test_keystream_made_ahead_is_the_same_and_handed_out_once_for_its_iv_only():
    # a keystream made ahead (gcm.Ahead, owned by its maker) is handed out by the message that
    # gives that Ahead with its IV, once; gcm._keystream is what seal_into/open_into use
    title = _IV_SERVER[:8]
    for accel in (True, False):
        g = gcm.Gcm(_EK, accel=accel)
        ref = gcm.Gcm(_EK, accel=accel)
        ic = bytearray(_IV_SERVER[8:])
        want = bytes(ref._keystream(title, ic, 0, 40)[:48])
        ahead = gcm.Ahead()
        g.prepare(ahead, title, 0x01234567, 48)
        assert bytes(g._keystream(title, ic, 0, 40, ahead)[:48]) == want
        # handed out once: the next call computes again (same bytes, its own buffer)
        again = g._keystream(title, ic, 0, 40, ahead)
        assert bytes(again[:48]) == want
        # not for another counter, another title object, nor a longer message
        copy = bytes(bytearray(title))          # equal, but another object
        for other_ic, other_title, n in ((0x01234568, title, 40), (0x01234567, copy, 40),
                                         (0x01234567, title, 49)):
            g.prepare(ahead, title, 0x01234567, 48)
            b = bytearray(4)
            b[0], b[1], b[2], b[3] = (other_ic >> 24, (other_ic >> 16) & 255,
                                      (other_ic >> 8) & 255, other_ic & 255)
            got = g._keystream(other_title, b, 0, n, ahead)
            assert got is not ahead.buf                 # computed, not the one made ahead
            assert bytes(got[:16]) == bytes(ref._keystream(other_title, b, 0, n)[:16])
        # and another caller's message never takes it, even for the same IV
        g.prepare(ahead, title, 0x01234567, 48)
        assert g._keystream(title, ic, 0, 40) is not ahead.buf
        assert ahead.title is title


def test_prepare_ignores_what_cannot_be_made_ahead():
    g = gcm.Gcm(_EK)
    title = _IV_SERVER[:8]
    for ic, n, t in ((-1, 16, title), (1 << 32, 16, title), (1, 5 * 16, title), (1, 16, b'x')):
        ahead = gcm.Ahead()
        g.prepare(ahead, t, ic, n)
        assert ahead.title is None
