# IEC 62056-21 mode E opening on the optical port (lib/dlms/iec62056_21.py), driven by the bytes
# a client sends (reference 8.7). Walks every table entry. Runs under MicroPython too.
from dlms import iec62056_21 as me
from vector_util import raised

REQUEST = b'/?!\r\n'                     # 2F 3F 21 0D 0A
ACK_9600 = b'\x062' + b'5' + b'2\r\n'     # 06 32 35 32 0D 0A: HDLC, 9600 baud, binary


def modem(**kw):
    kw.setdefault('device_address', '12345678')
    kw.setdefault('identification', 'SECMETER')
    return me.ModeE(**kw)


def sends(actions):
    return [a[1] for a in actions if a[0] == me.SEND]


def kinds(actions):
    return [a[0] for a in actions]


def raises_mode_e_error(fn, *args):
    e = raised(me.ModeEError, fn, *args)
    return None if e is None else str(e)


# ---- messages ----

def test_baud_characters():
    assert [me.baud_char(b) for b in (300, 600, 1200, 2400, 4800, 9600, 19200)] == \
        ['0', '1', '2', '3', '4', '5', '6']
    assert raises_mode_e_error(me.baud_char, 115200) is not None


def test_identification_names_manufacturer_baud_and_hdlc():
    m = modem()
    assert sends(m.receive(REQUEST, 0)) == [b'/MMM5\\2SECMETER\r\n']
    assert m.state == me.WAIT_ACK
    m = modem(manufacturer='ABC', identification='X1', max_baud=19200)
    assert sends(m.receive(REQUEST, 0)) == [b'/ABC6\\2X1\r\n']


def test_starts_at_300_baud_7e1():
    m = modem()
    assert m.line() == (300, 7, 0) and not m.binary


def test_request_with_our_address_is_answered():
    m = modem()
    assert len(sends(m.receive(b'/?12345678!\r\n', 0))) == 1
    m = modem()
    assert len(sends(m.receive(b'/?0012345678!\r\n', 0))) == 1   # leading zeros do not count


def test_request_for_another_meter_gets_no_answer():
    m = modem()
    assert m.receive(b'/?87654321!\r\n', 0) == []
    assert m.state == me.IDLE


def test_acknowledgement_switches_to_hdlc_at_the_agreed_baud_8n1():
    m = modem()
    m.receive(REQUEST, 0)
    acts = m.receive(ACK_9600, 500)
    assert acts == [(me.SET_LINE, 9600, 8, None), (me.START_LINK,)]
    assert m.state == me.BINARY and m.binary and m.line() == (9600, 8, None)


def test_a_lower_baud_than_offered_may_be_chosen():
    m = modem()
    m.receive(REQUEST, 0)
    assert m.receive(b'\x06242\r\n', 0)[0] == (me.SET_LINE, 4800, 8, None)


def test_unsupported_acknowledgements_return_to_idle_silently():
    for ack in (b'\x06262\r\n',      # 19200 is more than offered
                b'\x06050\r\n',      # mode C data readout
                b'\x06051\r\n',      # programming mode
                b'\x06252\r'):       # no LF yet: nothing happens
        m = modem()
        m.receive(REQUEST, 0)
        acts = m.receive(ack, 10)
        assert acts == [], ack
    m = modem()
    m.receive(REQUEST, 0)
    m.receive(b'\x06050\r\n', 10)
    assert m.state == me.IDLE


def test_ack_without_a_request_is_ignored():
    m = modem()
    assert m.receive(ACK_9600, 0) == [] and m.state == me.IDLE


def test_bytes_after_the_acknowledgement_go_to_the_link():
    m = modem()
    m.receive(REQUEST, 0)
    acts = m.receive(ACK_9600 + b'\x7e\xa0\x08', 10)
    assert acts[-1] == (me.LINK_DATA, b'\x7e\xa0\x08')


def test_parity_bits_are_not_seen():
    m = modem()
    odd = bytes([c | 0x80 if c in (0x2F, 0x21) else c for c in REQUEST])   # parity set
    assert len(sends(m.receive(odd, 0))) == 1


def test_noise_before_the_request_is_skipped():
    m = modem()
    assert len(sends(m.receive(b'\x00\x13zz/?!\r\n', 0))) == 1


def test_request_split_over_reads_is_assembled():
    m = modem()
    assert m.receive(b'/?', 0) == []
    assert m.receive(b'!\r', 100) == []
    assert len(sends(m.receive(b'\n', 200))) == 1


def test_malformed_lines_get_no_answer():
    for line in (b'/?abc\r\n', b'/?a-b!\r\n', b'/!\r\n', b'/?!\n', b'hello\r\n',
                 b'/?' + b'1' * 33 + b'!\r\n', b'\x06 25 2\r\n', b'\x0625\r\n'):
        m = modem()
        assert m.receive(line, 0) == [], line
        assert m.state == me.IDLE


def test_overlong_garbage_is_dropped_and_the_next_request_answered():
    m = modem()
    assert m.receive(b'x' * 100, 0) == []
    assert len(sends(m.receive(b'\r\n' + REQUEST, 10))) == 1


def test_partial_line_is_forgotten_after_the_line_timeout():
    m = modem(line_timeout=1500)
    m.receive(b'/?12', 0)
    assert m.tick(1501) == [] and m._buf == bytearray()
    assert m.receive(b'345678!\r\n', 1600) == []      # the tail alone is no request


# ---- timeouts and the way back ----

def test_no_acknowledgement_returns_to_idle():
    m = modem(ack_timeout=2000)
    m.receive(REQUEST, 0)
    assert m.tick(1999) == [] and m.state == me.WAIT_ACK
    assert m.tick(2000) == [] and m.state == me.IDLE
    assert m.receive(ACK_9600, 2100) == [] and m.state == me.IDLE


def test_no_link_after_the_switch_returns_to_300_baud():
    m = modem(binary_timeout=5000)
    m.receive(REQUEST, 0)
    m.receive(ACK_9600, 100)
    assert m.tick(5099) == []
    assert m.tick(5100) == [(me.STOP_LINK,), (me.SET_LINE, 300, 7, 0)]
    assert m.state == me.IDLE and m.line() == (300, 7, 0)


def test_link_down_returns_to_300_baud_and_a_new_opening_works():
    m = modem()
    m.receive(REQUEST, 0)
    m.receive(ACK_9600, 100)
    assert m.link_up(200) == [] and m.state == me.LINKED
    assert m.tick(10 ** 6) == [] and m.state == me.LINKED     # the link owns its timeout
    assert m.link_down(10 ** 6) == [(me.STOP_LINK,), (me.SET_LINE, 300, 7, 0)]
    assert len(sends(m.receive(REQUEST, 10 ** 6 + 1))) == 1


def test_bytes_while_binary_are_refused():
    m = modem()
    m.receive(REQUEST, 0)
    m.receive(ACK_9600, 100)
    assert raises_mode_e_error(m.receive, b'\x7e', 200) is not None


# ---- the table ----

def _in_idle():
    return modem()


def _in_wait_ack():
    m = modem()
    m.receive(REQUEST, 0)
    return m


def _in_binary():
    m = _in_wait_ack()
    m.receive(ACK_9600, 10)
    return m


def _in_linked():
    m = _in_binary()
    m.link_up(20)
    return m


SETUP = {me.IDLE: _in_idle, me.WAIT_ACK: _in_wait_ack, me.BINARY: _in_binary,
         me.LINKED: _in_linked}

TRIGGER = {
    me.EV_REQUEST: lambda m: m.receive(REQUEST, 50),
    me.EV_REQUEST_OTHER: lambda m: m.receive(b'/?999!\r\n', 50),
    me.EV_ACK_HDLC: lambda m: m.receive(ACK_9600, 50),
    me.EV_ACK_OTHER: lambda m: m.receive(b'\x06050\r\n', 50),
    me.EV_MALFORMED: lambda m: m.receive(b'/?!!\r\n', 50),
    me.EV_TIMEOUT: lambda m: (m.receive(b'/?', 50) if not m.binary else []) + m.tick(10 ** 6),
    me.EV_LINK_UP: lambda m: m.link_up(50),
    me.EV_LINK_DOWN: lambda m: m.link_down(50),
}

EXPECT = {
    me.T_NONE: lambda acts: acts == [],
    me.T_IDENTIFY: lambda acts: sends(acts) == [b'/MMM5\\2SECMETER\r\n'],
    me.T_ENTER_BINARY: lambda acts: acts == [(me.SET_LINE, 9600, 8, None), (me.START_LINK,)],
    me.T_LEAVE_BINARY: lambda acts: acts == [(me.STOP_LINK,), (me.SET_LINE, 300, 7, 0)],
    me.T_CLEAR: lambda acts: acts == [],
}


def test_every_transition_of_the_table():
    walked = 0
    for state in me.TRANSITIONS:
        for event in me.TRANSITIONS[state]:
            nxt, todo = me.TRANSITIONS[state][event]
            m = SETUP[state]()
            assert m.state == state
            acts = TRIGGER[event](m)
            where = '%s --%s-->' % (me.STATE_NAMES[state], me.EVENT_NAMES[event])
            assert m.state == nxt, '%s %s' % (where, me.STATE_NAMES[m.state])
            assert EXPECT[todo](acts), '%s %r' % (where, acts)
            walked += 1
    assert walked == sum([len(r) for r in me.TRANSITIONS.values()])


def test_every_line_event_is_decided_in_the_text_states():
    for state in (me.IDLE, me.WAIT_ACK):
        for event in me.LINE_EVENTS + (me.EV_TIMEOUT,):
            assert event in me.TRANSITIONS[state]


def test_link_events_outside_the_binary_states_are_rejected_naming_the_state():
    m = modem()
    msg = raises_mode_e_error(m.link_up, 0)
    assert msg is not None and 'IDLE' in msg and 'LINK-UP' in msg
    assert raises_mode_e_error(_in_wait_ack().link_down, 0) is not None
    m = _in_linked()
    m.state = me.LINKED
    assert raises_mode_e_error(m._fire, me.EV_TIMEOUT, 0, []) is not None


def test_bad_configuration_is_refused():
    assert raises_mode_e_error(me.ModeE, '', 'MM') is not None
    assert raises_mode_e_error(me.ModeE, '', 'MMM', 'x' * 17) is not None
    assert raises_mode_e_error(me.ModeE, '', 'MMM', 'a/b') is not None
    assert raises_mode_e_error(me.ModeE, '', 'MMM', 'ok', 115200) is not None
