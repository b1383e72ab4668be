"""Authorization against the virtual meter with the Gurux client: each demo association reaches
exactly its rights; a lockout starts and ends; the management client reads the security event
log, which holds the events the negative cases caused."""
import contextlib
import io
import itertools
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import (  # noqa: E402
    demo_session, make_object, AssociationRejected, DataAccessError, HlsFailed, DEMO_EK, DEMO_AK,
    CLIENT_SYSTEM_TITLE)
from dlms import security  # noqa: E402
from dlms import suite0  # noqa: E402
from gurux_dlms.enums import DataType  # noqa: E402

HOST = '127.0.0.1'
LOCKOUT_SECONDS = 3
_IC = itertools.count(1000, 1000)

OBJECTS = {
    'ldn': (1, '0.0.42.0.0.255'),
    'clock': (8, '0.0.1.0.0.255'),
    'energy': (3, '1.0.1.8.0.255'),
    'association': (15, '0.0.40.0.0.255'),
    'security_setup': (64, '0.0.43.0.0.255'),
    'security_setup_1': (64, '0.0.43.0.1.255'),
    'security_setup_2': (64, '0.0.43.0.2.255'),     # suite 2, its own 32-byte keys
    'event_code': (1, '0.0.96.11.7.255'),
    'event_count': (1, '0.0.96.15.7.255'),
    'event_log': (7, '0.0.99.98.7.255'),
}
GRANTED = {
    16: {'ldn', 'clock', 'association'},
    17: {'ldn', 'clock', 'energy', 'association'},
    1: set(OBJECTS),
}


@pytest.fixture(scope='module')
def meter(tmp_path_factory):
    cfg = tmp_path_factory.mktemp('cfg') / 'meter.json'
    cfg.write_text(json.dumps({'lockout_failures': 3, 'lockout_seconds': LOCKOUT_SECONDS,
                               'lockout_max_seconds': 8 * LOCKOUT_SECONDS}))
    vm = VirtualMeter(config=str(cfg))
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


def connect(meter, sap, **kw):
    if sap == 1:
        kw.setdefault('invocation_counter', next(_IC) * 1000)
    s = demo_session(HOST, meter.port, sap, **kw)
    s.connect()
    return s


@contextlib.contextmanager
def associated(meter, sap, **kw):
    s = connect(meter, sap, **kw)
    with contextlib.redirect_stdout(io.StringIO()):
        s.associate()
        try:
            yield s
        finally:
            try:
                s.release()
            finally:
                s.close()


def obj(name):
    return make_object(*OBJECTS[name])


@pytest.mark.parametrize('sap', [16, 17, 1])
def test_each_association_reaches_exactly_its_objects(meter, sap):
    with associated(meter, sap) as s:
        listed = {o.logicalName for o in s.read(obj('association'), 2)}
        assert listed == {OBJECTS[n][1] for n in GRANTED[sap]}
        for name in OBJECTS:
            if name in GRANTED[sap]:
                s.read_raw_value(obj(name), 1)          # logical_name is readable
            else:
                with pytest.raises(DataAccessError) as e:
                    s.read_raw_value(obj(name), 1)
                assert e.value.code == 4                # object-undefined
        with pytest.raises(DataAccessError) as e:
            s.read_raw_value(obj('association'), 7)     # the secret: never readable
        assert e.value.code == 3


@pytest.mark.parametrize('sap', [16, 17, 1])
def test_only_management_may_set_and_shift_the_clock(meter, sap):
    with associated(meter, sap) as s:
        c = obj('clock')
        s.read(c, 2)
        if sap == 1:
            s.write(c, 2)
            s.method(c, 6, 0, DataType.INT16)          # shift_time(0 s)
        else:
            with pytest.raises(DataAccessError) as e:
                s.write(c, 2)
            assert e.value.code == 3                    # read-write-denied
            with pytest.raises(DataAccessError) as e:
                s.method(c, 6, 0, DataType.INT16)
            assert e.value.code == 3


def test_lockout_starts_after_failures_and_ends_after_backoff(meter):
    for _ in range(3):
        s = connect(meter, 17, password=b'wrong')
        with pytest.raises(AssociationRejected) as e:
            s.associate()
        assert (e.value.result, e.value.diagnostic) == (1, 13)
        s.close()
    s = connect(meter, 17)                              # right password, but locked out
    with pytest.raises(AssociationRejected) as e:
        s.associate()
    assert e.value.result == 2                          # rejected-transient
    s.close()
    with associated(meter, 16) as p:                    # other clients are served meanwhile
        p.read(obj('clock'), 2)
    time.sleep(LOCKOUT_SECONDS + 0.5)
    with associated(meter, 17) as s:                    # released: and the count is reset
        s.read(obj('energy'), 2)


def test_management_reads_security_events_caused_by_negative_cases(meter):
    # cause: a failed HLS (wrong authentication key) and a replayed invocation counter
    s = connect(meter, 1, authentication_key=bytes(16))
    with pytest.raises((AssociationRejected, HlsFailed)):
        with contextlib.redirect_stdout(io.StringIO()):
            s.associate()
    s.close()
    with associated(meter, 1) as s:
        s.read(obj('clock'), 2)
        assert s.exchange_raw(s.last_request_raw)[:3] == bytes.fromhex('D80106')
    with associated(meter, 1) as s:
        log = obj('event_log')
        s.read(log, 3)                                  # capture objects
        assert [str(o[0].logicalName) for o in log.captureObjects] == \
            ['0.0.1.0.0.255', '0.0.96.11.7.255', '0.0.96.15.7.255']
        assert s.read_raw_value(log, 4) == 0            # capture period: event driven
        rows = s.read_raw_value(log, 2)
        codes = [r[1] for r in rows]
        assert 1 in codes                               # failed authentication
        assert 3 in codes                               # replayed invocation counter
        assert 4 in codes                               # lockout started (previous test)
        n = s.read_raw_value(log, 7)
        assert n == len(rows)
    with associated(meter, 16) as p:                    # not readable by the public client
        with pytest.raises(DataAccessError):
            p.read_raw_value(obj('event_log'), 2)


def test_oversized_wrapper_frame_gets_pdu_too_long(meter):
    with associated(meter, 16) as s:
        reply = s.exchange_raw(bytes(5000))
        assert reply == bytes.fromhex('D80104')
        s.read(obj('clock'), 2)


def test_lockout_survives_a_restart(tmp_path):
    cfg = tmp_path / 'meter.json'
    cfg.write_text(json.dumps({'lockout_failures': 2, 'lockout_seconds': 600}))
    state = str(tmp_path / 'state')
    with VirtualMeter(config=str(cfg), state_dir=state) as vm:
        for _ in range(2):
            s = connect(vm, 17, password=b'wrong')
            with pytest.raises(AssociationRejected):
                s.associate()
            s.close()
    with VirtualMeter(config=str(cfg), state_dir=state) as vm:
        s = connect(vm, 17)
        with pytest.raises(AssociationRejected) as e:
            s.associate()
        assert e.value.result == 2                      # still locked out after the restart
        s.close()


def test_event_log_selective_access_by_entry_and_range_and_get_with_list(meter):
    import datetime
    # make sure there are a few entries: three wrong passwords on a fresh SAP 17 count
    with associated(meter, 1) as s:
        log = obj('event_log')
        s.read(log, 3)
        total = s.read_raw_value(log, 7)
        assert total >= 3
        reply = s._exchange(s.client.readRowsByEntry(log, 2, 2))
        rows = reply.value
        assert len(rows) == 2
        everything = s.read_raw_value(log, 2)
        assert [list(r) for r in rows] == [list(r) for r in everything[1:3]]
        now = datetime.datetime.now(datetime.timezone.utc)
        wide = s._exchange(s.client.readRowsByRange(
            log, now - datetime.timedelta(days=1), now + datetime.timedelta(days=1))).value
        assert len(wide) == len(everything)
        past = s._exchange(s.client.readRowsByRange(
            log, datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc),
            datetime.datetime(2001, 1, 2, tzinfo=datetime.timezone.utc))).value
        assert not past
        # GET-with-list: two attributes in one request
        pairs = [(obj('ldn'), 2), (obj('event_log'), 7)]
        frames = [f for message in s.client.readList(pairs) for f in message]
        reply = s._exchange(frames)
        values = reply.value
        assert bytes(values[0]) == b'MMM0000012345678'
        assert values[1] == total


def test_event_log_goes_by_block_transfer_with_a_small_pdu(meter):
    with associated(meter, 1, max_pdu=128) as s:
        log = obj('event_log')
        n = s.read_raw_value(log, 7)
        rows = s.read_raw_value(log, 2)
        assert len(rows) == n and n >= 3


def test_a_flood_of_bad_tags_is_all_in_the_log_but_not_a_write_or_a_line_each(tmp_path):
    # bad tags can come as fast as requests do: every one is an event in the log, but the log is
    # written at most once per event_log_save_s and the console shows a few lines a second
    state = tmp_path / 'state'
    cfg = tmp_path / 'meter.json'
    cfg.write_text(json.dumps({'event_log_save_s': 60}))
    with VirtualMeter(config=str(cfg), state_dir=str(state)) as vm:
        with associated(vm, 1) as s:
            keys = suite0.Keys(DEMO_EK, DEMO_AK)
            get = bytes.fromhex('C001C100080000010000FF0200')
            ic = s.invocation_counter + 10              # fresh: a wrong tag moves no counter
            good = security.wrap(security.KIND_GLO, None,
                                 suite0.protect(keys, 0x30, CLIENT_SYSTEM_TITLE, ic, get), 0xC0)
            for i in range(60):
                bad = bytearray(good)
                bad[-1] ^= 0x01 + (i & 0x7F)            # a wrong tag
                assert s.exchange_raw(bytes(bad)) == bytes.fromhex('D80105')
            rows = s.read_raw_value(obj('event_log'), 2)
            # deciphering-failed, every one: counted in the rows of code 2 (coalesced)
            assert sum(r[2] for r in rows if r[1] == 2) >= 60
        time.sleep(1.5)                                 # the main loop's second goes by
        out = vm.output()
    assert out.count('security event: deciphering-failed') < 20
    assert 'more in the last second' in out
    seqs = []
    for slot in ('0', '1'):
        p = state / ('security_events.' + slot)
        if p.exists():
            seqs.append(int(p.read_bytes().split(b'\n')[0].split(b' ')[2]))
    assert max(seqs) <= 2                               # one write (two at most), not 60
