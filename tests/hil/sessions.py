"""Whole client sessions against any meter: the virtual meter, a board on a serial line (RS485 or
the optical port through an IR head) or a board's TCP wrapper. The same scripts run in
tests/hil (any target), in the board emulation tests, in the memory test and in `make bench`.

A target makes connected GuruxSessions (transport chosen by the target: wrapper over TCP, HDLC on
RS485, IEC 62056-21 mode E then HDLC on the optical port) and ends them. Credentials carry what a
client must know about the meter: keys, LLS password, and where its invocation counter stands.

    creds = Credentials()                       # the virtual meter's public demo values
    with parse_target('sim', creds) as t:       # or '/dev/ttyUSB0', 'tcp:192.168.1.20:4059'
        summary = management_session(t, creds)
"""
import json
import os
import select
import sys
import termios
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))
for _p in (os.path.join(_ROOT, 'tools'), os.path.dirname(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from interop.gurux_session import (  # noqa: E402
    AssociationRejected, FdStream, GuruxSession, make_object, DEMO_AK, DEMO_EK, DEMO_PASSWORD,
    DEMO_HLS_SECRET, CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE, demo_client_signing_key)

LOGICAL_DEVICE_NAME = b'MMM0000012345678'   # firmware/config.py default
IC_FILE = os.path.join(_ROOT, 'build', 'hil-ic.json')
_IC_EPOCH = 1700000000        # invocation counters default to 8 per second since then
_IC_PER_SESSION = 2000        # one session never uses this many, and it is at least the
                              # meter's client_counter_step (default 1000): a run after a
                              # restart starts above every floor

_BAUDS = {300: termios.B300, 600: termios.B600, 1200: termios.B1200, 2400: termios.B2400,
          4800: termios.B4800, 9600: termios.B9600, 19200: termios.B19200,
          38400: termios.B38400, 57600: termios.B57600, 115200: termios.B115200}
# IEC 62056-21 baud rate characters of mode E (Z) and their rates
_MODE_E_BAUD = {b'0': 300, b'1': 600, b'2': 1200, b'3': 2400, b'4': 4800, b'5': 9600,
                b'6': 19200}


class Credentials:
    """What the client knows: EK, AK, LLS password, its own system title, the meter's system title
    (None: not checked) and its invocation counter. A real board keeps the highest counter it saw
    from each client title across restarts, so counters must rise from run to run: the first one
    is `ic_start`, else the larger of 8 per second since 2023-11-14 and the last counter recorded
    in `ic_file` (build/hil-ic.json) for this client system title (whatever the target: one
    meter may be reached over several lines). Each session gets a fresh block of 2000."""

    def __init__(self, ek=DEMO_EK, ak=DEMO_AK, password=DEMO_PASSWORD,
                 client_title=CLIENT_SYSTEM_TITLE, server_title=SERVER_SYSTEM_TITLE,
                 ic_start=None, ic_file=None):
        self.ek = bytes(ek)
        self.ak = bytes(ak)
        self.password = password if isinstance(password, bytes) else password.encode()
        self.client_title = bytes(client_title)
        self.server_title = bytes(server_title) if server_title else None
        self.ic_file = ic_file
        self.key = self.client_title.hex().upper()
        if ic_start is None:
            ic_start = max((int(time.time()) - _IC_EPOCH) * 8, self._recorded() + _IC_PER_SESSION)
        self._next = ic_start

    def _recorded(self):
        if not self.ic_file:
            return 0
        try:
            with open(self.ic_file) as f:
                return int(json.load(f).get(self.key, 0))
        except (OSError, ValueError, TypeError):
            return 0

    def next_ic(self):
        ic = self._next
        self._next += _IC_PER_SESSION
        if self._next >= 1 << 32:
            raise RuntimeError('client invocation counter space used up: give --ic-start')
        return ic

    def used(self, ic):
        """Record the counter the session got to (so the next run starts above it)."""
        if not self.ic_file:
            return
        try:
            with open(self.ic_file) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        if int(data.get(self.key, 0)) < ic:
            data[self.key] = ic
            os.makedirs(os.path.dirname(self.ic_file), exist_ok=True)
            with open(self.ic_file, 'w') as f:
                json.dump(data, f)


# --- targets -------------------------------------------------------------------------------------

class Target:
    """Makes connected sessions; end(s) closes one (release is the script's business)."""
    name = 'target'
    transport = 'wrapper'

    def session(self, sap, **kw):
        raise NotImplementedError

    def end(self, s):
        s.close()

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SimTarget(Target):
    """The virtual meter (make sim) on a free port, over the TCP wrapper; `heap` as SIM_HEAP.
    With `line` 'rs485' or 'optical' the sessions go through its pseudo-terminal instead."""

    def __init__(self, heap=None, line=None, **kw):
        from sim_process import VirtualMeter
        if line not in (None, 'wrapper', 'rs485', 'optical'):
            raise ValueError('line must be wrapper, rs485 or optical')
        self.line = None if line == 'wrapper' else line
        if self.line:
            kw[self.line + '_pty'] = True
        self.meter = VirtualMeter(heap=heap, **kw).start()
        self.serial = None
        if self.line:
            self.serial = SerialTarget(getattr(self.meter, self.line + '_pty'), self.line)
            self.transport = self.serial.transport
        self.name = 'sim' + (' %s' % self.line if self.line else '') + (
            ' (heap %s)' % heap if heap else '')

    def session(self, sap, **kw):
        if self.serial is not None:
            return self.serial.session(sap, **kw)
        s = GuruxSession('127.0.0.1', self.meter.port, sap, **kw)
        s.connect()
        return s

    def end(self, s):
        if self.serial is not None:
            return self.serial.end(s)
        s.close()

    def close(self):
        if self.serial is not None:
            self.serial.close()
        self.meter.stop()


class TcpTarget(Target):
    """A board's IEC 62056-47 wrapper (Wi-Fi) at host:port, server wPort `wport`."""

    def __init__(self, host, port, wport=1):
        self.host, self.port, self.wport = host, port, wport
        self.name = 'tcp:%s:%d' % (host, port)

    def session(self, sap, **kw):
        s = GuruxSession(self.host, self.port, sap, server_address=self.wport, **kw)
        s.connect()
        return s


def set_line(fd, baud, seven_e_one=False):
    """Raw mode at `baud`, 8N1 or 7E1. A pseudo-terminal keeps CS8 and may refuse 7E1 (EINVAL):
    then 8N1 at the same speed (the emulated and virtual meters ignore the line anyway)."""
    speed = _BAUDS[baud]
    cc = termios.tcgetattr(fd)[6]
    cc[termios.VMIN] = 0
    cc[termios.VTIME] = 0
    base = termios.CREAD | termios.CLOCAL
    try:
        cflag = base | ((termios.CS7 | termios.PARENB) if seven_e_one else termios.CS8)
        termios.tcsetattr(fd, termios.TCSADRAIN, [0, 0, cflag, 0, speed, speed, cc])
    except termios.error:
        if not seven_e_one:
            raise
        termios.tcsetattr(fd, termios.TCSADRAIN, [0, 0, base | termios.CS8, 0, speed, speed, cc])
    assert termios.tcgetattr(fd)[4] == speed       # the speed itself is always taken


def _read_line(fd, timeout):
    buf = b''
    end = time.monotonic() + timeout
    while not buf.endswith(b'\n'):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 64)
        if not chunk:
            break
        buf += chunk
    return buf


class SerialTarget(Target):
    """A serial device (a USB-RS485 adapter, a USB IR head, or a pseudo-terminal). `line`:
    'rs485' (HDLC at `baud` 8N1, addressed by `physical_address`) or 'optical' (IEC 62056-21
    mode E at 300 baud 7E1 with `device_address` or none, then HDLC at the offered baud)."""

    def __init__(self, path, line='rs485', physical_address=17, baud=9600, device_address=''):
        if line not in ('rs485', 'optical'):
            raise ValueError('line must be rs485 or optical')
        self.path = path
        self.line = line
        self.physical_address = physical_address
        self.baud = baud
        self.device_address = device_address
        self.transport = 'hdlc' if line == 'rs485' else 'hdlc-mode-e'
        self.name = '%s (%s)' % (path, line)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        if line == 'rs485':
            set_line(self.fd, baud)
        else:
            set_line(self.fd, 300, seven_e_one=True)
        termios.tcflush(self.fd, termios.TCIOFLUSH)

    def opening(self):
        """IEC 62056-21 mode E: request, identification, ACK 2 Z 2, switch to the offered baud."""
        fd = self.fd
        os.write(fd, b'/?' + self.device_address.encode() + b'!\r\n')
        ident = _read_line(fd, 3.0)
        if not (ident.startswith(b'/') and ident.endswith(b'\r\n') and len(ident) > 6
                and ident[5:7] == b'\\2'):
            raise AssertionError('no mode E identification from the optical port: %r' % ident)
        z = ident[4:5]
        baud = _MODE_E_BAUD.get(z)
        if baud is None:
            raise AssertionError('identification offers an unknown baud rate %r' % z)
        os.write(fd, b'\x062' + z + b'2\r\n')
        termios.tcdrain(fd)
        time.sleep(0.3)          # the ACK goes out at 300 baud (about 200 ms) before the switch
        set_line(fd, baud)
        return ident

    def session(self, sap, **kw):
        if self.line == 'optical':
            self.opening()
        s = GuruxSession(None, None, sap, transport=self.transport, stream=FdStream(self.fd),
                         physical_address=self.physical_address, **kw)
        s.connect()
        return s

    def end(self, s):
        try:
            if s.sock is not None:
                s.disconnect()
        finally:
            s.close()
            if self.line == 'optical':
                time.sleep(0.05)
                set_line(self.fd, 300, seven_e_one=True)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def parse_target(spec, creds=None, **opts):
    """'sim' | 'tcp:HOST:PORT' | a serial device path. `opts`: line ('rs485' or 'optical';
    for sim also None = the TCP wrapper), physical_address, baud, device_address (serial);
    heap (sim)."""
    if spec == 'sim':
        return SimTarget(heap=opts.get('heap'), line=opts.get('line'))
    if spec.startswith('tcp:'):
        host, _, port = spec[4:].rpartition(':')
        if not host or not port.isdigit():
            raise ValueError('tcp target must be tcp:HOST:PORT')
        return TcpTarget(host, int(port), opts.get('wport', 1))
    return SerialTarget(spec, opts.get('line') or 'rs485', opts.get('physical_address', 17),
                        opts.get('baud', 9600), opts.get('device_address') or '')


# --- the sessions --------------------------------------------------------------------------------

def _keys(creds):
    return dict(block_cipher_key=creds.ek, authentication_key=creds.ak,
                client_system_title=creds.client_title)


_AUTH = {16: 'none', 17: 'low', 1: 'hls-gmac', 2: 'hls-ecdsa', 3: 'hls-sha256'}
_CIPHERED = (1, 2, 3)


def _run(target, creds, sap, script, **kw):
    auth = _AUTH[sap]
    if sap == 17:
        kw.setdefault('password', creds.password)
    if sap == 3:
        kw.setdefault('password', DEMO_HLS_SECRET)
    if sap == 2:            # suite 1, the demo client's signing key, a 32-byte challenge
        kw.setdefault('security_suite', 1)
        kw.setdefault('signing_key', demo_client_signing_key(kw['security_suite']))
        kw.setdefault('ctos_challenge', os.urandom(32))
    if sap in _CIPHERED:
        kw.setdefault('ciphered', True)
        kw.setdefault('invocation_counter', creds.next_ic())
    kw.update(_keys(creds))
    s = target.session(sap, authentication=auth, **kw)
    try:
        return script(s)
    finally:
        if sap in _CIPHERED:
            creds.used(s.invocation_counter)
        target.end(s)


def management_session(target, creds, max_pdu=128, sap=1, **kw):
    """HLS-GMAC (SAP 1; or HLS-ECDSA on suite 1, SAP 2, `server_public_key` in kw; or HLS-SHA256,
    SAP 3), every APDU authenticated and encrypted, ten GETs of which one is the object_list of
    the current association, sent in blocks (the client offers a `max_pdu` of 128), then
    release. Returns {'gets', 'object_list_blocks', 'objects', 'server_ics'}."""
    suite = 1 if sap == 2 else 0
    setup_ln = '0.0.43.0.1.255' if sap == 2 else '0.0.43.0.0.255'

    def script(s):
        s.associate()
        if creds.server_title is not None:
            assert s.server_system_title == creds.server_title, s.server_system_title
        ldn = make_object(1, '0.0.42.0.0.255')
        clock = make_object(8, '0.0.1.0.0.255')
        energy = make_object(3, '1.0.1.8.0.255')
        current = make_object(15, '0.0.40.0.0.255')
        setup = make_object(64, setup_ln)
        gets = 0
        assert bytes(s.read_raw_value(ldn, 1)) == bytes((0, 0, 42, 0, 0, 255)); gets += 1
        assert len(bytes(s.read_raw_value(ldn, 2))) > 0; gets += 1
        s.read(clock, 2); gets += 1
        s.read(clock, 3); gets += 1
        s.read(energy, 3); gets += 1
        assert s.read_raw_value(energy, 2) >= 0; gets += 1
        before = len(s.server_invocation_counters)
        objects = s.read(current, 2); gets += 1
        blocks = len(s.server_invocation_counters) - before
        policy = s.read_raw_value(setup, 2); gets += 1
        assert policy & 0x0C == 0x0C, policy      # authenticated and encrypted requests
        assert s.read_raw_value(setup, 3) == suite; gets += 1
        assert bytes(s.read_raw_value(setup, 4)) == creds.client_title; gets += 1
        ics = s.server_invocation_counters
        assert ics == sorted(set(ics)), ics        # a fresh server counter on every reply
        s.release()
        return {'gets': gets, 'object_list_blocks': blocks, 'objects': len(objects),
                'server_ics': len(ics)}
    return _run(target, creds, sap, script, max_pdu=max_pdu, **kw)


def public_session(target, creds):
    """SAP 16, no security: logical device name, clock, own object list; release."""
    def script(s):
        s.associate()
        name = bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2))
        s.read(make_object(8, '0.0.1.0.0.255'), 2)
        objects = s.read(make_object(15, '0.0.40.0.0.255'), 2)
        s.release()
        return {'name': name, 'objects': len(objects)}
    return _run(target, creds, 16, script)


def reader_session(target, creds):
    """SAP 17, LLS: the energy register; release."""
    def script(s):
        s.associate()
        energy = make_object(3, '1.0.1.8.0.255')
        s.read(energy, 3)
        wh = s.read_raw_value(energy, 2)
        s.release()
        return {'energy': wh}
    return _run(target, creds, 17, script)


def wrong_password_is_rejected(target, creds):
    """SAP 17 with a wrong LLS password: AARE rejected-permanent, authentication-failure (13)."""
    def script(s):
        try:
            s.associate()
        except AssociationRejected as e:
            return (e.result, e.diagnostic)
        raise AssertionError('a wrong password was accepted')
    return _run(target, creds, 17, script, password=creds.password + b'x')
