"""The virtual meter (firmware/ on the MicroPython unix port) driven by the Gurux client over real
TCP sockets: whole sessions for the three demo associations, and the negative cases, each answered
the standard way while the meter keeps serving the next client."""
import datetime
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import (  # noqa: E402
    demo_session, make_object, AssociationRejected, DataAccessError, HlsFailed,
    DEMO_AK, CLIENT_SYSTEM_TITLE, unprotect_reply)
from gurux_dlms import GXDateTime  # noqa: E402

HOST = '127.0.0.1'
# The meter remembers the last invocation counter of each client system title across
# associations, so every management session here starts above the previous ones.
_IC = itertools.count(100000, 1000)


@pytest.fixture(scope='module')
def meter():
    vm = VirtualMeter()
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


def session(meter, sap, **kw):
    if sap == 1:
        kw.setdefault('invocation_counter', next(_IC))
    s = demo_session(HOST, meter.port, sap, **kw)
    s.connect()
    return s


def ldn():
    return make_object(1, '0.0.42.0.0.255')


def clock():
    return make_object(8, '0.0.1.0.0.255')


def energy():
    return make_object(3, '1.0.1.8.0.255')


def current():
    return make_object(15, '0.0.40.0.0.255')


def security_setup():
    return make_object(64, '0.0.43.0.0.255')


def assert_serving(meter):
    """The meter still answers a fresh public client."""
    s = session(meter, 16)
    try:
        s.associate()
        assert s.read(ldn(), 2) == b'MMM0000012345678' or \
            bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
        s.release()
    finally:
        s.close()
    assert meter.alive()


def test_startup_prints_demo_key_warning(meter):
    out = meter.output()
    assert 'demo keys: never use on a real meter' in out
    assert '4D4D4D0000BC614E' in out


def test_public_session_reads_its_objects(meter):
    s = session(meter, 16)
    s.associate()
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    t = s.read(clock(), 2)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((t.value - now).total_seconds()) < 120
    cur = current()
    objs = s.read(cur, 2)
    names = sorted(o.logicalName for o in objs)
    assert names == ['0.0.1.0.0.255', '0.0.40.0.0.255', '0.0.42.0.0.255']
    assert s.read(cur, 8) is not None
    with pytest.raises(DataAccessError) as e:
        s.read(energy(), 2)
    assert e.value.code == 4           # object-undefined: not in the public object list
    with pytest.raises(DataAccessError) as e:
        s.read(cur, 7)
    assert e.value.code == 3           # the secret is never readable
    s.release()
    s.close()


def test_reader_session_reads_energy_with_lls(meter):
    s = session(meter, 17)
    s.associate()
    e = energy()
    s.read(e, 3)
    first = s.read_raw_value(e, 2)
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    s.read(clock(), 2)
    assert s.read(current(), 8) == 2 or s.read_raw_value(current(), 8) == 2
    s.release()
    s.close()
    assert first >= 0


def test_reader_cannot_set_the_clock(meter):
    s = session(meter, 17)
    s.associate()
    c = clock()
    s.read(c, 2)
    with pytest.raises(DataAccessError) as e:
        s.write(c, 2)
    assert e.value.code == 3
    s.release()
    s.close()


def test_management_session_hls_gmac_reads_all_and_sets_clock(meter):
    s = session(meter, 1)
    s.associate()
    assert s.server_system_title == bytes.fromhex('4D4D4D0000BC614E')
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    e = energy()
    s.read(e, 3)
    v1 = s.read_raw_value(e, 2)
    objs = s.read(current(), 2)            # object_list, may span several blocks
    assert len(objs) == 10                 # the two public-key Security setups included
    ss = security_setup()
    assert s.read_raw_value(ss, 3) == 0
    assert bytes(s.read_raw_value(ss, 5)) == bytes.fromhex('4D4D4D0000BC614E')
    assert bytes(s.read_raw_value(ss, 4)) == CLIENT_SYSTEM_TITLE
    c = clock()
    s.read(c, 2)
    target = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    c.time = GXDateTime(target)
    s.write(c, 2)
    back = s.read(c, 2).value
    assert abs((back - target).total_seconds()) < 5
    # set it back to now for the other tests
    c.time = GXDateTime(datetime.datetime.now(datetime.timezone.utc))
    s.write(c, 2)
    v2 = s.read_raw_value(e, 2)
    assert v2 >= v1
    ics = s.server_invocation_counters
    assert ics == sorted(set(ics))         # every protected reply had a fresh server counter
    s.release()
    s.close()


def test_management_object_list_goes_by_blocks_with_small_pdu(meter):
    s = session(meter, 1, max_pdu=128)
    s.associate()
    assert s.negotiated_max_pdu in (128, 1024)
    objs = s.read(current(), 2)
    assert len(objs) == 10
    s.release()
    s.close()


def test_wrong_password_is_rejected_and_meter_keeps_serving(meter):
    s = session(meter, 17, password=b'wrong')
    with pytest.raises(AssociationRejected) as e:
        s.associate()
    assert (e.value.result, e.value.diagnostic) == (1, 13)
    s.close()
    assert_serving(meter)


def test_wrong_authentication_key_is_rejected_and_meter_keeps_serving(meter):
    s = session(meter, 1, authentication_key=bytes(16))
    with pytest.raises((AssociationRejected, HlsFailed)):
        s.associate()
    s.close()
    assert_serving(meter)


def test_replayed_invocation_counter_is_rejected(meter):
    s = session(meter, 1)
    s.associate()
    s.read(clock(), 2)
    replay = s.last_request_raw
    reply = s.exchange_raw(replay)
    assert reply[:3] == bytes.fromhex('D80106')     # invocation-counter-error
    from dlms import security
    sent_ic = security.split(security.unwrap(replay)[3])[1]
    assert int.from_bytes(reply[3:7], 'big') == sent_ic + 1   # the next acceptable counter
    # the association is untouched: the next request with a fresh counter is served
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    s.release()
    s.close()
    assert_serving(meter)


def test_replay_across_associations_is_rejected(meter):
    s = session(meter, 1)
    s.associate()
    s.read(clock(), 2)
    old = s.last_request_raw
    s.release()
    s.close()
    s2 = session(meter, 1)
    s2.associate()
    assert s2.exchange_raw(old)[:3] == bytes.fromhex('D80106')
    s2.release()
    s2.close()


def test_unprotected_request_inside_management_association_is_denied(meter):
    s = session(meter, 1)
    s.associate()
    plain_get = bytes.fromhex('C001C1000100002A0000FF0200')
    assert s.exchange_raw(plain_get) == bytes.fromhex('C401C10103')
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    s.release()
    s.close()
    assert_serving(meter)


def test_several_concurrent_connections(meter):
    sessions = [session(meter, sap) for sap in (16, 17, 1, 16)]
    try:
        for s in sessions:
            s.associate()
        for s in sessions:
            s.read(clock(), 2)
        for s in sessions:
            s.release()
    finally:
        for s in sessions:
            s.close()


def test_bench_thin_client_checks_every_secured_reply(monkeypatch):
    # tools/bench.py's thin client makes its requests and checks every reply (server title,
    # counter, tag) with `cryptography`'s AES-GCM; most of the meter's replies are sealed with
    # keystreams it made ahead in idle time (Session.idle), so this is also their independent
    # check over a real socket. Figures are not looked at.
    import bench
    monkeypatch.setattr(bench, 'ROUND_TRIPS', 40)
    monkeypatch.setattr(bench, 'RUNS', 2)
    with VirtualMeter() as vm:
        for mode in ('overlapped', 'thin'):
            for sap in (16, 1):
                assert bench.round_trips(vm.port, sap, mode) > 0
        assert 'Traceback' not in vm.output(), vm.output()
