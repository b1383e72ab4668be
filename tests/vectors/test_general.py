# dlms_pk.general: general-ciphering (0xDD) and general-signing (0xDF).
# - the derived vector of shared/reference/dlms-public-key.md 7.3.6 (agreed-key C(0e,2s), suite
#   1) byte for byte: Z, OtherInfo, EK, the AAD, the whole DD APDU built and parsed both ways
#   (the client as U, the meter as V), and the Gurux Java/.NET tag (AAD SC || AK only,
#   A663E4F39F83C5D221AEEDF5) refused by open_content;
# - round trips for every key-info kind (absent, identified unicast/broadcast, wrapped,
#   C(1e,1s), C(0e,2s)) and every protection level (0x1s, 0x2s, 0x3s, and 0x0s when allowed),
#   for suites 1 and 2 (suite 0 for the kinds that need no public keys), request and response
#   in kind; the other choice of each open question (C1E1S_SIGNS_KEY_PARAMETERS,
#   SIGNING_SIGNS_CONTENT_LENGTH) one constant away;
# - malformed input: every truncation, trailing bytes, every length one too short and too long,
#   long-form lengths, every field's bounds (titles, transaction-id, date-time, key-info
#   members, content), wrong SC nibble / key-set / compression bits, wrong tag (each tag byte,
#   ciphertext, IC, F, AK), wrong key lengths, bad signatures (each part, another key), points
#   not on the curve (Wycheproof ecdh_secp256r1/secp384r1_ecpoint, InvalidCurveAttack), wrong
#   KEK, missing keys;
# - general-signing: sign/verify on P-256 and P-384, every byte of the APDU tampered, another
#   key, an invalid public key, the signature's and content's bounds.
# Plain test_* functions: pytest and tests/mp_runner.py (MicroPython).
import hashlib
from binascii import hexlify, unhexlify

from dlms import axdr, gcm
from dlms_pk import ec, general, kdf, suite1
from dlms_pk.general import GeneralError
from dlms import suite0
from vector_util import h, raised
import vector_files as vf

try:
    from dlms_pk import suite2
except ImportError:     # written concurrently by another engineer
    suite2 = None

STC = h('4D4D4D0000000001')
STS = h('4D4D4D0000BC614E')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
TID = h('0102030405060708')
GET = h('C001C100080000010000FF0200')
DATE_TIME = h('07E5010105FF0000FF800000')       # a COSEM date-time, 12 bytes

_ECDH = {'P-256': 'Protocol/wycheproof/ecdh_secp256r1_ecpoint_test.json',
         'P-384': 'Protocol/wycheproof/ecdh_secp384r1_ecpoint_test.json'}


def _suites():
    if suite2 is None:
        print('SKIP suite 2 parts: dlms_pk.suite2 is not there yet')
        return (suite1,)
    return (suite1, suite2)


def _rng(seed):
    # deterministic bytes: SHA-256(seed || counter)
    state = [0]

    def rng(n):
        out = b''
        while len(out) < n:
            state[0] += 1
            out += hashlib.sha256(seed + state[0].to_bytes(4, 'big')).digest()
        return out[0:n]
    return rng


class _Parties:
    # the client (U of its requests) and the meter (V of them, U of its responses)
    pass


_CACHE = {}


def _parties(suite):
    p = _CACHE.get(suite.ID)
    if p is not None:
        return p
    p = _Parties()
    n = suite.KEY_LEN
    p.ak = bytes(range(0xD0, 0xD0 + n))
    p.guek = bytes(range(n))
    p.gbek = bytes(range(0x40, 0x40 + n))
    p.kek = bytes(range(0x80, 0x80 + n))
    c = getattr(suite, 'CURVE', None)
    if c is not None:
        size = c.size
        p.c_sign_d = b'\x11' * size
        p.c_agree_d = b'\x12' * size
        p.m_sign_d = b'\x21' * size
        p.m_agree_d = b'\x22' * size
        p.c_sign_q = ec.public_key(c, p.c_sign_d)
        p.c_agree_q = ec.public_key(c, p.c_agree_d)
        p.m_sign_q = ec.public_key(c, p.m_sign_d)
        p.m_agree_q = ec.public_key(c, p.m_agree_d)
        p.other_d = b'\x31' * size
        p.other_q = ec.public_key(c, p.other_d)
    _CACHE[suite.ID] = p
    return p


def _key_info(suite, kind, rng, tid=TID, u=STC, v=STS, meter_is_u=False):
    # (key, key_info_bytes) as U makes them
    p = _parties(suite)
    if kind == 'none':
        return p.guek, None
    if kind == 'unicast':
        return p.guek, general.key_info_identified(0)
    if kind == 'broadcast':
        return p.gbek, general.key_info_identified(1)
    if kind == 'wrapped':
        return general.wrapped_key(suite, p.kek, rng)
    if kind == 'c1e1s':
        if meter_is_u:
            return general.agreed_key_c1e1s(suite, p.m_sign_d, p.c_agree_q, u, v, rng)
        return general.agreed_key_c1e1s(suite, p.c_sign_d, p.m_agree_q, u, v, rng)
    if meter_is_u:
        return general.agreed_key_c0e2s(suite, p.m_agree_d, p.c_agree_q, u, v, tid)
    return general.agreed_key_c0e2s(suite, p.c_agree_d, p.m_agree_q, u, v, tid)


def _request(suite, kind, sc, apdu=GET, ic=7, tid=TID, dt=b'', oi=b'', seed=b'r'):
    # the client's request to the meter -> (whole APDU, content key)
    p = _parties(suite)
    key, ki = _key_info(suite, kind, _rng(seed), tid)
    f = general.encode_fields(tid, STC, STS, dt, oi)
    content = general.seal_content(suite, key, p.ak, STC, f, sc, ic, apdu)
    return general.build_ciphering(tid, STC, STS, dt, oi, ki, content), key


def _meter_key(suite, msg):
    p = _parties(suite)
    if msg.key_info is None:
        return p.guek
    return general.content_key(
        suite, msg, global_key=lambda k: p.gbek if k else p.guek, kek=p.kek,
        own_agree_private=getattr(p, 'm_agree_d', None),
        sign_public=lambda t: p.c_sign_q if t == STC else None,
        agree_public=lambda t: p.c_agree_q if t == STC else None)


def _meter_opens(suite, whole, unprotected=False):
    # what the meter does with a request -> (msg, key, (sc, ic, apdu))
    msg = general.parse_ciphering(whole)
    key = _meter_key(suite, msg)
    return msg, key, general.open_content(suite, key, _parties(suite).ak, msg.originator,
                                          msg.fields, msg.content, unprotected)


def _refused(suite, whole):
    # True when the meter refuses the APDU (GeneralError); any other exception goes on up
    try:
        _meter_opens(suite, whole)
    except GeneralError:
        return True
    return False


def _invalid_point(c):
    # X || Y of the first Wycheproof ECDH point that is not on the curve (sent uncompressed)
    data = vf.load_json(vf.PYCRYPTODOME, _ECDH[c.name])
    for g in data['testGroups']:
        for t in g['tests']:
            if (t['result'] == 'invalid' and 'InvalidCurveAttack' in t['flags']
                    and len(t['public']) == 4 * c.size + 2):
                q = unhexlify(t['public'])[1:]
                assert raised(ec.ECError, ec.decode_point, c, q) is not None
                return q
    raise AssertionError('no invalid point in ' + _ECDH[c.name])


def _reason(fn, *args):
    e = raised(GeneralError, fn, *args)
    assert e is not None, 'accepted'
    return str(e)


# ---------------------------------------------------------------------------
# The derived vector 7.3.6: general-ciphering, agreed-key C(0e,2s), suite 1

_D_SU = h('A1' * 32)
_D_SV = h('A2' * 32)
_Q_SU = h('C00AAC349EFFD31A0FF2D6ECD4426B5907919DCCF65B2EE383B37BA254143559'
          '5D064A59D4C1BAE47BB7875EA428FCDCD5DA75AE6EBBCFCB3BB98E2D00D55229')
_Q_SV = h('967569AC3C6C2E8309BB0CD6516567550A208A71040B3FD0DDE8A41552C7906A'
          '32B4561618476E62F76986AA87EFA48B906E547FD139FC3E071BB9CAF70F0D23')
_Z = h('E0BEE82785FAA3277075C3A0A245A3605033BA3F45DD77BB35B42C44D1AC149E')
_OI = h('608574050803004D4D4D00000000010801020304050607084D4D4D0000BC614E')
_EK = h('1BAABD85DDEBEB6CD01A0AD44AD1C2D7')
_F = h('08 0102030405060708 08 4D4D4D0000000001 08 4D4D4D0000BC614E 00 00')
_AAD = h('31 D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF') + _F
_WHOLE = h('DD080102030405060708084D4D4D0000000001084D4D4D0000BC614E000001020102001E31'
           '00000000C26A0CA755852C2A61B6ED2916D72C8F722A7110ACDA35E7AC')
_GURUX_TAG = h('A663E4F39F83C5D221AEEDF5')


def test_7_3_6_z_other_info_and_ek():
    c = ec.P256
    assert ec.public_key(c, _D_SU) == _Q_SU and ec.public_key(c, _D_SV) == _Q_SV
    assert kdf.agree(c, _D_SV, _Q_SU) == _Z and kdf.agree(c, _D_SU, _Q_SV) == _Z
    assert kdf.other_info(kdf.ALG_AES_GCM_128, STC, STS, TID) == _OI
    msg = general.parse_ciphering(_WHOLE)
    # the meter (V): its static key-agreement key, the client's from its certificate
    assert general.key_c0e2s(suite1, msg, _D_SV, _Q_SU) == _EK
    assert general.content_key(suite1, msg, own_agree_private=_D_SV,
                               agree_public=lambda t: _Q_SU if t == STC else None) == _EK
    # the client (U)
    key, ki = general.agreed_key_c0e2s(suite1, _D_SU, _Q_SV, STC, STS, TID)
    assert key == _EK and ki == h('02 01 02 00')


def test_7_3_6_parse_aad_and_the_whole_apdu():
    msg = general.parse_ciphering(_WHOLE)
    assert msg.transaction_id == TID and msg.originator == STC and msg.recipient == STS
    assert msg.date_time == b'' and msg.other_information == b''
    assert msg.key_info == ('agreed', 2, b'')
    assert bytes(msg.key_info_bytes) == h('02010200')
    assert bytes(msg.fields) == _F
    assert bytes(msg.content) == _WHOLE[len(_WHOLE) - 30:]
    assert bytes(general.additional_data(0x31, AK, msg.fields)) == _AAD
    assert general.split_content(suite1, msg.content) == (0x31, 0)
    assert general.open_content(suite1, _EK, AK, STC, msg.fields, msg.content) == (0x31, 0, GET)
    # built by the client, byte for byte
    assert general.encode_fields(TID, STC, STS, b'', b'') == _F
    content = general.seal_content(suite1, _EK, AK, STC, _F, 0x31, 0, GET)
    _, ki = general.agreed_key_c0e2s(suite1, _D_SU, _Q_SV, STC, STS, TID)
    assert general.build_ciphering(TID, STC, STS, b'', b'', ki, content) == _WHOLE
    # the key-info echoed from the parsed request builds the same APDU
    assert general.build_ciphering(TID, STC, STS, b'', b'', msg.key_info_bytes,
                                   content) == _WHOLE


def test_7_3_6_gurux_aad_gives_the_other_tag_and_is_refused():
    g = gcm.Gcm(_EK)
    iv = STC + bytes(4)
    ct, tag = g.encrypt(iv, GET, h('31') + AK)          # Gurux Java / .NET: SC || AK only
    assert tag[0:12] == _GURUX_TAG
    gurux = _WHOLE[0:len(_WHOLE) - 12] + _GURUX_TAG
    assert gurux[len(gurux) - 25:len(gurux) - 12] == ct     # the same ciphertext
    msg = general.parse_ciphering(gurux)
    assert _reason(general.open_content, suite1, _EK, AK, STC, msg.fields, msg.content) == 'tag'


# ---------------------------------------------------------------------------
# Round trips

_KINDS_SYM = ('none', 'unicast', 'broadcast', 'wrapped')
_KINDS_PK = ('c1e1s', 'c0e2s')


def _round_trip(suite, kind, level, dt=b'', oi=b''):
    p = _parties(suite)
    sc = level | suite.ID
    whole, key = _request(suite, kind, sc, dt=dt, oi=oi, seed=bytes((level, suite.ID)))
    msg, mkey, opened = _meter_opens(suite, whole)
    assert mkey == key, (suite.ID, kind)
    assert opened == (sc, 7, GET), (suite.ID, kind, level)
    if level & 0x20:
        assert GET not in bytes(msg.content)
    else:
        assert bytes(msg.content[5:5 + len(GET)]) == GET
    assert len(msg.content) == 5 + len(GET) + (12 if level & 0x10 else 0)
    # the response in kind: key-info echoed for identified/wrapped (the same key), a fresh
    # agreement with the meter as U for agreed keys
    answer = h('C401C10009060000010000FF')
    if kind in _KINDS_PK:
        rkey, rki = _key_info(suite, kind, _rng(b'm' + bytes((level,))), msg.transaction_id,
                              STS, STC, True)
    else:
        rkey, rki = mkey, msg.key_info_bytes
    f = general.encode_fields(msg.transaction_id, STS, STC, dt, oi)
    content = general.seal_content(suite, rkey, p.ak, STS, f, sc, 8, answer)
    resp = general.build_ciphering(msg.transaction_id, STS, STC, dt, oi, rki, content)
    # the client takes it apart (V of the response)
    r = general.parse_ciphering(resp)
    assert r.originator == STS and r.recipient == STC and bytes(r.fields) == f
    if kind == 'c1e1s':
        ck = general.key_c1e1s(suite, r, p.c_agree_d, p.m_sign_q)
    elif kind == 'c0e2s':
        ck = general.key_c0e2s(suite, r, p.c_agree_d, p.m_agree_q)
    else:
        ck = rkey
    assert ck == rkey
    assert general.open_content(suite, ck, p.ak, STS, r.fields, r.content) == (sc, 8, answer)


def test_round_trips_symmetric_key_info_every_level_suites_0_1_2():
    for suite in (suite0,) + _suites():
        for kind in _KINDS_SYM:
            for level in (0x10, 0x20, 0x30):
                _round_trip(suite, kind, level)


def test_round_trips_agreed_keys_every_level_suites_1_2():
    for suite in _suites():
        for kind in _KINDS_PK:
            for level in (0x10, 0x20, 0x30):
                _round_trip(suite, kind, level)


def test_round_trip_with_date_time_and_other_information():
    for suite in _suites():
        _round_trip(suite, 'c0e2s', 0x30, DATE_TIME, b'\x05\x06\x07')
        _round_trip(suite, 'wrapped', 0x10, DATE_TIME, bytes(200))     # long-form lengths


def test_key_info_kinds_as_parsed():
    s = suite1
    p = _parties(s)
    cases = (('none', None), ('unicast', ('identified', 0)), ('broadcast', ('identified', 1)))
    for kind, want in cases:
        msg = general.parse_ciphering(_request(s, kind, 0x31)[0])
        assert msg.key_info == want, kind
    msg = general.parse_ciphering(_request(s, 'wrapped', 0x31)[0])
    assert msg.key_info[0:2] == ('wrapped', 0) and len(msg.key_info[2]) == 24
    msg = general.parse_ciphering(_request(s, 'c1e1s', 0x31)[0])
    assert msg.key_info[0:2] == ('agreed', 1) and len(msg.key_info[2]) == 128
    # Sig_U is over key-parameters || X || Y
    q = msg.key_info[2][0:64]
    assert ec.verify(ec.P256, p.c_sign_q, b'\x01' + q, msg.key_info[2][64:])
    if suite2 is not None:
        msg = general.parse_ciphering(_request(suite2, 'c1e1s', 0x32)[0])
        assert len(msg.key_info[2]) == 192
        msg = general.parse_ciphering(_request(suite2, 'wrapped', 0x32)[0])
        assert len(msg.key_info[2]) == 40


def test_absent_key_info_leaves_the_key_to_the_caller():
    msg = general.parse_ciphering(_request(suite1, 'none', 0x31)[0])
    assert _reason(general.content_key, suite1, msg) == 'no key-info'


def test_no_protection_layer_only_when_allowed():
    for suite in (suite0, suite1):
        sc = suite.ID
        whole, _ = _request(suite, 'unicast', sc)
        msg = general.parse_ciphering(whole)
        assert bytes(msg.content) == bytes((sc,)) + bytes((0, 0, 0, 7)) + GET
        assert _reason(_meter_opens, suite, whole) == 'no protection'
        assert _meter_opens(suite, whole, True)[2] == (sc, 7, GET)
        assert general.split_content(suite, msg.content, True) == (sc, 7)


def test_c1e1s_signed_bytes_are_one_constant_away():
    s = suite1
    p = _parties(s)
    whole, key = _request(s, 'c1e1s', 0x31)
    msg = general.parse_ciphering(whole)
    q = msg.key_info[2][0:64]
    assert general.c1e1s_signed(q) == b'\x01' + q
    general.C1E1S_SIGNS_KEY_PARAMETERS = False
    try:
        assert general.c1e1s_signed(q) == q
        # a Gurux-style signature is refused by the other choice, and the other way round
        assert _reason(_meter_opens, s, whole) == 'signature'
        whole2, key2 = _request(s, 'c1e1s', 0x31, seed=b'other')
        msg2 = general.parse_ciphering(whole2)
        assert ec.verify(ec.P256, p.c_sign_q, msg2.key_info[2][0:64], msg2.key_info[2][64:])
        assert _meter_opens(s, whole2)[1] == key2
    finally:
        general.C1E1S_SIGNS_KEY_PARAMETERS = True
    assert _reason(_meter_opens, s, whole2) == 'signature'
    assert _meter_opens(s, whole)[1] == key


# ---------------------------------------------------------------------------
# Malformed APDUs

def _samples():
    # one request per key-info kind (suite 1), with date-time and other-information present
    out = []
    for kind in _KINDS_SYM + _KINDS_PK:
        out.append(_request(suite1, kind, 0x31, dt=DATE_TIME, oi=b'\xAA\xBB\xCC',
                            tid=h('A1B2C3D4E5F6A7B8'))[0])
    return out


def test_samples_are_accepted():
    for whole in _samples():
        assert not _refused(suite1, whole)


def test_every_truncation_and_trailing_bytes_are_refused():
    for whole in _samples():
        for n in range(len(whole)):
            assert raised(GeneralError, general.parse_ciphering, whole[0:n]) is not None, n
        assert _reason(general.parse_ciphering, whole + b'\x00') == 'trailing bytes'
        assert _reason(general.parse_ciphering, memoryview(whole + b'\x00\x01')) \
            == 'trailing bytes'


def _length_positions(whole):
    # the positions of the one-byte A-XDR lengths of a parsed sample: the five fields, the
    # key-info strings, the content
    out = []
    pos = 1
    for _ in range(5):
        out.append(pos)
        pos += 1 + whole[pos]
    flag = whole[pos]
    pos += 1
    if flag:
        choice = whole[pos]
        if choice == 0:
            pos += 2
        elif choice == 1:
            out.append(pos + 2)
            pos += 3 + whole[pos + 2]
        else:
            out.append(pos + 1)
            pos += 2 + whole[pos + 1]
            out.append(pos)
            if whole[pos] == 0x81:
                pos += 2 + whole[pos + 1]
            else:
                pos += 1 + whole[pos]
    out.append(pos)
    return out


def test_every_length_one_too_short_or_too_long_is_refused():
    for whole in _samples():
        for pos in _length_positions(whole):
            for delta in (-1, 1):
                b = bytearray(whole)
                if b[pos] == 0x81:          # the long form: change its value byte
                    b[pos + 1] = (b[pos + 1] + delta) & 0xFF
                elif b[pos] + delta < 0:
                    continue
                else:
                    b[pos] += delta
                assert _refused(suite1, bytes(b)), (pos, delta)


def test_long_form_lengths():
    whole = _request(suite1, 'unicast', 0x31)[0]
    # the transaction-id's length as 81 08: parsed (A-XDR long form) but F differs: tag fails
    b = whole[0:1] + b'\x81' + whole[1:]
    msg = general.parse_ciphering(b)
    assert msg.transaction_id == TID and bytes(msg.fields[0:2]) == b'\x81\x08'
    assert _reason(_meter_opens, suite1, b) == 'tag'
    for bad in (b'\x80', b'\x85\x00\x00\x00\x00\x08', b'\x84\xFF\xFF\xFF\xFF'):
        assert _reason(general.parse_ciphering, whole[0:1] + bad + whole[2:]) == 'length'


def _with_header(tid=TID, orig=STC, recip=STS, dt=b'', oi=b'', key_info=b'\x00',
                 content=None):
    # a general-ciphering APDU from raw parts (no checks)
    if content is None:
        content = b'\x31' + bytes(4) + bytes(13) + bytes(12)
    out = bytearray(b'\xDD')
    for v in (tid, orig, recip, dt, oi):
        out.append(len(v))
        out.extend(v)
    out.extend(key_info)
    out.append(len(content))
    out.extend(content)
    return bytes(out)


def test_header_field_bounds():
    p = general.parse_ciphering
    assert p(_with_header()).transaction_id == TID
    assert p(_with_header(tid=b'\x01')).transaction_id == b'\x01'
    assert p(_with_header(tid=bytes(64))).transaction_id == bytes(64)
    assert p(_with_header(dt=DATE_TIME)).date_time == DATE_TIME
    assert p(_with_header(oi=bytes(100))).other_information == bytes(100)
    for kw, reason in ((dict(tid=b''), 'transaction-id'), (dict(tid=bytes(65)), 'transaction-id'),
                       (dict(orig=STC[0:7]), 'system title'), (dict(orig=STC + b'\x00'),
                                                               'system title'),
                       (dict(orig=b''), 'system title'), (dict(recip=b''), 'system title'),
                       (dict(recip=STS[0:7]), 'system title'),
                       (dict(recip=STS + b'\x00'), 'system title'),
                       (dict(dt=DATE_TIME[0:11]), 'date-time'), (dict(dt=DATE_TIME + b'\x00'),
                                                                 'date-time'),
                       (dict(content=bytes(4)), 'short content'), (dict(content=b''),
                                                                   'short content'),
                       (dict(key_info=b'\x02'), 'key-info flag'),
                       (dict(key_info=b'\x01\x03'), 'key-info'),
                       (dict(key_info=b'\x01\x00\x02'), 'key-id'),
                       (dict(key_info=b'\x01\x01\x01\x18' + bytes(24)), 'kek-id'),
                       (dict(key_info=b'\x01\x01\x00\x17' + bytes(23)), 'wrapped key length'),
                       (dict(key_info=b'\x01\x01\x00\x19' + bytes(25)), 'wrapped key length'),
                       (dict(key_info=b'\x01\x02\x01\x00\x00'), 'key-parameters'),
                       (dict(key_info=b'\x01\x02\x01\x03\x00'), 'key-parameters'),
                       (dict(key_info=b'\x01\x02\x00\x00'), 'key-parameters'),
                       (dict(key_info=b'\x01\x02\x02\x02\x00\x00'), 'key-parameters'),
                       (dict(key_info=b'\x01\x02\x01\x02\x01\x00'), 'key-ciphered-data length'),
                       (dict(key_info=b'\x01\x02\x01\x01\x00'), 'key-ciphered-data length'),
                       (dict(key_info=b'\x01\x02\x01\x01\x7F' + bytes(127)),
                        'key-ciphered-data length'),
                       (dict(key_info=b'\x01\x02\x01\x01\x81\x81' + bytes(129)),
                        'key-ciphered-data length')):
        assert _reason(p, _with_header(**kw)) == reason, (kw, reason)
    for tag in (0xDB, 0xDC, 0xDF, 0x00):
        assert _reason(p, bytes((tag,)) + _with_header()[1:]) == 'tag'
    assert _reason(p, b'') == 'tag'
    # the builders refuse the same bounds
    b = general.build_ciphering
    content = b'\x31' + bytes(29)
    for args in ((b'', STC, STS, b'', b''), (bytes(65), STC, STS, b'', b''),
                 (TID, STC[0:7], STS, b'', b''), (TID, STC, b'', b'', b''),
                 (TID, STC, STS, bytes(11), b'')):
        assert raised(GeneralError, b, *(args + (None, content))) is not None, args
    assert _reason(b, TID, STC, STS, b'', b'', None, bytes(4)) == 'short content'
    for ki in (b'\x03', b'\x00\x05', b'\x00\x00\x00', b'\x02\x01\x02\x01\x00'):
        assert raised(GeneralError, b, TID, STC, STS, b'', b'', ki, content) is not None, ki


def test_security_control_byte():
    p = _parties(suite1)
    whole, key = _request(suite1, 'unicast', 0x31)
    msg = general.parse_ciphering(whole)
    for sc in (0x30, 0x32, 0x33, 0x3F, 0x71, 0xB1, 0xF1):
        c = bytes((sc,)) + bytes(msg.content[1:])
        assert _reason(general.split_content, suite1, c) == 'security control', sc
        assert _reason(general.open_content, suite1, key, p.ak, STC, msg.fields, c) \
            == 'security control', sc
        assert _reason(general.seal_content, suite1, key, p.ak, STC, msg.fields, sc, 0, GET) \
            == 'security control', sc
    assert _reason(general.split_content, suite1, bytes(msg.content[0:4])) == 'short content'
    assert _reason(general.seal_content, suite1, key, p.ak, STC, msg.fields, 0x31, -1, GET) \
        == 'invocation counter'
    assert _reason(general.seal_content, suite1, key, p.ak, STC, msg.fields, 0x31, 1 << 32,
                   GET) == 'invocation counter'
    assert _reason(general.seal_content, suite1, key, p.ak, STC[0:7], msg.fields, 0x31, 0,
                   GET) == 'system title'
    assert _reason(general.open_content, suite1, key, p.ak, STC[0:7], msg.fields,
                   msg.content) == 'system title'


def test_wrong_tag_ciphertext_ic_fields_or_ak():
    p = _parties(suite1)
    for sc in (0x31, 0x11):
        whole, key = _request(suite1, 'unicast', sc)
        msg = general.parse_ciphering(whole)
        content = bytes(msg.content)
        f = bytes(msg.fields)
        op = general.open_content
        assert op(suite1, key, p.ak, STC, f, content)[2] == GET
        for i in range(1, len(content)):        # IC, text and every tag byte
            c = bytearray(content)
            c[i] ^= 0x01
            assert _reason(op, suite1, key, p.ak, STC, f, bytes(c)) == 'tag', (sc, i)
        for i in range(len(f)):                  # F
            g = bytearray(f)
            g[i] ^= 0x80
            assert _reason(op, suite1, key, p.ak, STC, bytes(g), content) == 'tag', (sc, i)
        assert _reason(op, suite1, key, p.ak, STS, f, content) == 'tag'      # another IV
        ak = bytearray(p.ak)
        ak[15] ^= 1
        assert _reason(op, suite1, key, bytes(ak), STC, f, content) == 'tag'
        assert _reason(op, suite1, p.gbek, p.ak, STC, f, content) == 'tag'
        assert _reason(op, suite1, key, p.ak, STC, f, content[0:16]) == 'short tag'
        assert _reason(op, suite1, key, p.ak, STC, f, content[0:len(content) - 1]) == 'tag'
    # encryption only carries no tag: a changed byte changes the text (nothing to refuse)
    whole, key = _request(suite1, 'unicast', 0x21)
    msg = general.parse_ciphering(whole)
    c = bytearray(msg.content)
    c[6] ^= 0x01
    assert general.open_content(suite1, key, p.ak, STC, msg.fields, bytes(c))[2] != GET


def test_key_lengths():
    op = general.open_content
    se = general.seal_content
    p = _parties(suite1)
    whole, key = _request(suite1, 'unicast', 0x31)
    msg = general.parse_ciphering(whole)
    f = msg.fields
    for ek, ak in ((key[0:15], p.ak), (key + b'\x00', p.ak), (key, p.ak[0:15]), (key, None),
                   (bytes(32), bytes(32))):
        assert _reason(op, suite1, ek, ak, STC, f, msg.content) == 'key length'
        assert _reason(se, suite1, ek, ak, STC, f, 0x31, 0, GET) == 'key length'
    # encryption only needs no AK
    c = se(suite1, key, None, STC, f, 0x21, 0, GET)
    assert op(suite1, key, None, STC, f, c) == (0x21, 0, GET)
    if suite2 is not None:
        assert _reason(se, suite2, key, p.ak, STC, f, 0x32, 0, GET) == 'key length'
        assert _reason(se, suite2, bytes(32), bytes(32), STC, f, 0x31, 0, GET) \
            == 'security control'
    # a global key of the wrong length for identified-key
    assert _reason(general.content_key, suite1, msg, bytes(32)) == 'key length'
    assert _reason(general.content_key, suite1, msg, lambda k: None) == 'key length'


def test_wrapped_key_failures():
    p = _parties(suite1)
    whole, _ = _request(suite1, 'wrapped', 0x31)
    msg = general.parse_ciphering(whole)
    kek = bytearray(p.kek)
    kek[0] ^= 1
    assert _reason(general.key_wrapped, suite1, msg, bytes(kek)) == 'key unwrap'
    assert _reason(general.content_key, suite1, msg) == 'no key'
    w = bytearray(msg.key_info[2])
    w[10] ^= 1
    msg.key_info = ('wrapped', 0, bytes(w))
    assert _reason(general.key_wrapped, suite1, msg, p.kek) == 'key unwrap'
    if suite2 is not None:
        # a 40-byte wrapped key (a 32-byte key) in a suite 1 request, and the other way round
        whole2, _ = _request(suite2, 'wrapped', 0x32)
        msg2 = general.parse_ciphering(whole2)
        assert _reason(general.key_wrapped, suite1, msg2, p.kek) == 'wrapped key length'
        assert _reason(general.key_wrapped, suite2, general.parse_ciphering(whole),
                       _parties(suite2).kek) == 'wrapped key length'
    assert _reason(general.key_wrapped, suite1, general.parse_ciphering(
        _request(suite1, 'c0e2s', 0x31)[0]), p.kek) == 'key-info'
    assert _reason(general.wrapped_key, suite1, p.kek, lambda n: bytes(n - 1)) == 'rng'
    assert _reason(general.wrapped_key, suite1, bytes(15), lambda n: bytes(n)) == 'key wrap'


def test_c1e1s_bad_signatures():
    for suite in _suites():
        c = suite.CURVE
        size = c.size
        p = _parties(suite)
        whole, key = _request(suite, 'c1e1s', 0x30 | suite.ID)
        msg = general.parse_ciphering(whole)
        data = msg.key_info[2]
        assert general.key_c1e1s(suite, msg, p.m_agree_d, p.c_sign_q) == key
        # a byte of X, of Y, of r, of s changed
        for i in (0, size, 2 * size, 3 * size, 4 * size - 1):
            d = bytearray(data)
            d[i] ^= 0x01
            msg.key_info = ('agreed', 1, bytes(d))
            assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.c_sign_q) \
                == 'signature', i       # Sig_U first: a changed X or Y is a bad signature
        msg.key_info = ('agreed', 1, data)
        # the signature of another key, the originator's key-agreement key instead of its
        # signature key
        assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.other_q) == 'signature'
        assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.c_agree_q) == 'signature'
        q = data[0:2 * size]
        forged = q + ec.sign(c, p.other_d, general.c1e1s_signed(q), b'')
        msg.key_info = ('agreed', 1, forged)
        assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.c_sign_q) == 'signature'
        # r = 0, s = 0, all ones
        for sig in (bytes(2 * size), b'\xFF' * (2 * size)):
            msg.key_info = ('agreed', 1, q + sig)
            assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.c_sign_q) == 'signature'
        # the whole APDU with a forged signature
        b = bytearray(whole)
        i = bytes(b).find(data) + 3 * size
        b[i] ^= 0x40
        assert _reason(_meter_opens, suite, bytes(b)) == 'signature'
        # a key-ciphered-data of the other curve's size
        msg.key_info = ('agreed', 1, bytes(192 if size == 32 else 128))
        assert _reason(general.key_c1e1s, suite, msg, p.m_agree_d, p.c_sign_q) \
            == 'key-ciphered-data length'


def test_points_not_on_the_curve():
    for suite in _suites():
        c = suite.CURVE
        p = _parties(suite)
        bad = _invalid_point(c)
        # Q_eU not on the curve, validly signed by U: refused before any ECDH
        ki = general.key_info_agreed(1, bad + ec.sign(c, p.c_sign_d, general.c1e1s_signed(bad),
                                                      b''))
        f = general.encode_fields(TID, STC, STS, b'', b'')
        content = general.seal_content(suite, p.guek, p.ak, STC, f, 0x30 | suite.ID, 0, GET)
        whole = general.build_ciphering(TID, STC, STS, b'', b'', ki, content)
        assert _reason(_meter_opens, suite, whole) == 'point'
        # the originator's signature key not a point
        good = general.parse_ciphering(_request(suite, 'c1e1s', 0x30 | suite.ID)[0])
        assert _reason(general.key_c1e1s, suite, good, p.m_agree_d, bad) == 'signature key'
        # C(0e,2s) with Q_sU not a point
        c0 = general.parse_ciphering(_request(suite, 'c0e2s', 0x30 | suite.ID)[0])
        assert _reason(general.key_c0e2s, suite, c0, p.m_agree_d, bad) == 'point'
        # the response builders with V's static key not a point
        assert _reason(general.agreed_key_c1e1s, suite, p.m_sign_d, bad, STS, STC,
                       _rng(b'x')) == 'point'
        assert _reason(general.agreed_key_c0e2s, suite, p.m_agree_d, bad, STS, STC, TID) \
            == 'point'
        # a point of the other size, and the point at infinity's "encoding"
        assert _reason(general.key_c0e2s, suite, c0, p.m_agree_d, bad[0:len(bad) - 1]) \
            == 'point'
        assert _reason(general.key_c0e2s, suite, c0, p.m_agree_d, bytes(len(bad))) == 'point'


def test_agreement_misuse():
    p = _parties(suite1)
    msg = general.parse_ciphering(_request(suite1, 'c0e2s', 0x31)[0])
    # key-info of another kind, suite 0 (no public keys), a bad own private key
    assert _reason(general.key_c1e1s, suite1, msg, p.m_agree_d, p.c_sign_q) == 'key-info'
    assert _reason(general.key_identified, suite1, msg, p.guek) == 'key-info'
    assert _reason(general.key_c0e2s, suite0, msg, p.m_agree_d, p.c_agree_q) == 'suite'
    assert _reason(general.key_c0e2s, suite1, msg, bytes(32), p.c_agree_q) == 'key agreement'
    assert _reason(general.key_c0e2s, suite1, msg, p.m_agree_d[0:31], p.c_agree_q) \
        == 'key agreement'
    # the other party's keys give another key; so does another transaction-id
    k = general.key_c0e2s(suite1, msg, p.m_agree_d, p.c_agree_q)
    assert general.key_c0e2s(suite1, msg, p.m_agree_d, p.other_q) != k
    msg.transaction_id = b'\x01'
    assert general.key_c0e2s(suite1, msg, p.m_agree_d, p.c_agree_q) != k
    # content_key asks for what it needs only, and refuses what is missing
    for kw in (dict(), dict(own_agree_private=p.m_agree_d),
               dict(own_agree_private=p.m_agree_d, agree_public=lambda t: None)):
        assert _reason(lambda: general.content_key(suite1, msg, **kw)) == 'no key', kw
    c1 = general.parse_ciphering(_request(suite1, 'c1e1s', 0x31)[0])
    assert _reason(lambda: general.content_key(suite1, c1, own_agree_private=p.m_agree_d,
                                               agree_public=p.c_agree_q)) == 'no key'
    assert _reason(general.agreed_key_c0e2s, suite1, p.m_agree_d, p.c_agree_q, STS, STC,
                   b'') == 'transaction-id'
    assert _reason(general.agreed_key_c1e1s, suite1, p.m_sign_d, p.c_agree_q, STS[0:7], STC,
                   _rng(b'y')) == 'other info'
    assert _reason(general.agreed_key_c1e1s, suite1, p.m_sign_d[0:31], p.c_agree_q, STS, STC,
                   _rng(b'y')) == 'signing'
    assert _reason(general.agreed_key_c1e1s, suite1, p.m_sign_d, p.c_agree_q, STS, STC,
                   lambda n: bytes(n)) == 'key generation'


def test_no_key_material_in_errors_or_reprs():
    p = _parties(suite1)
    whole, key = _request(suite1, 'wrapped', 0x31)
    msg = general.parse_ciphering(whole)
    assert repr(msg) == '<Ciphering>'
    e = raised(GeneralError, general.key_wrapped, suite1, msg, bytes(16))
    assert str(e) == 'key unwrap'
    for secret in (key, p.kek, p.m_agree_d):
        for text in (repr(msg), str(e)):
            assert hexlify(secret).decode() not in text and repr(secret) not in text


# ---------------------------------------------------------------------------
# general-signing

def _signing(curve, d, content=GET, dt=b'', oi=b'', seed=b's'):
    return general.sign_signing(curve, d, TID, STC, STS, dt, oi, content, _rng(seed))


def test_signing_round_trip_and_layout():
    for c in (ec.P256, ec.P384):
        d = b'\x41' * c.size
        q = ec.public_key(c, d)
        for dt, oi, content in ((b'', b'', GET), (DATE_TIME, b'\x01\x02', bytes(300))):
            apdu = _signing(c, d, content, dt, oi)
            m = general.parse_signing(apdu)
            assert repr(m) == '<Signing>'
            assert (m.transaction_id, m.originator, m.recipient, m.date_time,
                    m.other_information) == (TID, STC, STS, dt, oi)
            assert bytes(m.content) == content and len(m.signature) == 2 * c.size
            f = general.encode_fields(TID, STC, STS, dt, oi)
            ln = bytearray()
            axdr.encode_length(len(content), ln)
            signed = f + bytes(ln) + content
            assert bytes(m.fields) == f and bytes(m.signed) == signed
            assert apdu == b'\xDF' + signed + bytes((2 * c.size,)) + m.signature
            assert ec.verify(c, q, signed, m.signature)         # independent of verify_signing
            assert general.verify_signing(c, q, m)


def test_signing_every_byte_tampered():
    for c in (ec.P256, ec.P384):
        d = b'\x41' * c.size
        q = ec.public_key(c, d)
        apdu = _signing(c, d, dt=DATE_TIME, oi=b'\x09')
        for i in range(len(apdu)):
            b = bytearray(apdu)
            b[i] ^= 0x04
            try:
                m = general.parse_signing(bytes(b))
            except GeneralError:
                continue
            assert not general.verify_signing(c, q, m), i


def test_signing_other_key_curve_and_invalid_public_key():
    c = ec.P256
    d = b'\x41' * 32
    m = general.parse_signing(_signing(c, d))
    assert not general.verify_signing(c, ec.public_key(c, b'\x42' * 32), m)
    assert not general.verify_signing(ec.P384, ec.public_key(ec.P384, b'\x41' * 48), m)
    assert _reason(general.verify_signing, c, _invalid_point(c), m) == 'public key'
    assert _reason(general.verify_signing, c, bytes(64), m) == 'public key'
    # the other curve's signature length is parsed, and refused by the key's curve
    m384 = general.parse_signing(_signing(ec.P384, b'\x41' * 48))
    assert not general.verify_signing(c, ec.public_key(c, d), m384)


def test_signing_bounds():
    c = ec.P256
    d = b'\x41' * 32
    apdu = _signing(c, d)
    p = general.parse_signing
    for n in range(len(apdu)):
        assert raised(GeneralError, p, apdu[0:n]) is not None, n
    assert _reason(p, apdu + b'\x00') == 'trailing bytes'
    assert _reason(p, b'\xDD' + apdu[1:]) == 'tag'
    sig_at = len(apdu) - 65
    for ln in (0, 63, 65, 95, 97):
        b = apdu[0:sig_at] + bytes((ln,)) + bytes(ln)
        assert _reason(p, b) == 'signature length', ln
    empty = apdu[0:30] + b'\x00\x40' + bytes(64)
    assert _reason(p, empty) == 'empty content'
    assert _reason(general.sign_signing, c, d, TID, STC, STS, b'', b'', b'', _rng(b's')) \
        == 'empty content'
    assert _reason(general.sign_signing, c, d, TID, STC, b'', b'', b'', GET, _rng(b's')) \
        == 'system title'
    assert _reason(general.sign_signing, c, d[0:31], TID, STC, STS, b'', b'', GET,
                   _rng(b's')) == 'signing'


def test_signing_content_length_is_one_constant_away():
    c = ec.P256
    d = b'\x41' * 32
    q = ec.public_key(c, d)
    ours = _signing(c, d)
    general.SIGNING_SIGNS_CONTENT_LENGTH = False
    try:
        gurux = _signing(c, d)
        m = general.parse_signing(gurux)
        assert bytes(m.signed) == general.encode_fields(TID, STC, STS, b'', b'') + GET
        assert general.verify_signing(c, q, m)
        assert not general.verify_signing(c, q, general.parse_signing(ours))
    finally:
        general.SIGNING_SIGNS_CONTENT_LENGTH = True
    assert not general.verify_signing(c, q, general.parse_signing(gurux))
    assert general.verify_signing(c, q, general.parse_signing(ours))


def test_sign_then_encrypt_nesting():
    # a general-signing APDU inside a general-ciphering one (Green Book 9.2.7.3 order)
    for suite in _suites():
        c = suite.CURVE
        p = _parties(suite)
        inner = general.sign_signing(c, p.c_sign_d, TID, STC, STS, b'', b'', GET, _rng(b'n'))
        whole, _ = _request(suite, 'c1e1s', 0x30 | suite.ID, apdu=inner)
        _, _, (sc, ic, apdu) = _meter_opens(suite, whole)
        m = general.parse_signing(apdu)
        assert general.verify_signing(c, p.c_sign_q, m) and bytes(m.content) == GET
