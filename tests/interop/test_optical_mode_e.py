"""The virtual meter's optical port (--optical-pty) as a host tool drives a real optical head:
IEC 62056-21 mode E opening at 300 baud 7E1 set with termios (request, identification,
acknowledgement), the switch to the agreed baud 8N1, then the Gurux client over HDLC, and back
to 300 baud after DISC. A pseudo-terminal ignores baud and parity; the meter's logic does not."""
import itertools
import os
import select
import sys
import termios
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import FdStream, demo_session, make_object  # noqa: E402
from hil.sessions import set_line  # noqa: E402

IDENTIFICATION = b'/MMM5\\2SECMETER\r\n'     # boards/host/board.py SERIAL_PORTS['optical']
_IC = itertools.count(300000, 1000)


@pytest.fixture(scope='module')
def meter():
    vm = VirtualMeter(optical_pty=True)
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


@pytest.fixture
def head(meter):
    """The optical head: the pty opened like a serial device, at 300 baud 7E1."""
    fd = os.open(meter.optical_pty, os.O_RDWR | os.O_NOCTTY)
    set_line(fd, 300, seven_e_one=True)
    termios.tcflush(fd, termios.TCIOFLUSH)
    yield fd
    os.close(fd)


def read_line(fd, timeout=2.0):
    buf = b''
    end = time.monotonic() + timeout
    while not buf.endswith(b'\n'):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return buf or None
        buf += os.read(fd, 64)
    return buf


def opening(fd, request=b'/?!\r\n'):
    """Request, identification, acknowledgement, switch. Returns the identification."""
    os.write(fd, request)
    ident = read_line(fd)
    assert ident == IDENTIFICATION
    z = ident[4:5]
    assert z == b'5'                                  # 9600 baud offered
    os.write(fd, b'\x06' + b'2' + z + b'2\r\n')       # HDLC procedure, 9600, binary mode
    termios.tcdrain(fd)
    time.sleep(0.1)                                   # the client's baud change delay
    set_line(fd, 9600)
    return ident


def hdlc_session(fd, sap, **kw):
    if sap == 1:
        kw.setdefault('invocation_counter', next(_IC))
    return demo_session(None, None, sap, transport='hdlc-mode-e', stream=FdStream(fd), **kw)


def back_to_300(fd):
    set_line(fd, 300, seven_e_one=True)


@pytest.mark.parametrize('sap', [1, 16, 17])
def test_mode_e_opening_then_hdlc_session(head, meter, sap):
    opening(head)
    s = hdlc_session(head, sap)
    s.connect()
    s.associate()
    assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == b'MMM0000012345678'
    objects = s.read(make_object(15, '0.0.40.0.0.255'), 2)
    assert len(objects) == {16: 3, 17: 4, 1: 10}[sap]
    assert s.segments_received > 0
    if sap != 16:
        assert s.read_raw_value(make_object(3, '1.0.1.8.0.255'), 2) >= 0
    s.release()
    assert s.disconnect() == 0x73
    s.close()
    back_to_300(head)
    assert '9600 baud 8N1' in meter.output()


def test_after_disc_the_port_is_back_at_300_baud(head):
    opening(head)
    s = hdlc_session(head, 16)
    s.connect()
    assert s.disconnect() == 0x73
    back_to_300(head)
    time.sleep(0.05)
    assert opening(head, b'/?12345678!\r\n') == IDENTIFICATION   # answers mode E again
    s = hdlc_session(head, 16)
    s.connect()
    assert s.disconnect() == 0x73
    back_to_300(head)


def test_other_meters_malformed_and_unsupported_requests_get_no_answer(head):
    os.write(head, b'/?87654321!\r\n' + b'\x00\x13garbage\r\n' + b'/?!!\r\n' +
             b'/?' + b'9' * 50 + b'!\r\n')
    assert read_line(head, 0.3) is None
    # a data readout (mode C, ACK 0 5 0) is not offered: silence, and the port stays at 300
    os.write(head, b'/?!\r\n')
    assert read_line(head) == IDENTIFICATION
    os.write(head, b'\x06050\r\n')
    assert read_line(head, 0.3) is None
    assert opening(head) == IDENTIFICATION
    s = hdlc_session(head, 16)
    s.connect()
    assert s.disconnect() == 0x73
    back_to_300(head)


def test_snrm_again_on_a_live_link_keeps_the_port_in_hdlc(head):
    opening(head)
    s = hdlc_session(head, 16)
    s.connect()
    s.hdlc_connect()                                  # SNRM on the live link: link restarts
    s.associate()
    assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == b'MMM0000012345678'
    s.release()
    assert s.disconnect() == 0x73
    back_to_300(head)
