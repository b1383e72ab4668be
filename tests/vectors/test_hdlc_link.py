# The HDLC link state machine (lib/dlms/hdlc_link.py), driven by frames as a client sends them.
# Walks every entry of TRANSITIONS, then the behaviours one by one. Runs under MicroPython too.
from dlms import hdlc
from dlms import hdlc_link as hl
from vector_util import h, raised


SERVER = h('0223')                  # logical device 1, physical address 17
LLC = hdlc.LLC_REQUEST
GET = h('C001C1 0001 0000280000FF 02 00')      # a GET request; the link does not look inside


def params(tx, rx, wtx=1, wrx=1):
    return hdlc.build_parameters(hdlc.LinkParameters(tx, rx, wtx, wrx))


class Peer:
    """A client station: builds frames with its own N(S)/N(R), feeds them to the link, collects
    the frames and events that come back."""

    def __init__(self, client=16, dest=SERVER, **kw):
        kw.setdefault('physical_address', 17)
        self.link = hl.HdlcLink(**kw)
        self.client = client
        self.dest = dest
        self.ns = 0
        self.nr = 0
        self.now = 1000
        self.events = []
        self.last_sent = None       # bytes of the last I-frame we sent
        self.history = []           # raw frames the link sent, in order

    def feed(self, data):
        self.link.receive_data(data, self.now)
        return self.collect()

    def collect(self):
        while True:
            ev = self.link.next_event()
            if ev is None:
                break
            self.events.append(ev)
        raw = self.link.data_to_send()
        d = hdlc.FrameDecoder()
        d.feed(raw)
        frames = []
        while True:
            f = d.next()
            if f is None:
                break
            frames.append(f)
            self.history.append(hdlc.encode_frame(f.dest, f.src, f.control, f.info, f.segmented))
            if hdlc.is_i(f.control):
                self.nr = (hdlc.n_s(f.control) + 1) & 7
        return frames

    def frame(self, control, info=b'', seg=False, client=None, dest=None):
        return hdlc.encode_frame(dest or self.dest,
                                 hdlc.encode_client_address(client or self.client),
                                 control, info, seg)

    def send(self, control, info=b'', seg=False, **kw):
        return self.feed(self.frame(control, info, seg, **kw))

    def snrm(self, info=b''):
        r = self.send(0x93, info)
        if r and r[0].control == 0x73:
            self.ns = self.nr = 0
        return r

    def i(self, data, seg=False, first=True, pf=True, ns=None):
        ctl = hdlc.i_control(self.ns if ns is None else ns, self.nr, pf)
        frame = self.frame(ctl, (LLC + data) if first else data, seg)
        self.last_sent = frame
        if ns is None:
            self.ns = (self.ns + 1) & 7
        return self.feed(frame)

    def rr(self, nr=None, kind=hdlc.RR):
        return self.send(hdlc.s_control(kind, self.nr if nr is None else nr))

    def reply(self, apdu):
        self.link.reply(apdu)
        return self.collect()

    def take(self, kind):
        got = [e for e in self.events if e[0] == kind]
        self.events = [e for e in self.events if e[0] != kind]
        return got


def controls(frames):
    return [f.control for f in frames]


def ua_info(frames):
    assert len(frames) == 1 and frames[0].control == 0x73
    return hdlc.parse_parameters(frames[0].info)


def connected_peer(info=None, **kw):
    """Connected; `info` = the information field length the SNRM asks for both ways."""
    peer = Peer(**kw)
    peer.snrm(params(info, info) if info else b'')
    peer.take(hl.CONNECTED)
    return peer


# ---- states reached through frames ----

def in_ndm():
    return Peer()


def in_nrm():
    peer = connected_peer(32)
    peer.i(GET)
    peer.reply(b'\xc4\x01\xc1\x00\x09\x02AB')
    return peer


def in_receiving():
    peer = in_nrm()
    peer.i(GET[:5], seg=True)
    return peer


def in_responding():
    peer = in_nrm()
    peer.i(GET)
    return peer


def in_sending():
    peer = in_nrm()
    peer.i(GET)
    peer.reply(bytes(range(80)))          # 29 + 32 + 19 bytes: three segments
    return peer


def in_frame_reject():
    peer = in_nrm()
    peer.rr(nr=(peer.nr + 3) & 7)
    return peer


SETUP = {
    hl.NDM: in_ndm,
    hl.NRM: in_nrm,
    hl.RECEIVING: in_receiving,
    hl.RESPONDING: in_responding,
    hl.SENDING: in_sending,
    hl.FRAME_REJECT: in_frame_reject,
}


def _repeat(peer):
    if peer.link.state == hl.SENDING:
        return peer.rr(nr=(peer.nr - 1) & 7)      # our last segment did not arrive
    return peer.feed(peer.last_sent)


def _last_sent(peer):
    frames = []
    while peer.link.state == hl.SENDING:
        frames = peer.rr()
    return frames


def _timeout(peer):
    peer.now += 10 ** 6
    peer.link.tick(peer.now)
    return peer.collect()


def _first(peer):
    return peer.link.state != hl.RECEIVING


TRIGGER = {
    hl.EV_SNRM: lambda p: p.snrm(params(32, 32)),
    hl.EV_SNRM_BAD: lambda p: p.send(0x93, params(8, 8)),
    hl.EV_DISC: lambda p: p.send(0x53),
    hl.EV_I_LAST: lambda p: p.i(GET, first=_first(p)),
    hl.EV_I_SEGMENT: lambda p: p.i(GET[:4], seg=True, first=_first(p)),
    hl.EV_REPEAT: _repeat,
    hl.EV_RR: lambda p: p.rr(),
    hl.EV_RNR: lambda p: p.rr(kind=hdlc.RNR),
    hl.EV_SEQUENCE_ERROR: lambda p: p.i(GET, ns=(p.ns + 3) & 7),
    hl.EV_INVALID: lambda p: p.rr(kind=hdlc.REJ),
    hl.EV_TOO_LONG: lambda p: p.i(bytes(40), first=_first(p)),
    hl.EV_UI: lambda p: p.send(0x13, b'hello'),
    hl.EV_FOREIGN: lambda p: p.send(hdlc.s_control(hdlc.RR, 0), client=17),
    hl.EV_TIMEOUT: _timeout,
    hl.EV_REPLY: lambda p: p.reply(bytes(80)),       # segmented: stays in SENDING
    hl.EV_LAST_SENT: _last_sent,
}


def _check_action(action, frames, peer, before):
    c = controls(frames)
    if action == hl.A_NONE:
        return c == []
    if action == hl.A_CONNECT:
        return c == [0x73] and len(frames[0].info) > 0 and peer.take(hl.CONNECTED) != []
    if action == hl.A_DISCONNECT:
        return c == [0x73] and frames[0].info == b'' and peer.take(hl.DISCONNECTED) != []
    if action in (hl.A_DM, hl.A_REFUSE):
        return c == [0x1F]
    if action in (hl.A_RR, hl.A_SEGMENT):
        return len(c) == 1 and hdlc.is_s(c[0]) and hdlc.s_kind(c[0]) == hdlc.RR
    if action == hl.A_DELIVER:
        return c == [] and peer.take(hl.APDU) != []
    if action in (hl.A_START_REPLY, hl.A_NEXT_SEGMENT):
        return len(c) == 1 and hdlc.is_i(c[0])
    if action == hl.A_RESEND:
        return len(frames) == 1 and peer.history[-1] in before
    if action == hl.A_FRMR:
        return c == [0x97] and len(frames[0].info) == 3
    if action == hl.A_DROP:
        return c == [] and peer.take(hl.DISCONNECTED) != []
    return False


def test_every_transition_of_the_table():
    walked = 0
    for state in hl.TRANSITIONS:
        for event in hl.TRANSITIONS[state]:
            nxt, action = hl.TRANSITIONS[state][event]
            peer = SETUP[state]()
            assert peer.link.state == state, (hl.STATE_NAMES[state], peer.link.state)
            peer.take(hl.APDU)
            before = list(peer.history)
            frames = TRIGGER[event](peer)
            if event == hl.EV_LAST_SENT:
                action = hl.A_NEXT_SEGMENT
            where = '%s --%s-->' % (hl.STATE_NAMES[state], hl.EVENT_NAMES[event])
            assert peer.link.state == (state if nxt is None else nxt), \
                '%s %s' % (where, hl.STATE_NAMES[peer.link.state])
            assert _check_action(action, frames, peer, before), \
                '%s action %d sent %s' % (where, action, [hex(x) for x in controls(frames)])
            walked += 1
    assert walked == sum([len(r) for r in hl.TRANSITIONS.values()])


def test_every_peer_event_is_decided_in_every_connected_state():
    for state in (hl.NRM, hl.RECEIVING, hl.SENDING, hl.FRAME_REJECT):
        for event in hl.PEER_EVENTS:
            assert event in hl.TRANSITIONS[state], (hl.STATE_NAMES[state], hl.EVENT_NAMES[event])
        assert hl.EV_TIMEOUT in hl.TRANSITIONS[state]


def _raises_state_error(fn, *args):
    e = raised(hl.HdlcStateError, fn, *args)
    return None if e is None else str(e)


def test_reply_without_a_request_is_rejected_naming_the_state():
    peer = in_nrm()
    msg = _raises_state_error(peer.link.reply, b'\xc4')
    assert msg is not None and 'NRM' in msg and 'REPLY' in msg
    assert _raises_state_error(Peer().link.reply, None) is not None
    assert _raises_state_error(in_sending().link.reply, b'\xc4') is not None


def test_events_outside_the_table_are_rejected():
    for state, event in ((hl.NDM, hl.EV_REPEAT), (hl.NDM, hl.EV_TIMEOUT),
                         (hl.NDM, hl.EV_FOREIGN), (hl.RESPONDING, hl.EV_RR),
                         (hl.NRM, hl.EV_LAST_SENT), (hl.NDM, hl.EV_REPLY)):
        link = hl.HdlcLink()
        link.state = state
        msg = _raises_state_error(link._fire, event)
        assert msg is not None and hl.STATE_NAMES[state] in msg, (state, event)


# ---- connection set-up and parameters ----

def test_snrm_without_parameters_gets_the_defaults():
    peer = Peer(max_info=256)
    r = peer.snrm()
    assert r[0].dest == h('21') and r[0].src == SERVER
    assert r[0].info == h('8180120501800601800704000000010804000000' + '01')
    assert peer.events == [(hl.CONNECTED, 16, 1)]
    assert peer.link.state == hl.NRM


def test_snrm_parameters_are_met_within_our_limits():
    peer = Peer(max_info=256)
    p = ua_info(peer.snrm(params(512, 64, 7, 7)))     # client sends 512, receives 64
    assert (p.max_info_tx, p.max_info_rx, p.window_tx, p.window_rx) == (64, 256, 1, 1)
    p = ua_info(Peer(max_info=256).snrm(params(100, 200)))
    assert (p.max_info_tx, p.max_info_rx) == (200, 100)


def test_snrm_asking_too_little_or_garbled_gets_dm():
    assert controls(Peer().snrm(params(16, 128))) == [0x1F]
    assert controls(Peer().snrm(h('8180030501'))) == [0x1F]
    assert controls(Peer().snrm(params(128, 128, 0, 1))) == [0x1F]


def test_reference_exchange_snrm_aarq_aare():
    # dlms-cosem's frames (reference 8.4): SNRM, AARQ in 0x10, AARE back in 0x30
    aarq = h('601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF')
    aare = h('6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D'
             '04C80007')
    link = hl.HdlcLink(physical_address=17)
    link.receive_data(h('7EA00802232193BD647E'), 0)
    assert link.next_event() == (hl.CONNECTED, 16, 1)
    link.data_to_send()
    link.receive_data(h('7E A02C 0223 21 10 AF9F E6E600') + aarq + h('C5E4 7E'), 0)
    assert link.next_event() == (hl.APDU, aarq)
    link.reply(aare)
    assert link.data_to_send() == h('7E A038 21 0223 30 34E7 E6E700') + aare + h('B86A 7E')


def test_snrm_on_a_live_link_restarts_it():
    peer = in_nrm()
    peer.events = []
    r = peer.snrm()
    assert controls(r) == [0x73]
    assert [e[0] for e in peer.events] == [hl.DISCONNECTED, hl.CONNECTED]
    assert peer.link.vs == 0 and peer.link.vr == 0


# ---- information transfer ----

def test_i_frames_carry_sequence_numbers_both_ways():
    peer = connected_peer()
    for k in range(10):                     # past the modulo-8 wrap
        peer.i(GET)
        apdu = peer.take(hl.APDU)
        assert apdu == [(hl.APDU, GET)]
        r = peer.reply(b'\xc4\x01' + bytes((k,)))
        assert len(r) == 1 and hdlc.n_s(r[0].control) == k & 7
        assert hdlc.n_r(r[0].control) == (k + 1) & 7
        assert r[0].info == hdlc.LLC_RESPONSE + b'\xc4\x01' + bytes((k,))


def test_reply_none_answers_rr():
    peer = connected_peer()
    peer.i(GET)
    r = peer.reply(None)
    assert controls(r) == [hdlc.s_control(hdlc.RR, 1)]
    assert peer.link.state == hl.NRM


def test_rr_and_rnr_get_rr_when_there_is_nothing_to_send():
    peer = connected_peer()
    assert controls(peer.rr()) == [0x11]
    assert controls(peer.rr(kind=hdlc.RNR)) == [0x11]


def test_long_reply_is_segmented_with_llc_only_in_the_first_segment():
    peer = connected_peer(32)
    peer.i(GET)
    apdu = bytes(range(100))
    got = bytearray()
    frames = peer.reply(apdu)
    segments = []
    while True:
        assert len(frames) == 1
        f = frames[0]
        segments.append(f)
        assert len(f.info) <= 32 and f.control & hdlc.PF
        got.extend(f.info)
        if not f.segmented:
            break
        frames = peer.rr()
    assert bytes(got) == hdlc.LLC_RESPONSE + apdu
    assert [len(f.info) for f in segments] == [32, 32, 32, 7]
    assert [hdlc.n_s(f.control) for f in segments] == [0, 1, 2, 3]
    assert [f.segmented for f in segments] == [True, True, True, False]
    assert peer.link.state == hl.NRM


def test_segmented_request_is_acknowledged_and_delivered_whole():
    peer = connected_peer(32)
    apdu = bytes(range(70))
    r = peer.i(apdu[:29], seg=True)
    assert controls(r) == [hdlc.s_control(hdlc.RR, 1)]
    r = peer.i(apdu[29:61], seg=True, first=False)
    assert controls(r) == [hdlc.s_control(hdlc.RR, 2)]
    assert peer.take(hl.APDU) == []
    assert peer.i(apdu[61:], first=False) == []
    assert peer.take(hl.APDU) == [(hl.APDU, apdu)]
    r = peer.reply(b'\xc4\x01')
    assert hdlc.n_r(r[0].control) == 3


def test_segment_without_poll_bit_gets_no_answer():
    peer = connected_peer(32)
    assert peer.i(GET[:4], seg=True, pf=False) == []
    assert peer.i(GET[4:], first=False) == []
    assert peer.take(hl.APDU) == [(hl.APDU, GET)]


def test_repeated_request_gets_the_same_answer_and_is_not_delivered_twice():
    peer = connected_peer()
    peer.i(GET)
    peer.take(hl.APDU)
    first = peer.reply(b'\xc4\x01\xc1\x00\x11\x05')
    again = peer.feed(peer.last_sent)
    assert len(again) == 1 and again[0].control == first[0].control
    assert again[0].info == first[0].info
    assert peer.take(hl.APDU) == []
    assert peer.link.state == hl.NRM


def test_lost_segment_is_sent_again_on_rr_with_the_old_n_r():
    peer = connected_peer(32)
    peer.i(GET)
    first = peer.reply(bytes(100))[0]
    second = peer.rr()[0]
    again = peer.rr(nr=(peer.nr - 1) & 7)[0]
    assert again.control == second.control and again.info == second.info
    third = peer.rr()[0]
    assert hdlc.n_s(third.control) == 2 and first.segmented


def test_reassembly_bound_gets_frmr_with_the_y_bit():
    peer = connected_peer(32, max_apdu=50)
    peer.i(bytes(29), seg=True)
    r = peer.i(bytes(32), seg=True, first=False)
    assert controls(r) == [0x97] and r[0].info[2] == 0x04
    assert peer.link.state == hl.FRAME_REJECT
    assert peer.take(hl.APDU) == []


def test_information_field_over_the_negotiated_length_gets_frmr():
    peer = connected_peer(32)
    r = peer.i(bytes(40))
    assert controls(r) == [0x97]
    assert r[0].info[0] == hdlc.i_control(0, 0) and r[0].info[2] == 0x04


def test_out_of_sequence_frames_get_frmr_until_snrm_or_disc():
    peer = connected_peer()
    r = peer.i(GET, ns=5)
    assert controls(r) == [0x97]
    assert controls(peer.rr()) == [0x97]
    assert controls(peer.i(GET)) == [0x97]
    assert controls(peer.snrm()) == [0x73]
    assert peer.link.state == hl.NRM
    peer.i(GET)
    assert peer.take(hl.APDU) == [(hl.APDU, GET)]


def test_rr_with_an_impossible_n_r_gets_frmr_with_the_z_bit():
    peer = connected_peer()
    r = peer.rr(nr=4)
    assert controls(r) == [0x97] and r[0].info[2] == 0x08


def test_unsupported_and_malformed_commands_get_frmr():
    peer = connected_peer()
    r = peer.send(0x63)                                  # UA is no command
    assert controls(r) == [0x97] and r[0].info[2] == 0x01
    peer = connected_peer()
    r = peer.send(0x53, b'xx')                           # DISC with information
    assert controls(r) == [0x97] and r[0].info[2] == 0x02
    peer = connected_peer()
    r = peer.i(b'\xc0', first=False)                     # first segment without LLC
    assert controls(r) == [0x97]


def test_ui_frames_are_ignored():
    peer = connected_peer()
    assert peer.send(0x13, b'\xe6\xe6\x00\xc0') == []
    assert peer.take(hl.APDU) == []


# ---- disconnection ----

def test_disc_gets_ua_and_ends_the_link():
    peer = connected_peer()
    r = peer.send(0x53)
    assert controls(r) == [0x73] and r[0].info == b''
    assert peer.events == [(hl.DISCONNECTED, 'disc')]
    assert peer.link.state == hl.NDM and not peer.link.connected


def test_disc_when_disconnected_gets_dm():
    assert controls(Peer().send(0x53)) == [0x1F]


def test_frames_when_disconnected_get_dm():
    peer = Peer()
    assert controls(peer.i(GET)) == [0x1F]
    assert controls(peer.rr()) == [0x1F]
    assert peer.events == []


def test_inactivity_timeout_drops_the_link_without_a_frame():
    peer = connected_peer(inactivity_timeout=5000)
    peer.now += 4999
    peer.link.tick(peer.now)
    assert peer.collect() == [] and peer.link.state == hl.NRM
    peer.i(GET)                             # activity restarts the clock
    peer.reply(None)
    peer.now += 4999
    peer.link.tick(peer.now)
    assert peer.link.state == hl.NRM
    peer.now += 1
    peer.link.tick(peer.now)
    assert peer.collect() == []
    assert peer.take(hl.DISCONNECTED) == [(hl.DISCONNECTED, 'inactivity timeout')]
    assert controls(peer.i(GET)) == [0x1F]


# ---- addresses ----

def test_frames_for_another_physical_address_are_ignored_silently():
    peer = Peer(dest=h('0225'))
    assert peer.snrm() == [] and peer.link.ignored == 1
    peer = Peer(dest=h('0623'))                         # another logical device
    assert peer.snrm() == []


def test_frames_for_another_station_are_ignored_while_connected():
    peer = connected_peer()
    assert peer.send(0x93, dest=h('0225')) == []
    assert peer.send(0x53, dest=h('0225')) == []
    assert peer.link.state == hl.NRM


def test_four_byte_address_is_answered_in_the_same_form():
    peer = Peer(dest=h('00020023'))
    r = peer.snrm()
    assert r[0].src == h('00020023') and r[0].dest == h('21')


def test_all_station_address_is_answered_with_our_own_on_a_point_to_point_line():
    r = Peer(dest=h('02FF')).snrm()
    assert controls(r) == [0x73] and r[0].src == SERVER
    r = Peer(dest=h('0002FEFF')).snrm()
    assert r[0].src == h('00020023')


def test_multidrop_line_answers_only_its_own_physical_address():
    assert Peer(dest=h('02FF'), multidrop=True).snrm() == []
    assert Peer(dest=h('03'), multidrop=True).snrm() == []
    assert Peer(dest=h('0002FEFF'), multidrop=True).snrm() == []
    assert controls(Peer(multidrop=True).snrm()) == [0x73]


def test_one_byte_server_address_is_fine_on_a_point_to_point_line():
    peer = Peer(dest=h('03'))
    r = peer.snrm()
    assert controls(r) == [0x73] and r[0].src == h('03')


def test_client_address_longer_than_one_byte_is_ignored():
    peer = Peer()
    frame = hdlc.encode_frame(SERVER, h('0021'), 0x93)
    assert peer.feed(frame) == []


def test_another_client_gets_dm_while_the_link_is_taken():
    peer = connected_peer()
    r = peer.send(0x93, client=17)
    assert controls(r) == [0x1F] and r[0].dest == h('23')
    assert peer.link.state == hl.NRM
    peer.i(GET)
    assert peer.take(hl.APDU) == [(hl.APDU, GET)]


# ---- noise ----

def test_noise_truncation_and_bad_checks_leave_the_link_working():
    peer = connected_peer()
    good = peer.frame(hdlc.i_control(0, 0), LLC + GET)
    bad_fcs = bytearray(good)
    bad_fcs[-2] ^= 0xFF
    bad_hcs = bytearray(good)
    bad_hcs[7] ^= 0x01
    assert peer.feed(b'\x00\x13\x7e\x7e' + bytes(bad_fcs) + bytes(bad_hcs) + good[:10]) == []
    assert peer.take(hl.APDU) == []
    assert peer.feed(good) == []
    assert peer.take(hl.APDU) == [(hl.APDU, GET)]
    assert peer.link.dropped >= 3


def test_inter_octet_timeout_lets_a_frame_behind_a_false_start_through():
    peer = connected_peer(inter_octet_timeout=100)
    frame = peer.frame(hdlc.i_control(0, 0), LLC + GET)
    assert peer.feed(b'\x7e\xa0' + frame) == []          # waits for a 126-byte "frame"
    peer.now += 101
    peer.link.tick(peer.now)
    peer.collect()
    assert peer.take(hl.APDU) == [(hl.APDU, GET)]
