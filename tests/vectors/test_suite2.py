# Security suite 2 ciphering (dlms_pk/suite2.py): suite 0's envelopes and 12-byte tags with
# AES-GCM-256, 32-byte EK and AK (AAD SC || AK of 33 bytes) and the suite nibble 2. Vectors:
# - dlms-public-key.md 7.3.4: the suite 2 glo-initiateRequest made by the Gurux client (run),
#   its tag checked there with an independent GCM;
# - derived here with `cryptography` 50.0.2 (AES-GCM, 12-byte tags; regression aids): a
#   get-request at each security level, HLS-GMAC f(StoC) and f(CtoS) of suite 2;
# - NIST CAVS 14.0 GCM-256 (cryptography-vectors 50.0.2, ciphers/AES/GCM/gcmEncryptExtIV256.rsp
#   and gcmDecrypt256.rsp, read in place: tests/vectors/vector_files.py): every record with a
#   96-bit IV and a 96-bit tag (Taglen = 96; 25 sections of 15, 375 records per file, the
#   decryption ones 195 FAIL), through dlms/gcm.py with the 32-byte key;
# - RFC 3394 4.3 and 4.6 (a 256-bit KEK, dlms-public-key.md 7.2), and NIST SP 800-38F KW-AE /
#   KW-AD with AES-256 (cryptography-vectors, keywrap/kwtestvectors/KW_AE_256.txt and
#   KW_AD_256.txt), every record of [PLAINTEXT LENGTH = 256] (a 32-byte key: 100 per file, 20
#   of the KW-AD ones FAIL), through dlms/keywrap.py;
# - the suite nibble and the key length: suite 2 refuses an SC of another suite and 16-byte keys,
#   suites 0 and 1 refuse 32-byte keys (SecurityError, a ValueError).
# Runs under CPython and MicroPython.
from dlms import aes, gcm, keywrap, security, suite0
from dlms_pk import ec, suite1, suite2
from vector_util import h, raised
import vector_files as vf

EK = h('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF')
EK16 = EK[0:16]
AK16 = AK[0:16]
CLIENT_ST = h('4D4D4D0000000001')
SERVER_ST = h('4D4D4D0000BC614E')
IC = 0x01234567
INITIATE = h('01000000065F1F0400401E5DFFFF')
GLO_INITIATE_SUITE2 = h('21 1F 32 01234567 94F6D2CC9D7B2CDBB18BEC29ABCF 62314337DDA7A29CA7248491')
GET = h('C0010000080000010000FF0200')
# protect(keys, sc, SERVER_ST, IC, GET) per SC (derived with cryptography)
GET_CONTENT = {
    0x12: h('12 01234567 C0010000080000010000FF0200 B2D2B6A0A8DD79BA67B3C7EE'),
    0x22: h('22 01234567 E82B2AD3EE8C12A6FB27038F08'),
    0x32: h('32 01234567 E82B2AD3EE8C12A6FB27038F08 442193498C6A53DE55EEB9D2'),
}
STOC = h('503677524A323146')
CTOS = h('4B35366956616759')
F_STOC = h('12 00000001 69A6C6DE81EF37CAD845F338')     # by the client: its title, IC 1
F_CTOS = h('12 01234568 1F50858C762D64A2BA4D8050')     # by the server: its title, IC 0x01234568

_GCM = 'ciphers/AES/GCM/'
_KW = 'keywrap/kwtestvectors/'


def keys():
    return suite2.Keys(EK, AK)


def keys_variants():
    # the default Keys; the same keys over the plain-Python GHASH kernels; and over the
    # pure-Python AES (the backend of a runtime without cryptolib)
    out = [keys()]
    for backend, accel in ((None, False), ('python', True)):
        k = suite2.Keys(EK, AK)
        k.gcm = gcm.Gcm(EK, backend, accel)
        k.pre = k.gcm.prefix(b'\x32' + AK)
        out.append(k)
    return out


def raises(fn, *args):
    return raised(security.SecurityError, fn, *args) is not None


def test_suite2_is_the_suite_interface_with_32_byte_keys_and_p384():
    s2 = security.suite(2)
    assert s2 is suite2
    assert s2.ID == 2 and s2.KEY_LEN == 32 and s2.CURVE is ec.P384 and ec.P384.hash == 'sha384'
    assert s2.Keys.SUITE == 2 and s2.Keys.KEY_SIZE == 32 and issubclass(s2.Keys, suite0.Keys)
    for name in ('protect', 'unprotect', 'seal', 'open_content', 'gmac', 'gmac_verify'):
        assert callable(getattr(s2, name)), name
    k = keys()
    assert k.sc_ae == 0x32 and k.la == 33 and len(k.ak) == 32
    assert repr(k) == '<Keys>'


def test_suite2_seals_the_published_glo_initiate_request():
    for k in keys_variants():
        assert suite2.seal(k, security.KIND_GLO, 0x32, CLIENT_ST, IC, INITIATE) == \
            GLO_INITIATE_SUITE2
        content = suite2.protect(k, 0x32, CLIENT_ST, IC, INITIATE)
        assert security.wrap(security.KIND_GLO, CLIENT_ST, content, 0x01) == GLO_INITIATE_SUITE2
        env = security.unwrap(GLO_INITIATE_SUITE2)
        assert env[0] == security.KIND_GLO and env[1] == 0x01
        assert suite2.unprotect(k, CLIENT_ST, env[3]) == (0x32, IC, INITIATE)
        assert security.split(env[3], 2) == (0x32, IC)
        assert suite2.open_content(k, CLIENT_ST, env[3], 0x32) == INITIATE


def test_every_changed_byte_of_the_initiate_request_is_refused():
    k = keys()
    content = bytes(security.unwrap(GLO_INITIATE_SUITE2)[3])
    for i in range(1, len(content)):        # IC (the IV), ciphertext, tag
        bad = bytearray(content)
        bad[i] ^= 0x01
        assert raises(suite2.open_content, k, CLIENT_ST, bytes(bad), 0x32), i
    assert raises(suite2.open_content, k, SERVER_ST, content, 0x32)
    assert raises(suite2.open_content, k, CLIENT_ST, content[0:16], 0x32)
    # the same bytes under the 16-byte half of the keys (suite 1) are not a valid APDU either
    k1 = suite1.Keys(EK16, AK16)
    assert raises(suite1.open_content, k1, CLIENT_ST, b'\x31' + content[1:], 0x31)


def test_every_level_protects_and_seals_like_the_derived_vectors():
    for k in keys_variants():
        for sc in (0x12, 0x22, 0x32):
            want = GET_CONTENT[sc]
            assert suite2.protect(k, sc, SERVER_ST, IC, GET) == want, sc
            assert suite2.unprotect(k, SERVER_ST, want) == (sc, IC, GET), sc
            for kind in (security.KIND_GLO, security.KIND_DED, security.KIND_GENERAL_GLO,
                         security.KIND_GENERAL_DED):
                sealed = suite2.seal(k, kind, sc, SERVER_ST, IC, GET)
                assert sealed == security.wrap(kind, SERVER_ST, want, GET[0]), (sc, kind)
                assert suite2.open_content(k, SERVER_ST, security.unwrap(sealed)[3], sc) == GET


def test_seal_and_protect_agree_across_lengths():
    # lengths around the per-key scratch keystream (64 bytes) and the A-XDR length forms
    k = keys()
    for n in list(range(1, 70)) + [110, 111, 127, 128, 238, 239, 240, 300]:
        b = bytearray(n)
        for i in range(n):
            b[i] = (i * 151 + 7) & 0xFF
        b[0] = 0xC4
        apdu = bytes(b)
        for sc in (0x12, 0x22, 0x32):
            want = security.wrap(security.KIND_GLO, SERVER_ST,
                                 suite2.protect(k, sc, SERVER_ST, IC + n, apdu), 0xC4)
            sealed = suite2.seal(k, security.KIND_GLO, sc, SERVER_ST, IC + n, apdu)
            assert sealed == want, (n, sc)
            assert suite2.unprotect(k, SERVER_ST, security.unwrap(sealed)[3]) == \
                (sc, IC + n, apdu), (n, sc)


def test_keystreams_made_ahead_give_the_same_bytes():
    k = keys()
    for n in (1, 13, 31, 32, 33, 48, 60):
        apdu = GET[0:1] + bytes(n - 1)
        want = suite2.seal(k, security.KIND_GLO, 0x32, SERVER_ST, IC + n, apdu)
        ahead = gcm.Ahead()
        k.gcm.prepare(ahead, SERVER_ST, IC + n, 48)
        assert suite2.seal(k, security.KIND_GLO, 0x32, SERVER_ST, IC + n, apdu, ahead) == want
        assert (ahead.title is None) == (n <= 48)
        ahead = gcm.Ahead()
        k.gcm.prepare(ahead, SERVER_ST, IC + n, 48)
        assert suite2.open_content(k, SERVER_ST, security.unwrap(want)[3], 0x32, ahead) == apdu


def test_hls_gmac_f_of_suite2():
    for k in keys_variants():
        assert suite2.gmac(k, CLIENT_ST, 1, STOC) == F_STOC
        assert suite2.gmac(k, SERVER_ST, 0x01234568, CTOS) == F_CTOS
        assert suite2.gmac_verify(k, CLIENT_ST, F_STOC, STOC)
        assert suite2.gmac_verify(k, SERVER_ST, F_CTOS, CTOS)
        assert not suite2.gmac_verify(k, SERVER_ST, F_STOC, STOC)      # the wrong title
        assert not suite2.gmac_verify(k, CLIENT_ST, F_STOC, CTOS)      # the wrong challenge
        for i in range(len(F_STOC)):
            bad = bytearray(F_STOC)
            bad[i] ^= 0x80
            assert not suite2.gmac_verify(k, CLIENT_ST, bytes(bad), STOC), i
        # the same tag with the SC of suite 0 or 1 is not suite 2's f()
        for sc in (0x10, 0x11, 0x13):
            assert not suite2.gmac_verify(k, CLIENT_ST, bytes((sc,)) + F_STOC[1:], STOC), sc
        assert not suite2.gmac_verify(k, CLIENT_ST, F_STOC[0:16], STOC)


def test_an_sc_of_another_suite_is_refused():
    k = keys()
    content = bytes(security.unwrap(GLO_INITIATE_SUITE2)[3])
    for sid in (0, 1, 3):
        assert raises(security.split, content, sid), sid
    for sc in (0x30, 0x31, 0x33, 0x3A, 0x10, 0x21):
        assert raises(suite2.unprotect, k, CLIENT_ST, bytes((sc,)) + content[1:]), sc
        assert raises(suite2.protect, k, sc, CLIENT_ST, IC, INITIATE), sc
        assert raises(suite2.seal, k, security.KIND_GLO, sc, CLIENT_ST, IC, INITIATE), sc
    # what suites 0 and 1 seal is not suite 2's, whatever the keys
    for mod, kk, sc in ((suite0, suite0.Keys(EK16, AK16), 0x30),
                        (suite1, suite1.Keys(EK16, AK16), 0x31)):
        sealed = mod.seal(kk, security.KIND_GLO, sc, CLIENT_ST, IC, INITIATE)
        assert raises(suite2.unprotect, k, CLIENT_ST, security.unwrap(sealed)[3]), sc
    # and suite 2's is neither suite 0's nor suite 1's
    assert raises(suite1.unprotect, suite1.Keys(EK16, AK16), CLIENT_ST, content)
    assert raises(suite0.unprotect, suite0.Keys(EK16, AK16), CLIENT_ST, content)


def test_keys_of_the_wrong_length_are_refused():
    # suite 2 takes 32-byte EK and AK only; suites 0 and 1 16-byte ones only (SecurityError)
    for ek, ak in ((EK16, AK16), (EK, AK16), (EK16, AK), (EK + b'\x00', AK), (EK[0:24], AK)):
        assert raises(suite2.Keys, ek, ak), (len(ek), len(ak))
    for cls in (suite0.Keys, suite1.Keys):
        assert raises(cls, EK, AK)
        assert raises(cls, EK16, AK)
        assert raises(cls, EK, AK16)
    e = raised(security.SecurityError, suite1.Keys, EK, AK)
    assert isinstance(e, ValueError) and 'keys of 16 bytes' in str(e)
    e = raised(security.SecurityError, suite2.Keys, EK16, AK16)
    assert isinstance(e, ValueError) and 'keys of 32 bytes' in str(e)
    # a dedicated key (made with the AK of the keys in force) is held to the same length
    assert raises(suite2.Keys, EK16, keys().ak)
    assert len(suite2.Keys(h('11' * 32), keys().ak).ak) == 32


def test_of_suite_never_changes_the_key_length():
    k0 = suite0.Keys(EK16, AK16)
    k1 = k0.of_suite(suite1.Keys)
    k2 = keys()
    assert raises(k0.of_suite, suite2.Keys)
    assert raises(k1.of_suite, suite2.Keys)
    assert raises(k2.of_suite, suite1.Keys)
    assert raises(k2.of_suite, suite0.Keys)
    assert k2.of_suite(suite2.Keys) is k2 and k1.of_suite(suite1.Keys) is k1
    assert k1.gcm is k0.gcm and k1.of_suite(suite0.Keys).gcm is k0.gcm


def test_aes_and_gcm_take_128_and_256_bit_keys_only():
    assert raised(gcm.GcmError, gcm.Gcm, bytes(24)) is not None
    assert raised(aes.AesError, aes.new, bytes(24)) is not None
    assert raised(gcm.GcmError, gcm.Gcm, bytes(31)) is not None
    assert len(gcm.Gcm(bytes(32)).gmac(bytes(12), b'')) == 16


# ---------------------------------------------------------------------------
# NIST GCM-256 (CAVS 14.0), 96-bit IVs and tags

def _gcm_records(name):
    for section, r in vf.records(vf.CRYPTOGRAPHY, _GCM + name):
        if section == 'Taglen = 96' and len(r.get('IV', '')) == 24:
            yield r


def _gcms(key, count):
    # the default Gcm; every 8th record also over the plain kernels and the pure-Python AES
    out = [gcm.Gcm(key)]
    if count % 8 == 0:
        out.append(gcm.Gcm(key, None, False))
        out.append(gcm.Gcm(key, 'python', True))
    return out


def test_nist_gcm256_encryption_with_96_bit_tags():
    n = 0
    for r in _gcm_records('gcmEncryptExtIV256.rsp'):
        key = h(r['Key'])
        assert len(key) == 32
        iv = h(r['IV'])
        pt = h(r['PT'])
        aad = h(r['AAD'])
        ct = h(r['CT'])
        tag = h(r['Tag'])
        assert len(tag) == 12
        for g in _gcms(key, n):
            got, full = g.encrypt(iv, pt, aad)
            assert got == ct and full[0:12] == tag, r['Count']
            assert g.decrypt(iv, ct, aad, tag) == pt, r['Count']
        n += 1
    assert n == 375, n


def test_nist_gcm256_decryption_with_96_bit_tags():
    n = 0
    fails = 0
    for r in _gcm_records('gcmDecrypt256.rsp'):
        key = h(r['Key'])
        iv = h(r['IV'])
        ct = h(r['CT'])
        aad = h(r['AAD'])
        tag = h(r['Tag'])
        want = h(r['PT']) if 'PT' in r else None       # no PT: the record says FAIL
        if want is None:
            fails += 1
        for g in _gcms(key, n):
            assert g.decrypt(iv, ct, aad, tag) == want, r['Count']
        n += 1
    assert n == 375 and fails == 195, (n, fails)


# ---------------------------------------------------------------------------
# AES-256 key wrap (suite 2 key_transfer)

KEY256 = h('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F')
RFC_4_3 = h('64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7')
RFC_4_6 = h('28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21')


def test_rfc3394_with_a_256_bit_kek():
    assert keywrap.wrap(EK, KEY256) == RFC_4_6 and keywrap.unwrap(EK, RFC_4_6) == KEY256
    assert keywrap.wrap(EK, KEY256[0:16]) == RFC_4_3
    assert keywrap.unwrap(EK, RFC_4_3) == KEY256[0:16]
    assert raised(keywrap.KeyWrapError, keywrap.unwrap, bytes(32), RFC_4_6) is not None


def _kw_records(name):
    for section, r in vf.records(vf.CRYPTOGRAPHY, _KW + name):
        if section == 'PLAINTEXT LENGTH = 256':
            yield r


def test_nist_kw_ae_256_with_32_byte_keys():
    n = 0
    for r in _kw_records('KW_AE_256.txt'):
        kek = h(r['K'])
        p = h(r['P'])
        assert len(kek) == 32 and len(p) == 32
        assert keywrap.wrap(kek, p) == h(r['C']), r['COUNT']
        n += 1
    assert n == 100, n


def test_nist_kw_ad_256_with_32_byte_keys():
    n = 0
    fails = 0
    for r in _kw_records('KW_AD_256.txt'):
        kek = h(r['K'])
        c = h(r['C'])
        if 'P' in r:
            assert keywrap.unwrap(kek, c) == h(r['P']), r['COUNT']
        else:                                   # FAIL
            assert raised(keywrap.KeyWrapError, keywrap.unwrap, kek, c) is not None, r['COUNT']
            fails += 1
        n += 1
    assert n == 100 and fails == 20, (n, fails)
