"""tools/provision.py and the demo-key rule: a provisioned virtual meter answers only to the
printed keys and never shows them; provisioning does not overwrite keys without --force; the
board path writes through mpremote (a stand-in that runs the script on the MicroPython unix
port); a board refuses ciphered service with the public demo keys unless its configuration
allows them, the virtual meter allows them by default and says so; a meter whose keystore has
no good copy refuses ciphered service, keeps serving the public client and records why."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from sim_process import VirtualMeter, MICROPYTHON  # noqa: E402

from dlms import keystore  # noqa: E402
from dlms.store import Store  # noqa: E402
from interop.gurux_session import (  # noqa: E402
    GuruxSession, make_object, AssociationRejected, HlsFailed)
from test_server import hls_aarq, aare_result, PUBLIC_AARQ  # noqa: E402

HOST = '127.0.0.1'
PROVISION = os.path.join(ROOT, 'tools', 'provision.py')


def provision(*args):
    return subprocess.run([sys.executable, PROVISION] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def settings(out):
    text = out.decode()
    get = lambda pattern: re.search(pattern, text).group(1)  # noqa: E731
    return {'title': bytes.fromhex(get(r'server system title +([0-9A-F]{16})')),
            'ek': bytes.fromhex(get(r'EK  global unicast key +([0-9A-F]{32})')),
            'ak': bytes.fromhex(get(r'AK  authentication key +([0-9A-F]{32})')),
            'kek': bytes.fromhex(get(r'KEK master key +([0-9A-F]{32})')),
            'bk': bytes.fromhex(get(r'BK  broadcast key +([0-9A-F]{32})')),
            'password': get(r'LLS, password (\S+)'),
            'hls_secret': get(r'(?m)secret (\S{16,64})$')}


def secrets_of(s):
    return [s['ek'].hex().upper(), s['ak'].hex().upper(), s['kek'].hex().upper(),
            s['bk'].hex().upper(), s['password'], s['hls_secret']]


def test_provisioned_virtual_meter_answers_only_to_the_printed_keys(tmp_path):
    state = str(tmp_path / 'state')
    p = provision('--state', state, '--serial', '7')
    assert p.returncode == 0, p.stderr
    s = settings(p.stdout)
    assert s['title'] == b'MMM' + (7).to_bytes(5, 'big')
    assert len(set([s['ek'], s['ak'], s['kek'], s['bk']])) == 4
    vm = VirtualMeter(state_dir=state).start()
    try:
        out = vm.output()
        assert 'keys: provisioned (values not shown)' in out and 'demo keys' not in out
        for secret in secrets_of(s):
            assert secret not in out
        m = GuruxSession(HOST, vm.port, 1, authentication='hls-gmac', ciphered=True,
                         block_cipher_key=s['ek'], authentication_key=s['ak'])
        m.connect()
        m.associate()
        assert m.server_system_title == s['title']
        assert bytes(m.read_raw_value(make_object(64, '0.0.43.0.0.255'), 5)) == s['title']
        m.release()
        m.close()
        demo = GuruxSession(HOST, vm.port, 1, authentication='hls-gmac', ciphered=True)
        demo.connect()
        with pytest.raises((AssociationRejected, HlsFailed)):
            demo.associate()
        demo.close()
        r = GuruxSession(HOST, vm.port, 17, authentication='low', password=s['password'])
        r.connect()
        r.associate()
        r.release()
        r.close()
        bad = GuruxSession(HOST, vm.port, 17, authentication='low', password=b'12345678')
        bad.connect()
        with pytest.raises(AssociationRejected):
            bad.associate()
        bad.close()
    finally:
        vm.stop()
    for secret in secrets_of(s):
        assert secret not in vm.output()


def test_provision_does_not_overwrite_keys_without_force(tmp_path):
    state = str(tmp_path / 'state')
    first = settings(provision('--state', state).stdout)
    again = provision('--state', state)
    assert again.returncode == 1 and b'--force' in again.stderr and not again.stdout
    rec = Store(state).load(keystore.RECORD, True)
    assert bytes.fromhex(rec['keys']['ek']) == first['ek']
    forced = provision('--state', state, '--force')
    assert forced.returncode == 0
    second = settings(forced.stdout)
    assert second['ek'] != first['ek'] and second['title'] != first['title']
    rec = Store(state).load(keystore.RECORD, True)
    assert bytes.fromhex(rec['keys']['ek']) == second['ek'] and rec['ic']['server'] == 0
    for secret in secrets_of(first) + secrets_of(second):
        assert secret.encode() not in again.stderr + forced.stderr


def test_provision_writes_a_board_through_mpremote_run(tmp_path):
    board = tmp_path / 'board'
    board.mkdir()
    calls = tmp_path / 'calls.txt'
    fake = tmp_path / 'fake_mpremote.py'
    fake.write_text(
        'import os, subprocess, sys\n'
        'a = sys.argv[1:]\n'
        'assert a[0] == "connect" and a[2] == "run", a\n'
        'open(os.environ["FAKE_CALLS"], "a").write(a[1] + " " + a[3] + "\\n")\n'
        'env = dict(os.environ)\n'
        'env["MICROPYPATH"] = ".frozen:" + os.environ["FAKE_LIB"]\n'
        'r = subprocess.run([os.environ["FAKE_MICROPYTHON"], a[3]], cwd=os.environ["FAKE_BOARD"],'
        ' env=env)\n'
        'sys.exit(r.returncode)\n')
    env = dict(os.environ, FAKE_CALLS=str(calls), FAKE_LIB=os.path.join(ROOT, 'lib'),
               FAKE_MICROPYTHON=MICROPYTHON, FAKE_BOARD=str(board))
    cmd = [sys.executable, PROVISION, '--device', '/dev/ttyFAKE0', '--mpremote',
           '%s %s' % (sys.executable, fake)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    s = settings(p.stdout)
    device, script = calls.read_text().split()
    assert device == '/dev/ttyFAKE0'
    assert not os.path.exists(script)            # the script with the keys is gone
    rec = Store(str(board / 'state')).load(keystore.RECORD, True)
    assert bytes.fromhex(rec['keys']['ek']) == s['ek'] and rec['origin'] == 'provisioned'
    again = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
    assert again.returncode == 1 and b'--force' in again.stderr


def _meter(tmp_path, virtual, **overrides):
    sys.path.insert(0, os.path.join(ROOT, 'firmware'))
    try:
        import config as configmod
        import meter as metermod
    finally:
        sys.path.pop(0)
    cfg = configmod.load()
    cfg.update(overrides)
    store = Store(str(tmp_path / ('state-%d' % len(os.listdir(str(tmp_path))))))
    return metermod.build(cfg, store, lambda: 1700000000, os.urandom, virtual=virtual), \
        metermod


def test_board_refuses_demo_keys_unless_its_configuration_allows_them(tmp_path):
    m, metermod = _meter(tmp_path, virtual=False)
    assert m.refused and 'demo keys' in m.refused and m.server.keys is None
    s = m.server.session(1)
    assert aare_result(s.handle(hls_aarq())) == (1, 1)        # no ciphered association
    assert aare_result(m.server.session(16).handle(PUBLIC_AARQ)) == (0, 0)
    assert any('CIPHERED SERVICE REFUSED' in line for line in metermod.describe(m))
    m, _ = _meter(tmp_path, virtual=False, allow_demo_keys=True)
    assert m.refused is None and m.server.keys is not None
    m, _ = _meter(tmp_path, virtual=True)
    assert m.refused is None
    assert any('uses the public demo keys by default' in line for line in metermod.describe(m))
    m, _ = _meter(tmp_path, virtual=True, allow_demo_keys=False)
    assert m.refused and m.server.keys is None


def _only_plain_clients_served(vm):
    """The management (ciphered) association is refused, the public client still served."""
    m = GuruxSession(HOST, vm.port, 1, authentication='hls-gmac', ciphered=True)
    m.connect()
    with pytest.raises(AssociationRejected):
        m.associate()
    m.close()
    p = GuruxSession(HOST, vm.port, 16)
    p.connect()
    p.associate()
    p.release()
    p.close()


def test_virtual_meter_with_demo_keys_refused_by_its_config_serves_only_plain_clients(tmp_path):
    cfg = tmp_path / 'config.json'
    cfg.write_text(json.dumps({'allow_demo_keys': False}))
    vm = VirtualMeter(config=str(cfg)).start()
    try:
        assert 'CIPHERED SERVICE REFUSED' in vm.output()
        _only_plain_clients_served(vm)
    finally:
        vm.stop()


def test_meter_with_a_corrupt_keystore_refuses_ciphered_service_and_records_why(tmp_path):
    state = tmp_path / 'state'
    vm = VirtualMeter(state_dir=str(state)).start()
    vm.stop()
    for slot in ('keystore.0', 'keystore.1'):
        if (state / slot).exists():
            data = bytearray((state / slot).read_bytes())
            data[len(data) // 2] ^= 0x01
            (state / slot).write_bytes(bytes(data))
    vm = VirtualMeter(state_dir=str(state)).start()
    try:
        out = vm.output()
        assert 'CIPHERED SERVICE REFUSED: keystore corrupt' in out
        assert 'keystore-failure' in out
        _only_plain_clients_served(vm)
    finally:
        vm.stop()
    assert 'corrupt' in Store(str(state)).load('keystore_fault')['reason']
    # never replaced by defaults: the damaged copies are still there for a technician
    assert Store(str(state)).load(keystore.RECORD) is None


def test_provisioning_makes_the_hls_sha256_secret_and_never_leaves_the_demo_one(tmp_path):
    """SAP 3's secret is made and printed like the LLS password; a state provisioned before SAP 3
    existed gets no SAP 3 association rather than the public demo secret."""
    state = str(tmp_path / 'state')
    p = provision('--state', state)
    assert p.returncode == 0, p.stderr
    s = settings(p.stdout)
    assert len(s['hls_secret']) == 32 and s['hls_secret'] != '0123456789ABCDEF'
    rec = Store(state).load(keystore.RECORD, True)
    assert bytes.fromhex(rec['lls']['3']) == s['hls_secret'].encode()
    # as the provisioning of before: no SAP 3 secret in the record
    del rec['lls']['3']
    keystore.provision(Store(state), rec)
    vm = VirtualMeter(state_dir=state).start()
    try:
        out = vm.output()
        assert 'SAP 3' not in out.split('associations:')[1].splitlines()[0]
    finally:
        vm.stop()
    assert '3' not in Store(state).load(keystore.RECORD, True)['lls']
