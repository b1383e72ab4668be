"""Provision a meter with fresh keys: a new system title, global unicast key (EK), broadcast key
(BK), authentication key (AK), master key (KEK), LLS password and DRBG seed, all from the host's
CSPRNG (secrets). They are written as one keystore record through the meter's own store code
(lib/dlms/store.py, lib/dlms/keystore.py): atomic, read back, counters starting at 0 for keys
that were never used.

    python tools/provision.py --state sim-state            # a virtual meter's state directory
    python tools/provision.py --device /dev/ttyUSB0        # a board, over mpremote

The client-side settings (system titles, keys, addresses) are printed once, to stdout only.
Keys are never logged and never written anywhere else; keep the printout in your head-end's
secret store. Stop the virtual meter before provisioning its state directory. A board needs its
firmware (lib/, firmware/) installed first: the record is written by the board's own dlms.store.
"""
import argparse
import json
import os
import secrets
import shlex
import string
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lib'))

from dlms import keystore  # noqa: E402
from dlms.store import Store, StoreCorrupt  # noqa: E402

SECURITY_SETUP_LN = bytes((0, 0, 43, 0, 0, 255))
READER_SAP = 17
_PASSWORD_CHARS = string.ascii_letters + string.digits


class ProvisionError(Exception):
    pass


def make_identity(manufacturer='MMM', serial=None, lls_password=None, policy=0x0C):
    """Fresh values: a dict of bytes/str (what the record is made from and what is printed)."""
    m = manufacturer.encode('ascii')
    if len(m) != 3 or not manufacturer.isalpha() or not manufacturer.isupper():
        raise ProvisionError('manufacturer must be 3 upper-case letters (FLAG id)')
    if serial is None:
        device = secrets.token_bytes(5)
    else:
        if not 0 <= serial < 1 << 40:
            raise ProvisionError('serial must fit in 5 bytes')
        device = serial.to_bytes(5, 'big')
    if lls_password is None:
        lls_password = ''.join(secrets.choice(_PASSWORD_CHARS) for _ in range(16))
    if not 1 <= len(lls_password.encode()) <= 64:
        raise ProvisionError('LLS password must be 1..64 bytes')
    keys = {}
    while len(set(keys.values())) < 4:      # four distinct keys
        keys = {n: secrets.token_bytes(16) for n in ('ek', 'bk', 'ak', 'kek')}
    return {'system_title': m + device, 'ek': keys['ek'], 'bk': keys['bk'], 'ak': keys['ak'],
            'kek': keys['kek'], 'lls_password': lls_password, 'seed': secrets.token_bytes(32),
            'policy': policy}


def make_record(ident):
    return keystore.new_record(
        ident['system_title'], ident['ek'], ident['ak'], ident['kek'], ident['bk'],
        lls={READER_SAP: ident['lls_password'].encode()}, seed=ident['seed'],
        policies={SECURITY_SETUP_LN: (ident['policy'], 0)}, origin='provisioned')


def write_state(state_dir, record, force=False):
    """Write the record into a virtual meter's state directory."""
    store = Store(state_dir)
    try:
        existing = store.load(keystore.RECORD, True)
        if existing is None:
            existing = store.load('identity', True)       # the first store format
    except StoreCorrupt:
        existing = 'corrupt'
    if existing is not None and not force:
        raise ProvisionError('%s already holds keys%s; --force replaces them (the meter then '
                             'answers only to the new keys)' % (
                                 state_dir, ' (corrupt)' if existing == 'corrupt' else ''))
    keystore.provision(store, record)
    if Store(state_dir).load(keystore.RECORD, True) != record:
        raise ProvisionError('read-back of %s differs' % state_dir)


_DEVICE_SCRIPT = '''
from dlms.store import Store
from dlms import keystore
import json


def _go():
    rec = json.loads(%(record)r)
    st = Store(%(state)r)
    try:
        old = st.load('keystore', True)
    except Exception:
        old = 'corrupt'
    if old is not None and not %(force)r:
        print('PROVISION: EXISTS')
        return
    keystore.provision(st, rec)
    print('PROVISION: OK' if Store(%(state)r).load('keystore', True) == rec
          else 'PROVISION: MISMATCH')


_go()
'''


def write_device(device, record, board_state='state', force=False, mpremote=None):
    """Run a small script on the board (mpremote run) that writes the record with the board's
    own store. The script lives in a private temporary file only while mpremote runs."""
    script = _DEVICE_SCRIPT % {'record': json.dumps(record), 'state': board_state,
                               'force': bool(force)}
    cmd = shlex.split(mpremote) if mpremote else [sys.executable, '-m', 'mpremote']
    tmpdir = tempfile.mkdtemp(prefix='provision-')
    path = os.path.join(tmpdir, 'provision_meter.py')
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(script)
        proc = subprocess.run(cmd + ['connect', device, 'run', path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    finally:
        try:
            with open(path, 'r+b') as f:      # overwrite before unlinking
                n = f.seek(0, 2)
                f.seek(0)
                f.write(b'\0' * n)
        except OSError:
            pass
        try:
            os.remove(path)
        except OSError:
            pass
        os.rmdir(tmpdir)
    out = proc.stdout.decode('utf-8', 'replace')
    status = [ln.strip() for ln in out.splitlines() if ln.startswith('PROVISION:')]
    if status == ['PROVISION: OK']:
        return
    if status == ['PROVISION: EXISTS']:
        raise ProvisionError('the board already holds keys; --force replaces them')
    # never echo the script or anything it may have printed beyond the status lines
    last = out.strip().splitlines()[-1:] if out.strip() else ['no output']
    raise ProvisionError('mpremote failed (exit %d): %s' % (proc.returncode, last[0][:200]))


def client_settings(ident, host, port, target):
    h = lambda b: b.hex().upper()  # noqa: E731
    lines = [
        'Client-side settings (shown once, not stored anywhere else: keep them in your',
        'head-end\'s secret store)',
        '',
        '  meter                      %s' % target,
        '  transport                  IEC 62056-47 TCP wrapper %s:%d, server wPort 1 (virtual '
        'meter),' % (host, port),
        '                             or the board\'s configured port',
        '  referencing                logical names (LN), security suite 0 (AES-GCM-128)',
        '  server system title        %s' % h(ident['system_title']),
        '  client system title        any 8 bytes of your choice, e.g. 4D4D4D0000000001',
        '  EK  global unicast key     %s' % h(ident['ek']),
        '  AK  authentication key     %s' % h(ident['ak']),
        '  KEK master key             %s' % h(ident['kek']),
        '  BK  broadcast key          %s' % h(ident['bk']),
        '  security policy            0x%02X' % ident['policy'],
        '',
        '  client SAP 1   management  HLS-GMAC (mechanism 5), LN with ciphering, every request',
        '                             authenticated and encrypted; may key_transfer and',
        '                             security_activate',
        '  client SAP 17  reader      LLS, password %s' % ident['lls_password'],
        '  client SAP 16  public      no authentication',
        '',
        '  Gurux example: python main.py -h %s -p %d -w -c 1 -s 1 -a HighGMac '
        '-C AuthenticationEncryption -T 4D4D4D0000000001 -B %s -A %s' % (
            host, port, h(ident['ek']), h(ident['ak'])),
        '',
        'The meter keeps its invocation counters: after a restart a client continues at least',
        'client_counter_step (default 1000) above its last invocation counter.',
    ]
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument('--state', metavar='DIR', help="a virtual meter's --state directory")
    where.add_argument('--device', metavar='PORT',
                       help='a board over mpremote (serial port, "auto", rfc2217://...)')
    p.add_argument('--board-state', default='state', metavar='DIR',
                   help='state directory on the board (default: state)')
    p.add_argument('--mpremote', metavar='CMD', help='mpremote command (default: '
                   'python -m mpremote)')
    p.add_argument('--manufacturer', default='MMM', help='3-letter FLAG id (default MMM)')
    p.add_argument('--serial', type=int, help='device number in the system title (default '
                   'random)')
    p.add_argument('--lls-password', help='reader (SAP 17) password (default: 16 random '
                   'characters)')
    p.add_argument('--policy', type=lambda s: int(s, 0), default=0x0C,
                   help='initial security policy flags (default 0x0C)')
    p.add_argument('--host', default='127.0.0.1', help='address printed for clients')
    p.add_argument('--port', type=int, default=4059, help='port printed for clients')
    p.add_argument('--force', action='store_true', help='replace existing keys')
    args = p.parse_args(argv)
    try:
        ident = make_identity(args.manufacturer, args.serial, args.lls_password, args.policy)
        record = make_record(ident)
        if args.state:
            write_state(args.state, record, args.force)
            target = 'virtual meter, state directory %s' % os.path.abspath(args.state)
        else:
            write_device(args.device, record, args.board_state, args.force, args.mpremote)
            target = 'board on %s, state directory %s' % (args.device, args.board_state)
    except (ProvisionError, ValueError, OSError) as e:
        print('provision: %s' % e, file=sys.stderr)
        return 1
    print(client_settings(ident, args.host, args.port, target))
    return 0


if __name__ == '__main__':
    sys.exit(main())
