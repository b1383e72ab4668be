"""firmware/ boots under the MicroPython unix port with the esp32 and with the rp2040 board
profile, as on a board: no command line, the working directory as the board's filesystem
(config.json, board.json, state/), and tests/stubs/machine.py (and network.py) standing in for the
hardware. The stand-in UARTs are pseudo-terminals that carry bytes at wire speed (scaled), so
the Gurux client talks to the meter through them exactly as through a USB-RS485 adapter or an
IR head: the same session scripts as tests/hil. The stand-in records the RS485 driver-enable
pin, the UART transmissions, the watchdog and the status LED; the test checks DE was high
exactly while the meter transmitted. A fault injected through the stand-in watchdog makes the
firmware restart the board, and the next boot reports why."""
import binascii
import importlib.util
import os
import re
import sys
import time

import pytest

_TESTS = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_TESTS)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

sys.path.insert(0, os.path.join(_ROOT, 'tools'))
from sim_process import MeterProcess, free_port  # noqa: E402
from hil.sessions import (  # noqa: E402
    Credentials, SerialTarget, TcpTarget, management_session, public_session, reader_session)

BOARDS = ('esp32', 'rp2040')
TIME_SCALE = 0.25            # wire time of the stand-in UARTs: a quarter of the real time
DE_SLACK_US = 50000          # DE may rise this long before the first bit and fall after the last
_KEYS = {'ek': '2B7E151628AED2A6ABF7158809CF4F3C', 'ak': '8E73B0F7DA0E6452C810F32B809079E5',
         'kek': '603DEB1015CA71BE2B73AEF0857D7781'}     # not the demo keys; never to be printed
_WIFI_PASSWORD = 'wifi-secret-Zq81'


def _micropython():
    here = os.path.join(os.path.dirname(sys.executable), 'micropython')
    return here if os.access(here, os.X_OK) else 'micropython'


def _module(name, *path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(_ROOT, *path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def profile(name):
    """The board profile as data, read under CPython (it imports machine only when used)."""
    return _module('board_' + name, 'boards', name, 'board.py')


ports = _module('firmware_ports', 'firmware', 'ports.py')   # the HDLC settings a line gets


class EmulatedBoard(MeterProcess):
    """firmware/main.py with a board profile and the machine stand-in; `root` is its
    filesystem (working directory)."""

    def __init__(self, name, root, fault_after=None):
        MeterProcess.__init__(self)
        self.name = name
        self.root = root
        self.cwd = root
        self.log_path = os.path.join(root, 'machine.log')
        self.fault_after = fault_after
        self.uarts = {}

    def command(self):
        return [_micropython(), os.path.join(_ROOT, 'firmware', 'main.py')]

    def environment(self):
        env = MeterProcess.environment(self)
        env['MICROPYPATH'] = ':'.join(
            ['.frozen'] + [os.path.join(_ROOT, d) for d in
                           ('tests/stubs', 'boards/' + self.name, 'firmware', 'lib')])
        env['MACHINE_STUB_LOG'] = self.log_path
        env['MACHINE_STUB_TIME_SCALE'] = str(TIME_SCALE)
        env['MACHINE_STUB_PORT'] = 'rp2' if self.name == 'rp2040' else 'esp32'
        if self.fault_after:
            env['MACHINE_STUB_WDT_FAULT'] = str(self.fault_after)
        return env

    def on_line(self, line):
        if line.startswith('[machine] UART '):
            uart, _, path = line[len('[machine] UART '):].partition(': pseudo-terminal ')
            self.uarts[int(uart)] = path

    def events(self):
        with open(self.log_path) as f:
            return [line.split() for line in f if line.strip()]


def _board_files(root, name, wrapper_port):
    import json
    cfg = dict(_KEYS, wrapper_port=wrapper_port)
    with open(os.path.join(root, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    if name == 'esp32':
        with open(os.path.join(root, 'board.json'), 'w') as f:
            json.dump({'wifi': {'ssid': 'bench', 'password': _WIFI_PASSWORD},
                       'listen': '127.0.0.1'}, f)


def _credentials():
    return Credentials(ek=binascii.unhexlify(_KEYS['ek']), ak=binascii.unhexlify(_KEYS['ak']),
                       ic_start=1000)


def de_intervals(events, pin, active):
    """[(rise_us, fall_us)] of the DE pin at its transmit level; a still-open one ends at inf."""
    spans = []
    rise = None
    for e in events:
        if e[1] == 'pin' and e[2] == str(pin) and e[3] == 'level':
            t, level = int(e[0]), int(e[4])
            if level == active and rise is None:
                rise = t
            elif level != active and rise is not None:
                spans.append((rise, t))
                rise = None
    if rise is not None:
        spans.append((rise, float('inf')))
    return spans


def check_driver_enable(events, uart, pin, active):
    """DE high exactly while the meter transmitted: every transmission lies inside one DE
    interval; every DE interval holds transmissions, rises at most DE_SLACK_US before the first
    bit, falls after the last bit and at most DE_SLACK_US later, and has no idle gap longer
    than that; nothing is read from the bus while DE is high. Returns the number of intervals."""
    spans = de_intervals(events, pin, active)
    txs = [(int(e[4]), int(e[5])) for e in events if e[1] == 'tx' and e[2] == str(uart)]
    rxs = [int(e[0]) for e in events if e[1] == 'rx' and e[2] == str(uart)]
    assert txs, 'the meter never transmitted on UART %s' % uart
    assert spans, 'DE never went to its transmit level'
    inside = {}
    for start, end in txs:
        hits = [i for i, (r, f) in enumerate(spans) if r <= start and end <= f]
        assert len(hits) == 1, 'transmission %d..%d us not inside one DE interval %s' % (
            start, end, spans)
        inside.setdefault(hits[0], []).append((start, end))
    for i, (rise, fall) in enumerate(spans):
        assert i in inside, 'DE up %d..%d us with nothing transmitted' % (rise, fall)
        tx = sorted(inside[i])
        assert tx[0][0] - rise <= DE_SLACK_US, 'DE rose %d us before the first bit' % (
            tx[0][0] - rise)
        assert fall != float('inf'), 'DE still up at the end'
        assert 0 <= fall - tx[-1][1] <= DE_SLACK_US, 'DE fell %d us after the last bit' % (
            fall - tx[-1][1])
        for (_, e1), (s2, _) in zip(tx, tx[1:]):
            assert s2 - e1 <= DE_SLACK_US, 'DE up through an idle gap of %d us' % (s2 - e1)
    for t in rxs:
        assert not any(r < t < f for r, f in spans), 'read from the bus at %d us with DE up' % t
    return len(spans)


@pytest.fixture(params=BOARDS)
def board(request, tmp_path):
    name = request.param
    port = free_port()
    _board_files(str(tmp_path), name, port)
    b = EmulatedBoard(name, str(tmp_path))
    b.wrapper_port = port
    b.start()
    yield b
    b.stop()


def test_board_boots_and_serves_sessions_through_its_emulated_uarts(board):
    prof = profile(board.name)
    out = board.output()
    # boot report: AES backend as the profile states it, keys by identity, never by value
    if board.name == 'esp32':
        assert 'AES backend cryptolib with hardware AES' in out
    else:
        assert 'AES backend cryptolib in software' in out
    assert 'keys loaded (identity = keystore fingerprint, never the value): EK ' in out
    assert 'reset cause: power-on' in out
    assert 'watchdog: %d ms' % prof.WDT_TIMEOUT_MS in out
    creds = _credentials()
    rs485 = prof.SERIAL_PORTS['rs485']
    optical = prof.SERIAL_PORTS['optical']
    assert set(board.uarts) == {rs485['uart'], optical['uart']}, board.uarts

    # a whole management session over RS485, then the reader over it too
    t = SerialTarget(board.uarts[rs485['uart']], 'rs485',
                     physical_address=ports.line_settings(prof, rs485)['physical_address'],
                     baud=rs485['baud'])
    try:
        summary = management_session(t, creds)
        assert summary['gets'] == 10 and summary['object_list_blocks'] >= 2, summary
        assert reader_session(t, creds)['energy'] >= 0
    finally:
        t.close()

    # the optical port: IEC 62056-21 mode E at 300 baud, then HDLC
    t = SerialTarget(board.uarts[optical['uart']], 'optical', physical_address=17)
    try:
        assert public_session(t, creds)['objects'] >= 3
    finally:
        t.close()

    if board.name == 'esp32':                       # Wi-Fi station from board.json
        with TcpTarget('127.0.0.1', board.wrapper_port) as t:
            assert public_session(t, creds)['objects'] >= 3
    else:
        assert 'wrapper: listening' not in board.output()

    time.sleep(1.2)                 # one more turn of the main loop: a watchdog feed
    out = board.output()
    for secret in list(_KEYS.values()) + [_WIFI_PASSWORD]:
        assert secret not in out and secret.lower() not in out, 'a secret was printed'
    assert 'Traceback' not in out, out

    events = board.events()
    intervals = check_driver_enable(events, rs485['uart'], rs485['de'], rs485['de_active'])
    assert intervals >= 20          # one per frame the meter sent on the bus
    # the optical UART was opened with the IR head's inversion and kept it at every line change
    inv = str(sum({'INV_TX': 1, 'INV_RX': 2}[n] for n in optical['invert']))  # stand-in values
    opt = [e for e in events if e[1] == 'uart' and e[2] == str(optical['uart'])]
    assert opt and all(e[e.index('invert') + 1] == inv for e in opt), opt
    assert any(e[3] == 'init' and e[4] == '9600' and e[5] == '8' for e in opt), opt
    # watchdog started with the profile's timeout, fed from the loop, never late
    assert ['wdt', 'start', str(prof.WDT_TIMEOUT_MS)] in [e[1:] for e in events]
    assert sum(1 for e in events if e[1:3] == ['wdt', 'feed']) >= 2
    assert not [e for e in events if e[1:3] == ['wdt', 'expired']]
    # status LED: a heartbeat once ready
    led = [e for e in events if e[1] == 'pin' and e[2] == str(prof.STATUS_LED) and
           e[3] == 'level']
    assert len(led) >= 3, led


@pytest.mark.parametrize('name', BOARDS)
def test_fatal_error_restarts_the_board_and_the_next_boot_reports_why(name, tmp_path):
    root = str(tmp_path)
    _board_files(root, name, free_port())
    b = EmulatedBoard(name, root, fault_after=1).start()
    try:
        assert b.wait(20) == 75, b.output()          # machine.reset() of the stand-in
    finally:
        b.stop()
    out = b.output()
    assert 'FATAL: RuntimeError: injected fault (machine stub, feed 1)' in out, out
    assert 'restarting in 1 s' in out and '[machine] reset' in out, out

    again = EmulatedBoard(name, root).start()
    try:
        out = again.output()
        cause = 'reset cause: watchdog' if name == 'rp2040' else 'reset cause: hard reset'
        assert cause in out, out
        assert re.search(r'previous run ended with a fatal error after \d+ s: RuntimeError: '
                         r'injected fault \(machine stub, feed 1\) \(restart 1 in a row\)',
                         out), out
    finally:
        again.stop()

    third = EmulatedBoard(name, root).start()       # reported once, not at every boot
    try:
        assert 'previous run ended' not in third.output()
        assert 'reset cause: power-on' in third.output()
    finally:
        third.stop()


def test_a_fatal_error_again_right_after_the_restart_waits_longer(tmp_path):
    root = str(tmp_path)
    _board_files(root, 'esp32', free_port())
    for n, delay in ((1, 1), (2, 2)):
        b = EmulatedBoard('esp32', root, fault_after=1).start()
        try:
            assert b.wait(20) == 75, b.output()
        finally:
            b.stop()
        assert 'restarting in %d s' % delay in b.output(), b.output()
        if n == 2:
            assert re.search(r'fatal error after \d+ s: .* \(restart 1 in a row\)', b.output())
    b = EmulatedBoard('esp32', root).start()
    try:
        assert re.search(r'fatal error after \d+ s: RuntimeError: .* \(restart 2 in a row\)',
                         b.output()), b.output()
    finally:
        b.stop()
