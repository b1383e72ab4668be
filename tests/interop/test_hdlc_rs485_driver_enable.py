"""The board UART transport (firmware/transports/uart.py) drives an RS485 transceiver's
driver-enable pin: raised before each transmission, released only after the UART reports the last
bit sent (txdone), never while a line change is pending. Runs under the MicroPython unix port
with a fake UART (an io.IOBase stream, as asyncio polls it) and a fake Pin, because that is the
asyncio the boards run; the whole RS485 line (serve_hdlc, multidrop) answers an SNRM through it."""
import os
import subprocess
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = r'''
import asyncio
import io
from transports.uart import UartPort
from transports import hdlc_serve
from dlms import hdlc

LOG = []


class FakePin:
    def __init__(self):
        self.level = None

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        LOG.append(('de', v))


class FakeUart(io.IOBase):
    """Bytes written stay 'on the wire' for `busy` txdone() polls."""

    def __init__(self, pin, busy=3):
        self.pin = pin
        self.busy = busy
        self.left = 0
        self.rx = bytearray()
        self.written = bytearray()

    def ioctl(self, req, arg):
        if req == 3:                               # MP_STREAM_POLL
            ready = 0
            if arg & 1 and self.rx:
                ready |= 1
            if arg & 4:
                ready |= 4
            return ready
        return 0

    def write(self, buf):
        LOG.append(('write', bytes(buf), self.pin.level))
        self.written.extend(buf)
        self.left = self.busy
        return len(buf)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self.rx)
        d = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return d

    def txdone(self):
        if self.left:
            self.left -= 1
            LOG.append(('busy', self.pin.level))
            return False
        LOG.append(('done', self.pin.level))
        return True

    def init(self, **kw):
        LOG.append(('init', self.left, sorted(kw.items())))


def check_write(active):
    del LOG[:]
    pin = FakePin()
    uart = FakeUart(pin)
    port = UartPort(uart, pin, de_active=active)
    idle = 1 - active
    assert pin.level == idle
    del LOG[:]
    asyncio.run(port.write(b'\x7e\xa0\x07\x7e'))
    kinds = [e[0] for e in LOG]
    assert kinds == ['de', 'write', 'busy', 'busy', 'busy', 'done', 'de'], LOG
    assert LOG[0] == ('de', active)
    assert LOG[1][2] == active                       # DE up while the bytes go out
    assert all(e[1] == active for e in LOG if e[0] in ('busy', 'done'))
    assert LOG[-1] == ('de', idle)                   # released after the last bit


def check_line_change_waits_for_the_last_bit():
    del LOG[:]
    pin = FakePin()
    uart = FakeUart(pin)
    port = UartPort(uart, pin, invert=3)
    del LOG[:]
    uart.left = 2                                    # something still being sent
    asyncio.run(port.set_line(9600, 8, None))
    assert [e[0] for e in LOG] == ['busy', 'busy', 'done', 'init'], LOG
    assert LOG[-1] == ('init', 0, [('baudrate', 9600), ('bits', 8), ('invert', 3),
                                   ('parity', None), ('stop', 1)])
    assert port.line == (9600, 8, None)


class FakeSession:
    def handle(self, apdu):
        return None

    def close(self):
        pass


class FakeServer:
    max_pdu = 1024

    def session(self, client, logical):
        return FakeSession()


def check_rs485_line_answers_snrm_with_de_raised():
    del LOG[:]
    pin = FakePin()
    uart = FakeUart(pin)
    port = UartPort(uart, pin)
    other = hdlc.encode_frame(hdlc.encode_server_address(1, 18), b'\x21', 0x93)
    mine = hdlc.encode_frame(hdlc.encode_server_address(1, 17), b'\x21', 0x93)
    uart.rx.extend(other + mine)

    async def run():
        try:
            await asyncio.wait_for(hdlc_serve.serve_hdlc(
                FakeServer(), port, {'physical_address': 17}, lambda m: None, 'rs485',
                multidrop=True), 0.6)
        except asyncio.TimeoutError:
            pass

    asyncio.run(run())
    writes = [e for e in LOG if e[0] == 'write']
    assert len(writes) == 1, LOG                     # the other meter's SNRM got nothing
    f = hdlc.parse_frame(writes[0][1], 1, len(writes[0][1]) - 1)
    assert f.control == 0x73 and f.src == hdlc.encode_server_address(1, 17)
    assert writes[0][2] == 1 and pin.level == 0


check_write(1)
check_write(0)
check_line_change_waits_for_the_last_bit()
check_rs485_line_answers_snrm_with_de_raised()
print('driver-enable ok')
'''


def _micropython():
    here = os.path.join(os.path.dirname(sys.executable), 'micropython')
    return here if os.access(here, os.X_OK) else 'micropython'


def test_driver_enable_is_held_until_the_uart_reports_the_last_bit_sent():
    env = dict(os.environ)
    env['MICROPYPATH'] = ':'.join(['.frozen', os.path.join(_ROOT, 'firmware'),
                                   os.path.join(_ROOT, 'lib')])
    proc = subprocess.run([_micropython(), '-c', _SCRIPT], cwd=_ROOT, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0 and 'driver-enable ok' in out, out
