# dlms_pk.kdf: the NIST SP 800-56A single-step concatenation KDF and OtherInfo of DLMS key
# agreement, with Z from dlms_pk.ec. Vectors:
# - NIST CAVS 17.4 KAS ECC validity tests, dhStaticUnified, KDFConcat, no key confirmation
#   (cryptography-vectors 50.0.2, asymmetric/ECDH/KASValidityTest_ECCStaticUnified_KDFConcat_
#   NOKC_init.fax and _resp.fax, read in place: tests/vectors/vector_files.py), the sections
#   [EC - SHA256] (P-256) and [ED - SHA384] (P-384), 10 records Result = P in each section of each
#   file (40): Z recomputed from the IUT's static private key and the CAVS's public key, and from
#   the CAVS's private key and the IUT's public key; the IUT's public key from its private key;
#   DKM from Z and the record's OI. And the 64 Result = F records whose failure is one of Z, DKM,
#   OI or a static key (codes 1, 2, 5-10; 11 and 12 are about the MAC data and tag of key
#   confirmation, which DLMS does not use).
# - the derived DLMS vectors of shared/reference/dlms-public-key.md 7.3.5 (key_agreement
#   C(2e,0s): Z, OtherInfo, the new GUEK) and 7.3.6 (general-ciphering C(0e,2s): Z, OtherInfo
#   with the transaction-id, EK, and the ciphered content under EK with the Green Book AAD and
#   with the Gurux Java/.NET one).
# - bounds: key lengths 16 and 32 from SHA-256 and SHA-384 against the hash itself, more
#   than one counter block, refused arguments.
# Runs under CPython and MicroPython.
import hashlib

from dlms import gcm
from dlms_pk import ec, kdf, sha2
from vector_util import h, raised
import vector_files as vf

_KAS = 'asymmetric/ECDH/KASValidityTest_ECCStaticUnified_KDFConcat_NOKC_%s.fax'
_SECTIONS = {'EC - SHA256': (ec.P256, 'sha256'), 'ED - SHA384': (ec.P384, 'sha384')}

STC = h('4D4D4D0000000001')
STS = h('4D4D4D0000BC614E')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')


def _kas(role):
    # (curve, hash name, record, reason code or None for Result = P) of the two sections
    out = []
    for section, r in vf.records(vf.CRYPTOGRAPHY, _KAS % role):
        if section not in _SECTIONS or 'Result' not in r:
            continue
        c, hn = _SECTIONS[section]
        res = r['Result']
        code = None
        if res[0] != 'P':
            code = int(res[res.find('(') + 1:].split(' ')[0])
        out.append((c, hn, r, code))
    return out


def _pub(c, r, who):
    x = int(r['Qs%sx' % who], 16)
    y = int(r['Qs%sy' % who], 16)
    return x.to_bytes(c.size, 'big') + y.to_bytes(c.size, 'big')


def _check_passed(role):
    n = {}
    for c, hn, r, code in _kas(role):
        if code is not None:
            continue
        z = h(r['Z'])
        d_iut = h(r['dsIUT'])
        d_cavs = h(r['dsCAVS'])
        assert ec.shared_secret(c, d_iut, _pub(c, r, 'CAVS')) == z, r['COUNT']
        assert ec.shared_secret(c, d_cavs, _pub(c, r, 'IUT')) == z, r['COUNT']
        assert ec.public_key(c, d_iut) == _pub(c, r, 'IUT'), r['COUNT']
        dkm = h(r['DKM'])
        oi = h(r['OI'])
        assert kdf.kdf(hn, z, oi, len(dkm)) == dkm, r['COUNT']
        assert kdf.agreed_key(c, d_iut, _pub(c, r, 'CAVS'), oi, len(dkm)) == dkm, r['COUNT']
        n[hn] = n.get(hn, 0) + 1
    assert n == {'sha256': 10, 'sha384': 10}, n


def test_kas_initiator_records_that_pass():
    _check_passed('init')


def test_kas_responder_records_that_pass():
    _check_passed('resp')


def _point_or_error(c, d, pub):
    try:
        return ec.shared_secret(c, d, pub)
    except ec.ECError:
        return None


def test_kas_records_that_fail_by_z_dkm_oi_or_a_static_key():
    # 1/2: the CAVS's public key X / Y fails validation; 5/6: the IUT's; 7: the IUT's private key
    # does not give its public key; 8: Z changed; 9: DKM changed; 10: OI changed
    seen = {}
    for role in ('init', 'resp'):
        for c, hn, r, code in _kas(role):
            if code is None or code > 10:
                continue
            z = h(r['Z'])
            dkm = h(r['DKM'])
            oi = h(r['OI'])
            d_iut = h(r['dsIUT'])
            if code in (1, 2):
                assert _point_or_error(c, d_iut, _pub(c, r, 'CAVS')) is None, (role, r['COUNT'])
            elif code in (5, 6):
                assert raised(ec.ECError, ec.decode_point, c, _pub(c, r, 'IUT')) is not None
            elif code == 7:
                assert ec.public_key(c, d_iut) != _pub(c, r, 'IUT'), (role, r['COUNT'])
            elif code == 8:
                assert ec.shared_secret(c, d_iut, _pub(c, r, 'CAVS')) != z, (role, r['COUNT'])
            elif code in (9, 10):
                zz = ec.shared_secret(c, d_iut, _pub(c, r, 'CAVS'))
                assert kdf.kdf(hn, zz, oi, len(dkm)) != dkm, (role, r['COUNT'])
            else:
                continue
            seen[code] = seen.get(code, 0) + 1
    # 4 records of each of these failures per section and file: 64
    assert seen == {1: 8, 2: 8, 5: 8, 6: 8, 7: 8, 8: 8, 9: 8, 10: 8}, seen


# ---------------------------------------------------------------------------
# The derived DLMS vectors (dlms-public-key.md 7.3.5, 7.3.6)

def test_key_agreement_c2e0s_gives_the_derived_guek():
    c = ec.P256
    d_u = h('E1' * 32)
    d_v = h('E2' * 32)
    q_u = h('FFBC629DB355FF6F8FB4E5DC6B50FE58139B5FFC083000827E2B37B02F907D65'
            '1996905BA54AF6A0B1C82F4AEECD927D9816C7AD8406403F2CE650E0612BA53B')
    q_v = h('3758DBC570D7A43CB4B4A0110E52EDD5F4429D78C69E14987F4FA640AB66A490'
            '67FFED6E1C189207E2D8897CF28C5797C720469BD37C42568394E46C0F088EDF')
    z = h('CCAD4E19EC5CF6A56934175F039EB42A4E9371A6BC64BE1D1242421A553DF8C8')
    oi = h('608574050803004D4D4D00000000014D4D4D0000BC614E')
    guek = h('2F84804A15326457E1E7891031F6C9C3')
    assert ec.public_key(c, d_u) == q_u and ec.public_key(c, d_v) == q_v
    assert kdf.agree(c, d_u, q_v) == z
    assert kdf.agree(c, d_v, b'\x04' + q_u) == z     # the server's side
    assert kdf.other_info(kdf.ALG_AES_GCM_128, STC, STS) == oi
    assert kdf.kdf('sha256', z, oi, 16) == guek
    assert kdf.agreed_key(c, d_v, q_u, oi, 16) == guek


def test_general_ciphering_c0e2s_gives_the_derived_ek_and_content():
    c = ec.P256
    d_u = h('A1' * 32)
    d_v = h('A2' * 32)
    q_u = h('C00AAC349EFFD31A0FF2D6ECD4426B5907919DCCF65B2EE383B37BA254143559'
            '5D064A59D4C1BAE47BB7875EA428FCDCD5DA75AE6EBBCFCB3BB98E2D00D55229')
    q_v = h('967569AC3C6C2E8309BB0CD6516567550A208A71040B3FD0DDE8A41552C7906A'
            '32B4561618476E62F76986AA87EFA48B906E547FD139FC3E071BB9CAF70F0D23')
    tid = h('0102030405060708')
    z = h('E0BEE82785FAA3277075C3A0A245A3605033BA3F45DD77BB35B42C44D1AC149E')
    oi = h('608574050803004D4D4D00000000010801020304050607084D4D4D0000BC614E')
    ek = h('1BAABD85DDEBEB6CD01A0AD44AD1C2D7')
    assert ec.public_key(c, d_u) == q_u and ec.public_key(c, d_v) == q_v
    assert kdf.agree(c, d_u, q_v) == z and kdf.agree(c, d_v, q_u) == z
    assert kdf.other_info(kdf.ALG_AES_GCM_128, STC, STS, tid) == oi
    assert kdf.kdf('sha256', z, oi, 16) == ek
    assert kdf.agreed_key(c, d_v, q_u, oi, 16) == ek     # the recipient (the meter)
    # the ciphered content of the general-ciphering APDU under EK: IV = originator || IC,
    # AAD = SC || AK || F (Green Book Table 38), F = the five length-prefixed fields
    apdu = h('C001C100080000010000FF0200')
    f = h('08 0102030405060708 08 4D4D4D0000000001 08 4D4D4D0000BC614E 00 00')
    g = gcm.Gcm(ek)
    ct, tag = g.encrypt(STC + bytes(4), apdu, b'\x31' + AK + f)
    whole = h('DD080102030405060708084D4D4D0000000001084D4D4D0000BC614E0000'
              '01020102001E3100000000C26A0CA755852C2A61B6ED2916D72C8F722A7110ACDA35E7AC')
    assert whole == h('DD') + f + h('01 02 01 02 00 1E 31 00000000') + ct + tag[0:12]
    assert g.decrypt(STC + bytes(4), ct, b'\x31' + AK + f, tag[0:12]) == apdu
    _, tag = g.encrypt(STC + bytes(4), apdu, b'\x31' + AK)     # Gurux Java / .NET: SC || AK
    assert tag[0:12] == h('A663E4F39F83C5D221AEEDF5')


def test_algorithm_ids_are_the_oids_2_16_756_5_8_3_x():
    # 2.16 -> 0x60; 756 -> 85 74 (base 128); then 5, 8, 3, x
    ids = (kdf.ALG_AES_GCM_128, kdf.ALG_AES_GCM_256, kdf.ALG_AES_WRAP_128, kdf.ALG_AES_WRAP_256)
    for x in range(4):
        assert ids[x] == bytes((0x60, 0x80 | (756 >> 7), 756 & 0x7F, 5, 8, 3, x))


# ---------------------------------------------------------------------------
# Bounds

def _hash(name, data):
    # hashlib where the runtime has the hash (MicroPython: sha256 only), else dlms_pk.sha2
    f = getattr(hashlib, name, None)
    return f(data).digest() if f is not None else sha2.digest(name, data)


def test_key_lengths_16_and_32_from_sha256_and_sha384_are_the_first_block():
    z = h('52169AF5C485DCC2321EB8D26D5EFA21FB9B93C98E38412EE2484CF14F0D0D23')
    oi = kdf.other_info(kdf.ALG_AES_GCM_256, STC, STS)
    for name in ('sha256', 'sha384'):
        block = _hash(name, h('00000001') + z + oi)
        for n in (1, 16, 32, len(block)):
            assert kdf.kdf(name, z, oi, n) == block[0:n], (name, n)


def test_longer_keys_take_further_counter_blocks():
    z = bytes(range(48))
    oi = b'other info'
    for name in ('sha256', 'sha384'):
        want = b''
        for i in (1, 2, 3):
            want += _hash(name, bytes((0, 0, 0, i)) + z + oi)
        hl = sha2.DIGEST_SIZE[name]
        for n in (hl + 1, 2 * hl, 2 * hl + 5, 3 * hl):
            assert kdf.kdf(name, z, oi, n) == want[0:n], (name, n)
    assert len(kdf.kdf('sha256', z, oi, kdf.MAX_KEY_LEN)) == kdf.MAX_KEY_LEN


def test_bad_arguments_are_refused():
    z = bytes(32)
    for n in (0, -1, kdf.MAX_KEY_LEN + 1):
        assert raised(kdf.KdfError, kdf.kdf, 'sha256', z, b'', n) is not None, n
    assert raised(kdf.KdfError, kdf.kdf, 'sha1', z, b'', 16) is not None
    assert raised(kdf.KdfError, kdf.kdf, 'sha512', z, b'', 16) is not None
    alg = kdf.ALG_AES_GCM_128
    assert raised(kdf.KdfError, kdf.other_info, alg, STC[0:7], STS) is not None
    assert raised(kdf.KdfError, kdf.other_info, alg, STC, STS + b'\x00') is not None
    assert raised(kdf.KdfError, kdf.other_info, alg, STC, STS, b'') is not None
    assert raised(kdf.KdfError, kdf.other_info, alg, STC, STS, bytes(128)) is not None
    assert kdf.other_info(alg, STC, STS, bytes(127))[15:17] == b'\x7f\x00'
    assert isinstance(kdf.KdfError('x'), ValueError)


def test_a_bad_peer_key_is_an_ec_error_before_any_key_is_derived():
    c = ec.P384
    d = h('5E' * 48)
    q = ec.public_key(c, h('C1' * 48))
    bad = q[0:95] + bytes((q[95] ^ 1,))           # not on the curve
    oi = kdf.other_info(kdf.ALG_AES_GCM_256, STC, STS)
    assert raised(ec.ECError, kdf.agree, c, d, bad) is not None
    assert raised(ec.ECError, kdf.agreed_key, c, d, bad, oi, 32) is not None
    assert raised(ec.ECError, kdf.agreed_key, c, d, q[0:64], oi, 32) is not None   # P-256 size
    # suite 2: P-384 and SHA-384, 32 bytes; both sides agree
    k = kdf.agreed_key(c, d, q, oi, 32)
    assert len(k) == 32 and k == kdf.agreed_key(c, h('C1' * 48), ec.public_key(c, d), oi, 32)
    assert k == kdf.kdf('sha384', kdf.agree(c, d, q), oi, 32)
