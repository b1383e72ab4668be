"""Checks of the gurux interop harness itself, without our meter.

Two peers stand in for a meter:
- gurux-dlms's own Python server (GXDLMSSecureServer) for the plain contexts ('none', 'low').
  Its wrapper server needs three small patches to work at all (noted at `_patch_gurux_server`);
  its HLS-GMAC AARE builder is broken (malformed responding-AP-title), so it is not used there.
- a scripted meter built on `cryptography` (independent AES-GCM) for HLS-GMAC with ciphering,
  checked against the Green Book vectors in reference/dlms-security.md section 7.
Plus byte-level checks of the AARQs the harness sends, against section 7.5.
"""

import datetime
import socket
import threading

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gurux_dlms import GXDateTime, GXServerReply
from gurux_dlms.enums import (AccessMode, Authentication, DataType, InterfaceType,
                              MethodAccessMode, SourceDiagnostic)
from gurux_dlms.GXCiphering import GXCiphering
from gurux_dlms.GXDLMSLNParameters import GXDLMSLNParameters
from gurux_dlms.objects import (GXDLMSAssociationLogicalName, GXDLMSClock, GXDLMSData,
                                GXDLMSRegister)
from gurux_dlms.secure import GXDLMSSecureServer
from gurux_dlms.ValueEventArgs import ValueEventArgs

from interop.gurux_session import (CLIENT_SYSTEM_TITLE, DEMO_AK, DEMO_EK, SERVER_SYSTEM_TITLE,
                                   AssociationRejected, DataAccessError, ExceptionResponse,
                                   GuruxSession, HlsFailed, ReplyProtectionError, make_object,
                                   parse_aare_result, split_wrapper_frame, unprotect_reply,
                                   wrapper_frame)

LLS_PASSWORD = b'12345678'
STOC = b'P6wRJ21F'           # reference 7.3
CTOS = b'K56iVagY'           # reference 7.3
SERVER_IC = 0x01234567       # reference 7.3 / 7.5
CLOCK_VALUE = bytes.fromhex('090C07E80501FF0C000000000000')   # octet-string(12) 2024-05-01 12:00


# --- gurux's own server, patched just enough ---------------------------------------------------

class _Reply(GXServerReply):
    # gurux's GXDLMSServer.handleRequest calls these, GXServerReply 1.0.203 lacks them.
    def setReply(self, value):
        self.reply = value

    def getConnectionInfo(self):
        return self.connectionInfo

    def setCount(self, value):
        self.count = value

    def getCount(self):
        return self.count


class GuruxReferenceServer(GXDLMSSecureServer):
    """gurux's LN server over the wrapper with an LLS secret, a clock, a data and a register."""

    def __init__(self):
        association = GXDLMSAssociationLogicalName()
        GXDLMSSecureServer.__init__(self, association, InterfaceType.WRAPPER)
        # GXDLMSSecureServer sets settings.ciphering, but the server code reads settings.cipher.
        cipher = GXCiphering(SERVER_SYSTEM_TITLE)
        cipher.blockCipherKey = DEMO_EK
        cipher.authenticationKey = DEMO_AK
        self.settings.cipher = cipher
        clock = GXDLMSClock('0.0.1.0.0.255')
        clock.time = GXDateTime(datetime.datetime(2024, 5, 1, 12, 0, 0))
        serial = GXDLMSData('0.0.96.1.0.255')
        serial.value = b'SERIAL42'
        serial.setDataType(2, DataType.OCTET_STRING)
        energy = GXDLMSRegister('1.0.1.8.0.255')
        energy.value = 12345
        energy.scaler = 1
        energy.unit = 30
        for obj in (association, clock, serial, energy):
            self.items.append(obj)
            association.objectList.append(obj)   # initialize() crashes on an empty list
        self.initialize()

    def isTarget(self, server_address, client_address):
        return True

    def onValidateAuthentication(self, authentication, password):
        if authentication == Authentication.LOW and bytes(password or b'') != LLS_PASSWORD:
            return SourceDiagnostic.AUTHENTICATION_FAILURE
        return SourceDiagnostic.NONE

    def onGetAttributeAccess(self, arg):
        return AccessMode.READ_WRITE

    def onGetMethodAccess(self, arg):
        return MethodAccessMode.ACCESS

    def onFindObject(self, object_type, sn, ln):
        return None

    # Hooks gurux calls; nothing to do in them. Some are called without an argument.
    def _nothing(self, *args):
        return None

    onPreGet = onPostGet = onPreRead = onPostRead = onPreWrite = onPostWrite = _nothing
    onConnected = onInvalidConnection = onDisconnected = onPreAction = onPostAction = _nothing
    notifyRead = notifyConnected = _nothing

    def getTransaction(self):
        return self.transaction

    def setTransaction(self, value):
        self.transaction = value


def _patch_gurux_server(monkeypatch):
    # The LN SET handler iterates a ValueEventArgs and calls p.isMultipleBlocks(); neither
    # exists in gurux-dlms 1.0.203, so every SET would answer hardware-fault without these.
    monkeypatch.setattr(ValueEventArgs, '__iter__', lambda self: iter([self]), raising=False)
    monkeypatch.setattr(GXDLMSLNParameters, 'isMultipleBlocks',
                        lambda self: self.multipleBlocks, raising=False)


class _OneConnectionPeer:
    """Listen on 127.0.0.1, accept one connection, answer each whole wrapper frame with
    respond(frame) -> bytes or None; stops when the client closes."""

    def __init__(self, respond):
        self.respond = respond
        self.errors = []
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.settimeout(5)
        buf = b''
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 8 and len(buf) >= 8 + int.from_bytes(buf[6:8], 'big'):
                    n = 8 + int.from_bytes(buf[6:8], 'big')
                    frame, buf = buf[:n], buf[n:]
                    try:
                        out = self.respond(frame)
                    except Exception as e:   # reported by close(); the client then times out
                        self.errors.append(e)
                        return
                    if out:
                        conn.sendall(out)

    def close(self):
        self.listener.close()
        self.thread.join(5)
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def gurux_server(monkeypatch):
    _patch_gurux_server(monkeypatch)
    server = GuruxReferenceServer()

    def respond(frame):
        reply = _Reply(frame)
        server.handleRequest(reply)
        return bytes(reply.reply) if reply.reply else None

    peer = _OneConnectionPeer(respond)
    yield peer
    peer.close()


def _session(peer, **kw):
    kw.setdefault('timeout', 2)
    s = GuruxSession('127.0.0.1', peer.port, kw.pop('client_address', 16), **kw)
    s.connect()
    return s


# --- against gurux's own server ------------------------------------------------------------------

def test_no_security_association_reads_clock_data_and_register(gurux_server):
    s = _session(gurux_server)
    try:
        s.associate()
        clock = s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert (clock.value.year, clock.value.month, clock.value.day) == (2024, 5, 1)
        assert s.last_reply_raw == bytes.fromhex('C401C100') + CLOCK_VALUE
        assert bytes(s.read(make_object(1, '0.0.96.1.0.255'), 2)) == b'SERIAL42'
        assert s.read_raw_value(make_object(3, '1.0.1.8.0.255'), 2) == 12345
        rlre = s.release()              # gurux's RLRE: 63 LL 80 01 00 BE ... (LL is wrong)
        assert (rlre[0], rlre[2:5]) == (0x63, bytes.fromhex('800100'))
    finally:
        s.close()


def test_requests_are_wrapped_from_client_wport_to_server_wport(gurux_server):
    s = _session(gurux_server, client_address=16, server_address=1)
    try:
        s.associate()
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert s.last_request_raw == bytes.fromhex('C001C100080000010000FF0200')
    finally:
        s.close()


def test_lls_with_the_right_password_associates(gurux_server):
    s = _session(gurux_server, authentication='low', password=LLS_PASSWORD)
    try:
        s.associate()
        assert s.read_raw_value(make_object(3, '1.0.1.8.0.255'), 2) == 12345
    finally:
        s.close()


def test_lls_with_a_wrong_password_raises_association_rejected_with_the_aare_diagnostic(
        gurux_server):
    s = _session(gurux_server, authentication='low', password=b'wrong!!!')
    try:
        with pytest.raises(AssociationRejected) as info:
            s.associate()
        assert (info.value.result, info.value.diagnostic_source, info.value.diagnostic) == (
            1, 'user', 13)
        assert info.value.aare[0] == 0x61
    finally:
        s.close()


def test_set_writes_a_register_value_that_a_get_reads_back(gurux_server):
    s = _session(gurux_server)
    try:
        s.associate()
        energy = make_object(3, '1.0.1.8.0.255')
        s.write(energy, 2, 777, DataType.UINT32)
        assert s.last_request_raw == bytes.fromhex('C101C100030100010800FF02000600000309')
        assert s.read_raw_value(energy, 2) == 777
    finally:
        s.close()


def test_get_of_an_undefined_object_raises_data_access_error_with_its_code(gurux_server):
    s = _session(gurux_server)
    try:
        s.associate()
        with pytest.raises(DataAccessError) as info:
            s.read(make_object(1, '0.0.96.1.9.255'), 2)
        assert info.value.code == 4     # object-undefined
    finally:
        s.close()


# --- against a scripted meter (HLS-GMAC, ciphered) --------------------------------------------

def _axdr_len(n):
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _protect(tag, sc, system_title, ic, apdu):
    iv = system_title + ic.to_bytes(4, 'big')
    if sc == 0x30:
        out = AESGCM(DEMO_EK).encrypt(iv, apdu, bytes([sc]) + DEMO_AK)
        body = out[:-16] + out[-16:-4]
    else:
        body = apdu + AESGCM(DEMO_EK).encrypt(iv, b'', bytes([sc]) + DEMO_AK + apdu)[:12]
    content = bytes([sc]) + ic.to_bytes(4, 'big') + body
    return bytes([tag]) + _axdr_len(len(content)) + content


def _f(system_title, ic, challenge):
    """HLS-GMAC f(): SC 0x10 || IC || GMAC(SC || AK || challenge), reference 4.2."""
    tag = AESGCM(DEMO_EK).encrypt(system_title + ic.to_bytes(4, 'big'), b'',
                                  b'\x10' + DEMO_AK + challenge)[:12]
    return b'\x10' + ic.to_bytes(4, 'big') + tag


def _aare(conformance=0x007C1F, ic=SERVER_IC):
    """AARE, LN with ciphering, accepted + authentication-required, mechanism 5, StoC, and a
    glo-initiateResponse (reference 7.5, last derived AARE, when conformance and IC are default)."""
    initiate = bytes.fromhex('0800065F1F0400') + conformance.to_bytes(3, 'big') + bytes.fromhex(
        '04000007')
    ui = _protect(0x28, 0x30, SERVER_SYSTEM_TITLE, ic, initiate)
    body = (bytes.fromhex('A109060760857405080103A203020100A305A10302010E')
            + bytes.fromhex('A40A0408') + SERVER_SYSTEM_TITLE
            + bytes.fromhex('88020780890760857405080205AA0A8008') + STOC
            + bytes([0xBE, len(ui) + 2, 0x04, len(ui)]) + ui)
    return bytes([0x61, len(body)]) + body


class ScriptedMeter:
    """Answers AARQ, HLS pass 3, GET clock and RLRQ the way the reference says a meter does.
    `seen` records (what, details) for the assertions; knobs break one behaviour each."""

    def __init__(self, conformance=0x007C1F, bad_f_ctos=False, refuse_f_stoc=False,
                 tamper_get_reply=False, repeat_server_ic=False):
        self.conformance = conformance
        self.bad_f_ctos = bad_f_ctos
        self.refuse_f_stoc = refuse_f_stoc
        self.tamper_get_reply = tamper_get_reply
        self.repeat_server_ic = repeat_server_ic
        self.server_ic = SERVER_IC + 1
        self.ctos = None
        self.seen = []
        self.peer = _OneConnectionPeer(self.respond)

    def _next_ic(self):
        ic = self.server_ic
        if not self.repeat_server_ic:
            self.server_ic += 1
        return ic

    def respond(self, frame):
        version, source, dest, apdu = split_wrapper_frame(frame)
        self.seen.append(('frame', (version, source, dest)))
        if apdu[0] == 0x60:
            reply = self._aarq(apdu)
        elif apdu[0] == 0x62:
            self.seen.append(('rlrq', apdu))
            reply = bytes.fromhex('6303800100')
        elif apdu[0] == 0xC0:                       # plain GET after a ciphered AARQ
            reply = bytes.fromhex('D80106')          # service-not-allowed, IC error
        else:
            reply = self._ciphered(apdu)
        return wrapper_frame(dest, source, reply)

    def _aarq(self, apdu):
        fields = {}
        pos = 2
        while pos < len(apdu):
            fields[apdu[pos]] = apdu[pos + 2:pos + 2 + apdu[pos + 1]]
            pos += 2 + apdu[pos + 1]
        self.ctos = fields[0xAC][2:]
        tag, sc, ic, plain = unprotect_reply(fields[0xBE][2:], fields[0xA6][2:])
        self.seen.append(('aarq', (fields[0xA1], fields[0xA6][2:], fields[0x8B], tag, sc, ic,
                                   plain)))
        return _aare(self.conformance)

    def _ciphered(self, apdu):
        tag, sc, ic, plain = unprotect_reply(apdu, CLIENT_SYSTEM_TITLE)
        self.seen.append(('request', (tag, sc, ic, plain)))
        iid = plain[2]
        if plain[0] == 0xC3:                         # pass 3: reply_to_HLS_authentication
            f_stoc = plain[-17:]
            f_ic = int.from_bytes(f_stoc[1:5], 'big')
            ok = f_stoc == _f(CLIENT_SYSTEM_TITLE, f_ic, STOC)
            self.seen.append(('f(StoC)', (ok, f_ic)))
            if self.refuse_f_stoc or not ok:
                inner = bytes([0xC7, 0x01, iid, 0x03, 0x00])     # read-write-denied, no data
            else:
                f_ctos = _f(SERVER_SYSTEM_TITLE, SERVER_IC, self.ctos)
                if self.bad_f_ctos:
                    f_ctos = f_ctos[:-1] + bytes([f_ctos[-1] ^ 1])
                inner = bytes([0xC7, 0x01, iid, 0x00, 0x01, 0x00, 0x09, 0x11]) + f_ctos
            return _protect(0xCF, 0x30, SERVER_SYSTEM_TITLE, self._next_ic(), inner)
        if plain[0] == 0xC0:
            inner = bytes([0xC4, 0x01, iid, 0x00]) + CLOCK_VALUE
            out = _protect(0xCC, 0x30, SERVER_SYSTEM_TITLE, self._next_ic(), inner)
            if self.tamper_get_reply:
                out = out[:-1] + bytes([out[-1] ^ 1])
            return out
        return bytes.fromhex('D80102')


@pytest.fixture
def meter_factory():
    meters = []

    def make(**kw):
        meters.append(ScriptedMeter(**kw))
        return meters[-1]

    yield make
    for m in meters:
        m.peer.close()


def _hls_session(meter, **kw):
    return _session(meter.peer, client_address=1, authentication='hls-gmac', ciphered=True,
                    ctos_challenge=CTOS, **kw)


def test_hls_gmac_ciphered_association_follows_the_green_book_example(meter_factory):
    meter = meter_factory()
    s = _hls_session(meter)
    try:
        s.associate()
        assert s.server_system_title == SERVER_SYSTEM_TITLE
        assert s.negotiated_conformance == 0x007C1F
        assert s.negotiated_max_pdu == 1024
        aarq = dict(meter.seen)['aarq']
        context, title, mechanism, tag, sc, ic, plain = aarq
        assert context == bytes.fromhex('060760857405080103')
        assert title == CLIENT_SYSTEM_TITLE
        assert mechanism == bytes.fromhex('60857405080205')
        assert (tag, sc, ic) == (0x21, 0x30, 1)
        assert plain == bytes.fromhex('01000000065F1F0400401E5D0400')
        # pass 3: f(StoC) carries IC 2, the glo-action-request IC 3 (gurux spends one each)
        assert dict(meter.seen)['f(StoC)'] == (True, 2)
        requests = [d for what, d in meter.seen if what == 'request']
        assert requests[0][:3] == (0xCB, 0x30, 3)
        assert requests[0][3][:13] == bytes.fromhex('C301C1000F0000280000FF0101')
        # pass 4 reply is the reference's derived glo-action-response, byte for byte
        assert s.last_reply_raw == bytes.fromhex(
            'CF2A30012345688F7F56F922BDF2512822671E99F4481A266352C679A2416DF10F595AC6A91B'
            'D89B0BE63BEA')
        assert s.invocation_counter == 4
        assert s.server_invocation_counters == [SERVER_IC, SERVER_IC + 1]
    finally:
        s.close()


def test_ciphered_get_uses_glo_get_request_without_general_protection(meter_factory):
    meter = meter_factory()
    s = _hls_session(meter)
    try:
        s.associate()
        clock = s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert clock.value.year == 2024
        tag, sc, ic, plain = [d for what, d in meter.seen if what == 'request'][-1]
        assert (tag, sc, ic) == (0xC8, 0x30, 4)
        assert plain == bytes.fromhex('C001C100080000010000FF0200')
        assert s.last_reply_raw[0] == 0xCC
        assert s.release() == bytes.fromhex('6303800100')
        assert dict(meter.seen)['rlrq'] == bytes.fromhex('6203800100')
    finally:
        s.close()


def test_ciphered_get_uses_general_glo_ciphering_when_general_protection_is_granted(
        meter_factory):
    meter = meter_factory(conformance=0x407C1F)
    s = _hls_session(meter)
    try:
        s.associate()
        assert s.negotiated_conformance == 0x407C1F
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert s.last_request_raw[:10] == bytes.fromhex('DB08') + CLIENT_SYSTEM_TITLE
        requests = [d for what, d in meter.seen if what == 'request']
        assert [r[0] for r in requests] == [0xCB, 0xDB]   # pass 3 stays glo-action-request
    finally:
        s.close()


def test_wrong_f_ctos_in_pass_4_raises_hls_failed(meter_factory):
    s = _hls_session(meter_factory(bad_f_ctos=True))
    try:
        with pytest.raises(HlsFailed) as info:
            s.associate()
        assert info.value.code is None
    finally:
        s.close()


def test_refused_f_stoc_raises_hls_failed_with_the_action_result(meter_factory):
    s = _hls_session(meter_factory(refuse_f_stoc=True))
    try:
        with pytest.raises(HlsFailed) as info:
            s.associate()
        assert info.value.code == 3
    finally:
        s.close()


def test_a_reply_with_a_wrong_gcm_tag_is_caught_by_the_harness(meter_factory):
    s = _hls_session(meter_factory(tamper_get_reply=True))
    try:
        s.associate()
        with pytest.raises(ReplyProtectionError):
            s.read(make_object(8, '0.0.1.0.0.255'), 2)
    finally:
        s.close()


def test_a_server_invocation_counter_that_does_not_increase_is_caught(meter_factory):
    s = _hls_session(meter_factory(repeat_server_ic=True))
    try:
        s.associate()
        with pytest.raises(ReplyProtectionError):
            s.read(make_object(8, '0.0.1.0.0.255'), 2)
    finally:
        s.close()


def test_exchange_raw_sends_an_unprotected_request_and_surfaces_exception_response(
        meter_factory):
    meter = meter_factory()
    s = _hls_session(meter)
    try:
        s.associate()
        get_clock = bytes.fromhex('C001C100080000010000FF0200')
        assert s.exchange_raw(get_clock) == bytes.fromhex('D80106')
        assert meter.seen[-1] == ('frame', (1, 1, 1))
        # the same reply through the gurux path becomes an ExceptionResponse with its codes
        s.client.ciphering.security = 0
        with pytest.raises(ExceptionResponse) as info:
            s.read(make_object(8, '0.0.1.0.0.255'), 2)
        assert (info.value.state_error, info.value.service_error) == (1, 6)
    finally:
        s.close()


def test_exchange_raw_can_replay_the_last_protected_request(meter_factory):
    meter = meter_factory()
    s = _hls_session(meter)
    try:
        s.associate()
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        replay = s.last_request_raw
        reply = s.exchange_raw(replay)
        assert reply[0] == 0xCC
        requests = [d for what, d in meter.seen if what == 'request']
        assert requests[-1] == requests[-2]
    finally:
        s.close()


# --- AARQ bytes, no peer --------------------------------------------------------------------------

def _first_frame(**kw):
    s = GuruxSession('127.0.0.1', 1, kw.pop('client_address', 16), **kw)
    return bytes(s.client.aarqRequest()[0])


def test_no_security_aarq_is_the_green_book_example_with_its_conformance_and_pdu():
    frame = _first_frame(proposed_conformance=0x007E1F, max_pdu=1200)
    assert frame == bytes.fromhex('000100100001001F') + bytes.fromhex(
        '601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0')


def test_default_proposal_is_conformance_401e5d_and_pdu_1024():
    frame = _first_frame()
    assert frame[8:].endswith(bytes.fromhex('065F1F0400401E5D0400'))


def test_lls_aarq_is_the_reference_example():
    frame = _first_frame(authentication='low', password=LLS_PASSWORD,
                         proposed_conformance=0x007E1F, max_pdu=1200)
    assert frame[8:] == bytes.fromhex(
        '6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738'
        'BE10040E01000000065F1F0400007E1F04B0')


def test_hls_gmac_ciphered_aarq_has_the_reference_structure():
    frame = _first_frame(client_address=1, authentication='hls-gmac', ciphered=True,
                         ctos_challenge=CTOS)
    version, source, dest, aarq = split_wrapper_frame(frame)
    assert (version, source, dest) == (1, 1, 1)
    assert aarq[:2] == bytes([0x60, len(aarq) - 2])
    assert aarq[2:].startswith(
        bytes.fromhex('A109060760857405080103' 'A60A0408') + CLIENT_SYSTEM_TITLE
        + bytes.fromhex('8A020780' '8B0760857405080205' 'AC0A8008') + CTOS
        + bytes.fromhex('BE23' '0421' '211F'))
    tag, sc, ic, plain = unprotect_reply(aarq[aarq.index(b'\x21\x1f'):], CLIENT_SYSTEM_TITLE)
    assert (tag, sc, ic) == (0x21, 0x30, 1)
    assert plain == bytes.fromhex('01000000065F1F0400401E5D0400')


def test_unprotect_reply_opens_the_reference_vectors_and_rejects_a_changed_tag():
    glo_get = bytes.fromhex('C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B')
    assert unprotect_reply(glo_get, SERVER_SYSTEM_TITLE) == (
        0xC8, 0x30, SERVER_IC, bytes.fromhex('C0010000080000010000FF0200'))
    auth_only = bytes.fromhex(
        'C81E1001234567C0010000080000010000FF020006725D910F9221D263877516')
    assert unprotect_reply(auth_only, SERVER_SYSTEM_TITLE)[3] == bytes.fromhex(
        'C0010000080000010000FF0200')
    general = bytes.fromhex('DB084D4D4D0000BC614E1E3001234567411312FF935A47566827C467BC'
                            '7D825C3BE4A77C3FCC056B6B')
    assert unprotect_reply(general, b'')[3] == bytes.fromhex('C0010000080000010000FF0200')
    with pytest.raises(ReplyProtectionError):
        unprotect_reply(glo_get[:-1] + b'\x6A', SERVER_SYSTEM_TITLE)
    with pytest.raises(ReplyProtectionError):
        unprotect_reply(glo_get[:6], SERVER_SYSTEM_TITLE)


def test_parse_aare_result_reads_result_and_diagnostic_from_reference_aares():
    rejected = bytes.fromhex('6129A109060760857405080101A203020101A305A103020102BE10040E0800065F'
                             '1F040000501F01F40007')
    assert parse_aare_result(rejected) == (1, 'user', 2)
    assert parse_aare_result(_aare()) == (0, 'user', 14)


def test_wrapper_frame_header_is_version_source_destination_length():
    assert wrapper_frame(16, 1, b'\x62\x03\x80\x01\x00') == bytes.fromhex(
        '00010010000100056203800100')
    assert split_wrapper_frame(bytes.fromhex('00010001001000026300')) == (1, 1, 16, b'\x63\x00')
