"""The meter's TCP ports against connections a stranger can open (issue 10, flaw 5): about 100 idle
connections to the wrapper port, under the heap of a board-sized meter, used to raise a
MemoryError in asyncio's accept loop; the listener ended and the port stayed dead (the HDLC port
too), while the process kept running (on a board: kept feeding the watchdog).

Now each listener (firmware/transports/tcp.py) caps its connections (tcp_max_connections), makes
room by closing the idlest connection that holds no authenticated association, closes one that is
silent for tcp_inactivity_s, and keeps an error inside the connection it happens in. These run
the real virtual meter over real sockets; test_tcp_listener.py runs the listener itself under
CPython."""
import json
import os
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import demo_session, make_object, wrapper_frame  # noqa: E402

HOST = '127.0.0.1'
BOARD_HEAP = '320K'                     # `make sim SIM_HEAP=320K`: a board-sized meter
PARTIAL = wrapper_frame(16, 1, bytes(1000))[:108]      # a frame announced, never finished


def _open(port, n, data=PARTIAL, timeout=30):
    """n connections made at once (non-blocking connects, as a flood would make them), each
    sending `data`; the sockets, in blocking mode again."""
    import select
    pending = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, port))
        pending.append(s)
    done = []
    end = time.monotonic() + timeout
    while pending and time.monotonic() < end:
        _, ready, _ = select.select([], pending, [], 0.5)
        for s in ready:
            pending.remove(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                s.setblocking(True)
                if data:
                    try:
                        s.sendall(data)
                    except OSError:
                        pass
            done.append(s)
    return done + pending


def _closed_by_meter(s, timeout=0.0):
    s.settimeout(timeout)
    try:
        return s.recv(16) == b''
    except socket.timeout:
        return False
    except OSError:
        return True


def _management(vm, ic, port=None, **kw):
    s = demo_session(HOST, port or vm.port, 1, invocation_counter=ic, **kw)
    s.connect()
    s.associate()
    return s


def _no_crash(vm):
    out = vm.output()
    assert 'Traceback' not in out, out
    assert 'listener error' not in out, out


def test_idle_connections_beyond_the_cap_leave_both_ports_serving_on_a_board_sized_heap():
    with VirtualMeter(heap=BOARD_HEAP, hdlc_port=True) as vm:
        held = _open(vm.port, 4)                # the cap's worth, idle, each a partial frame
        flood = _open(vm.port, 300)             # and far more: it used to kill the port
        flood += _open(vm.hdlc_port, 100, b'\x7e\xa0\x20')
        time.sleep(0.5)
        assert sum(_closed_by_meter(s) for s in held + flood) >= 300
        s = _management(vm, 10000)              # the holder of the keys gets in, and stays
        # 8 objects: a board-sized heap leaves the public-key part (and its Security setup) out
        assert len(s.read(make_object(15, '0.0.40.0.0.255'), 2)) == 8
        more = _open(vm.port, 50)               # a new flood no longer costs it its slot
        for _ in range(5):
            assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == \
                b'MMM0000012345678'
        s.release()
        s.close()
        for x in held + flood + more:
            x.close()
        h = demo_session(HOST, vm.hdlc_port, 16, transport='hdlc')
        h.connect()
        h.associate()
        assert bytes(h.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == \
            b'MMM0000012345678'
        h.release()
        h.close()
        assert vm.alive()
        _no_crash(vm)


def test_a_connection_over_a_cap_of_authenticated_ones_is_closed_at_once_and_costs_them_nothing(
        tmp_path):
    cfg = tmp_path / 'meter.json'
    cfg.write_text(json.dumps({'tcp_max_connections': 3}))
    with VirtualMeter(config=str(cfg)) as vm:
        readers = []
        for i in range(3):
            r = demo_session(HOST, vm.port, 17)
            r.connect()
            r.associate()
            readers.append(r)
        late = socket.create_connection((HOST, vm.port))
        assert _closed_by_meter(late, 2.0)      # closed at once: every slot holds a secret
        late.close()
        for r in readers:
            assert r.read_raw_value(make_object(3, '1.0.1.8.0.255'), 2) >= 0
            r.release()
            r.close()
        time.sleep(0.3)
        p = demo_session(HOST, vm.port, 16)     # slots free again
        p.connect()
        p.associate()
        p.release()
        p.close()
        m = _management(vm, 50000)              # the refusal is in the security event log
        rows = m.read_raw_value(make_object(7, '0.0.99.98.7.255'), 2)
        m.release()
        m.close()
        assert 17 in [r[1] for r in rows]       # connection-limit
        _no_crash(vm)


def test_a_silent_connection_is_closed_and_its_association_aborted(tmp_path):
    cfg = tmp_path / 'meter.json'
    cfg.write_text(json.dumps({'tcp_inactivity_s': 2}))
    with VirtualMeter(config=str(cfg), hdlc_port=True) as vm:
        idle = socket.create_connection((HOST, vm.port))
        s = _management(vm, 20000)
        hdlc = demo_session(HOST, vm.hdlc_port, 1, transport='hdlc', ciphered=True,
                            invocation_counter=30000)
        hdlc.connect()
        hdlc.associate()
        t0 = time.monotonic()
        assert _closed_by_meter(idle, 6.0)
        assert _closed_by_meter(s.sock, 6.0)   # the management association too, once silent
        assert _closed_by_meter(hdlc.sock, 6.0)
        assert time.monotonic() - t0 < 6.0
        idle.close()
        s.close()
        hdlc.close()
        again = _management(vm, 40000)         # a new connection: a new association
        again.release()
        again.close()
        _no_crash(vm)
