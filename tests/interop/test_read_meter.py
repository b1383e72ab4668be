"""tools/read_meter.py, the README's way to read a meter from the command line, against the
virtual meter over every line it has: the TCP wrapper, HDLC over TCP, the RS485 and optical
pseudo-terminals (which Gurux's own example client cannot open), and twice over one management
association, as the README shows (the client counter continues from the last run)."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter, ROOT  # noqa: E402

TOOL = [sys.executable, os.path.join(ROOT, 'tools', 'read_meter.py')]


@pytest.fixture(scope='module')
def meter():
    with VirtualMeter(hdlc_port=True, rs485_pty=True, optical_pty=True) as vm:
        yield vm
        assert 'Traceback' not in vm.output(), vm.output()


def run(*args):
    p = subprocess.run(TOOL + list(args), cwd=ROOT, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    return p.stdout.decode()


def test_management_association_twice_over_the_wrapper(meter):
    for _ in range(2):
        out = run('tcp:127.0.0.1:%d' % meter.port, '--sap', '1', '0.0.1.0.0.255:2')
        assert out.startswith('0.0.1.0.0.255:2 07')      # a date-time, year 20xx


def test_public_association_over_hdlc_over_tcp(meter):
    assert run('hdlc:127.0.0.1:%d' % meter.hdlc_port, '--sap', '16',
               '0.0.42.0.0.255:2') == '0.0.42.0.0.255:2 MMM0000012345678\n'


def test_reader_association_over_the_rs485_pty(meter):
    out = run(meter.rs485_pty, '--line', 'rs485', '--sap', '17', '1.0.1.8.0.255:2')
    assert out.startswith('1.0.1.8.0.255:2 ')


def test_public_association_over_the_optical_pty_after_the_mode_e_opening(meter):
    assert run(meter.optical_pty, '--line', 'optical', '0.0.42.0.0.255:2') == \
        '0.0.42.0.0.255:2 MMM0000012345678\n'
