# The server core driven by bytes, as a client would drive it. Runs under CPython and MicroPython.
from binascii import hexlify
from dlms import security, axdr
from dlms import suite0
from dlms.server import Server, AssociationConfig, InvocationCounter
from dlms.server import MECH_LOWEST, MECH_LLS, MECH_HLS_GMAC, CTX_LN, CTX_LN_CIPHERED
from dlms.cosem.base import READ, WRITE, AUTH_REQUEST, ENC_REQUEST, INVOKE, NO_ACCESS
from dlms.cosem import Data, Register, Clock, AssociationLN, SecuritySetup
from dlms import association as am
from vector_util import h


EK = h('000102030405060708090A0B0C0D0E0F')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
SERVER_ST = h('4D4D4D0000BC614E')
CLIENT_ST = h('4D4D4D0000000001')
CTOS = b'K56iVagY'
STOC = b'P6wRJ21F'
AE = AUTH_REQUEST | ENC_REQUEST
N = NO_ACCESS
R = READ

PUBLIC_AARQ = h('601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0')
LLS_AARQ = h('6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738'
             'BE10040E01000000065F1F0400007E1F04B0')
INITIATE_REQUEST = h('01000000065F1F0400007E1F04B0')
RLRQ = h('6203800100')


class Clockwork:
    def __init__(self, t=1700000000):
        self.t = t

    def __call__(self):
        return self.t


def make_server(counter_start=0, persisted=None, rng_value=STOC):
    now = Clockwork()
    ldn = Data('0.0.42.0.0.255', axdr.octets(b'MMM0000012345678'))
    clock = Clock('0.0.1.0.0.255', now)
    energy = Register('1.0.1.8.0.255', axdr.u32(1234), 0, 30)
    cur = AssociationLN('0.0.40.0.0.255')
    ss = SecuritySetup('0.0.43.0.0.255', SERVER_ST, 3, 0)
    aread = (R, R, R, R, R, R, N, R, R)
    public = AssociationConfig(16, 'public', MECH_LOWEST, CTX_LN, objects=[
        (ldn, (R, R), ()), (clock, (R,) * 9, (N,) * 6), (cur, aread, (N, N, N, N))])
    reader = AssociationConfig(17, 'reader', MECH_LLS, CTX_LN, secret=b'12345678', objects=[
        (ldn, (R, R), ()), (energy, (R, R, R), (N,)), (cur, aread, (N, N, N, N))])
    mg = AssociationConfig(1, 'management', MECH_HLS_GMAC, CTX_LN_CIPHERED, security_setup=ss,
                           require=AE, objects=[
                               (ldn, (R | AE, R | AE), ()),
                               (clock, (R | AE, READ | WRITE | AE) + (R | AE,) * 7,
                                (N,) * 5 + (INVOKE | AE,)),
                               (energy, (R | AE,) * 3, (N,)),
                               (cur, tuple([m | AE if m else m for m in aread]),
                                (INVOKE | AE, N, N, N)),
                               (ss, (R | AE,) * 5, (N, N))])
    counter = InvocationCounter(counter_start, persisted.append if persisted is not None else None,
                                16)
    srv = Server(SERVER_ST, suite0.Keys(EK, AK), [public, reader, mg],
                 lambda n: rng_value[:n], counter, challenge_length=len(rng_value))
    return srv, now


def tlv(tag, body):
    return bytes((tag, len(body))) + body


def hls_aarq(client_ic=1, ctos=CTOS, st=CLIENT_ST, initiate=INITIATE_REQUEST, keys=None,
             mechanism=5, context=3, sc=0x30):
    keys = keys or suite0.Keys(EK, AK)
    content = suite0.protect(keys, sc, st, client_ic, initiate)
    glo = security.wrap(security.KIND_GLO, None, content, 0x01)
    body = (tlv(0xA1, h('060760857405080101')[:-1] + bytes((context,))) +
            tlv(0xA6, tlv(0x04, st)) + h('8A020780') +
            tlv(0x8B, h('60857405080200')[:-1] + bytes((mechanism,))) +
            tlv(0xAC, tlv(0x80, ctos)) + tlv(0xBE, tlv(0x04, glo)))
    return tlv(0x60, body)


def get_request(class_id, ln, attr, iid=0xC1):
    return bytes((0xC0, 0x01, iid, class_id >> 8, class_id & 0xFF)) + ln + bytes((attr, 0))


def glo(apdu, ic, st=CLIENT_ST, sc=0x30, keys=None):
    content = suite0.protect(keys or suite0.Keys(EK, AK), sc, st, ic, apdu)
    return security.wrap(security.KIND_GLO, None, content, apdu[0])


def unglo(apdu, st=SERVER_ST):
    env = security.unwrap(apdu)
    return suite0.unprotect(suite0.Keys(EK, AK), st, env[3])[2]


def field(aare, tag):
    # walk the top-level BER fields of an AARE
    pos = 2
    while pos < len(aare):
        t, n = aare[pos], aare[pos + 1]
        if t == tag:
            return aare[pos + 2:pos + 2 + n]
        pos += 2 + n
    return None


def aare_result(aare):
    return field(aare, 0xA2)[-1], field(aare, 0xA3)[-1]


LDN = h('00002A0000FF')
CLOCK = h('0000010000FF')
ENERGY = h('0100010800FF')
CURRENT = h('0000280000FF')


def hls_associate(srv, initiate=INITIATE_REQUEST):
    s = srv.session(1)
    aare = s.handle(hls_aarq(initiate=initiate))
    assert aare_result(aare) == (0, 14)
    assert field(aare, 0xAA) == tlv(0x80, STOC)
    assert field(aare, 0xA4) == tlv(0x04, SERVER_ST)
    assert s.assoc.state == am.PENDING
    return s, aare


# ---- public and LLS ----

def test_public_association_reads_logical_device_name():
    srv, _ = make_server()
    s = srv.session(16)
    aare = s.handle(PUBLIC_AARQ)
    assert aare_result(aare) == (0, 0)
    assert field(aare, 0xBE)[2] == 0x08
    r = s.handle(get_request(1, LDN, 2))
    assert r == h('C401C100') + axdr.to_bytes(axdr.octets(b'MMM0000012345678'))


def test_public_association_negotiates_conformance_and_pdu():
    srv, _ = make_server()
    s = srv.session(16)
    aare = s.handle(PUBLIC_AARQ)
    ui = field(aare, 0xBE)
    # 04 LL 08 00 06 5F1F04 00 <conf 3> <pdu 2> 0007
    init = ui[2:]
    assert init[0] == 0x08 and init[2] == 6
    conf = int.from_bytes(init[7:10], 'big')
    assert conf == 0x007E1F & 0x401219
    assert int.from_bytes(init[10:12], 'big') == 1024
    assert s.client_max_pdu == 1200


def test_public_association_cannot_read_energy():
    srv, _ = make_server()
    s = srv.session(16)
    s.handle(PUBLIC_AARQ)
    assert s.handle(get_request(3, ENERGY, 2)) == h('C401C10104')   # object-undefined


def test_secret_is_never_readable():
    srv, _ = make_server()
    s = srv.session(17)
    s.handle(LLS_AARQ)
    assert s.handle(get_request(15, CURRENT, 7)) == h('C401C10103')  # read-write-denied


def test_get_before_association_is_refused():
    srv, _ = make_server()
    s = srv.session(16)
    assert s.handle(get_request(1, LDN, 2)) == h('D80101')


def test_lls_wrong_password_is_rejected_with_authentication_failure():
    srv, _ = make_server()
    s = srv.session(17)
    bad = LLS_AARQ.replace(b'12345678', b'12345679')
    aare = s.handle(bad)
    assert aare_result(aare) == (1, 13)
    assert s.assoc.state == am.NON_ASSOCIATED
    assert srv.events[-1][0] == 'authentication-failed'


def test_lls_reader_reads_energy_and_releases():
    srv, _ = make_server()
    s = srv.session(17)
    assert aare_result(s.handle(LLS_AARQ)) == (0, 0)
    assert s.handle(get_request(3, ENERGY, 2)) == h('C401C10006000004D2')
    assert s.handle(get_request(3, ENERGY, 3)) == h('C401C10002020F00161E')
    assert s.handle(RLRQ)[0] == 0x63
    assert s.assoc.state == am.NON_ASSOCIATED


def test_lls_without_mechanism_is_rejected_mechanism_required():
    srv, _ = make_server()
    s = srv.session(17)
    assert aare_result(s.handle(PUBLIC_AARQ)) == (1, 12)


def test_wrong_application_context_is_rejected():
    srv, _ = make_server()
    s = srv.session(16)
    aarq = bytearray(PUBLIC_AARQ)
    aarq[12] = 3          # LN with ciphering, not offered to the public client
    assert aare_result(s.handle(bytes(aarq))) == (1, 2)


def test_dlms_version_too_low_is_rejected_with_initiate_error():
    srv, _ = make_server()
    s = srv.session(16)
    aarq = PUBLIC_AARQ.replace(h('0000065F1F'), h('0000055F1F'))
    aare = s.handle(aarq)
    assert aare_result(aare) == (1, 1)
    assert field(aare, 0xBE) == h('04040E010601')


def test_pdu_size_too_short_is_rejected():
    srv, _ = make_server()
    s = srv.session(16)
    aarq = PUBLIC_AARQ.replace(h('04B0'), h('0020'))
    assert field(s.handle(aarq), 0xBE) == h('04040E010603')


def test_unknown_client_sap_is_rejected():
    srv, _ = make_server()
    assert aare_result(srv.session(99).handle(PUBLIC_AARQ)) == (1, 1)


# ---- HLS-GMAC with the Green Book example ----

def test_hls_gmac_four_pass_matches_green_book():
    srv, _ = make_server(counter_start=0x01234566)
    s, aare = hls_associate(srv)
    # the glo-initiateResponse is protected with the server title and the first server IC
    ui = field(aare, 0xBE)[2:]
    assert ui[0] == 0x28 and ui[2] == 0x30 and ui[3:7] == h('01234566')
    assert unglo(ui)[0] == 0x08
    req = h('CB3130000000021BD9313E587760BEEB56BD5C06DDEA677FC3114E5B63EC4E3647DE0897'
            '9765A1864AC0DB498ED2B8DEB8C9C1')
    assert unglo(req, CLIENT_ST) == h('C301C1000F0000280000FF0101091110000000011A52FE7DD3E727'
                                      '48973C1E28')
    resp = s.handle(req)
    assert resp == h('CF2A30012345688F7F56F922BDF2512822671E99F4481A266352C679A2416DF10F59'
                     '5AC6A91BD89B0BE63BEA')
    assert unglo(resp) == h('C701C100010009111001234567FE1466AFB3DBCD4F9389E2B7')
    assert s.assoc.state == am.ASSOCIATED


def test_replayed_invocation_counter_is_rejected():
    srv, _ = make_server(counter_start=0x01234566)
    s, _ = hls_associate(srv)
    req = h('CB3130000000021BD9313E587760BEEB56BD5C06DDEA677FC3114E5B63EC4E3647DE0897'
            '9765A1864AC0DB498ED2B8DEB8C9C1')
    s.handle(req)
    before = srv.counter.value
    assert s.handle(req) == h('D8010600000003')
    assert srv.counter.value == before
    assert srv.events[-1][0] == 'invocation-counter-replay'
    assert s.assoc.state == am.ASSOCIATED


def test_wrong_f_stoc_leaves_association_not_associated():
    srv, _ = make_server()
    s, _ = hls_associate(srv)
    bad = h('C301C1000F0000280000FF0101091110000000011A52FE7DD3E72748973C1E29')
    resp = unglo(s.handle(glo(bad, 2)))
    assert resp == h('C701C10300')
    assert s.assoc.state == am.NON_ASSOCIATED
    assert s.handle(glo(get_request(1, LDN, 2), 3)) == h('D80101')


def test_get_in_pending_state_is_refused_and_aborts_the_association():
    # until pass 4 only the HLS reply may come: anything else ends the pending association
    # (kept open, it would let a stranger send bad-tag APDUs into the event log at will)
    srv, _ = make_server()
    s, _ = hls_associate(srv)
    assert s.handle(glo(get_request(1, LDN, 2), 2)) == h('D80101')
    assert s.assoc.state == am.NON_ASSOCIATED
    assert srv.events[-1][0] == 'association-aborted'
    fstoc = suite0.gmac(suite0.Keys(EK, AK), CLIENT_ST, 3, STOC)
    act = h('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    assert s.handle(glo(act, 3)) == h('D80101')        # the late pass 3 finds no association


def associated_management(srv, initiate=INITIATE_REQUEST):
    s, _ = hls_associate(srv, initiate)
    fstoc = suite0.gmac(suite0.Keys(EK, AK), CLIENT_ST, 2, STOC)
    act = h('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    r = unglo(s.handle(glo(act, 2)))
    assert r[:5] == h('C701C10001'), hexlify(r)
    return s


def test_management_reads_and_sets_clock_encrypted():
    srv, now = make_server()
    s = associated_management(srv)
    r = unglo(s.handle(glo(get_request(8, CLOCK, 2), 3)))
    assert r[:6] == h('C401C100090C')
    from dlms.cosem.clock import encode_datetime, decode_datetime
    target = 1800000000
    val = axdr.to_bytes(axdr.octets(encode_datetime(target)))
    setreq = h('C101C100080000010000FF0200') + val
    assert unglo(s.handle(glo(setreq, 4))) == h('C501C100')
    r = unglo(s.handle(glo(get_request(8, CLOCK, 2), 5)))
    assert decode_datetime(r[6:18]) == target


def test_unprotected_request_in_management_association_is_denied():
    srv, _ = make_server()
    s = associated_management(srv)
    assert s.handle(get_request(1, LDN, 2)) == h('C401C10103')


def test_authenticated_only_request_in_management_association_is_denied():
    srv, _ = make_server()
    s = associated_management(srv)
    r = s.handle(glo(get_request(1, LDN, 2), 3, sc=0x10))
    env = security.unwrap(r)
    sc, ic, plain = suite0.unprotect(suite0.Keys(EK, AK), SERVER_ST, env[3])
    assert sc == 0x10 and plain == h('C401C10103')


def test_tampered_tag_is_deciphering_error_and_changes_nothing():
    srv, _ = make_server()
    s = associated_management(srv)
    bad = bytearray(glo(get_request(1, LDN, 2), 3))
    bad[-1] ^= 1
    assert s.handle(bytes(bad)) == h('D80105')
    # the counter value 3 was not consumed by the forgery
    assert unglo(s.handle(glo(get_request(1, LDN, 2), 3)))[:4] == h('C401C100')


def test_general_glo_ciphering_is_answered_in_kind():
    srv, _ = make_server()
    s = associated_management(srv)
    content = suite0.protect(suite0.Keys(EK, AK), 0x30, CLIENT_ST, 3, get_request(1, LDN, 2))
    req = security.wrap(security.KIND_GENERAL_GLO, CLIENT_ST, content, 0xC0)
    resp = s.handle(req)
    assert resp[0] == 0xDB and resp[2:10] == SERVER_ST
    env = security.unwrap(resp)
    assert suite0.unprotect(suite0.Keys(EK, AK), SERVER_ST, env[3])[2][:4] == h('C401C100')


def test_hls_with_wrong_authentication_key_fails():
    srv, _ = make_server()
    s, _ = hls_associate(srv)
    wrong = suite0.Keys(EK, h('00' * 16))
    fstoc = suite0.gmac(wrong, CLIENT_ST, 2, STOC)
    act = h('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    assert unglo(s.handle(glo(act, 2))) == h('C701C10300')
    assert s.assoc.state == am.NON_ASSOCIATED


def test_aarq_ciphered_with_wrong_key_is_rejected():
    srv, _ = make_server()
    s = srv.session(1)
    aare = s.handle(hls_aarq(keys=suite0.Keys(h('FF' * 16), AK)))
    assert aare_result(aare) == (1, 1)
    assert s.assoc.state == am.NON_ASSOCIATED


def test_object_list_goes_by_block_transfer_with_small_pdu():
    srv, _ = make_server()
    s = srv.session(16)
    aarq = PUBLIC_AARQ.replace(h('04B0'), h('0040'))      # client accepts 64-byte APDUs
    s.handle(aarq)
    r = s.handle(get_request(15, CURRENT, 2))
    raw = b''
    block = 1
    while True:
        assert r[:4] == h('C402C1') + r[3:4] and len(r) <= 64
        last = r[3]
        assert int.from_bytes(r[4:8], 'big') == block
        assert r[8] == 0
        n, pos = axdr.decode_length(r, 9)
        raw += r[pos:pos + n]
        if last:
            break
        r = s.handle(bytes((0xC0, 0x02, 0xC1)) + block.to_bytes(4, 'big'))
        block += 1
    assert block > 2
    v, _ = axdr.decode(raw)
    assert v[0] == axdr.ARRAY and len(v[1]) == 3


def test_get_next_without_long_get_is_answered():
    srv, _ = make_server()
    s = srv.session(16)
    s.handle(PUBLIC_AARQ)
    assert s.handle(h('C002C100000001')) == h('C402C101000000010110')


def test_server_invocation_counter_is_reserved_before_use():
    persisted = []
    srv, _ = make_server(counter_start=100, persisted=persisted)
    associated_management(srv)
    assert persisted and persisted[0] == 116
    assert srv.counter.value <= persisted[-1]


def test_release_with_ciphered_initiate_is_answered_in_kind():
    srv, _ = make_server()
    s = associated_management(srv)
    glo_init = security.wrap(security.KIND_GLO, None, suite0.protect(
        suite0.Keys(EK, AK), 0x30, CLIENT_ST, 9, INITIATE_REQUEST), 0x01)
    rlrq = tlv(0x62, h('800100') + tlv(0xBE, tlv(0x04, glo_init)))
    rlre = s.handle(rlrq)
    assert rlre[0] == 0x63
    ui = field(rlre, 0xBE)[2:]
    assert ui[0] == 0x28 and unglo(ui)[0] == 0x08
    assert s.assoc.state == am.NON_ASSOCIATED


def test_garbage_never_raises_and_session_keeps_serving():
    srv, _ = make_server()
    s = srv.session(16)
    seed = 12345
    for i in range(300):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        n = seed % 40
        b = bytearray()
        for j in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            b.append(seed & 0xFF)
        if b:
            b[0] = (0x60, 0x62, 0xC0, 0xC1, 0xC3, 0xC8, 0xDB, 0x01)[i % 8]
        s.handle(bytes(b))
        s.handle(PUBLIC_AARQ[:i % len(PUBLIC_AARQ)])
    s = srv.session(16)
    assert aare_result(s.handle(PUBLIC_AARQ)) == (0, 0)
    assert s.handle(get_request(1, LDN, 2))[:4] == h('C401C100')
    assert not [e for e in srv.events if e[0] == 'internal-error']


# ---- lockout ----

def test_repeated_wrong_passwords_lock_the_client_sap_out_until_the_backoff_ends():
    from dlms.lockout import Lockout
    srv, now = make_server()
    srv.lockout = Lockout(now, max_failures=3, base=30, cap=120)
    srv.lockout.on_change = srv._lockout_changed
    bad = LLS_AARQ.replace(b'12345678', b'00000000')
    for i in range(3):
        assert aare_result(srv.session(17).handle(bad)) == (1, 13)
    assert srv.events[-1][0] == 'lockout-started'
    # even the right password is refused (rejected-transient) while locked out
    assert aare_result(srv.session(17).handle(LLS_AARQ)) == (2, 1)
    # other client SAPs are not affected
    assert aare_result(srv.session(16).handle(PUBLIC_AARQ)) == (0, 0)
    now.t += 31
    assert aare_result(srv.session(17).handle(LLS_AARQ)) == (0, 0)
    # the success reset the count: two more failures do not lock out again
    for i in range(2):
        srv.session(17).handle(bad)
    assert aare_result(srv.session(17).handle(LLS_AARQ)) == (0, 0)


def test_failed_hls_gmac_authentication_never_locks_the_association_out():
    # Issue 10, flaw 4: AARQs that prove nothing about the keys (a stranger's title, a 7-byte
    # challenge, a forged InitiateRequest tag, a wrong pass 3) used to lock SAP 1 out for 60 s,
    # doubling, persisted: the real head-end was locked out by a stranger. HLS-GMAC has nothing
    # to guess: such failures are security events, never a lockout.
    from dlms.lockout import Lockout
    srv, now = make_server()
    srv.lockout = Lockout(now, max_failures=2, base=30)
    stranger = h('5858580000000099')
    for i in range(20):
        s = srv.session(1)
        assert aare_result(s.handle(hls_aarq(client_ic=10 * i + 1, st=stranger, ctos=b'7 bytes'))) \
            == (1, 13)
        forged = bytearray(hls_aarq(client_ic=10 * i + 2, st=stranger))
        forged[-1] ^= 1
        assert aare_result(srv.session(1).handle(bytes(forged)))[0] == 1
        s = srv.session(1)
        assert aare_result(s.handle(hls_aarq(client_ic=10 * i + 3, st=stranger))) == (0, 14)
        bad = h('C301C1000F0000280000FF0101091110000000011A52FE7DD3E72748973C1E29')
        assert unglo(s.handle(glo(bad, 10 * i + 4, st=stranger))) == h('C701C10300')
    assert srv.lockout.remaining(1) == 0
    assert [e for e in srv.events if e[0] == 'authentication-failed']
    assert not [e for e in srv.events if e[0] == 'lockout-started']
    s = associated_management(srv)                   # the holder of the keys: served at once
    assert s.assoc.state == am.ASSOCIATED


def test_failed_lls_authentication_still_counts_towards_lockout():
    from dlms.lockout import Lockout
    srv, now = make_server()
    srv.lockout = Lockout(now, max_failures=2, base=30)
    bad = LLS_AARQ.replace(b'12345678', b'00000000')
    for i in range(2):
        srv.session(17).handle(bad)
    assert aare_result(srv.session(17).handle(LLS_AARQ)) == (2, 1)


# ---- dedicated key ----

DEDICATED = h('00112233445566778899AABBCCDDEEFF')
INITIATE_WITH_DEDICATED_KEY = h('01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0')


def test_dedicated_key_ciphers_ded_requests_and_answers_in_kind():
    srv, _ = make_server()
    s = srv.session(1)
    aare = s.handle(hls_aarq(initiate=INITIATE_WITH_DEDICATED_KEY))
    assert aare_result(aare) == (0, 14)
    fstoc = suite0.gmac(suite0.Keys(EK, AK), CLIENT_ST, 2, STOC)
    act = h('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    assert unglo(s.handle(glo(act, 2)))[:5] == h('C701C10001')
    ded = suite0.Keys(DEDICATED, AK)
    content = suite0.protect(ded, 0x30, CLIENT_ST, 1, get_request(1, LDN, 2))
    req = security.wrap(security.KIND_DED, None, content, 0xC0)
    assert req[0] == 0xD0
    resp = s.handle(req)
    assert resp[0] == 0xD4                       # ded-get-response
    env = security.unwrap(resp)
    plain = suite0.unprotect(ded, SERVER_ST, env[3])[2]
    assert plain == h('C401C100') + axdr.to_bytes(axdr.octets(b'MMM0000012345678'))
    # the dedicated key's own counter: a replay is refused, the global one is unaffected
    assert s.handle(req)[:3] == h('D80106')
    assert unglo(s.handle(glo(get_request(1, LDN, 2), 3)))[:4] == h('C401C100')
    # a ded request enciphered with the global key fails its tag
    bad = security.wrap(security.KIND_DED, None,
                        suite0.protect(suite0.Keys(EK, AK), 0x30, CLIENT_ST, 5,
                                         get_request(1, LDN, 2)), 0xC0)
    assert s.handle(bad) == h('D80105')


def test_dedicated_key_is_refused_without_authenticated_encryption():
    srv, _ = make_server()
    s = srv.session(1)
    content = suite0.protect(suite0.Keys(EK, AK), 0x20, CLIENT_ST, 1,
                               INITIATE_WITH_DEDICATED_KEY)
    glo_init = security.wrap(security.KIND_GLO, None, content, 0x01)
    aarq = hls_aarq()
    ui = tlv(0xBE, tlv(0x04, glo_init))
    aarq = tlv(0x60, aarq[2:aarq.index(b'\xbe')] + ui)
    aare = s.handle(aarq)
    assert aare_result(aare)[0] == 1
    assert s.assoc.state == am.NON_ASSOCIATED


def test_security_control_bits_map_onto_access_right_bits():
    # Session._ciphered maps SC bits to access-right bits by shifting (no table per request)
    from dlms.cosem import base as cb
    assert security.SC_AUTH >> 2 == cb.AUTH_REQUEST and security.SC_ENC >> 2 == cb.ENC_REQUEST
    assert cb.AUTH_RESPONSE >> 1 == security.SC_AUTH and cb.ENC_RESPONSE >> 1 == security.SC_ENC
    assert (cb.AUTH_REQUEST | cb.ENC_REQUEST) >> 1 & 0x30 == 0


def test_idle_work_between_requests_changes_no_byte_of_any_answer():
    # Session.idle() makes the GCM keystreams of the likely next request and response ahead;
    # right or wrong guesses, every answer and event must be what they are without it
    script = [glo(get_request(8, CLOCK, 2), 3), glo(get_request(1, LDN, 2), 4),
              glo(get_request(8, CLOCK, 2), 4),                         # replay
              glo(get_request(8, CLOCK, 2), 9),                         # a jump: guess wrong
              glo(get_request(3, ENERGY, 2), 10, keys=suite0.Keys(h('FF' * 16), AK)),
              glo(get_request(3, ENERGY, 2), 10),                       # after a bad tag
              glo(h('C101C100080000010000FF0200') + axdr.to_bytes(axdr.octets(bytes(12))), 11),
              get_request(8, CLOCK, 2)]                                  # unprotected
    answers = []
    for idle in (False, True):
        srv, now = make_server()
        s = associated_management(srv)
        got = []
        hits = 0
        for req in script:
            if idle:
                s.idle()
            got.append(bytes(s.handle(req)))
            if idle:
                # the association's keystreams made ahead that were taken (Protection.idle)
                hits += [a.title for a in (s.protection._in, s.protection._out)].count(None)
                s.idle()
        answers.append((got, [e[0] for e in srv.events]))
    assert hits >= 6                # the guesses did come true (both directions, most requests)
    assert answers[0] == answers[1]
    assert unglo(answers[1][0][0])[:4] == h('C401C100')


def test_idle_is_a_no_op_outside_a_ciphered_association():
    srv, now = make_server()
    p = srv.session(16)
    p.idle()
    p.handle(PUBLIC_AARQ)
    p.idle()
    m = srv.session(1)
    m.idle()
    m.handle(hls_aarq())            # pending until HLS pass 3
    m.idle()
    assert srv.events == []
    assert (p.protection._in, m.protection._in) == (None, None)   # nothing made ahead


def test_unauthenticated_ciphered_requests_never_move_the_client_counter():
    # SC 0x20 (encryption only) has no tag: anyone can send any counter with it. Found by
    # tools/fuzz.py: an AARQ whose glo-InitiateRequest had its SC turned to 0x20 and its counter
    # raised moved the client's counter, locking the client out.
    srv, now = make_server()
    s = associated_management(srv)                  # counters 1 (AARQ) and 2 (pass 3) used
    assert srv.client_counters.expected(CLIENT_ST) == 3
    forged_get = glo(get_request(8, CLOCK, 2), 0x7FFFFFFF, sc=0x20)
    r = unglo(s.handle(forged_get))
    assert r == h('C401C10103')                     # read-write-denied: the policy wants a tag
    forged = bytearray(glo(get_request(8, CLOCK, 2), 0x7FFFFFFE, sc=0x20))
    forged[-1] ^= 0x55                              # garbage: still "deciphers" without a tag
    s.handle(bytes(forged))
    other = srv.session(1)                          # an AARQ with an enc-only initiate
    other.handle(hls_aarq(client_ic=0x7FFFFFF0, sc=0x20))
    forged_aarq = bytearray(hls_aarq(client_ic=0x7FFFFFF1, sc=0x20))
    forged_aarq[-3] ^= 0x55
    srv.session(1).handle(bytes(forged_aarq))
    assert srv.client_counters.expected(CLIENT_ST) == 3
    r = unglo(s.handle(glo(get_request(8, CLOCK, 2), 3)))       # the client carries on
    assert r[:6] == h('C401C100090C')
    assert srv.client_counters.expected(CLIENT_ST) == 4


# ---- issue 10: the attack review ----

SMALL_PDU_INITIATE = INITIATE_REQUEST.replace(h('04B0'), h('0080'))    # client takes 128 bytes


def get_next(block, iid=0xC1):
    return bytes((0xC0, 0x02, iid)) + block.to_bytes(4, 'big')


def test_a_continuation_with_less_protection_than_the_transfer_is_refused():
    # Flaw 1: a protected GET of the object_list answered with block 1; a GET-request-next sent
    # unprotected then got block 2 in the clear, one authenticated-only block 3 authenticated-
    # only. Now the transfer remembers the protection it needs: less ends it, read-write-denied.
    srv, _ = make_server()
    s = associated_management(srv, SMALL_PDU_INITIATE)
    r = unglo(s.handle(glo(get_request(15, CURRENT, 2), 3)))
    assert r[:4] == h('C402C100') and int.from_bytes(r[4:8], 'big') == 1
    denied = h('C402C101 00000001 0103')                  # last, read-write-denied
    assert s.handle(get_next(1)) == denied                # in the clear: refused, no data
    assert srv.events[-1][0] == 'under-protected-request'
    # the transfer is over: even a fully protected continuation finds none
    assert unglo(s.handle(glo(get_next(1), 4))) == h('C402C101 00000001 0110')
    # authenticated only, on a fresh transfer
    assert unglo(s.handle(glo(get_request(15, CURRENT, 2), 5)))[:8] == h('C402C10000000001')
    env = security.unwrap(s.handle(glo(get_next(1), 6, sc=0x10)))
    sc, _, plain = suite0.unprotect(suite0.Keys(EK, AK), SERVER_ST, env[3])
    assert bytes(plain) == denied and sc == 0x10          # refused: the error carries no data
    assert unglo(s.handle(glo(get_next(1), 7))) == h('C402C101 00000001 0110')


def test_a_protected_continuation_gets_every_block_protected_as_the_first():
    srv, _ = make_server()
    s = associated_management(srv, SMALL_PDU_INITIATE)
    r = s.handle(glo(get_request(15, CURRENT, 2), 3))
    ic = 4
    raw = b''
    while True:
        env = security.unwrap(r)
        sc, _, plain = suite0.unprotect(suite0.Keys(EK, AK), SERVER_ST, env[3])
        assert sc == 0x30 and len(r) <= 128
        n, pos = axdr.decode_length(plain, 9)
        raw += bytes(plain[pos:pos + n])
        if plain[3]:
            break
        r = s.handle(glo(get_next(int.from_bytes(plain[4:8], 'big')), ic))
        ic += 1
    assert ic > 5
    assert axdr.decode(raw)[0][0] == axdr.ARRAY


def test_a_public_transfer_needs_no_protection():
    # where neither the policy nor the attribute asks for any, plain continuations are served
    srv, _ = make_server()
    s = srv.session(16)
    s.handle(PUBLIC_AARQ.replace(h('04B0'), h('0040')))
    assert s.handle(get_request(15, CURRENT, 2))[:4] == h('C402C100')
    assert s.handle(get_next(1))[8] == 0


def test_an_aarq_whose_initiate_request_is_under_protected_is_rejected():
    # Flaw 2: under a policy of authenticated and encrypted requests, an encryption-only (no
    # tag: forgeable by anyone who knows a keystream) or authenticated-only glo-InitiateRequest
    # was accepted and handed out a challenge.
    srv, _ = make_server()
    for sc in (0x20, 0x10):
        s = srv.session(1)
        aare = s.handle(hls_aarq(client_ic=sc, sc=sc))
        assert aare_result(aare) == (1, 1)
        assert field(aare, 0xAA) is None                  # no challenge
        assert s.assoc.state == am.NON_ASSOCIATED
        assert srv.events[-1][0] == 'under-protected-request'
    # a plain InitiateRequest in the ciphered context neither
    body = hls_aarq()
    plain_ui = tlv(0xBE, tlv(0x04, INITIATE_REQUEST))
    i = body.index(b'\xbe')
    plain = tlv(0x60, body[2:i] + plain_ui)
    assert aare_result(srv.session(1).handle(plain)) == (1, 1)
    # the right protection is accepted
    assert aare_result(srv.session(1).handle(hls_aarq(client_ic=0x40))) == (0, 14)


def test_an_authentication_only_initiate_is_enough_where_the_policy_asks_for_no_encryption():
    srv, _ = make_server()
    srv.associations[1].require = AUTH_REQUEST
    assert aare_result(srv.session(1).handle(hls_aarq(sc=0x10))) == (0, 14)
    srv.associations[1].require = 0
    assert aare_result(srv.session(1).handle(hls_aarq(client_ic=2, sc=0x20)))[0] == 1


def test_bad_tags_from_a_pending_association_end_it():
    # Flaw 2, second half: from a pending association a flood of bad-tag APDUs filled the log
    srv, _ = make_server()
    s, _ = hls_associate(srv)
    forged = bytearray(glo(get_request(1, LDN, 2), 2))
    forged[-1] ^= 1
    assert s.handle(bytes(forged)) == h('D80101')
    assert s.assoc.state == am.NON_ASSOCIATED
    assert s.handle(bytes(forged)) == h('D80101')      # no association: no deciphering at all
    assert [e[0] for e in srv.events] == ['deciphering-failed', 'association-aborted']


def test_an_hls_reply_that_never_reaches_its_check_fails_the_association():
    srv, _ = make_server()
    s, _ = hls_associate(srv)
    act = h('C301C1000F0000280000FF0101 11 01')         # an unsigned, not an octet-string
    assert unglo(s.handle(glo(act, 2)))[:4] == h('C701C10C')
    assert s.assoc.state == am.NON_ASSOCIATED


def test_the_meters_own_system_title_is_refused_as_a_clients():
    # Flaw 3: with the meter's title as the client's, the client's IVs are the meter's own
    # response IVs under the same key (GCM nonce reuse) and the meter's own f(CtoS) from one
    # association passes as pass 3 of another (HLS reflection).
    srv, _ = make_server()
    aare = srv.session(1).handle(hls_aarq(st=SERVER_ST))
    assert aare_result(aare) == (1, 3)                    # calling-AP-title-not-recognized
    assert field(aare, 0xAA) is None
    # the reflection it allowed: pass 4 of one association replayed as pass 3 of another
    s = associated_management(srv)
    assert s.assoc.state == am.ASSOCIATED
    # and a general-glo APDU carrying the meter's own title as originator is refused
    content = suite0.protect(suite0.Keys(EK, AK), 0x30, SERVER_ST, 10, get_request(1, LDN, 2))
    gg = security.wrap(security.KIND_GENERAL_GLO, SERVER_ST, content, 0xC0)
    assert s.handle(gg) == h('D80105')
    assert srv.events[-1] == ('deciphering-failed', 1, 'system title')


def test_a_release_whose_initiate_request_is_under_protected_leaves_the_association():
    # the sibling of flaw 2 on the release: an encryption-only InitiateRequest in the RLRQ
    srv, _ = make_server()
    s = associated_management(srv)
    content = suite0.protect(suite0.Keys(EK, AK), 0x20, CLIENT_ST, 50, INITIATE_REQUEST)
    glo_init = security.wrap(security.KIND_GLO, None, content, 0x01)
    rlrq = tlv(0x62, h('800100') + tlv(0xBE, tlv(0x04, glo_init)))
    assert s.handle(rlrq) == h('6303800101')            # not-finished
    assert s.assoc.state == am.ASSOCIATED
    assert srv.events[-1] == ('under-protected-request', 1, 'rlrq initiate')
    assert unglo(s.handle(glo(get_request(1, LDN, 2), 51)))[:4] == h('C401C100')
