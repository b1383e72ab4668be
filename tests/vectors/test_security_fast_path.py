# The per-APDU suite-0 path: suite0.seal / open_content / unwrap and the GCM kernels under them
# (gcm.Gcm.prefix, message, kernel). Vectors: shared/reference/dlms-security.md section 7.
# Runs under CPython and MicroPython (there with the viper kernels and with the plain ones).

from dlms import gcm, security
from dlms import suite0
from vector_util import h, raised


EK = h('000102030405060708090A0B0C0D0E0F')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
ST = h('4D4D4D0000BC614E')
IC = 0x01234567
GET = h('C0010000080000010000FF0200')
GLO_GET = h('C8 1E 30 01234567 411312FF935A47566827C467BC 7D825C3BE4A77C3FCC056B6B')
GENERAL_GLO_GET = h('DB 08 4D4D4D0000BC614E 1E 30 01234567 411312FF935A47566827C467BC'
                    '7D825C3BE4A77C3FCC056B6B')
INITIATE = h('01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0')
GLO_INITIATE = h('21 30 30 01234567 801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68'
                 '41DB204D39EE6FDB8E356855')
GLO_INITIATE_RESPONSE = h('28 1F 30 01234567 891214A0845E475714383F65BC19745CA235906525E4F3E1C893')
INITIATE_RESPONSE = h('0800065F1F0400007C1F04000007')


def keys_variants():
    # the default Keys, and the same keys over the plain-Python kernels
    k = suite0.Keys(EK, AK)
    plain = suite0.Keys(EK, AK)
    plain.gcm = gcm.Gcm(EK, None, False)
    plain.pre = plain.gcm.prefix(b'\x30' + AK)
    return (k, plain)


def data(n, seed=7):
    b = bytearray(n)
    for i in range(n):
        b[i] = (i * 151 + seed) & 0xFF
    if n:
        b[0] = 0xC4     # a plain tag with glo- and ded- forms
    return bytes(b)


def raises(fn):
    return raised(security.SecurityError, fn) is not None


def test_seal_gives_the_green_book_glo_get_request():
    for k in keys_variants():
        assert suite0.seal(k, security.KIND_GLO, 0x30, ST, IC, GET) == GLO_GET


def test_seal_gives_the_general_glo_form_with_the_sender_title():
    for k in keys_variants():
        assert suite0.seal(k, security.KIND_GENERAL_GLO, 0x30, ST, IC, GET) == GENERAL_GLO_GET


def test_seal_gives_the_green_book_glo_initiate_request():
    for k in keys_variants():
        assert suite0.seal(k, security.KIND_GLO, 0x30, ST, IC, INITIATE) == GLO_INITIATE


def test_seal_equals_wrap_of_protect_for_every_kind_level_and_length():
    # lengths across the key's scratch keystream (64 bytes) and the one-, two- and three-byte
    # A-XDR length forms (content 128 and 256 bytes)
    lengths = list(range(1, 70)) + [110, 111, 112, 127, 128, 238, 239, 240, 300]
    for k in keys_variants():
        for n in lengths:
            apdu = data(n)
            for kind in (security.KIND_GLO, security.KIND_DED, security.KIND_GENERAL_GLO,
                         security.KIND_GENERAL_DED):
                for sc in (0x10, 0x20, 0x30):
                    want = security.wrap(kind, ST, suite0.protect(k, sc, ST, IC + n, apdu),
                                         apdu[0])
                    assert suite0.seal(k, kind, sc, ST, IC + n, apdu) == want, (n, kind, sc)


def test_seal_and_open_give_the_same_with_keystreams_made_ahead():
    # Session.idle() makes keystreams ahead (gcm.Gcm.prepare into the association's gcm.Ahead);
    # what goes out and what is read must not depend on it, whether the guess was right or not
    client = h('4D4D4D0000000001')
    for k in keys_variants():
        for n in (1, 13, 31, 32, 33, 47, 48, 60):
            apdu = data(n)
            want = suite0.seal(k, security.KIND_GLO, 0x30, ST, IC + n, apdu)
            for guess in (IC + n, IC + n + 1):
                ahead = gcm.Ahead()
                k.gcm.prepare(ahead, ST, guess, 48)
                assert suite0.seal(k, security.KIND_GLO, 0x30, ST, IC + n, apdu, ahead) == want
                taken = ahead.title is None
                assert taken == (guess == IC + n and n <= 48), (n, guess)
            req = suite0.seal(k, security.KIND_GLO, 0x30, client, IC + n, apdu)
            content = security.unwrap(req)[3]
            ahead = gcm.Ahead()
            k.gcm.prepare(ahead, client, IC + n, 48)
            assert suite0.open_content(k, client, content, 0x30, ahead) == apdu
            k.gcm.prepare(ahead, client, IC + n, 48)
            bad = bytearray(req)
            bad[-1] ^= 1
            assert raises(lambda: suite0.open_content(k, client, security.unwrap(bad)[3],
                                                      0x30, ahead))


def test_seal_results_do_not_share_the_scratch_keystream():
    k = suite0.Keys(EK, AK)
    first = suite0.seal(k, security.KIND_GLO, 0x30, ST, 1, data(20))
    copy = bytes(first)
    suite0.seal(k, security.KIND_GLO, 0x30, ST, 2, data(20, 9))
    assert first == copy


def test_seal_refuses_what_has_no_ciphered_form_or_no_valid_counter():
    k = suite0.Keys(EK, AK)
    assert raises(lambda: suite0.seal(k, security.KIND_GLO, 0x30, ST, 1, h('D80101')))
    assert raises(lambda: suite0.seal(k, security.KIND_GLO, 0x30, ST, 1 << 32, GET))
    assert raises(lambda: suite0.seal(k, security.KIND_GLO, 0x30, ST, -1, GET))
    assert raises(lambda: suite0.seal(k, security.KIND_GLO, 0x30, ST, 1, b''))
    assert raises(lambda: suite0.seal(k, security.KIND_GLO, 0x30, b'short', 1, GET))
    assert raises(lambda: suite0.protect(k, 0x30, ST, 1 << 32, GET))


def test_open_content_reads_the_green_book_vectors():
    for k in keys_variants():
        env = security.unwrap(GLO_GET)
        sc, ic = security.split(env[3])
        assert (sc, ic) == (0x30, IC)
        assert suite0.open_content(k, ST, env[3], sc) == GET
        env = security.unwrap(GLO_INITIATE_RESPONSE)
        assert suite0.open_content(k, ST, env[3], 0x30) == INITIATE_RESPONSE
        assert suite0.unprotect(k, ST, security.unwrap(GLO_INITIATE)[3]) == (0x30, IC, INITIATE)


def test_open_content_rejects_every_changed_byte_of_header_text_and_tag():
    for k in keys_variants():
        content = security.unwrap(GLO_GET)[3]
        for i in range(1, len(content)):       # IC (the IV), ciphertext, tag
            bad = bytearray(content)
            bad[i] ^= 0x01
            assert raises(lambda: suite0.open_content(k, ST, bytes(bad), 0x30)), i
        assert raises(lambda: suite0.open_content(k, h('4D4D4D0000BC614F'), content, 0x30))
        assert raises(lambda: suite0.open_content(k, ST, content[:16], 0x30))
        assert raises(lambda: suite0.open_content(k, ST[:7], content, 0x30))


def test_unprotect_inverts_protect_for_every_level_and_length():
    for k in keys_variants():
        for n in list(range(0, 70)) + [127, 128, 255, 300]:
            apdu = data(n, n)
            for sc in (0x10, 0x20, 0x30):
                content = suite0.protect(k, sc, ST, n + 5, apdu)
                assert suite0.unprotect(k, ST, content) == (sc, n + 5, apdu), (n, sc)


def run_kernel(g, iv, pre, la, src, soff, n, dst, doff, tl, dec):
    # one message through the checked calls suite0 makes (IV = title || IC from a buffer)
    if dec:
        return 1 if g.open_into(iv, iv, 8, pre, la, src, soff, n, dst, doff, tl) else 0
    g.seal_into(iv, iv, 8, pre, la, src, soff, n, dst, doff, tl)
    return 1


def test_kernel_decrypt_writes_no_plaintext_when_the_tag_is_wrong():
    iv = ST + h('01234567')
    for k in keys_variants():
        content = bytearray(security.unwrap(GLO_GET)[3])
        content[-1] ^= 0x80
        out = bytearray(b'\xAA' * 13)
        assert run_kernel(k.gcm, iv, k.pre, 17, content, 5, 13, out, 0, 12, True) == 0
        assert out == bytearray(b'\xAA' * 13)
        content[-1] ^= 0x80
        assert run_kernel(k.gcm, iv, k.pre, 17, content, 5, 13, out, 0, 12, True) == 1
        assert bytes(out) == GET


def test_kernel_from_a_prefix_state_equals_gcm_over_the_whole_aad():
    # also across the scratch keystream (64 bytes) and with 12- to 16-byte tags
    iv = ST + h('01234567')
    for accel in (True, False):
        g = gcm.Gcm(EK, None, accel)
        for la in (0, 1, 15, 16, 17, 33):
            aad = data(la, 3)
            pre = g.prefix(aad)
            for n in (0, 1, 16, 17, 64, 65, 100):
                pt = data(n, 5)
                ct, tag = g.encrypt(iv, pt, aad)
                for tl in (12, 16):
                    out = bytearray(n + tl + 3)
                    assert run_kernel(g, iv, pre, la, pt, 0, n, out, 3, tl, False) == 1
                    assert bytes(out[3:]) == ct + tag[0:tl], (accel, la, n, tl)
                    back = bytearray(n)
                    assert run_kernel(g, iv, pre, la, out, 3, n, back, 0, tl, True) == 1
                    assert bytes(back) == pt
                assert g.decrypt(iv, ct, aad, tag[0:13]) == pt
                assert g.gmac(iv, aad) == g.encrypt(iv, b'', aad)[1]


def test_gcm_refuses_lengths_the_kernel_cannot_encode():
    def bad(fn):
        try:
            fn()
        except gcm.GcmError:
            return True
        return False
    g = gcm.Gcm(EK)
    iv = ST + h('01234567')
    pre = g.prefix(b'')
    out = bytearray(64)
    assert bad(lambda: g.seal_into(iv, iv, 8, pre, 17, GET, 0, 13, out, 0, 17))
    assert bad(lambda: g.seal_into(iv, iv, 8, pre, 1 << 21, GET, 0, 13, out, 0, 12))
    assert bad(lambda: g.encrypt(ST, GET, b''))
    assert bad(lambda: g.decrypt(ST + h('00000001'), GET, b'', bytes(11)))


def test_checked_calls_refuse_every_bound_the_kernels_would_overrun():
    def bad(fn):
        try:
            fn()
        except gcm.GcmError:
            return True
        return False
    g = gcm.Gcm(EK)
    iv = ST + h('01234567')
    pre = g.prefix(b'')
    src = bytearray(32)
    out = bytearray(32)
    assert not bad(lambda: g.seal_into(iv, iv, 8, pre, 0, src, 0, 20, out, 0, 12))
    for args in ((iv[:7], iv, 8, pre, 0, src, 0, 20, out, 0, 12),      # short title
                 (iv, iv, 9, pre, 0, src, 0, 20, out, 0, 12),          # counter beyond iv
                 (iv, iv, 8, pre[:15], 0, src, 0, 20, out, 0, 12),     # state not 16 bytes
                 (iv, iv, 8, pre, 0, src, 13, 20, out, 0, 12),         # text beyond src
                 (iv, iv, 8, pre, 0, src, 0, 20, out, 1, 12),          # text and tag beyond dst
                 (iv, iv, 8, pre, 0, src, 0, -1, out, 0, 12),
                 (iv, iv, 8, pre, 0, src, 0, 20, out, 0, 11)):
        assert bad(lambda: g.seal_into(*args)), args
    assert bad(lambda: g.open_into(iv, iv, 8, pre, 0, src, 0, 21, out, 0, 12))  # tag beyond src
    assert bad(lambda: g.open_into(iv, iv, 8, pre, 0, src, 0, 8, out, 25, 12))  # text beyond dst


def test_unwrap_reads_one_and_multi_byte_lengths_and_refuses_bad_ones():
    k = suite0.Keys(EK, AK)
    long_apdu = data(200)
    sealed = suite0.seal(k, security.KIND_GLO, 0x30, ST, 9, long_apdu)
    assert sealed[0] == 0xCC and sealed[1] == 0x81
    kind, plain, st, content = security.unwrap(sealed)
    assert (kind, plain, st) == (security.KIND_GLO, 0xC4, None)
    assert suite0.unprotect(k, ST, content) == (0x30, 9, long_apdu)
    kind, plain, st, content = security.unwrap(GENERAL_GLO_GET)
    assert (kind, plain, st) == (security.KIND_GENERAL_GLO, None, ST)
    assert security.unwrap(GET) is None
    for bad in (h('C8'), h('C81F') + GLO_GET[2:], h('C81D') + GLO_GET[2:], h('C881'),
                h('C8821E') + GLO_GET[2:], h('DB09') + GENERAL_GLO_GET[2:], h('DB08')):
        assert raises(lambda: security.unwrap(bad)), bad
    assert raises(lambda: security.unwrap(b''))
