"""Provision a meter with fresh keys: a new system title, global unicast key (EK), broadcast key
(BK), authentication key (AK), master key (KEK), LLS password and DRBG seed, all from the host's
CSPRNG (secrets). They are written as one keystore record through the meter's own store code
(lib/dlms/store.py, lib/dlms/keystore.py): atomic, read back; a new key's first server
invocation counter is 1. The meter's certificates record is replaced too: it then trusts only
the CA certificates given with --anchor (none: no CA, so no HLS-ECDSA until you add one).

    python tools/provision.py --state sim-state            # a virtual meter's state directory
    python tools/provision.py --device /dev/ttyUSB0        # a board, over mpremote
    python tools/provision.py --device /dev/ttyUSB0 --anchor ca.pem    # ... trusting your CA

With a CA of your own (public key, suite 1: HLS-ECDSA, SAP 2), after provisioning with --anchor,
the meter makes its key pairs itself and the CA certifies them, through the Security setup
methods a head-end uses (management association, SAP 1, HLS-GMAC):

    python tools/provision.py --enroll tcp:HOST:PORT --keys keys.json --csr-dir csr/
        # generate_key_pair (4) and generate_certificate_request (5) for the digital-signature
        # and key-agreement keys: csr/server-sign.csr.pem, csr/server-agree.csr.pem
    (your CA signs them: KeyUsage critical, digitalSignature resp. keyAgreement)
    python tools/provision.py --import-certificates tcp:HOST:PORT --keys keys.json \
        server-sign.pem server-agree.pem client-sign.pem ...
        # import_certificate (6) each: the meter's own, and its clients' (they authenticate SAP 2)

keys.json holds the management keys as printed at provisioning, {"ek": "...", "ak": "..."} in
hex (without --keys: the virtual meter's public demo keys). Nothing secret is printed or
written by these two steps: the private keys stay in the meter, the CSRs and certificates are
public.

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
sys.path.append(os.path.join(ROOT, 'tests'))     # the DLMS client (--enroll, --import-...)

from dlms import keystore  # noqa: E402
from dlms.store import Store, StoreCorrupt  # noqa: E402

CERTIFICATES = 'certificates'       # dlms_pk/certstore.py RECORD ({'certs': [[2, 0, DER hex]]})
_CA = 2

SECURITY_SETUP_LN = bytes((0, 0, 43, 0, 0, 255))
READER_SAP = 17
SHA256_SAP = 3          # HLS-SHA256: its secret is made here too (never the public demo one)
SUITE2_KEYS = 'suite2'  # the key set of the suite 2 Security setup (firmware/meter.py)
_PASSWORD_CHARS = string.ascii_letters + string.digits


class ProvisionError(Exception):
    pass


def make_identity(manufacturer='MMM', serial=None, lls_password=None, policy=0x0C,
                  hls_secret=None):
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
    if hls_secret is None:
        hls_secret = ''.join(secrets.choice(_PASSWORD_CHARS) for _ in range(32))
    if not 16 <= len(hls_secret.encode()) <= 64:
        raise ProvisionError('HLS-SHA256 secret must be 16..64 bytes')
    keys = {}
    while len(set(keys.values())) < 4:      # four distinct keys
        keys = {n: secrets.token_bytes(16) for n in ('ek', 'bk', 'ak', 'kek')}
    keys2 = {}
    while len(set(keys2.values())) < 3:     # the suite 2 setup's own key set, 32-byte keys
        keys2 = {n: secrets.token_bytes(32) for n in ('ek', 'ak', 'kek')}
    return {'system_title': m + device, 'ek': keys['ek'], 'bk': keys['bk'], 'ak': keys['ak'],
            'kek': keys['kek'], 'lls_password': lls_password, 'hls_secret': hls_secret,
            'seed': secrets.token_bytes(32),
            'policy': policy, 'ek2': keys2['ek'], 'ak2': keys2['ak'], 'kek2': keys2['kek']}


def make_record(ident):
    return keystore.new_record(
        ident['system_title'], ident['ek'], ident['ak'], ident['kek'], ident['bk'],
        lls={READER_SAP: ident['lls_password'].encode(),
             SHA256_SAP: ident['hls_secret'].encode()}, seed=ident['seed'],
        policies={SECURITY_SETUP_LN: (ident['policy'], 0)}, origin='provisioned',
        sets={SUITE2_KEYS: (ident['ek2'], ident['ak2'], ident['kek2'])})


def read_anchors(paths):
    """The CA certificates of --anchor (PEM files) as DER, each checked to be a CA certificate
    by the meter's own reader (lib/dlms_pk/x509.py)."""
    from dlms_ca import ca as dca
    from dlms_pk import x509
    out = []
    for path in paths or ():
        with open(path) as f:
            text = f.read()
        try:
            der = dca.pem_decode(text, 'CERTIFICATE')
            cert = x509.parse(der)
        except (x509.X509Error, ValueError) as e:
            raise ProvisionError('%s: not a certificate the meter reads (%s)' % (path, e))
        if not cert.is_ca:
            raise ProvisionError('%s: not a CA certificate (BasicConstraints CA)' % path)
        out.append(bytes(der))
    return out


def certificates_record(anchors):
    """The certificates record a provisioned meter starts from: the given trust anchors and
    nothing else (a new identity: certificates of the old one, and the virtual meter's demo CA,
    must not survive)."""
    return {'certs': [[_CA, 0, der.hex().upper()] for der in anchors]}


def write_state(state_dir, record, force=False, anchors=()):
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
    certs = certificates_record(anchors)
    store.save(CERTIFICATES, certs)
    keystore.provision(store, record)
    again = Store(state_dir)
    if again.load(keystore.RECORD, True) != record or again.load(CERTIFICATES, True) != certs:
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
    certs = json.loads(%(certs)r)
    st.save('certificates', certs)
    keystore.provision(st, rec)
    again = Store(%(state)r)
    print('PROVISION: OK' if again.load('keystore', True) == rec and
          again.load('certificates', True) == certs else 'PROVISION: MISMATCH')


_go()
'''


def write_device(device, record, board_state='state', force=False, mpremote=None, anchors=()):
    """Run a small script on the board (mpremote run) that writes the record with the board's
    own store. The script lives in a private temporary file only while mpremote runs."""
    script = _DEVICE_SCRIPT % {'record': json.dumps(record), 'state': board_state,
                               'force': bool(force),
                               'certs': json.dumps(certificates_record(anchors))}
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
        '  client SAP 3   hls-sha256  HLS-SHA256 (mechanism 6), LN with ciphering (EK/AK above),',
        '                             secret %s' % ident['hls_secret'],
        '  client SAP 2   hls-ecdsa   HLS-ECDSA (mechanism 7), suite 1: needs a trust anchor',
        '                             (--anchor) and certificates (--enroll, then',
        '                             --import-certificates)',
        '  client SAP 4   hls-ecdsa-384  HLS-ECDSA (mechanism 7), suite 2 (AES-GCM-256, P-384),',
        '                             Security setup 0.0.43.0.2.255 with its own keys:',
        '  EK2 (suite 2)              %s' % h(ident['ek2']),
        '  AK2 (suite 2)              %s' % h(ident['ak2']),
        '  KEK2 (suite 2)             %s' % h(ident['kek2']),
        '',
        '  Gurux example: python main.py -h %s -p %d -w -c 1 -s 1 -a HighGMac '
        '-C AuthenticationEncryption -T 4D4D4D0000000001 -B %s -A %s' % (
            host, port, h(ident['ek']), h(ident['ak'])),
        '',
        'The meter keeps its invocation counters: after a restart a client continues at least',
        'client_counter_step (default 1000) above its last invocation counter.',
    ]
    return '\n'.join(lines)


# --- the meter's own key pairs and certificates, through the Security setup (online) ---------

SECURITY_SETUP_1 = '0.0.43.0.1.255'     # the suite 1 Security setup (HLS-ECDSA, SAP 2)
_KEY_TYPES = ((0, 'server-sign'), (1, 'server-agree'))  # key_type enum, file name


def _pem(der, label):
    import base64
    b64 = base64.b64encode(bytes(der)).decode()
    body = '\n'.join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return '-----BEGIN %s-----\n%s\n-----END %s-----\n' % (label, body, label)


def _management(target, keys_file):
    """A management (SAP 1, HLS-GMAC, ciphered) session by the test harness (gurux-dlms), the
    client invocation counter continued from build/hil-ic.json as tools/read_meter.py does."""
    from hil import sessions
    from interop.gurux_session import DEMO_EK, DEMO_AK
    ek, ak = DEMO_EK, DEMO_AK
    if keys_file:
        with open(keys_file) as f:
            k = json.load(f)
        try:
            ek, ak = bytes.fromhex(k['ek']), bytes.fromhex(k['ak'])
        except (KeyError, ValueError, TypeError):
            raise ProvisionError('%s: needs "ek" and "ak" in hex' % keys_file)
        if len(ek) != 16 or len(ak) != 16:
            raise ProvisionError('%s: "ek" and "ak" must be 16 bytes each' % keys_file)
    creds = sessions.Credentials(ek, ak, ic_file=sessions.IC_FILE)
    t = sessions.parse_target(target)
    return t, creds, sessions


class _Online:
    def __init__(self, target, keys_file):
        self.t, self.creds, self.sessions = _management(target, keys_file)
        self.s = None

    def __enter__(self):
        import contextlib
        import io
        self.t.__enter__()
        self._quiet = contextlib.redirect_stdout(io.StringIO())   # gurux prints per APDU
        self._quiet.__enter__()
        try:
            self.s = self.t.session(1, authentication='hls-gmac', ciphered=True,
                                    invocation_counter=self.creds.next_ic(),
                                    block_cipher_key=self.creds.ek,
                                    authentication_key=self.creds.ak,
                                    client_system_title=self.creds.client_title)
            self.s.associate()
        except Exception as e:
            self.__exit__(None, None, None)
            raise ProvisionError('management association refused (%s): check --keys and '
                                 'the target' % e.__class__.__name__)
        return self.s

    def __exit__(self, *exc):
        try:
            if self.s is not None:
                try:
                    self.s.release()
                except Exception:
                    pass
                self.creds.used(self.s.invocation_counter)
                self.t.end(self.s)
        finally:
            self._quiet.__exit__(None, None, None)
            self.t.__exit__(None, None, None)


def enroll(target, keys_file, csr_dir):
    """Key pairs made in the meter and their certificate requests, written as PEM files."""
    from interop.gurux_session import make_object, DataType
    os.makedirs(csr_dir, exist_ok=True)
    written = []
    with _Online(target, keys_file) as s:
        ss = make_object(64, SECURITY_SETUP_1)
        for key_type, name in _KEY_TYPES:
            try:
                s.method(ss, 4, key_type, DataType.ENUM)             # generate_key_pair
                csr = s.method(ss, 5, key_type, DataType.ENUM)       # certificate request
            except Exception as e:
                raise ProvisionError('%s: the meter refused (%s): is it built with the '
                                     'public-key part, and is the association management?'
                                     % (name, e))
            path = os.path.join(csr_dir, name + '.csr.pem')
            with open(path, 'w') as f:
                f.write(_pem(bytes(csr), 'CERTIFICATE REQUEST'))
            written.append(path)
    return written


def import_certificates(target, keys_file, paths):
    """Each PEM certificate through import_certificate (6); [(path, None | why refused)]."""
    from interop.gurux_session import make_object, DataType
    from dlms_ca import ca as dca
    from dlms_pk import x509
    ders = []
    for path in paths:
        with open(path) as f:
            try:
                ders.append((path, dca.pem_decode(f.read(), 'CERTIFICATE')))
            except (x509.X509Error, ValueError) as e:
                raise ProvisionError('%s: not a PEM certificate (%s)' % (path, e))
    results = []
    with _Online(target, keys_file) as s:
        ss = make_object(64, SECURITY_SETUP_1)
        for path, der in ders:
            try:
                s.method(ss, 6, bytes(der), DataType.OCTET_STRING)
                results.append((path, None))
            except Exception as e:
                results.append((path, str(e) or e.__class__.__name__))
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument('--state', metavar='DIR', help="a virtual meter's --state directory")
    where.add_argument('--device', metavar='PORT',
                       help='a board over mpremote (serial port, "auto", rfc2217://...)')
    where.add_argument('--enroll', metavar='TARGET',
                       help='tcp:HOST:PORT or a serial device: the meter makes its key pairs '
                       'and certificate requests (written to --csr-dir)')
    where.add_argument('--import-certificates', metavar='TARGET',
                       help='tcp:HOST:PORT or a serial device: import the PEM certificates given')
    p.add_argument('certificates', nargs='*', metavar='PEM',
                   help='with --import-certificates: the certificates to import')
    p.add_argument('--anchor', action='append', metavar='PEM',
                   help='with --state/--device: a CA certificate the meter trusts (repeatable); '
                   'without it a provisioned meter trusts no CA')
    p.add_argument('--keys', metavar='FILE', help='with --enroll/--import-certificates: JSON '
                   '{"ek": HEX, "ak": HEX} of the management association (default: the '
                   'virtual meter\'s demo keys)')
    p.add_argument('--csr-dir', default='.', metavar='DIR',
                   help='with --enroll: where the certificate requests go (default .)')
    p.add_argument('--board-state', default='state', metavar='DIR',
                   help='state directory on the board (default: state)')
    p.add_argument('--mpremote', metavar='CMD', help='mpremote command (default: '
                   'python -m mpremote)')
    p.add_argument('--manufacturer', default='MMM', help='3-letter FLAG id (default MMM)')
    p.add_argument('--serial', type=int, help='device number in the system title (default '
                   'random)')
    p.add_argument('--lls-password', help='reader (SAP 17) password (default: 16 random '
                   'characters)')
    p.add_argument('--hls-secret', help='HLS-SHA256 (SAP 3) secret, 16..64 bytes (default: 32 '
                   'random characters)')
    p.add_argument('--policy', type=lambda s: int(s, 0), default=0x0C,
                   help='initial security policy flags (default 0x0C)')
    p.add_argument('--host', default='127.0.0.1', help='address printed for clients')
    p.add_argument('--port', type=int, default=4059, help='port printed for clients')
    p.add_argument('--force', action='store_true', help='replace existing keys')
    args = p.parse_args(argv)
    if args.enroll or args.import_certificates:
        return _online_main(args)
    if args.certificates:
        p.error('certificates are imported with --import-certificates')
    try:
        anchors = read_anchors(args.anchor)
        ident = make_identity(args.manufacturer, args.serial, args.lls_password, args.policy,
                              args.hls_secret)
        record = make_record(ident)
        if args.state:
            write_state(args.state, record, args.force, anchors)
            target = 'virtual meter, state directory %s' % os.path.abspath(args.state)
        else:
            write_device(args.device, record, args.board_state, args.force, args.mpremote,
                         anchors)
            target = 'board on %s, state directory %s' % (args.device, args.board_state)
    except (ProvisionError, ValueError, OSError) as e:
        print('provision: %s' % e, file=sys.stderr)
        return 1
    print(client_settings(ident, args.host, args.port, target))
    if anchors:
        print('\ntrust anchors: %d CA certificate(s); enrol the meter\'s own key pairs with '
              '--enroll' % len(anchors))
    return 0


def _online_main(args):
    try:
        if args.enroll:
            for path in enroll(args.enroll, args.keys, args.csr_dir):
                print('certificate request %s' % path)
            print('have them signed by your CA (KeyUsage critical: digitalSignature for '
                  'server-sign, keyAgreement for server-agree; CN stays the meter\'s system '
                  'title), then --import-certificates')
            return 0
        if not args.certificates:
            print('provision: --import-certificates needs the PEM files to import',
                  file=sys.stderr)
            return 2
        status = 0
        for path, why in import_certificates(args.import_certificates, args.keys,
                                             args.certificates):
            print('%s %s' % ('imported' if why is None else 'REFUSED', path) +
                  ('' if why is None else ' (%s)' % why))
            status = status or (why is not None)
        return int(status)
    except (ProvisionError, ValueError, OSError) as e:
        print('provision: %s' % e, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
