"""Every command README.md shows in a code block is run by a test here or elsewhere, or is marked
as not run with the reason: the table below names, for each, the test that runs it or why it
cannot be run here. A new command in the README without an entry fails this test. The two HIL
runs against the virtual meter are run here as written."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ('make ', '.venv/bin/python ', 'python ', 'mpremote ', 'openssl ', 'printf ')

# (pattern the command matches, the test that runs it | 'not run: why')
COVERED = [
    (r'^make sim$', 'here'),
    (r'^make test$', 'not run: it is the suite this test is part of (.ci/run runs it)'),
    (r'^make sim SIM_ARGS="--hdlc-port 4061 --optical-pty --rs485-pty"$', 'here'),
    (r'^\.venv/bin/python tools/read_meter\.py ', 'tests/interop/test_read_meter.py'),
    (r'^python main\.py ', 'not run: Gurux\'s example client is not on PyPI (the README says so);'
                           ' tests/interop/gurux_session.py drives the same library'),
    (r'^\.venv/bin/python tools/provision\.py --state sim-state$', 'tests/test_provision.py'),
    (r'^\.venv/bin/python tools/provision\.py --device ', 'tests/test_provision.py'),
    (r'^\.venv/bin/python tools/provision\.py --state sim-state --anchor ',
     'tests/test_provision_pki.py'),
    (r'^\.venv/bin/python tools/provision\.py --(enroll|import-certificates) ',
     'tests/test_provision_pki.py'),
    (r'^(openssl|printf) ', 'tests/test_provision_pki.py'),
    (r'^make deploy BOARD=', 'tests/test_board_packaging.py'),
    (r'^\.venv/bin/python -m pytest tests/hil$', 'here'),
    (r'^\.venv/bin/python -m pytest tests/hil --line rs485$', 'here'),
    (r'^\.venv/bin/python -m pytest tests/hil --target (/dev/|tcp:)',
     'not run: needs a board on a serial line or the network'),
]


def readme_commands():
    """Command lines of README.md's code blocks (indented by 4, or fenced), with a trailing
    backslash continuation joined."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        lines = f.read().split('\n')
    out, fenced, prev_blank = [], False, True
    in_block = False
    for line in lines:
        if line.startswith('```'):
            fenced = not fenced
            continue
        if fenced:
            text = line
        elif line.startswith('    ') and (in_block or prev_blank):
            text = line[4:]
            in_block = True
        else:
            in_block = False
            prev_blank = not line.strip()
            continue
        prev_blank = not line.strip()
        text = text.split(' #')[0].strip()             # a trailing comment
        if out and out[-1].endswith('\\'):
            out[-1] = out[-1][:-1].rstrip() + ' ' + text
        elif text.startswith(PROGRAMS):
            out.append(text)
    return out


def test_every_readme_command_is_run_by_a_test_or_marked_not_run():
    commands = readme_commands()
    assert len(commands) >= 15, commands
    for cmd in commands:
        found = [where for pattern, where in COVERED if re.search(pattern, cmd)]
        assert found, 'README command with no test and no reason: %r' % cmd
        where = found[0]
        if where.startswith('not run: ') or where == 'here':
            continue
        assert os.path.isfile(os.path.join(ROOT, where)), where


def test_the_covered_tests_run_what_the_readme_shows():
    """A named test file really runs the tool or target of its commands."""
    tokens = {'tests/test_provision.py': ['provision.py', "'--device'", "'--state'"],
              'tests/test_provision_pki.py': ["'--enroll'", "'--import-certificates'",
                                              "'--anchor'", 'openssl-ca'],
              'tests/interop/test_read_meter.py': ['read_meter.py', "'--line'"],
              'tests/test_board_packaging.py': ["'deploy'"],
              'tests/interop/test_virtual_meter.py': ['VirtualMeter']}
    for path, words in tokens.items():
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        for w in words:
            assert w in text, (path, w)


def _free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize('sim_args', ['', '--hdlc-port 4061 --optical-pty --rs485-pty'])
def test_make_sim_as_the_readme_shows(sim_args, tmp_path):
    """`make sim` and `make sim SIM_ARGS=...` (with a free port and a private state directory
    added, so that the test disturbs nothing): the meter comes up and serves (read_meter)."""
    import signal
    import time
    wrapper, hdlc = _free_port(), _free_port()
    args = sim_args.replace('4061', str(hdlc))
    args += ' --wrapper-port %d --state %s' % (wrapper, tmp_path / 'state')
    p = subprocess.Popen(['make', '-s', 'sim', 'SIM_ARGS=' + args.strip()], cwd=ROOT,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out = b''
        deadline = time.time() + 60
        while b'[meter] ready' not in out and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            out += line
        assert b'[meter] ready' in out, out.decode()
        target = 'hdlc:127.0.0.1:%d' % hdlc if 'hdlc' in sim_args else 'tcp:127.0.0.1:%d' % wrapper
        if 'pty' in sim_args:
            assert b'optical' in out and b'rs485' in out and b'/dev/pts/' in out, out.decode()
        r = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'read_meter.py'), target,
                            '--sap', '16', '0.0.42.0.0.255:2'], cwd=ROOT,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        assert r.stdout.decode() == '0.0.42.0.0.255:2 MMM0000012345678\n', r.stdout.decode()
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=30)


@pytest.mark.parametrize('args', [[], ['--line', 'rs485']])
def test_hil_suite_against_the_virtual_meter_as_the_readme_shows(args):
    p = subprocess.run([sys.executable, '-m', 'pytest', 'tests/hil', '-q', '-p',
                        'no:cacheprovider'] + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    out = p.stdout.decode()
    assert p.returncode == 0 and ' passed' in out and 'failed' not in out, out
