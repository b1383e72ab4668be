"""The virtual meter read by the Gurux client over HDLC (IEC 62056-46): HDLC frames over TCP
(--hdlc-port) and the RS485 pseudo-terminal (--rs485-pty). Information fields of 128 bytes make
the longer replies go out in segments; a small proposed field makes gurux segment its requests."""
import itertools
import os
import socket
import sys
import termios
import tty

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import (  # noqa: E402
    FdStream, HdlcRefused, demo_session, make_object, CLIENT_SYSTEM_TITLE)

HOST = '127.0.0.1'
PHYSICAL = 17                      # firmware/ports.py HDLC_DEFAULTS['physical_address']
_IC = itertools.count(200000, 1000)


@pytest.fixture(scope='module')
def meter():
    vm = VirtualMeter(hdlc_port=True, rs485_pty=True)
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


def session(meter, sap, stream=None, **kw):
    kw.setdefault('transport', 'hdlc')
    if sap == 1:
        kw.setdefault('invocation_counter', next(_IC))
    return demo_session(HOST, meter.hdlc_port, sap, stream=stream, **kw)


def ldn():
    return make_object(1, '0.0.42.0.0.255')


def read_everything(s, sap):
    """What each association may read; returns the object list length."""
    assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
    s.read(make_object(8, '0.0.1.0.0.255'), 2)
    objects = s.read(make_object(15, '0.0.40.0.0.255'), 2)
    if sap in (17, 1):
        e = make_object(3, '1.0.1.8.0.255')
        s.read(e, 3)
        assert s.read_raw_value(e, 2) >= 0
    if sap == 1:
        ss = make_object(64, '0.0.43.0.0.255')
        assert bytes(s.read_raw_value(ss, 4)) == CLIENT_SYSTEM_TITLE
        assert bytes(s.read_raw_value(ss, 5)) == bytes.fromhex('4D4D4D0000BC614E')
    return len(objects)


@pytest.mark.parametrize('sap, objects', [(16, 3), (17, 4), (1, 10)])
def test_hdlc_over_tcp_session_with_segmented_replies(meter, sap, objects):
    s = session(meter, sap)
    s.connect()
    try:
        assert s.negotiated_max_info == (128, 128)
        s.associate()
        assert read_everything(s, sap) == objects
        assert s.segments_received > 0             # the object list did not fit in 128 bytes
        if sap == 1:
            assert s.server_invocation_counters      # every reply was checked (GCM tag, IC)
        s.release()
        assert s.disconnect() == 0x73
    finally:
        s.close()


def test_requests_segmented_by_the_client_are_reassembled(meter):
    s = session(meter, 1, max_info_tx=32, max_info_rx=64)
    s.connect()
    try:
        assert s.negotiated_max_info == (32, 64)
        s.associate()                              # the ciphered AARQ needs several frames
        assert s.segments_sent > 0
        assert read_everything(s, 1) == 10         # with both public-key setups
        assert s.segments_received > 0
        s.release()
        s.disconnect()
    finally:
        s.close()


@pytest.mark.parametrize('size', [2, 4])
def test_two_and_four_byte_server_addresses(meter, size):
    s = session(meter, 16, physical_address=PHYSICAL, server_address_size=size)
    s.connect()
    try:
        s.associate()
        assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
        s.release()
        s.disconnect()
    finally:
        s.close()


def test_frames_for_another_physical_address_get_no_answer(meter):
    s = session(meter, 16, physical_address=PHYSICAL + 1, timeout=0.3)
    with pytest.raises(socket.timeout):
        s.connect()
    s.close()
    test_two_and_four_byte_server_addresses(meter, 2)


def test_disc_gets_ua_then_dm(meter):
    s = session(meter, 16)
    s.connect()
    try:
        assert s.disconnect() == 0x73
        assert s.disconnect() == 0x1F
    finally:
        s.close()


def test_noise_before_the_snrm_is_skipped(meter):
    sock = socket.create_connection((HOST, meter.hdlc_port), timeout=5)
    try:
        sock.sendall(b'\x00\xff\x7e\x7e\x12garbage\x7e\xa0\x03')
        s = session(meter, 17, stream=sock)
        s.connect()
        s.associate()
        assert bytes(s.read_raw_value(ldn(), 2)) == b'MMM0000012345678'
        s.release()
        s.close()
    finally:
        sock.close()


def test_closing_the_connection_drops_the_association(meter):
    s = session(meter, 1)
    s.connect()
    s.associate()
    s.close()                                      # no RLRQ, no DISC
    s = session(meter, 1)
    s.connect()
    try:
        s.associate()
        s.release()
        s.disconnect()
    finally:
        s.close()


# ---- RS485 on a pseudo-terminal ----

@pytest.fixture
def rs485(meter):
    fd = os.open(meter.rs485_pty, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIOFLUSH)
    yield fd
    os.close(fd)


def test_rs485_session_on_its_own_physical_address(meter, rs485):
    s = session(meter, 17, stream=FdStream(rs485), physical_address=PHYSICAL)
    s.connect()
    s.associate()
    assert read_everything(s, 17) == 4
    s.release()
    assert s.disconnect() == 0x73
    s.close()


@pytest.mark.parametrize('kw', [{'physical_address': PHYSICAL + 1},    # another meter
                                {'physical_address': 0x7F},            # all-station
                                {}])                                   # no physical address
def test_rs485_stays_silent_unless_addressed_by_its_physical_address(meter, rs485, kw):
    s = session(meter, 16, stream=FdStream(rs485, timeout=0.3), **kw)
    with pytest.raises(socket.timeout):
        s.connect()
    s = session(meter, 16, stream=FdStream(rs485), physical_address=PHYSICAL)
    s.connect()
    assert s.disconnect() == 0x73


def test_snrm_asking_for_a_tiny_information_field_is_refused(meter):
    s = session(meter, 16, max_info_tx=16, max_info_rx=16)
    with pytest.raises(HdlcRefused) as e:
        s.connect()
    assert e.value.control == 0x1F
    s.close()
