# The public-key part of the server driven by bytes, under CPython and MicroPython: the meter's
# key pairs and certificates (dlms_pk/certstore.py through Security setup methods 4..8 and
# attribute 6), HLS-SHA256 (mechanism 6) and HLS-ECDSA (mechanism 7) against the derived vectors
# of dlms-public-key.md 7.3.1 / 7.3.2, their challenge bounds, revocation, and a power cut in the
# middle of a certificate import. The cross-checks against `cryptography` and the Gurux client
# run against the virtual meter (tests/interop/test_public_key_associations.py).
import hashlib
import os
from binascii import unhexlify

from dlms import axdr, keystore, security, suite0
from dlms import association as am
from dlms.store import Store
from dlms.server import Server, AssociationConfig, CTX_LN_CIPHERED
from dlms.cosem import SecuritySetup, AssociationLN
from dlms.cosem.base import READ, AUTH_REQUEST, ENC_REQUEST, INVOKE, NO_ACCESS
from dlms_pk import asn1, ec, x509
from dlms_ca import ca as dca
from dlms_pk.certstore import CertStore
from test_store import FakeFs
from test_server import field, aare_result, get_request, h, EK, AK, SERVER_ST, CLIENT_ST

INITIATE = h('01000000065F1F0400007E1F04B0')
AE = AUTH_REQUEST | ENC_REQUEST
SS1 = h('00002B0001FF')
_NOW = asn1.days(2026, 6, 1) * 86400


def _root():
    try:
        os.stat('tools/demo_pki/ca.pem')
        return 'tools/demo_pki/'
    except OSError:
        f = __file__
        return f[0:f.rfind('/tests/vectors/') + 1] + 'tools/demo_pki/'


_DIR = _root()


def _serial_bytes(n):
    # int.bit_length is not on MicroPython
    size = 1
    while n >> (8 * size):
        size += 1
    return n.to_bytes(size, 'big')


def tlv(tag, body):
    # BER: the short length form below 128, else 81 xx
    n = len(body)
    return bytes((tag, n) if n < 0x80 else (tag, 0x81, n)) + body


def pem(name, label='CERTIFICATE'):
    with open(_DIR + name) as f:
        text = f.read()
    return dca.pem_decode(text, label) if label else text


class Clock:
    def __init__(self, t=_NOW):
        self.t = t

    def __call__(self):
        return self.t


class Rng:
    """A stand-in DRBG: a counter through SHA-256, and fixed values when queued."""

    def __init__(self):
        self.n = 0
        self.queue = []

    def __call__(self, k):
        if self.queue:
            return self.queue.pop(0)[:k]
        out = b''
        while len(out) < k:
            self.n += 1
            out += hashlib.sha256(b'rng%d' % self.n).digest()
        return out[:k]


def make(files=None, secret=b'Gurux', clock=None):
    fs = FakeFs(files)
    store = Store('/s', fs)
    ks = keystore.KeyStore(store, 16, 10)
    assert ks.open(keystore.new_record(SERVER_ST, EK, AK, EK, lls={3: secret}, seed=b'x' * 32))
    rng = Rng()
    clock = clock or Clock()
    pki = CertStore(ks, store, clock, rng)
    ss1 = SecuritySetup(SS1, SERVER_ST, 0x0C, 1, manager=ks, pki=pki)
    ss0 = SecuritySetup('0.0.43.0.0.255', SERVER_ST, 0x0C, 0, manager=ks)
    cur = AssociationLN('0.0.40.0.0.255')
    rights = (READ | AE,) * 6
    objs1 = [(cur, (READ | AE,) * 9, (INVOKE | AE, INVOKE | AE, NO_ACCESS, NO_ACCESS)),
             (ss1, rights, (INVOKE | AE,) * 8)]
    objs0 = [(cur, (READ | AE,) * 9, (INVOKE | AE, INVOKE | AE, NO_ACCESS, NO_ACCESS)),
             (ss0, rights, (INVOKE | AE,) * 2 + (NO_ACCESS,) * 6)]
    sap2 = AssociationConfig(2, 'hls-ecdsa', 7, CTX_LN_CIPHERED, security_setup=ss1,
                             objects=objs1)
    sap3 = AssociationConfig(3, 'hls-sha256', 6, CTX_LN_CIPHERED, secret=secret,
                             security_setup=ss0, objects=objs0)
    srv = Server(SERVER_ST, ks.keys(), [sap2, sap3], rng, ks.server_counter(),
                 client_counters=ks.client_counters())
    return srv, ks, pki, ss1, fs, rng, clock


def enrol(pki, ss1, clock, client=True):
    """What boards/host/demo_enroll.py does: trust anchor, pairs, requests, CA, imports."""
    ca = pem('ca.pem')
    assert pki.add_trust_anchor(ca)
    ca_curve, ca_d = dca.pem_private_key(pem('ca.key.pem', None))
    for kt, usage in ((0, x509.KU_DIGITAL_SIGNATURE), (1, x509.KU_KEY_AGREEMENT)):
        assert ss1.action(4, axdr.enum(kt), None) == (0, None)
        r, csr = ss1.action(5, axdr.enum(kt), None)
        assert r == 0 and dca.parse_csr(bytes(csr[1])).subject_cn == '4D4D4D0000BC614E'
        cert = dca.issue(ca, ca_curve, ca_d, bytes(csr[1]), 1000 + kt, clock() - 86400,
                          clock() + 86400 * 3650, usage)
        assert ss1.action(6, axdr.octets(cert), None) == (0, None)
    if client:
        assert ss1.action(6, axdr.octets(pem('client-sign.pem')), None) == (0, None)


def entries(ss1):
    return [tuple(x[1][0:2]) for x in ss1.get(6, None)[1]]


KEYS = suite0.Keys(EK, AK)
KEYS1 = KEYS.of_suite(security.suite(1).Keys)


def glo(apdu, ic, keys=KEYS):
    sc = 0x30 | keys.SUITE
    return security.wrap(security.KIND_GLO, None, security.suite(keys.SUITE).protect(
        keys, sc, CLIENT_ST, ic, apdu), apdu[0])


def opened(apdu, keys=KEYS):
    return bytes(security.suite(keys.SUITE).unprotect(keys, SERVER_ST,
                                                      security.unwrap(apdu)[3])[2])


def aarq(mechanism, ctos, ic, keys=KEYS, st=CLIENT_ST):
    gi = security.wrap(security.KIND_GLO, None, security.suite(keys.SUITE).protect(
        keys, 0x30 | keys.SUITE, st, ic, INITIATE), 0x01)
    return tlv(0x60, tlv(0xA1, h('060760857405080103')) + tlv(0xA6, tlv(0x04, st)) +
               h('8A020780') + tlv(0x8B, h('608574050802') + bytes((mechanism,))) +
               tlv(0xAC, tlv(0x80, ctos)) + tlv(0xBE, tlv(0x04, gi)))


def reply(f):
    return h('C301C1000F0000280000FF010109') + bytes((len(f),)) + f


# ---- key pairs and certificates ----

def test_key_pairs_are_made_in_the_meter_and_certified_through_the_security_setup_methods():
    srv, ks, pki, ss1, fs, rng, clock = make()
    assert ss1.action(5, axdr.enum(0), None)[0] != 0          # no key pair: no request
    enrol(pki, ss1, clock)
    assert entries(ss1) == [(axdr.enum(2), axdr.enum(0)), (axdr.enum(0), axdr.enum(0)),
                            (axdr.enum(0), axdr.enum(1)), (axdr.enum(1), axdr.enum(0))]
    d = pki.own_key(0, ec.P256)
    assert d is not None and len(d) == 32
    der = pki.export_certificate((0, 0, 0, b''), SERVER_ST)
    assert x509.parse(der).public_key == ec.public_key(ec.P256, d)
    r, got = ss1.action(7, axdr.structure(axdr.enum(0), axdr.structure(
        axdr.enum(0), axdr.enum(0), axdr.octets(SERVER_ST))), None)
    assert r == 0 and bytes(got[1]) == der
    c = x509.parse(der)                                       # by serial and issuer too
    serial = _serial_bytes(c.serial)
    r, got = ss1.action(7, axdr.structure(axdr.enum(1), axdr.structure(
        axdr.octets(serial), axdr.octets(c.issuer))), None)
    assert r == 0 and bytes(got[1]) == der
    # the private keys are in no attribute, repr, event or certificate
    dx = d.hex() if hasattr(d, 'hex') else ''
    for v in [ss1.get(i, None) for i in (1, 2, 3, 5, 6)] + [repr(pki), repr(ks), ks.events]:
        assert d not in axdr.to_bytes(v) if isinstance(v, tuple) else dx not in repr(v)


def test_a_certificate_is_accepted_only_from_the_anchor_in_validity_with_its_key_usage():
    srv, ks, pki, ss1, fs, rng, clock = make()
    enrol(pki, ss1, clock, client=False)
    before = ss1.get(6, None)
    for bad in ('test/client-sign-other-ca.pem', 'test/client-sign-expired.pem',
                'test/client-sign-no-ds.pem', 'ca.pem', 'test/client-sign-unknown-critical.pem'):
        r, _ = ss1.action(6, axdr.octets(pem(bad)), None)
        assert r != 0, bad
    assert ss1.get(6, None) == before
    assert [e[0] for e in ks.events].count('certificate-rejected') == 5
    # and a certificate for the meter's title made for a key it does not hold
    ca_curve, ca_d = dca.pem_private_key(pem('ca.key.pem', None))
    _, pub = ec.generate_keypair(ec.P256, lambda n: b'\x07' * n)     # not the meter's key
    foreign = dca.issue(pem('ca.pem'), ca_curve, ca_d, (ec.P256, pub, '4D4D4D0000BC614E'), 77,
                         clock() - 10, clock() + 1000, x509.KU_DIGITAL_SIGNATURE)
    assert ss1.action(6, axdr.octets(foreign), None)[0] != 0


def test_suite0_security_setup_has_no_public_key_methods():
    srv, ks, pki, ss1, fs, rng, clock = make()
    ss0 = srv.associations[3].security_setup
    assert ss0.action(4, axdr.enum(0), None)[0] == 3             # read-write-denied
    assert ss0.get(6, None) == axdr.array([])


def test_a_power_cut_between_certificate_and_key_pair_is_completed_at_the_next_start():
    srv, ks, pki, ss1, fs, rng, clock = make()
    enrol(pki, ss1, clock, client=False)
    old = pki.own_key(0, ec.P256)
    assert ss1.action(4, axdr.enum(0), None)[0] == 0          # a new pair, pending
    r, csr = ss1.action(5, axdr.enum(0), None)
    ca_curve, ca_d = dca.pem_private_key(pem('ca.key.pem', None))
    cert = dca.issue(pem('ca.pem'), ca_curve, ca_d, bytes(csr[1]), 5000, clock() - 10,
                      clock() + 10000, x509.KU_DIGITAL_SIGNATURE)
    pki._activate = lambda key_type: True                     # the cut: the pair stays pending
    assert ss1.action(6, axdr.octets(cert), None)[0] == 0
    assert pki.own_key(0, ec.P256) == old
    ks2 = keystore.KeyStore(Store('/s', FakeFs(fs.files)), 16, 10)
    assert ks2.open(None)
    pki2 = CertStore(ks2, Store('/s', FakeFs(fs.files)), clock, Rng())
    new = pki2.own_key(0, ec.P256)
    assert new != old and x509.parse(cert).public_key == ec.public_key(ec.P256, new)


def test_a_state_directory_of_today_without_key_pairs_loads_and_takes_them():
    srv, ks, pki, ss1, fs, rng, clock = make()
    rec = ks.store.load('keystore')
    del rec['pk']
    del rec['pkp']
    ks.store.save('keystore', rec)
    ks2 = keystore.KeyStore(Store('/s', FakeFs(fs.files)), 16, 10)
    assert ks2.open(None)
    pki2 = CertStore(ks2, ks2.store, clock, Rng())
    assert pki2.own_key(0, ec.P256) is None
    assert pki2.generate_key_pair(0, ec.P256) == 0


# ---- HLS-SHA256 ----

def sha_session(srv, ctos, ic=1, secret=b'Gurux', stoc=b'P6wRJ21F', rng=None):
    if rng is not None:
        rng.queue.append(stoc)
    s = srv.session(3)
    aare = s.handle(aarq(6, ctos, ic))
    return s, aare


def test_hls_sha256_answers_the_derived_vector():
    # dlms-public-key.md 7.3.1: secret Gurux, CtoS K56iVagY, StoC P6wRJ21F
    srv, ks, pki, ss1, fs, rng, clock = make()
    s, aare = sha_session(srv, b'K56iVagY', rng=rng)
    assert aare_result(aare) == (0, 14) and field(aare, 0xAA)[2:] == b'P6wRJ21F'
    f_stoc = h('F6D1E90A4E1D237972A02ED7F392D165BA5527D922A07C4A22D690397D6888F3')
    assert opened(s.handle(glo(reply(f_stoc), 2))) == h(
        'C701C10001000920 A4AD3DF3CF2A3BC9986E8BDB8E4109DC51710B6E232439C0333A5106CCCF42ED')
    assert s.assoc.state == am.ASSOCIATED


def test_hls_sha256_refuses_a_wrong_reply_and_out_of_range_challenges_and_counts_guesses():
    """Out-of-range challenges are refused and logged, but they try no secret: no lockout. Wrong
    pass 3 replies do try it: three of them lock SAP 3 out."""
    from dlms.lockout import Lockout
    srv, ks, pki, ss1, fs, rng, clock = make()
    srv.lockout = Lockout(clock, max_failures=3, base=30)
    ic = 10
    for _ in range(3):
        for n in (7, 65):
            ic += 100
            assert aare_result(srv.session(3).handle(aarq(6, b'x' * n, ic)))[1] == 13
    for i in range(3):
        s, aare = sha_session(srv, b'K56iVagY', 1000 + 10 * i, rng=rng)
        assert aare_result(aare) == (0, 14)    # accepted, pass 3 due: the challenges locked nothing
        assert opened(s.handle(glo(reply(bytes(32)), 1001 + 10 * i))) == h('C701C10300')
        assert s.assoc.state == am.NON_ASSOCIATED
    # three wrong replies: a guessable secret locks the association out
    assert aare_result(srv.session(3).handle(aarq(6, b'K56iVagY', 2000))) == (2, 1)


def test_change_hls_secret_takes_effect_and_persists():
    srv, ks, pki, ss1, fs, rng, clock = make()
    s, aare = sha_session(srv, b'K56iVagY', rng=rng)
    f_stoc = h('F6D1E90A4E1D237972A02ED7F392D165BA5527D922A07C4A22D690397D6888F3')
    s.handle(glo(reply(f_stoc), 2))
    srv.secret_store = ks
    change = h('C301C1000F0000280000FF0201') + axdr.to_bytes(axdr.octets(b'new secret 0001'))
    assert opened(s.handle(glo(change, 3))) == h('C701C10000')
    assert ks.secret(3) == b'new secret 0001' and srv.associations[3].secret == b'new secret 0001'


# ---- HLS-ECDSA ----

def ecdsa_session(srv, ctos, ic, stoc=None, rng=None):
    if stoc is not None:
        rng.queue.append(stoc)
    s = srv.session(2)
    return s, s.handle(aarq(7, ctos, ic, KEYS1))


CTOS = bytes(range(32))
STOC = bytes(range(32, 64))


def test_hls_ecdsa_verifies_the_derived_client_signature_and_signs_its_own():
    # dlms-public-key.md 7.3.2: d_C = C1 x 32 (a client certificate for Q_C, issued by the demo
    # CA), CtoS 00..1F, StoC 20..3F; f(StoC) with an RFC 6979 nonce
    srv, ks, pki, ss1, fs, rng, clock = make()
    enrol(pki, ss1, clock, client=False)
    ca_curve, ca_d = dca.pem_private_key(pem('ca.key.pem', None))
    q_c = ec.public_key(ec.P256, b'\xc1' * 32)
    assert q_c == h('991498C2EF7F1CA5FD7F1D2EE033DC0AED84745DA9B5EBB60A7D854307EBF996'
                    '4A48CCF94FA5F206B0550E62AAD49E4A0EC26DCB562201C4DD8BEC6D11D39F44')
    client = dca.issue(pem('ca.pem'), ca_curve, ca_d, (ec.P256, q_c, '4D4D4D0000000001'), 42,
                        clock() - 10, clock() + 100000, x509.KU_DIGITAL_SIGNATURE)
    assert ss1.action(6, axdr.octets(client), None)[0] == 0
    s, aare = ecdsa_session(srv, CTOS, 1, STOC, rng)
    assert aare_result(aare) == (0, 14) and field(aare, 0xAA)[2:] == STOC
    assert field(aare, 0xA5) is None                  # no certificate in the AARE (Gurux bug 10)
    f_stoc = h('8A35B6DA14CD9CBA80F6616B521F03161B1280EE0EF87F5F3D418B91C32D4CE4'
               '4F86EB8E2176B01E8A533FE323412C876D6902BCC553BB7639A3509437703BD2')
    r = opened(s.handle(glo(reply(f_stoc), 2, KEYS1)), KEYS1)
    assert r[:8] == h('C701C10001000940') and s.assoc.state == am.ASSOCIATED
    server_pub = x509.parse(pki.export_certificate((0, 0, 0, b''), SERVER_ST)).public_key
    assert ec.verify(ec.P256, server_pub, SERVER_ST + CLIENT_ST + CTOS + STOC, r[8:])
    # the association is ciphered under suite 1 (SC 0x31); a suite 0 SC is refused
    assert opened(s.handle(glo(get_request(15, h('0000280000FF'), 8), 3, KEYS1)), KEYS1)[:4] == \
        h('C401C100')
    assert s.handle(glo(get_request(15, h('0000280000FF'), 8), 4)) == h('D80105')


def client_signature(stoc, ctos=CTOS, first=CLIENT_ST, second=SERVER_ST):
    c, d = dca.pem_private_key(pem('client-sign.key.pem', None))
    return ec.sign(c, d, first + second + stoc + ctos)


def test_hls_ecdsa_negatives_answer_and_leave_the_next_association_working():
    from dlms.lockout import Lockout
    srv, ks, pki, ss1, fs, rng, clock = make()
    srv.lockout = Lockout(clock, max_failures=2, base=30)
    enrol(pki, ss1, clock)
    ic = 10
    for n in (31, 65):                                       # challenge one byte off
        assert aare_result(ecdsa_session(srv, b'c' * n, ic)[1]) == (1, 13)
        ic += 2
    for sig in (lambda stoc: bytes(64),                      # a wrong signature
                lambda stoc: client_signature(stoc, first=SERVER_ST, second=CLIENT_ST),
                lambda stoc: client_signature(stoc)[:63]):   # titles swapped; short
        s, aare = ecdsa_session(srv, CTOS, ic)
        stoc = field(aare, 0xAA)[2:]
        assert opened(s.handle(glo(reply(sig(stoc)), ic + 1, KEYS1)), KEYS1) == \
            h('C701C10300')
        assert s.assoc.state == am.NON_ASSOCIATED
        ic += 2
    assert srv.lockout.remaining(2) == 0                     # signatures are not guessed
    s, aare = ecdsa_session(srv, CTOS, ic)                   # the client: served
    stoc = field(aare, 0xAA)[2:]
    assert opened(s.handle(glo(reply(client_signature(stoc)), ic + 1, KEYS1)), KEYS1)[:5] == \
        h('C701C10001')


def test_a_removed_client_certificate_is_revoked_and_an_expired_one_refused():
    srv, ks, pki, ss1, fs, rng, clock = make()
    enrol(pki, ss1, clock)
    sel = axdr.structure(axdr.enum(0), axdr.structure(axdr.enum(1), axdr.enum(0),
                                                      axdr.octets(CLIENT_ST)))
    assert ss1.action(8, sel, None) == (0, None)
    assert 'certificate-removed' in [e[0] for e in ks.events]
    assert aare_result(ecdsa_session(srv, CTOS, 1)[1]) == (1, 13)
    assert ss1.action(6, axdr.octets(pem('client-sign.pem')), None) == (0, None)
    s, aare = ecdsa_session(srv, CTOS, 3)
    assert aare_result(aare) == (0, 14)
    # the trust anchor cannot be removed; the meter's own certificate goes with its key
    ca = x509.parse(pem('ca.pem'))
    ca_serial = _serial_bytes(ca.serial)
    assert ss1.action(8, axdr.structure(axdr.enum(1), axdr.structure(
        axdr.octets(ca_serial), axdr.octets(ca.issuer))), None)[0] != 0
    own = axdr.structure(axdr.enum(0), axdr.structure(axdr.enum(0), axdr.enum(0),
                                                      axdr.octets(SERVER_ST)))
    assert ss1.action(8, own, None) == (0, None) and pki.own_key(0, ec.P256) is None
    assert aare_result(ecdsa_session(srv, CTOS, 5)[1]) == (1, 13)    # no key to sign with
    # a client certificate that has expired since its import
    srv2, ks2, pki2, ss12, fs2, rng2, clock2 = make()
    enrol(pki2, ss12, clock2)
    clock2.t = asn1.days(2047, 1, 1) * 86400
    assert aare_result(ecdsa_session(srv2, CTOS, 1)[1]) == (1, 13)
