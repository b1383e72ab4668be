# Security setup methods driven by bytes through the server, with the keystore on the simulated
# file system of test_store: key_transfer with the RFC 3394 vector (dlms-security.md 7.4), wrong
# master key, replayed and repeated transfers, a return to an earlier key, security_activate that
# may only raise the policy, the rights and protection both methods need, and the end of the
# server invocation counter. Runs under CPython and MicroPython.
from dlms import security, axdr, keystore, keywrap
from dlms import suite0
from dlms.store import Store
from dlms.server import Server, AssociationConfig, MECH_LOWEST, MECH_LLS, MECH_HLS_GMAC
from dlms.server import CTX_LN, CTX_LN_CIPHERED
from dlms.cosem.base import READ, AUTH_REQUEST, ENC_REQUEST, INVOKE, NO_ACCESS
from dlms.cosem import Data, SecuritySetup, AssociationLN
from dlms import association as am
import dlms_client as client
from test_store import FakeFs
from test_server import (hls_aarq, get_request, aare_result, PUBLIC_AARQ, LLS_AARQ,
                         SERVER_ST, CLIENT_ST, EK, AK, STOC, LDN)
from vector_util import h


KEK = h('000102030405060708090A0B0C0D0E0F')     # the KEK of the RFC 3394 vector
NEW_EK = h('00112233445566778899AABBCCDDEEFF')  # the key data of the RFC 3394 vector
SS_LN = h('00002B0000FF')
# dlms-security.md 7.4: key_transfer of key_id 0 wrapped under KEK, as an ACTION (invoke-id C1)
KT_RFC3394 = h('C301C1004000002B0000FF020101010202160009181FA68B0A8112B447AEF34BD8FB5A7B82'
               '9D3E862371D2CFE5')
AE = AUTH_REQUEST | ENC_REQUEST
R = READ
N = NO_ACCESS
OLD = suite0.Keys(EK, AK)


def make(files=None, policy=0x0C, require=None, server_ic=0, ldn_modes=(R | AE, R | AE)):
    fs = FakeFs(files)
    ks = keystore.KeyStore(Store('/s', fs), 16, 10)
    init = keystore.new_record(SERVER_ST, EK, AK, KEK, lls={17: b'12345678'}, seed=b'x' * 32,
                               policies={SS_LN: (policy, 0)})
    init['ic']['server'] = server_ic
    assert ks.open(init), ks.failure
    pol = ks.policy(SS_LN)[0]
    ldn = Data('0.0.42.0.0.255', axdr.octets(b'MMM0000012345678'))
    cur = AssociationLN('0.0.40.0.0.255')
    ss = SecuritySetup(SS_LN, SERVER_ST, pol, 0, manager=ks)
    public = AssociationConfig(16, 'public', MECH_LOWEST, CTX_LN, objects=[(ldn, (R, R), ())])
    reader = AssociationConfig(17, 'reader', MECH_LLS, CTX_LN, secret=b'12345678', objects=[
        (ldn, (R, R), ()), (ss, (R,) * 6, (N, N))])
    mg = AssociationConfig(1, 'management', MECH_HLS_GMAC, CTX_LN_CIPHERED, security_setup=ss,
                           require=pol if require is None else require, objects=[
                               (ldn, ldn_modes, ()),
                               (cur, (R | AE,) * 9, (INVOKE | AE, N, N, N)),
                               (ss, (R | AE,) * 6, (INVOKE | AE, INVOKE | AE) + (N,) * 6)])
    srv = Server(SERVER_ST, ks.keys(), [public, reader, mg], lambda n: STOC[:n],
                 ks.server_counter(), client_counters=ks.client_counters(),
                 challenge_length=len(STOC))

    def sink(name, detail):
        srv.event(name, 0, detail)
    ks.sink = sink
    return srv, ks, fs


def glo(apdu, ic, keys=OLD, sc=0x30):
    content = suite0.protect(keys, sc, CLIENT_ST, ic, apdu)
    return security.wrap(security.KIND_GLO, None, content, apdu[0])


def opened(apdu, keys=OLD):
    """(server IC, plain APDU) of a glo- response."""
    env = security.unwrap(apdu)
    sc, ic, plain = suite0.unprotect(keys, SERVER_ST, env[3])
    return ic, bytes(plain)


def associate(srv, client_ic=1, keys=OLD):
    s = srv.session(1)
    aare = s.handle(hls_aarq(client_ic=client_ic, keys=keys))
    assert aare_result(aare) == (0, 14), aare_result(aare)
    fstoc = suite0.gmac(keys, CLIENT_ST, client_ic + 1, STOC)
    act = h('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    ic, r = opened(s.handle(glo(act, client_ic + 1, keys)), keys)
    assert r[:5] == h('C701C10001') and s.assoc.state == am.ASSOCIATED
    return s


def key_transfer(entries, kek=KEK, iid=0xC1):
    items = [axdr.structure(axdr.enum(kid), axdr.octets(keywrap.wrap(kek, key)))
             for kid, key in entries]
    return client.build_action_request_normal(iid, 64, SS_LN, 2, axdr.array(items))


def activate(policy, typed=None):
    return client.build_action_request_normal(0xC1, 64, SS_LN, 1,
                                             typed if typed is not None else axdr.enum(policy))


def read_ldn(s, ic, keys=OLD):
    return opened(s.handle(glo(get_request(1, LDN, 2), ic, keys)), keys)


def test_rfc3394_vector_is_the_parameter_the_request_builder_makes():
    assert key_transfer([(0, NEW_EK)]) == KT_RFC3394


def test_key_transfer_answers_under_the_old_key_then_the_new_key_applies():
    srv, ks, fs = make()
    s = associate(srv)
    ic_kt, r = opened(s.handle(glo(KT_RFC3394, 3)))       # the response: old keys
    assert r == h('C701C10000')
    new = suite0.Keys(NEW_EK, AK)
    ic, r = read_ldn(s, 4, new)                           # same association, new key
    assert r[:4] == h('C401C100')
    assert ic == 1                                        # the new key's counter starts at 1
    assert s.handle(glo(get_request(1, LDN, 2), 5, OLD)) == h('D80105')
    assert [e for e in srv.events if e[0] == 'key-changed']
    again, _, _ = make(fs.files)                          # and after a restart
    assert again.keys.gcm.encrypt(bytes(12), bytes(16), b'') == \
        new.gcm.encrypt(bytes(12), bytes(16), b'')
    assert again.counter.value >= 1


def test_wrong_master_key_is_an_action_failure_that_changes_nothing():
    srv, ks, fs = make()
    s = associate(srv)
    before = dict(fs.files)
    ic1, r = opened(s.handle(glo(key_transfer([(0, NEW_EK)], kek=h('FF' * 16)), 3)))
    assert r == h('C701C1FA00')                           # other-reason
    assert fs.files == before                             # not a byte written
    assert [e for e in srv.events if e[0] == 'key-transfer-rejected']
    ic2, r = read_ldn(s, 4)                               # the old key still works
    assert r[:4] == h('C401C100') and ic2 == ic1 + 1      # and its counter was not reset


def test_wrong_length_or_duplicate_key_ids_are_refused():
    srv, ks, fs = make()
    s = associate(srv)
    before = dict(fs.files)
    short = client.build_action_request_normal(0xC1, 64, SS_LN, 2, axdr.array([
        axdr.structure(axdr.enum(0), axdr.octets(keywrap.wrap(KEK, NEW_EK)[:16]))]))
    assert opened(s.handle(glo(short, 3)))[1] == h('C701C1FA00')
    dup = key_transfer([(0, NEW_EK), (0, NEW_EK)])
    assert opened(s.handle(glo(dup, 4)))[1] == h('C701C1FA00')
    bad_type = client.build_action_request_normal(0xC1, 64, SS_LN, 2, axdr.u8(0))
    assert opened(s.handle(glo(bad_type, 5)))[1] == h('C701C10C00')   # type-unmatched
    assert fs.files == before


def test_replayed_key_transfer_is_rejected_even_after_a_restart():
    srv, ks, fs = make()
    s = associate(srv)
    new_kek = h('A0A1A2A3A4A5A6A7A8A9AAABACADAEAF')
    req = glo(key_transfer([(3, new_kek)]), 3)
    assert opened(s.handle(req))[1] == h('C701C10000')
    assert ks.key('kek') == new_kek
    assert s.handle(req) == h('D8010600000004')          # invocation-counter-error
    srv2, ks2, fs2 = make(fs.files)
    s2 = associate(srv2, client_ic=20)                    # above the persisted floor
    assert s2.handle(req)[:3] == h('D80106')
    assert ks2.key('kek') == new_kek


def test_replayed_unicast_key_transfer_after_the_change_does_not_decipher():
    srv, ks, fs = make()
    s = associate(srv)
    req = glo(KT_RFC3394, 3)
    s.handle(req)
    assert s.handle(req) == h('D80105')
    assert ks.key('ek') == NEW_EK


def test_transfer_of_the_key_already_in_use_resets_no_counter():
    srv, ks, fs = make()
    s = associate(srv)
    ic1, r = opened(s.handle(glo(key_transfer([(0, EK), (2, AK)]), 3)))
    assert r == h('C701C10000')
    ic2, r = read_ldn(s, 4)
    assert ic2 == ic1 + 1
    assert not [e for e in srv.events if e[0] == 'key-changed']


def test_returning_to_an_earlier_key_resumes_its_counter():
    srv, ks, fs = make()
    s = associate(srv)
    for i in range(20):
        top, _ = read_ldn(s, 3 + i)
    opened(s.handle(glo(KT_RFC3394, 30)))
    new = suite0.Keys(NEW_EK, AK)
    ic, _ = read_ldn(s, 1, new)
    assert ic == 1                              # a new key: its counter starts at 1
    back = key_transfer([(0, EK)])
    opened(s.handle(glo(back, 2, new)), new)
    ic, r = read_ldn(s, 1000, OLD)              # the client floor of EK is kept as well
    assert r[:4] == h('C401C100') and ic > top + 1
    assert s.handle(glo(get_request(1, LDN, 2), 31, OLD))[:3] == h('D80106')


def test_authentication_key_transfer_keeps_the_counters():
    srv, ks, fs = make()
    s = associate(srv)
    new_ak = h('C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF')
    ic1, r = opened(s.handle(glo(key_transfer([(2, new_ak)]), 3)))
    assert r == h('C701C10000')
    new = suite0.Keys(EK, new_ak)
    ic2, r = read_ldn(s, 4, new)
    assert r[:4] == h('C401C100') and ic2 == ic1 + 1    # same EK: IVs must not repeat


def test_key_transfer_that_cannot_be_persisted_changes_nothing():
    srv, ks, fs = make()
    s = associate(srv)

    def broken(path, data):
        raise OSError(28)
    fs.write = broken
    ic1, r = opened(s.handle(glo(KT_RFC3394, 3)))
    assert r == h('C701C10200')                           # temporary-failure
    ic2, r = read_ldn(s, 4)
    assert r[:4] == h('C401C100') and ks.key('ek') == EK


def test_policy_can_only_be_raised():
    srv, ks, fs = make(policy=0x0C)
    s = associate(srv)
    before = dict(fs.files)
    assert opened(s.handle(glo(activate(0x04), 3)))[1] == h('C701C10900')  # lowering
    assert opened(s.handle(glo(activate(0x00), 4)))[1] == h('C701C10900')
    assert opened(s.handle(glo(activate(0x9C), 5)))[1] == h('C701C1FA00')  # signatures
    assert opened(s.handle(glo(activate(0, axdr.u8(0x6C)), 6)))[1] == h('C701C10C00')
    assert fs.files == before
    assert opened(s.handle(glo(activate(0x0C), 7)))[1] == h('C701C10000')  # the same: fine
    assert opened(s.handle(glo(activate(0x6C), 8)))[1] == h('C701C10000')  # raised
    r = opened(s.handle(glo(get_request(64, SS_LN, 2), 9)))[1]
    assert r == h('C401C100166C')
    assert srv.associations[1].require & 0x6C == 0x6C
    assert [e for e in srv.events if e[0] == 'security-policy-changed']
    _, ks2, _ = make(fs.files)
    assert ks2.policy(SS_LN) == (0x6C, 0)


def test_raised_policy_is_enforced_on_the_associations_that_use_it():
    srv, ks, fs = make(policy=0, require=0, ldn_modes=(R, R))
    s = associate(srv)
    r = opened(s.handle(glo(get_request(1, LDN, 2), 3, sc=0x10)))[1]
    assert r[:4] == h('C401C100')                         # authenticated only: fine so far
    assert opened(s.handle(glo(activate(0x0C), 4)))[1] == h('C701C10000')
    r = opened(s.handle(glo(get_request(1, LDN, 2), 5, sc=0x10)))[1]
    assert r == h('C401C10103')                           # now encryption is required


def test_key_management_needs_its_rights_and_protection():
    srv, ks, fs = make()
    s = associate(srv)
    # authenticated but not encrypted: the method's access right asks for both
    r = opened(s.handle(glo(KT_RFC3394, 3, sc=0x10)))[1]
    assert r == h('C701C10300') and ks.key('ek') == EK
    # the public client has no security setup at all
    p = srv.session(16)
    assert aare_result(p.handle(PUBLIC_AARQ)) == (0, 0)
    assert p.handle(KT_RFC3394) == h('C701C10400')
    # the reader may read the security setup but not invoke its methods
    rd = srv.session(17)
    assert aare_result(rd.handle(LLS_AARQ)) == (0, 0)
    assert rd.handle(KT_RFC3394) == h('C701C10300')
    assert rd.handle(activate(0x6C)) == h('C701C10300')
    assert ks.key('ek') == EK and ks.policy(SS_LN) == (0x0C, 0)


def test_exhausted_server_counter_refuses_protection_until_a_new_key():
    srv, ks, fs = make(server_ic=0xFFFFFFFD)
    s = associate(srv)                     # AARE FFFFFFFD, f(CtoS) FFFFFFFE, response FFFFFFFF
    assert s.handle(glo(get_request(1, LDN, 2), 3)) == h('D80103')
    assert s.handle(glo(get_request(1, LDN, 2), 4)) == h('D80103')
    ev = [e for e in srv.events if e[0] == 'invocation-counter-exhausted']
    assert len(ev) == 1
    assert aare_result(srv.session(1).handle(hls_aarq(client_ic=9))) == (1, 1)
    # a restart does not bring the counter back
    srv2, ks2, fs2 = make(fs.files)
    assert aare_result(srv2.session(1).handle(hls_aarq(client_ic=50))) == (1, 1)
    # a new key does (provisioning writes one; the unicast key starts a new counter)
    rec = keystore.new_record(SERVER_ST, NEW_EK, AK, KEK, lls={17: b'12345678'}, seed=b'y' * 32,
                              policies={SS_LN: (0x0C, 0)}, origin='provisioned')
    keystore.provision(Store('/s', fs2), rec)
    srv3, ks3, _ = make(fs2.files)
    associate(srv3, keys=suite0.Keys(NEW_EK, AK))


def test_the_first_server_invocation_counter_of_a_key_is_one():
    # clients that require the server's counter to be above the 0 they start from refused the
    # first association with a freshly provisioned meter (issue 11, 3): every new key starts at 1
    srv, ks, fs = make()                        # a new state
    s = srv.session(1)
    aare = s.handle(hls_aarq())
    ui = [aare[i + 2:i + 2 + aare[i + 1]] for i in range(2, len(aare))
          if aare[i] == 0xBE][0]
    glo_init = ui[2:]
    assert glo_init[0] == 0x28 and suite0.unprotect(OLD, SERVER_ST, glo_init[2:])[1] == 1
    again, _, _ = make(fs.files)                # after a restart: from the reservation, > 1
    assert again.counter.next() > 1
    _, unused, _ = make()                       # a new state's first value: 1, not 0
    assert unused.server_counter().next() == 1
    s = associate(srv, 10)
    opened(s.handle(glo(KT_RFC3394, 12)))       # after key_transfer: the new key starts at 1
    ic, _ = read_ldn(s, 1, suite0.Keys(NEW_EK, AK))
    assert ic == 1
