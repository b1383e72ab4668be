"""Security setup method 3, key_agreement (the Ephemeral Unified Model C(2e,0s)) on the suite 1
setup: the derived vector of dlms-public-key.md 7.3.5 byte for byte (the client's ephemeral key
and signature, the meter's ephemeral key, the new global unicast key), the new key applied
after the response (which goes under the old one) with fresh counters, and every refusal
changing nothing, answering other-reason and logging event 23."""
from dlms import axdr, keystore
from dlms import association as am
from dlms_ca import ca as dca
from dlms_pk import ec, x509
from test_public_key_server import (make, enrol, ecdsa_session, glo, opened, reply, pem, h,
                                    field, aare_result, KEYS1, CTOS, SERVER_ST)
from dlms import suite0, security

D_C = b'\xc1' * 32                       # the client's signature key (7.3.2)
D_EU = b'\xe1' * 32                      # the client's ephemeral key (7.3.5)
D_EV = b'\xe2' * 32                      # the meter's ephemeral key, from its DRBG here
Q_EU = h('FFBC629DB355FF6F8FB4E5DC6B50FE58139B5FFC083000827E2B37B02F907D65'
         '1996905BA54AF6A0B1C82F4AEECD927D9816C7AD8406403F2CE650E0612BA53B')
SIG_U = h('83C8FF10C23B3F4D3B160712EB07EF13EA0C32F962CF74A32CAC60FDAF187F19'
          'A20EEF216014B8C51EDA5354D6C7A4F6EAC5FF1610DDA1824F1F891D4E318823')
Q_EV = h('3758DBC570D7A43CB4B4A0110E52EDD5F4429D78C69E14987F4FA640AB66A490'
         '67FFED6E1C189207E2D8897CF28C5797C720469BD37C42568394E46C0F088EDF')
NEW_EK = h('2F84804A15326457E1E7891031F6C9C3')


def _client_cert(pki, ss1, clock, d=D_C, usage=x509.KU_DIGITAL_SIGNATURE):
    ca_curve, ca_d = dca.pem_private_key(pem('ca.key.pem', None))
    cert = dca.issue(pem('ca.pem'), ca_curve, ca_d,
                     (ec.P256, ec.public_key(ec.P256, d), '4D4D4D0000000001'), 4242,
                     clock() - 10, clock() + 100000, usage)
    assert ss1.action(6, axdr.octets(cert), None)[0] == 0


def _associated(srv, pki, ss1, clock, rng, ic=1):
    s, aare = ecdsa_session(srv, CTOS, ic)
    stoc = field(aare, 0xAA)[2:]
    f = ec.sign(ec.P256, D_C, h('4D4D4D0000000001') + SERVER_ST + stoc + CTOS)
    r = opened(s.handle(glo(reply(f), ic + 1, KEYS1)), KEYS1)
    assert r[:4] == h('C701C100') and s.assoc.state == am.ASSOCIATED
    return s


def _agreement(items):
    # action-request normal: Security setup 0.0.43.0.1.255 method 3, array of structures
    body = bytearray(h('C301C1004000002B0001FF0301'))
    body += axdr.to_bytes(axdr.array([axdr.structure(axdr.enum(k), axdr.octets(d))
                                      for k, d in items]))
    return bytes(body)


def _setup():
    srv, ks, pki, ss1, fs, rng, clock = make()
    ss1.manager = ks.primary
    enrol(pki, ss1, clock, client=False)
    _client_cert(pki, ss1, clock)
    return srv, ks, pki, ss1, rng, clock


def test_key_agreement_follows_the_derived_vector_and_applies_after_the_response():
    srv, ks, pki, ss1, rng, clock = _setup()
    s = _associated(srv, pki, ss1, clock, rng)
    assert ec.public_key(ec.P256, D_EU) == Q_EU
    assert ec.sign(ec.P256, D_C, b'\x00' + Q_EU) == SIG_U       # RFC 6979, as the vector
    rng.queue.append(D_EV)
    before = ks.key('ek')
    resp = opened(s.handle(glo(_agreement([(0, Q_EU + SIG_U)]), 3, KEYS1)), KEYS1)
    # the answer went under the old key; it carries the meter's ephemeral key, signed
    assert resp[:6] == h('C701C1000100')
    v = axdr.decode_all(resp[6:])
    k, data = v[1][0][1]
    assert k == (axdr.ENUM, 0) and bytes(data[1][:64]) == Q_EV
    server_pub = x509.parse(pki.export_certificate((0, 0, 0, b''), SERVER_ST)).public_key
    assert ec.verify(ec.P256, server_pub, b'\x00' + Q_EV, bytes(data[1][64:]))
    # the new key: the vector's, persisted, its counters fresh; applied now
    assert before != NEW_EK and ks.key('ek') == NEW_EK
    assert ks.rec['ic'] == {'server': 0, 'clients': {}, 'other': 0}     # fresh counters
    new = suite0.Keys(NEW_EK, ks.key('ak')).of_suite(security.suite(1).Keys)
    req = h('C001C1000F0000280000FF0100')            # get current association logical_name
    r = opened(s.handle(glo(req, 1, new)), new)       # the client counter starts again
    assert r[:4] == h('C401C100')
    ic = security.split(security.unwrap(s.handle(glo(req, 2, new)))[3], 1)[1]
    assert ic <= 3                                    # the server counter started again too
    assert ('key-changed', 'ek') in ks.events


def test_key_agreement_refusals_change_nothing():
    srv, ks, pki, ss1, rng, clock = _setup()
    s = _associated(srv, pki, ss1, clock, rng)
    ic = [3]
    other = b'\x77' * 32                      # a key the meter has no certificate for

    def call(items):
        r = opened(s.handle(glo(_agreement(items), ic[0], KEYS1)), KEYS1)
        ic[0] += 1
        return r
    bad_point = Q_EU[:63] + bytes((Q_EU[63] ^ 1,))
    cases = [
        [(0, Q_EU + bytes(64))],                                    # no signature
        [(0, Q_EU + ec.sign(ec.P256, other, b'\x00' + Q_EU))],      # another key's
        [(0, Q_EU + ec.sign(ec.P256, D_C, b'\x01' + Q_EU))],        # over another key id
        [(0, bad_point + ec.sign(ec.P256, D_C, b'\x00' + bad_point))],   # not on the curve
        [(0, Q_EU + SIG_U), (0, Q_EU + SIG_U)],                     # one key id twice
        [(0, Q_EU + SIG_U[:63])],                                   # short
        [(4, Q_EU + ec.sign(ec.P256, D_C, b'\x04' + Q_EU))],        # no such key
    ]
    n23 = 0
    for items in cases:
        before = (ks.key('ek'), ks.key('ak'), ks.key('kek'), ks.key('bk'))
        assert call(items) == h('C701C1FA00'), items          # other-reason
        assert (ks.key('ek'), ks.key('ak'), ks.key('kek'), ks.key('bk')) == before
        n23 += 1
    codes = [e[0] for e in ks.events]              # the keystore's events (the meter's sink
    assert codes.count('key-agreement-failed') == n23   # logs them: tests/interop)
    # a parameter of the wrong type: type-unmatched
    r = opened(s.handle(glo(h('C301C1004000002B0001FF03010F00'), ic[0], KEYS1)), KEYS1)
    assert r == h('C701C10C00')
    ic[0] += 1
    # a revoked client certificate: refused too
    cert_sel = axdr.structure(axdr.enum(0), axdr.structure(
        axdr.enum(1), axdr.enum(0), axdr.octets(h('4D4D4D0000000001'))))
    assert ss1.action(8, cert_sel, None)[0] == 0
    assert call([(0, Q_EU + SIG_U)]) == h('C701C1FA00')
    # and the association still works under the old key
    assert opened(s.handle(glo(h('C001C1000F0000280000FF0100'), ic[0], KEYS1)), KEYS1)[:4] == \
        h('C401C100')


def test_several_keys_agree_at_once_each_with_its_own_ephemeral_key():
    srv, ks, pki, ss1, rng, clock = _setup()
    s = _associated(srv, pki, ss1, clock, rng)
    items = []
    for k, d in ((0, b'\x31' * 32), (2, b'\x32' * 32), (3, b'\x33' * 32)):
        q = ec.public_key(ec.P256, d)
        items.append((k, q + ec.sign(ec.P256, D_C, bytes((k,)) + q)))
    resp = opened(s.handle(glo(_agreement(items), 3, KEYS1)), KEYS1)
    assert resp[:6] == h('C701C1000100')
    answers = axdr.decode_all(resp[6:])[1]
    assert [a[1][0][1] for a in answers] == [0, 2, 3]
    qs = [bytes(a[1][1][1][:64]) for a in answers]
    assert len(set(qs)) == 3                        # a fresh ephemeral key for each
    for (k, d), q in zip(((0, b'\x31' * 32), (2, b'\x32' * 32), (3, b'\x33' * 32)), qs):
        from dlms_pk import kdf
        alg = kdf.ALG_AES_WRAP_128 if k == 3 else kdf.ALG_AES_GCM_128
        want = kdf.agreed_key(ec.P256, d, q, kdf.other_info(alg, h('4D4D4D0000000001'),
                                                             SERVER_ST), 16)
        assert ks.key(keystore.KEY_NAMES[k]) == want
