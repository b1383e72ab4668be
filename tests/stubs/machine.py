# A stand-in for MicroPython's `machine` module, for booting firmware/ with a board profile
# (boards/esp32, boards/rp2040) under the MicroPython unix port. Tests only: tests/stubs goes on
# MICROPYPATH of the board emulation tests and nowhere else (a machine.py on the path shadows
# the unix port's own, nearly empty, machine module).
#
# - UART: backed by a pseudo-terminal (boards/host/hostpty.py); its path is printed as
#   "[machine] UART <id>: pseudo-terminal <path>". Transmission takes wire time: written bytes
#   reach the pseudo-terminal only once their characters would have left the pin at the
#   configured baud rate (1 start + data + parity + stop bits per character), scaled by
#   MACHINE_STUB_TIME_SCALE; txdone() is False until then. So the host tool sees bytes when a
#   real line would have carried them.
# - Pin: records every level change of an output.
# - WDT: records start and every feed; a feed later than the timeout is recorded as the reset a
#   board would have made. MACHINE_STUB_WDT_FAULT=N makes the Nth feed raise (an injected fault).
# - unique_id, reset_cause (after reset(): HARD_RESET, or WDT_RESET with MACHINE_STUB_PORT=rp2,
#   as rp2 resets through its watchdog; else PWRON_RESET), reset (records, leaves a marker for
#   the next boot in the working directory and ends the process with status 75), freq, idle.
# Everything is appended to the file named by MACHINE_STUB_LOG, one event per line:
#   <microseconds> <kind> <fields...>
import io
import os
import sys
import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_RESET_MARKER = 'machine-stub-reset'
_GET_FILENO = 10          # MP_STREAM_GET_FILENO
_POLL = 3                 # MP_STREAM_POLL
_POLL_RD = 1
_POLL_WR = 4

_log_path = os.getenv('MACHINE_STUB_LOG')
_scale = float(os.getenv('MACHINE_STUB_TIME_SCALE') or '1')
_t0 = time.ticks_us()


def _us():
    return time.ticks_diff(time.ticks_us(), _t0)


def _log(*fields):
    if not _log_path:
        return
    with open(_log_path, 'a') as f:
        f.write(' '.join([str(_us())] + [str(x) for x in fields]) + '\n')


def _host_dir():
    here = __file__
    i = here.rfind('/')
    tests = here[:i].rsplit('/', 1)[0] if i > 0 else '..'
    return tests.rsplit('/', 1)[0] + '/boards/host'


def unique_id():
    return b'\xde\xad\xbe\xef\x00\x01'


def reset_cause():
    # after reset(): what the port reports for machine.reset() (rp2 goes through the watchdog)
    try:
        os.remove(_RESET_MARKER)
    except OSError:
        return PWRON_RESET
    return WDT_RESET if os.getenv('MACHINE_STUB_PORT') == 'rp2' else HARD_RESET


def reset():
    _log('reset')
    with open(_RESET_MARKER, 'w') as f:
        f.write('1')
    print('[machine] reset')
    sys.exit(75)


def soft_reset():
    reset()


def freq(hz=None):
    return 240000000


def idle():
    pass


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._v = None
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
            _log('pin', self.id, 'mode', mode)
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._v or 0
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            _log('pin', self.id, 'level', v)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(1 - (self._v or 0))


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.last = _us()
        self.feeds = 0
        fault = os.getenv('MACHINE_STUB_WDT_FAULT')
        self.fault = int(fault) if fault else 0
        _log('wdt', 'start', timeout)

    def feed(self):
        now = _us()
        if now - self.last > self.timeout * 1000:
            _log('wdt', 'expired', (now - self.last) // 1000)
        self.last = now
        self.feeds += 1
        _log('wdt', 'feed', self.feeds)
        if self.feeds == self.fault:
            raise RuntimeError('injected fault (machine stub, feed %d)' % self.feeds)


class UART(io.IOBase):
    INV_TX = 1
    INV_RX = 2
    RTS = 1
    CTS = 2

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        if _host_dir() not in sys.path:
            sys.path.append(_host_dir())      # after the board profile: `board` stays the board's
        import hostpty
        self.id = id
        self.master, self.slave, self.path = hostpty.open_pty()
        self.baudrate = 9600
        self.bits = 8
        self.parity = None
        self.stop = 1
        self.invert = 0
        self._pending = []          # [end time in us, bytes] not yet on the wire
        self._tx_end = 0
        print('[machine] UART %s: pseudo-terminal %s' % (id, self.path))
        self._setup('open', baudrate, bits, parity, stop, kw)

    def _setup(self, what, baudrate, bits, parity, stop, kw):
        self.baudrate = baudrate
        self.bits = bits
        self.parity = parity
        self.stop = stop
        if 'invert' in kw:
            self.invert = kw['invert']
        _log('uart', self.id, what, baudrate, bits, parity, stop, 'invert', self.invert,
             'tx', _pin_id(kw.get('tx')), 'rx', _pin_id(kw.get('rx')))

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        if self._pending:
            # a board waits for (esp32) or cuts (rp2) what is still being sent: record it
            _log('uart', self.id, 'init-while-sending')
        self._setup('init', baudrate, bits, parity, stop, kw)

    def deinit(self):
        pass

    def _char_us(self):
        bits = 1 + self.bits + (0 if self.parity is None else 1) + self.stop
        return bits * 1000000 * _scale / self.baudrate

    def _push(self, now):
        """Hand the pseudo-terminal the bytes whose wire time has passed."""
        while self._pending and self._pending[0][0] <= now:
            self.master.write(self._pending.pop(0)[1])

    def write(self, buf):
        data = bytes(buf)
        now = _us()
        start = self._tx_end if self._tx_end > now else now
        char = self._char_us()
        for i in range(len(data)):
            self._pending.append([int(start + (i + 1) * char), data[i:i + 1]])
        self._tx_end = int(start + len(data) * char)
        _log('tx', self.id, len(data), int(start), self._tx_end)
        self._push(now)
        return len(data)

    def txdone(self):
        now = _us()
        self._push(now)
        return now >= self._tx_end and not self._pending

    def flush(self):
        while not self.txdone():
            time.sleep_us(100)

    def readinto(self, buf, n=-1):
        got = self.master.readinto(buf) if n < 0 else self.master.readinto(memoryview(buf)[:n])
        if got:
            _log('rx', self.id, got)
        return got

    def read(self, n=-1):
        data = self.master.read(n if n is not None and n >= 0 else 512)
        if data:
            _log('rx', self.id, len(data))
        return data

    def readline(self):
        return self.read()

    def any(self):
        return 0

    def ioctl(self, req, arg):
        self._push(_us())
        if req == _GET_FILENO:
            return self.master.fileno()
        if req == _POLL:
            import select
            p = select.poll()
            p.register(self.master, _POLL_RD)
            ready = arg & _POLL_WR
            if arg & _POLL_RD and p.poll(0):
                ready |= _POLL_RD
            return ready
        return 0


def _pin_id(p):
    if p is None:
        return '-'
    return getattr(p, 'id', p)
