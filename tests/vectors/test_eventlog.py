from dlms import axdr
from dlms.cosem.clock import Clock, encode_datetime
from dlms.eventlog import SecurityEventLog, EVENT_CODES
from test_lockout import MemStore


class Now:
    def __init__(self):
        self.t = 1700000000

    def __call__(self):
        return self.t


def make(capacity=5, store=None, coalesce_s=0):
    now = Now()
    clock = Clock('0.0.1.0.0.255', now)
    return now, clock, SecurityEventLog(clock, store, capacity, coalesce_s=coalesce_s)


def rows(v):
    assert v[0] == axdr.ARRAY
    return [tuple(x[1]) for x in v[1]]


def test_events_are_captured_with_time_and_code():
    now, clock, log = make()
    assert log.record('authentication-failed')
    now.t += 10
    assert log.record('invocation-counter-replay')
    assert not log.record('no-such-event')
    buf = rows(log.profile.get(2, None))
    assert buf == [(axdr.octets(encode_datetime(1700000000)), axdr.u16(1), axdr.u32(1)),
                   (axdr.octets(encode_datetime(1700000010)), axdr.u16(3), axdr.u32(1))]
    assert log.profile.get(7, None) == axdr.u32(2)
    assert log.profile.get(8, None) == axdr.u32(5)
    assert log.profile.get(4, None) == axdr.u32(0)
    cols = log.profile.get(3, None)[1]
    assert cols[0] == axdr.structure(axdr.u16(8), axdr.octets(bytes([0, 0, 1, 0, 0, 255])),
                                     axdr.i8(2), axdr.u16(0))


def test_ring_buffer_keeps_newest_entries():
    now, clock, log = make(capacity=3)
    for name in ('authentication-failed', 'deciphering-failed', 'invocation-counter-replay',
                 'lockout-started'):
        now.t += 1
        log.record(name)
    codes = [r[1][1] for r in rows(log.profile.get(2, None))]
    assert codes == [2, 3, 4]


def test_selective_access_by_entry():
    now, clock, log = make()
    for i in range(4):
        now.t += 1
        log.record('deciphering-failed' if i % 2 else 'authentication-failed')
    sel = axdr.structure(axdr.u32(2), axdr.u32(3), axdr.u16(2), axdr.u16(2))
    assert rows(log.profile.get(2, None, 2, sel)) == [(axdr.u16(2),), (axdr.u16(1),)]
    sel = axdr.structure(axdr.u32(2), axdr.u32(3), axdr.u16(2), axdr.u16(0))
    assert rows(log.profile.get(2, None, 2, sel))[0] == (axdr.u16(2), axdr.u32(1))
    sel = axdr.structure(axdr.u32(3), axdr.u32(0), axdr.u16(1), axdr.u16(0))
    assert len(rows(log.profile.get(2, None, 2, sel))) == 2


def test_selective_access_by_clock_range():
    now, clock, log = make()
    for i in range(5):
        now.t = 1700000000 + i * 100
        log.record('authentication-failed')
    restrict = axdr.structure(axdr.u16(8), axdr.octets(bytes([0, 0, 1, 0, 0, 255])), axdr.i8(2),
                              axdr.u16(0))
    sel = axdr.structure(restrict, axdr.octets(encode_datetime(1700000100)),
                         axdr.octets(encode_datetime(1700000300)), axdr.array([]))
    got = rows(log.profile.get(2, None, 1, sel))
    assert [r[0] for r in got] == [axdr.octets(encode_datetime(1700000000 + i * 100))
                                   for i in (1, 2, 3)]


def test_bad_selective_access_parameters_get_a_result_code():
    now, clock, log = make()
    log.record('authentication-failed')
    assert isinstance(log.profile.get(2, None, 2, axdr.u8(1)), int)
    assert isinstance(log.profile.get(2, None, 9, axdr.structure()), int)
    assert isinstance(log.profile.get(2, None, 1, axdr.structure(axdr.u8(1))), int)


def test_event_log_survives_restart():
    store = MemStore()
    now, clock, log = make(store=store)
    log.record('key-changed')
    now2, clock2, log2 = make(store=store)
    assert [r[1][1] for r in rows(log2.profile.get(2, None))] == [EVENT_CODES['key-changed']]


class CountingStore(MemStore):
    def __init__(self):
        MemStore.__init__(self)
        self.writes = 0

    def save(self, name, rec):
        self.writes += 1
        MemStore.save(self, name, rec)


def test_a_burst_of_events_is_one_write_then_one_more_when_the_interval_is_over():
    # bad tags and replays can come as fast as requests do: they must not each be a flash write
    store = CountingStore()
    now = Now()
    clock = Clock('0.0.1.0.0.255', now)
    log = SecurityEventLog(clock, store, 100, now, 10)
    for i in range(50):
        log.record('deciphering-failed')
    assert store.writes == 1                     # the first at once
    assert rows(log.profile.get(2, None))[0][1:] == (axdr.u16(2), axdr.u32(50))  # all counted
    now.t += 9
    log.tick()
    assert store.writes == 1
    now.t += 1
    log.tick()
    assert store.writes == 2                     # the rest once the interval is over
    log.tick()
    assert store.writes == 2                     # nothing new: no write
    restarted = SecurityEventLog(Clock('0.0.1.0.0.255', now), store, 100, now, 10)
    assert rows(restarted.profile.get(2, None))[0][1:] == (axdr.u16(2), axdr.u32(50))
    now.t += 60
    log.record('key-changed')                    # after a quiet spell: written at once
    assert store.writes == 3


def test_a_clock_set_back_does_not_hold_writes_back():
    store = CountingStore()
    now = Now()
    log = SecurityEventLog(Clock('0.0.1.0.0.255', now), store, 100, now, 10)
    log.record('deciphering-failed')
    now.t -= 3600
    log.record('deciphering-failed')
    assert store.writes == 2


def flood(log, now, n, names=('deciphering-failed', 'invocation-counter-replay',
                              'authentication-failed', 'malformed-request')):
    for i in range(n):
        now.t += 7
        log.record(names[i % len(names)])


def test_a_flood_of_frequent_events_never_pushes_a_rare_one_out():
    now, clock, log = make(capacity=10, coalesce_s=60)
    log.record('key-changed')
    now.t += 1
    log.record('security-policy-changed')
    flood(log, now, 5000)
    got = rows(log.profile.get(2, None))
    assert len(got) == 10
    codes = [r[1][1] for r in got]
    assert codes[:2] == [EVENT_CODES['key-changed'], EVENT_CODES['security-policy-changed']]
    assert got[0][0] == axdr.octets(encode_datetime(1700000000))
    # and the flood itself is in the log, coalesced: rows that stand for several events
    assert max(r[2][1] for r in got[2:]) > 1


def test_without_coalescing_a_flood_still_leaves_the_rare_rows():
    now, clock, log = make(capacity=4, coalesce_s=0)
    log.record('lockout-started')
    flood(log, now, 300)
    codes = [r[1][1] for r in rows(log.profile.get(2, None))]
    assert codes[0] == EVENT_CODES['lockout-started'] and len(codes) == 4


def test_frequent_events_coalesce_per_code_within_the_window():
    now, clock, log = make(capacity=10, coalesce_s=60)
    for i in range(3):
        log.record('deciphering-failed')
        log.record('invocation-counter-replay')
        now.t += 10
    now.t += 60
    log.record('deciphering-failed')           # the window of its row is over: a new row
    got = rows(log.profile.get(2, None))
    assert [(r[1][1], r[2][1]) for r in got] == [(2, 3), (3, 3), (2, 1)]
    assert log.count.get(2, None) == axdr.u32(1)
    # rare events are never coalesced
    log.record('key-changed')
    log.record('key-changed')
    assert [r[2][1] for r in rows(log.profile.get(2, None))][-2:] == [1, 1]


def test_a_ring_full_of_rare_rows_drops_a_frequent_event_rather_than_evidence():
    now, clock, log = make(capacity=2)
    log.record('key-changed')
    log.record('store-fallback')
    log.record('deciphering-failed')
    assert [r[1][1] for r in rows(log.profile.get(2, None))] == [5, 7]
    log.record('key-changed')                  # rare over rare: the oldest rare row goes
    assert [r[1][1] for r in rows(log.profile.get(2, None))] == [7, 5]


def test_rows_of_the_two_column_format_are_read_with_a_count_of_one():
    store = MemStore()
    old = axdr.to_bytes(axdr.structure(axdr.octets(encode_datetime(1700000000)), axdr.u16(5)))
    from binascii import hexlify
    store.save('security_events', {'rows': [hexlify(old).decode()]})
    now, clock, log = make(store=store)
    assert rows(log.profile.get(2, None)) == [
        (axdr.octets(encode_datetime(1700000000)), axdr.u16(5), axdr.u32(1))]


def test_every_event_name_has_a_code():
    from dlms import events
    codes = [events.CODES[n][0] for n in events.CODES]
    assert len(set(codes)) == len(codes) and 0 not in codes
