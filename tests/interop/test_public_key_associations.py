"""HLS-SHA256 (mechanism 6, SAP 3, suite 0) and HLS-ECDSA (mechanism 7, SAP 2, suite 1) against the
virtual meter: whole sessions with the Gurux client, where its code paths work, and the same
sessions byte by byte with a client of our own (RawClient: AES-GCM and ECDSA from `cryptography`,
the request builders of tests/vectors/dlms_client.py), which also makes the negative cases gurux
cannot: a wrong signature, one over the wrong system titles, challenges out of range. Each
negative gets the meter's standard answer and the meter serves the next legitimate session.
Certificates over SAP 1 (Security setup 0.0.43.0.1.255 methods 6..8, attribute 6, the security
event log), and no private key in the meter's output.

Gurux 1.0.203 (dlms-public-key.md 6.3), as found here:
- works: mech 6 on SAP 3; mech 7 on SAP 2 with a CtoS of 32 bytes set by hand; suite 1 ciphering
  (SC 0x31); its check of the meter's pass 4 (a wrong server key fails).
- broken: its own CtoS is 16 bytes, below the mech-7 minimum (the meter rejects it); it prints
  the client private key at every mech-7 pass 3 (bug 4; the harness swallows gurux's output);
  it does not check the tag of suite-1 replies (bug 5; the harness does, verify_replies); a wrong
  mech-7 pass 4 makes it raise UnboundLocalError (its error path for mech 7 refers to an unset
  variable) instead of its own "do not match" error. Bug 10 (a server certificate in AARE A5)
  does not apply: the meter sends none.
"""
import contextlib
import io
import json
import os
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

import dlms_client as dc  # noqa: E402
from dlms import axdr  # noqa: E402
from gurux_dlms import GXByteBuffer, GXReplyData  # noqa: E402
from gurux_dlms.enums import DataType  # noqa: E402
from interop.raw_client import (  # noqa: E402
    RawClient, ln, obis, sign_raw, verify_raw, INVOKE, _IC)
from interop.gurux_session import (  # noqa: E402
    demo_session, make_object, split_wrapper_frame, unprotect_reply,
    raw_private_key, AssociationRejected, DataAccessError, HlsFailed,
    ReplyProtectionError, DEMO_HLS_SECRET, DEMO_PKI, SERVER_SYSTEM_TITLE,
    CLIENT_SYSTEM_TITLE)

HOST = '127.0.0.1'
LOCKOUT_FAILURES = 3
LOCKOUT_SECONDS = 2
SS1 = '0.0.43.0.1.255'                  # Security setup of suite 1 (SAP 2)
EVENT_LOG = (7, '0.0.99.98.7.255')
# event codes (lib/dlms/events.py)
EV_AUTH_FAILED = 1
EV_LOCKOUT = 4
EV_CERT_IMPORTED = 20
EV_CERT_REMOVED = 21
EV_CERT_REJECTED = 22
# action-results / diagnostics (dlms_client names)
OTHER_REASON = dc.OTHER_REASON

MANAGED = {'0.0.42.0.0.255', '0.0.1.0.0.255', '1.0.1.8.0.255', '0.0.40.0.0.255',
           '0.0.96.11.7.255', '0.0.96.15.7.255', '0.0.99.98.7.255'}
OBJECTS_SAP1 = MANAGED | {'0.0.43.0.0.255', SS1}
OBJECTS_SAP3 = MANAGED | {'0.0.43.0.0.255'}    # as management, without the suite 1 setup: a
#                     guessed shared secret must not reach the meter's certificates and key pairs
OBJECTS_SAP2 = MANAGED | {SS1}


def pem_file(name):
    with open(os.path.join(DEMO_PKI, name), 'rb') as f:
        return f.read()


def der_file(name):
    return x509.load_pem_x509_certificate(pem_file(name)).public_bytes(
        serialization.Encoding.DER)


CLIENT_SIGN_KEY = serialization.load_pem_private_key(pem_file('client-sign.key.pem'), None)
CLIENT_AGREE_KEY = serialization.load_pem_private_key(pem_file('client-agree.key.pem'), None)


@pytest.fixture(scope='module')
def meter(tmp_path_factory):
    cfg = tmp_path_factory.mktemp('cfg') / 'meter.json'
    cfg.write_text(json.dumps({'lockout_failures': LOCKOUT_FAILURES,
                               'lockout_seconds': LOCKOUT_SECONDS,
                               'lockout_max_seconds': 4 * LOCKOUT_SECONDS}))
    vm = VirtualMeter(config=str(cfg))
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


@pytest.fixture(scope='module')
def server_cert(meter):
    """The meter's digital-signature certificate, exported over SAP 1 (method 7), checked: the
    meter's title as CN, issued and signed by the demo CA, P-256, digitalSignature."""
    with associated(meter, 1) as s:
        der = s.export_certificate(SS1, 0, 0, SERVER_SYSTEM_TITLE)
    cert = x509.load_der_x509_certificate(der)
    ca = x509.load_pem_x509_certificate(pem_file('ca.pem'))
    assert cert.subject.rfc4514_string() == 'CN=4D4D4D0000BC614E'
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           ec.ECDSA(cert.signature_hash_algorithm))
    assert isinstance(cert.public_key().curve, ec.SECP256R1)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    return cert


def gurux(meter, sap, server_cert=None, **kw):
    if sap in (1, 2, 3):
        kw.setdefault('invocation_counter', next(_IC))
    if sap == 2 and server_cert is not None:
        kw.setdefault('server_public_key', server_cert)
    s = demo_session(HOST, meter.port, sap, **kw)
    s.connect()
    return s


@contextlib.contextmanager
def associated(meter, sap, server_cert=None, **kw):
    s = gurux(meter, sap, server_cert, **kw)
    try:
        with contextlib.redirect_stdout(io.StringIO()):   # gurux prints for every APDU
            s.associate()
            yield s
            s.release()
    finally:
        s.close()


def quietly(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def raw_session_sha256(meter, ctos, secret=DEMO_HLS_SECRET):
    """A whole SAP 3 session byte by byte; returns the client (closed) with what it saw."""
    with RawClient(meter, 3, 0) as c:
        a = c.aarq(dc.HLS_SHA256, ctos)
        assert (a.result, a.diag_source, a.diagnostic) == (0, 1, dc.DIAG_AUTHENTICATION_REQUIRED)
        assert a.mechanism == dc.HLS_SHA256 and a.responding_ap_title == SERVER_SYSTEM_TITLE
        assert 8 <= len(c.stoc) <= 64 and c.stoc != c.ctos
        result, f_ctos = c.pass3(c.sha256_f(secret, c.title, c.server_title, c.stoc, c.ctos))
        assert result == dc.SUCCESS
        assert f_ctos == c.sha256_f(secret, c.server_title, c.title, c.ctos, c.stoc)
        c.objects = {obis(bytes(o[1][2][1])) for o in c.get(15, '0.0.40.0.0.255', 2)[1]}
        c.ldn = c.get(1, '0.0.42.0.0.255', 2)
        c.clock = c.get(8, '0.0.1.0.0.255', 2)
        assert c.release() == 0
    return c


def raw_session_ecdsa(meter, cert, ctos):
    """A whole SAP 2 session byte by byte, pass 4 verified with the key of the exported
    certificate; returns the client (closed)."""
    with RawClient(meter, 2, 1) as c:
        a = c.aarq(dc.HLS_ECDSA, ctos)
        assert (a.result, a.diag_source, a.diagnostic) == (0, 1, dc.DIAG_AUTHENTICATION_REQUIRED)
        assert a.mechanism == dc.HLS_ECDSA and a.responding_ap_title == SERVER_SYSTEM_TITLE
        assert 32 <= len(c.stoc) <= 64 and c.stoc != c.ctos
        result, f_ctos = c.pass3(sign_raw(CLIENT_SIGN_KEY, c.ecdsa_pass3_message()))
        assert result == dc.SUCCESS
        verify_raw(cert.public_key(), c.ecdsa_pass4_message(), f_ctos)
        c.objects = {obis(bytes(o[1][2][1])) for o in c.get(15, '0.0.40.0.0.255', 2)[1]}
        c.ldn = c.get(1, '0.0.42.0.0.255', 2)
        c.suite = c.get(64, SS1, 3)
        assert c.release() == 0
    return c


def assert_not_associated(c):
    """After a failed pass 3 the association is gone: a ciphered GET gets exception-response
    service-not-allowed / operation-not-possible, unciphered."""
    req = dc.build_get_request_normal(INVOKE, 1, ln('0.0.42.0.0.255'), 2)
    assert c.exchange(c.seal(dc.GLO_GET_REQUEST, req)) == bytes.fromhex('D80101')


def assert_serves_sap2(meter, cert):
    c = raw_session_ecdsa(meter, cert, os.urandom(32))
    assert c.ldn == (axdr.OCTET_STRING, b'MMM0000012345678')


def assert_serves_sap3(meter):
    c = raw_session_sha256(meter, os.urandom(16))
    assert c.ldn == (axdr.OCTET_STRING, b'MMM0000012345678')


def event_codes(meter):
    """The event code of every row of the security event log, read over SAP 1."""
    with associated(meter, 1) as s:
        return [r[1] for r in s.read_raw_value(make_object(*EVENT_LOG), 2)]


def certificates(s):
    """Security setup 0.0.43.0.1.255 attribute 6, as plain tuples."""
    return [tuple(bytes(v) if isinstance(v, (bytes, bytearray)) else int(v) for v in e)
            for e in s.read_raw_value(make_object(64, SS1), 6)]


# --- Gurux: whole sessions -----------------------------------------------------------------------

def test_gurux_whole_session_hls_sha256_on_sap3(meter):
    with associated(meter, 3) as s:
        aare = s.aare_raw
        assert bytes.fromhex('8907608574050802' '06') in aare        # mechanism-name 6
        listed = {o.logicalName for o in s.read(make_object(15, '0.0.40.0.0.255'), 2)}
        assert listed == OBJECTS_SAP3
        assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == \
            b'MMM0000012345678'
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert s.read_raw_value(make_object(3, '1.0.1.8.0.255'), 2) >= 0
        assert s.read_raw_value(make_object(64, '0.0.43.0.0.255'), 3) == 0   # suite 0
        # every reply was ciphered with SC 0x30 and its tag checked by the harness
        assert len(s.server_invocation_counters) >= 5
        assert s.last_reply_raw[0] in (0xCC, 0xDB)


def test_gurux_whole_session_hls_ecdsa_on_sap2(meter, server_cert, capfd):
    with associated(meter, 2, server_cert) as s:
        assert len(s.client.ctoSChallenge) == 32
        fields = _aare_fields(s.aare_raw)
        assert fields[0x89] == bytes.fromhex('60857405080207')       # mechanism-name 7
        assert 0xA5 not in fields        # no server certificate in the AARE (gurux bug 10)
        assert bytes(fields[0xA4][2:]) == SERVER_SYSTEM_TITLE
        listed = {o.logicalName for o in s.read(make_object(15, '0.0.40.0.0.255'), 2)}
        assert listed == OBJECTS_SAP2
        assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == \
            b'MMM0000012345678'
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert s.read_raw_value(make_object(64, SS1), 3) == 1        # security suite 1
        assert s.read_raw_value(make_object(64, SS1), 5) == SERVER_SYSTEM_TITLE
        # every reply checked by the harness, as suite 1: SC 0x31, tag, rising server IC
        assert len(s.server_invocation_counters) >= 6
        assert s.last_reply_raw[0] in (0xCC, 0xDB)
        # gurux bug 4: it printed the client private key; the harness swallowed it
        assert s.private_key_printed
    out, err = capfd.readouterr()
    d = raw_private_key(CLIENT_SIGN_KEY).hex().upper()
    for text in (out, err):
        assert d not in text.replace(' ', '').upper()
        assert 'Private signed key' not in text


def test_gurux_change_hls_secret_on_sap3(meter):
    new = b'another secret of SAP 3'
    with associated(meter, 3) as s:
        s.method(make_object(15, '0.0.40.0.0.255'), 2, new, DataType.OCTET_STRING)
    try:
        s = gurux(meter, 3)                                  # the old secret no longer works
        with pytest.raises(HlsFailed) as e:
            quietly(s.associate)
        assert e.value.code == dc.READ_WRITE_DENIED
        s.close()
        with associated(meter, 3, password=new) as s:
            s.read(make_object(8, '0.0.1.0.0.255'), 2)
    finally:
        with associated(meter, 3, password=new) as s:
            s.method(make_object(15, '0.0.40.0.0.255'), 2, DEMO_HLS_SECRET, DataType.OCTET_STRING)
    assert_serves_sap3(meter)


def _aare_fields(aare):
    from interop.gurux_session import _ber_fields
    return _ber_fields(bytes(aare))


# --- Gurux: the broken paths, each shown --------------------------------------------------------

def test_gurux_own_ctos_is_too_short_for_hls_ecdsa(meter, server_cert):
    # GXSecure.generateChallenge always makes 16 bytes; mechanism 7 needs 32..64
    s = gurux(meter, 2, server_cert, ctos_challenge=None)
    with pytest.raises(AssociationRejected) as e:
        quietly(s.associate)
    assert len(s.client.ctoSChallenge) == 16
    assert (e.value.result, e.value.diagnostic_source, e.value.diagnostic) == (1, 'user', 13)
    s.close()
    assert_serves_sap2(meter, server_cert)


def test_gurux_does_not_check_the_tag_of_a_suite1_reply_the_harness_does(meter, server_cert):
    # gurux bug 5 with SC 0x31: a GET reply with a changed tag is accepted by gurux itself
    with associated(meter, 2, server_cert) as s:
        frames = s.client.read(make_object(1, '0.0.42.0.0.255'), 2)
        s.verify_replies = False
        s.send_frame(frames[0])
        frame = bytearray(s.recv_frame())
        reply = bytes(s.last_reply_raw)
        assert reply[0] in (0xCC, 0xDB)
        frame[-1] ^= 0x5A                                     # the last byte of the GCM tag
        bad_reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        data = GXReplyData()
        assert s.client.getData(GXByteBuffer(bytes(frame)), data, None)
        assert bytes(data.value) == b'MMM0000012345678'     # gurux: accepted
        with pytest.raises(ReplyProtectionError):
            unprotect_reply(bad_reply, SERVER_SYSTEM_TITLE, suite=1)
        assert unprotect_reply(reply, SERVER_SYSTEM_TITLE, suite=1)[1] == 0x31
        with pytest.raises(ReplyProtectionError):             # right tag, wrong suite
            unprotect_reply(reply, SERVER_SYSTEM_TITLE, suite=0)
        s.verify_replies = True


def test_gurux_refuses_a_pass4_under_another_key_but_by_an_unbound_local(meter, server_cert):
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    s = gurux(meter, 2, server_public_key=other)
    with pytest.raises(HlsFailed) as e:
        quietly(s.associate)
    # gurux's parseApplicationAssociationResponse, mech 7 branch: `tmp` is only set in the other
    # branch, so printing "Invalid StoC" raises UnboundLocalError (it still fails closed)
    assert 'UnboundLocalError' in e.value.reason
    assert s.private_key_printed
    s.close()
    assert_serves_sap2(meter, server_cert)


# --- the harness's mech 6/7 and suite 1 paths against the reference vectors (no meter) --------

def _offline(authentication, **kw):
    from interop.gurux_session import GuruxSession
    return GuruxSession(None, None, 3, authentication=authentication, **kw)


def _gurux_pass3(s, stoc):
    st = s.client.settings
    st.sourceSystemTitle = SERVER_SYSTEM_TITLE
    st.stoCChallenge = stoc
    with s._quiet_gurux():
        frame = bytes(s.client.getApplicationAssociationRequest()[0])
    return split_wrapper_frame(frame)[3]


def test_harness_hls_sha256_pass3_is_the_reference_vector():
    # dlms-public-key.md 7.3.1: secret 'Gurux', CtoS 'K56iVagY', StoC 'P6wRJ21F'
    s = _offline('hls-sha256', password=b'Gurux', ctos_challenge=b'K56iVagY')
    assert _gurux_pass3(s, b'P6wRJ21F') == bytes.fromhex(
        'C301C1000F0000280000FF01010920'
        'F6D1E90A4E1D237972A02ED7F392D165BA5527D922A07C4A22D690397D6888F3')


def test_harness_hls_ecdsa_pass3_verifies_and_its_key_print_is_swallowed(capfd):
    # dlms-public-key.md 7.3.2 keys and challenges (gurux's nonce is random: verify, not compare)
    d_c = ec.derive_private_key(int('C1' * 32, 16), ec.SECP256R1())
    q_s = ec.derive_private_key(int('5E' * 32, 16), ec.SECP256R1()).public_key()
    ctos, stoc = bytes(range(32)), bytes(range(32, 64))
    s = _offline('hls-ecdsa', ciphered=False, security_suite=1, signing_key=d_c,
                 server_public_key=q_s, ctos_challenge=ctos)
    apdu = _gurux_pass3(s, stoc)
    assert apdu[:15] == bytes.fromhex('C301C1000F0000280000FF01010940')
    verify_raw(d_c.public_key(), CLIENT_SYSTEM_TITLE + SERVER_SYSTEM_TITLE + stoc + ctos,
               apdu[15:])
    assert s.private_key_printed                       # gurux bug 4 ...
    out, err = capfd.readouterr()
    assert 'C1 C1 C1 C1' not in out + err and 'Private signed key' not in out + err   # ... hidden


def test_harness_suite1_aarq_is_the_reference_vector():
    # dlms-public-key.md 7.3.4: LLS '12345678', IC 01234567, suite 1, demo EK/AK
    s = _offline('low', password=b'12345678', ciphered=True, security_suite=1,
                 invocation_counter=0x01234567, max_pdu=0xFFFF)
    with s._quiet_gurux():
        aarq = split_wrapper_frame(bytes(s.client.aarqRequest()[0]))[3]
    assert aarq == bytes.fromhex(
        '6055A109060760857405080103A60A04084D4D4D00000000018A0207808B0760857405080201AC0A8008'
        '3132333435363738BE230421211F3101234567A9E5B8F765E8FF5A9C93E45C2544043071C9BF5637E3E6B0'
        'FEBD')
    glo = aarq[aarq.index(b'\x21\x1f'):]
    assert unprotect_reply(glo, CLIENT_SYSTEM_TITLE, suite=1)[3] == bytes.fromhex(
        '01000000065F1F0400401E5DFFFF')
    with pytest.raises(ReplyProtectionError):
        unprotect_reply(glo, CLIENT_SYSTEM_TITLE, suite=0)


# --- the same sessions byte by byte --------------------------------------------------------------

@pytest.mark.parametrize('n', [8, 64])
def test_raw_hls_sha256_session_on_sap3(meter, n):
    c = raw_session_sha256(meter, os.urandom(n))
    assert c.objects == OBJECTS_SAP3
    assert c.ldn == (axdr.OCTET_STRING, b'MMM0000012345678')
    assert c.clock[0] == axdr.OCTET_STRING and len(c.clock[1]) == 12
    assert len(c.server_ics) == 5                 # initiate, pass 4 and 3 GETs, all checked


@pytest.mark.parametrize('n', [32, 64])
def test_raw_hls_ecdsa_session_on_sap2(meter, server_cert, n):
    c = raw_session_ecdsa(meter, server_cert, os.urandom(n))
    assert c.objects == OBJECTS_SAP2
    assert c.ldn == (axdr.OCTET_STRING, b'MMM0000012345678')
    assert c.suite == (axdr.ENUM, 1)
    assert len(c.server_ics) == 5


# --- negatives: HLS-ECDSA (SAP 2) ---------------------------------------------------------------

def _bad_signatures(c):
    good = sign_raw(CLIENT_SIGN_KEY, c.ecdsa_pass3_message())
    return {
        'wrong signature': good[:40] + bytes([good[40] ^ 1]) + good[41:],
        'titles swapped': sign_raw(CLIENT_SIGN_KEY, c.server_title + c.title + c.stoc + c.ctos),
        'challenges swapped': sign_raw(CLIENT_SIGN_KEY, c.title + c.server_title + c.ctos +
                                       c.stoc),
        'the meter\'s own pass-4 message': sign_raw(CLIENT_SIGN_KEY, c.ecdsa_pass4_message()),
        'key-agreement key': sign_raw(CLIENT_AGREE_KEY, c.ecdsa_pass3_message()),
        'one byte short': good[:63],
        'zero r and s': bytes(64),
    }


@pytest.mark.parametrize('case', ['wrong signature', 'titles swapped', 'challenges swapped',
                                  'the meter\'s own pass-4 message', 'key-agreement key',
                                  'one byte short', 'zero r and s'])
def test_hls_ecdsa_bad_pass3_gets_no_pass4(meter, server_cert, case):
    with RawClient(meter, 2, 1) as c:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
        assert a.result == 0
        result, f_ctos = c.pass3(_bad_signatures(c)[case])
        assert result == dc.READ_WRITE_DENIED and f_ctos is None     # no pass 4
        assert_not_associated(c)
    assert_serves_sap2(meter, server_cert)


@pytest.mark.parametrize('n', [31, 65, 16])
def test_hls_ecdsa_challenge_out_of_range_is_rejected(meter, server_cert, n):
    with RawClient(meter, 2, 1) as c:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(n))
        assert (a.result, a.diag_source, a.diagnostic) == (
            dc.REJECTED_PERMANENT, dc.SOURCE_USER, dc.DIAG_AUTHENTICATION_FAILURE)
        assert a.auth_value is None and a.user_information is None
    assert_serves_sap2(meter, server_cert)


def test_hls_ecdsa_without_a_certificate_for_the_calling_title_is_rejected(meter, server_cert):
    with RawClient(meter, 2, 1, title=bytes.fromhex('4D4D4D0000000002')) as c:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
        assert (a.result, a.diagnostic) == (dc.REJECTED_PERMANENT, dc.DIAG_AUTHENTICATION_FAILURE)
    assert_serves_sap2(meter, server_cert)


def test_suite_of_the_sc_must_be_the_associations(meter, server_cert):
    with RawClient(meter, 2, 1) as c:                     # SAP 2 is suite 1: SC 0x30 refused
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32), sc=0x30)
        assert (a.result, a.diagnostic) == (dc.REJECTED_PERMANENT, dc.DIAG_NO_REASON_GIVEN)
    with RawClient(meter, 3, 0) as c:                     # SAP 3 is suite 0: SC 0x31 refused
        a = c.aarq(dc.HLS_SHA256, os.urandom(16), sc=0x31)
        assert (a.result, a.diagnostic) == (dc.REJECTED_PERMANENT, dc.DIAG_NO_REASON_GIVEN)
    assert_serves_sap2(meter, server_cert)
    assert_serves_sap3(meter)


def test_hls_ecdsa_failures_do_not_lock_sap2_out(meter, server_cert):
    for i in range(LOCKOUT_FAILURES + 2):
        with RawClient(meter, 2, 1) as c:
            assert c.aarq(dc.HLS_ECDSA, os.urandom(32)).result == 0
            bad = _bad_signatures(c)['wrong signature']
            assert c.pass3(bad) == (dc.READ_WRITE_DENIED, None)
        with RawClient(meter, 2, 1) as c:
            assert c.aarq(dc.HLS_ECDSA, os.urandom(31)).diagnostic == 13
    assert_serves_sap2(meter, server_cert)                 # at once: no lockout


# --- negatives: HLS-SHA256 (SAP 3) --------------------------------------------------------------

@pytest.mark.parametrize('n', [7, 65])
def test_hls_sha256_challenge_out_of_range_is_rejected(meter, n):
    with RawClient(meter, 3, 0) as c:
        a = c.aarq(dc.HLS_SHA256, os.urandom(n))
        assert (a.result, a.diag_source, a.diagnostic) == (
            dc.REJECTED_PERMANENT, dc.SOURCE_USER, dc.DIAG_AUTHENTICATION_FAILURE)
    assert_serves_sap3(meter)


def test_hls_sha256_wrong_secret_fails_pass3(meter):
    s = gurux(meter, 3, password=b'0123456789ABCDEX')
    with pytest.raises(HlsFailed) as e:
        quietly(s.associate)
    assert e.value.code == dc.READ_WRITE_DENIED
    s.close()
    with RawClient(meter, 3, 0) as c:                      # the same, byte by byte
        assert c.aarq(dc.HLS_SHA256, os.urandom(16)).result == 0
        f = c.sha256_f(b'0123456789ABCDEX', c.title, c.server_title, c.stoc, c.ctos)
        assert c.pass3(f) == (dc.READ_WRITE_DENIED, None)
        assert_not_associated(c)
    assert_serves_sap3(meter)


def test_hls_sha256_wrong_secrets_lock_sap3_out(meter, server_cert):
    assert_serves_sap3(meter)                              # the failure count starts at 0
    for _ in range(LOCKOUT_FAILURES):
        with RawClient(meter, 3, 0) as c:
            assert c.aarq(dc.HLS_SHA256, os.urandom(16)).result == 0
            f = c.sha256_f(b'a guess', c.title, c.server_title, c.stoc, c.ctos)
            assert c.pass3(f) == (dc.READ_WRITE_DENIED, None)
    locked_at = time.monotonic()
    s = gurux(meter, 3)                                    # the right secret, but locked out
    with pytest.raises(AssociationRejected) as e:
        quietly(s.associate)
    assert (e.value.result, e.value.diagnostic) == (dc.REJECTED_TRANSIENT, dc.DIAG_NO_REASON_GIVEN)
    s.close()
    assert_serves_sap2(meter, server_cert)                 # other associations are served
    time.sleep(max(0, LOCKOUT_SECONDS + 1.1 - (time.monotonic() - locked_at)))
    with associated(meter, 3) as s:
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
    assert EV_LOCKOUT in event_codes(meter)


# --- certificates over SAP 1 --------------------------------------------------------------------

@pytest.mark.parametrize('name', ['client-sign-other-ca.pem', 'client-sign-expired.pem',
                                  'client-sign-no-ds.pem'])
def test_bad_client_certificate_is_refused_and_changes_nothing(meter, server_cert, name):
    rejected = event_codes(meter).count(EV_CERT_REJECTED)
    with associated(meter, 1) as s:
        before = certificates(s)
        with pytest.raises(DataAccessError) as e:
            s.import_certificate(SS1, der_file('test/' + name))
        assert e.value.code == OTHER_REASON
        assert certificates(s) == before
    assert event_codes(meter).count(EV_CERT_REJECTED) == rejected + 1
    assert_serves_sap2(meter, server_cert)               # the held certificate still works


def test_removed_client_certificate_is_revoked_until_imported_again(meter, server_cert):
    codes = event_codes(meter)
    sign_cert = x509.load_pem_x509_certificate(pem_file('client-sign.pem'))
    serial = sign_cert.serial_number.to_bytes(20, 'big').lstrip(b'\x00')
    with associated(meter, 1) as s:
        before = certificates(s)
        assert [e for e in before if e[0] == 1 and e[1] == 0 and e[2] == serial]
        s.remove_certificate(SS1, 1, 0, CLIENT_SYSTEM_TITLE)
        after = certificates(s)
    try:
        assert [e for e in after if e[0] == 1 and e[1] == 0] == []
        assert len(after) == len(before) - 1
        with RawClient(meter, 2, 1) as c:
            a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
            assert (a.result, a.diag_source, a.diagnostic) == (
                dc.REJECTED_PERMANENT, dc.SOURCE_USER, dc.DIAG_AUTHENTICATION_FAILURE)
        s = gurux(meter, 2, server_cert)
        with pytest.raises(AssociationRejected) as e:
            quietly(s.associate)
        assert (e.value.result, e.value.diagnostic) == (1, 13)
        s.close()
        with associated(meter, 1) as s:                     # a second removal: nothing there
            with pytest.raises(DataAccessError) as e:
                s.remove_certificate(SS1, 1, 0, CLIENT_SYSTEM_TITLE)
            assert e.value.code == OTHER_REASON
    finally:
        with associated(meter, 1) as s:
            s.import_certificate(SS1, pem_file('client-sign.pem'))
            assert sorted(certificates(s)) == sorted(before)
    assert_serves_sap2(meter, server_cert)
    new = event_codes(meter)
    assert new.count(EV_CERT_REMOVED) == codes.count(EV_CERT_REMOVED) + 1
    assert new.count(EV_CERT_IMPORTED) == codes.count(EV_CERT_IMPORTED) + 1
    tail = [c for c in new if c in (EV_CERT_IMPORTED, EV_CERT_REMOVED)][-2:]
    assert tail == [EV_CERT_REMOVED, EV_CERT_IMPORTED]
    # the console names the association that made the change (SAP 1), not the meter (0)
    out = meter.output()
    assert 'security event: certificate-removed (client SAP 1) client sign 4D4D4D0000000001' \
        in out


def test_security_event_log_holds_the_certificate_history(meter):
    codes = event_codes(meter)
    assert codes.count(EV_CERT_IMPORTED) >= 5        # enrolment: 2 server, 2 client; re-import
    assert codes.count(EV_CERT_REMOVED) >= 1
    assert codes.count(EV_CERT_REJECTED) >= 3
    assert EV_AUTH_FAILED in codes


def test_certificate_methods_are_not_on_the_suite0_setup(meter):
    with associated(meter, 1) as s:                    # suite 0 Security setup: no methods 6..8
        with pytest.raises(DataAccessError) as e:
            s.export_certificate('0.0.43.0.0.255', 0, 0, SERVER_SYSTEM_TITLE)
        assert e.value.code == dc.READ_WRITE_DENIED


def test_hls_sha256_association_cannot_reach_the_certificates(meter, server_cert):
    """SAP 3's shared secret may be weak: the suite 1 setup (key pairs, certificates) is not in
    its object list, so removing the meter's own certificate gets object-undefined."""
    with associated(meter, 3) as s:
        with pytest.raises(DataAccessError) as e:
            s.remove_certificate(SS1, 0, 0, SERVER_SYSTEM_TITLE)
        assert e.value.code == dc.OBJECT_UNDEFINED
    with associated(meter, 1) as s:                    # still there
        assert s.export_certificate(SS1, 0, 0, SERVER_SYSTEM_TITLE) == \
            server_cert.public_bytes(serialization.Encoding.DER)


def test_certificate_removed_while_pass3_is_pending_fails_pass3(meter, server_cert):
    with RawClient(meter, 2, 1) as c:
        assert c.aarq(dc.HLS_ECDSA, os.urandom(32)).result == 0
        signature = sign_raw(CLIENT_SIGN_KEY, c.ecdsa_pass3_message())
        with associated(meter, 1) as s:                     # revoked meanwhile, over SAP 1
            s.remove_certificate(SS1, 1, 0, CLIENT_SYSTEM_TITLE)
        c.ic = next(_IC)             # above the counters SAP 1 just used (one floor per title)
        try:
            assert c.pass3(signature) == (dc.READ_WRITE_DENIED, None)
            assert_not_associated(c)
        finally:
            with associated(meter, 1) as s:
                s.import_certificate(SS1, pem_file('client-sign.pem'))
    assert_serves_sap2(meter, server_cert)


def test_one_counter_per_client_title_and_one_server_counter_across_suites(meter, server_cert):
    # SAP 3 (suite 0) and SAP 2 (suite 1) share EK/AK: the IVs (title || IC) must never repeat
    # across them, on either side
    c3 = raw_session_sha256(meter, os.urandom(16))
    c2 = raw_session_ecdsa(meter, server_cert, os.urandom(32))
    assert max(c3.server_ics) < min(c2.server_ics)
    used = c3.ic - 1                                       # the last IC SAP 3 saw from us
    with RawClient(meter, 2, 1, ic=used) as c:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
        assert (a.result, a.diagnostic) == (dc.REJECTED_PERMANENT, dc.DIAG_NO_REASON_GIVEN)
    assert_serves_sap2(meter, server_cert)


# --- no private key in the meter's output --------------------------------------------------------

def _stored_private_keys(state_dir):
    keys = set()
    for slot in ('0', '1'):
        path = os.path.join(state_dir, 'keystore.' + slot)
        if not os.path.exists(path):
            continue
        rec = json.loads(open(path, 'rb').read().split(b'\n')[1])
        for field in ('pk', 'pkp'):
            for curve, d in rec.get(field, {}).values():
                keys.add((curve, bytes.fromhex(d)))      # P-256 (suite 1), P-384 (suite 2)
    return keys


def _stored_seeds(state_dir):
    seeds = set()
    for slot in ('0', '1'):
        path = os.path.join(state_dir, 'keystore.' + slot)
        if os.path.exists(path):
            seed = json.loads(open(path, 'rb').read().split(b'\n')[1]).get('seed')
            if seed:
                seeds.add(bytes.fromhex(seed))
    return seeds


def test_no_private_key_in_the_meters_output(meter, server_cert):
    meter_keys = _stored_private_keys(meter.state_dir)
    assert meter_keys
    # the stored signing key is the one of the exported certificate (so the right key is sought)
    curves = {'P-256': ec.SECP256R1(), 'P-384': ec.SECP384R1()}
    assert {c for c, d in meter_keys} == {'P-256', 'P-384'}   # suite 1 and suite 2 pairs
    publics = {ec.derive_private_key(int.from_bytes(d, 'big'), curves[c]).public_key()
               .public_numbers() for c, d in meter_keys}
    assert server_cert.public_key().public_numbers() in publics
    client_keys = {raw_private_key(CLIENT_SIGN_KEY), raw_private_key(CLIENT_AGREE_KEY)}
    out = meter.output()
    squeezed = out.replace(' ', '').upper()
    for d in {d for c, d in meter_keys} | client_keys | _stored_seeds(meter.state_dir):
        assert d.hex().upper() not in squeezed
        assert d.hex() not in out
    for name in ('client-sign.key.pem', 'client-agree.key.pem', 'ca.key.pem'):
        body = pem_file(name).decode().splitlines()[1:-1]
        assert not any(line in out for line in body)
