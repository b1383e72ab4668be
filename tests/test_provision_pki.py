"""tools/provision.py with a CA of the user's own (here made with `cryptography`, not our code):
--anchor makes it the provisioned meter's only trust anchor (the public demo CA is not
trusted), --enroll has the meter make its key pairs and certificate requests through Security
setup methods 4 and 5, the CA signs them, --import-certificates brings them in through method 6;
nothing secret is printed on the way, and the meter's own certificate reads back (method 7) as
the one the CA issued."""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from interop.gurux_session import GuruxSession, certificate_selector, make_object  # noqa: E402
from gurux_dlms.enums import DataType  # noqa: E402

PROVISION = os.path.join(ROOT, 'tools', 'provision.py')
HOST = '127.0.0.1'
CLIENT_TITLE = '4D4D4D0000000001'
_NOW = datetime.datetime.now(datetime.timezone.utc)


def provision(*args, cwd=ROOT):
    p = subprocess.run([sys.executable, PROVISION] + [str(a) for a in args], cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=180)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(**on):
    names = ('digital_signature', 'content_commitment', 'key_encipherment', 'data_encipherment',
             'key_agreement', 'key_cert_sign', 'crl_sign', 'encipher_only', 'decipher_only')
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


class OwnCA:
    """A CA as a user would run it, on `cryptography` (independent of lib/dlms_pk)."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name('Utility test CA')
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(_NOW - datetime.timedelta(days=1))
                     .not_valid_after(_NOW + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .add_extension(_usage(key_cert_sign=True, crl_sign=True), True)
                     .sign(self.key, hashes.SHA256()))

    def issue(self, subject, public_key, **usage):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(_NOW - datetime.timedelta(days=1))
                .not_valid_after(_NOW + datetime.timedelta(days=365))
                .add_extension(_usage(**usage), True)
                .sign(self.key, hashes.SHA256()))


def _write(path, cert):
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _settings(out):
    get = lambda p: re.search(p, out).group(1)  # noqa: E731
    return {'title': get(r'server system title +([0-9A-F]{16})'),
            'ek': get(r'EK  global unicast key +([0-9A-F]{32})'),
            'ak': get(r'AK  authentication key +([0-9A-F]{32})'),
            'kek': get(r'KEK master key +([0-9A-F]{32})'),
            'bk': get(r'BK  broadcast key +([0-9A-F]{32})')}


def test_enrolment_with_a_ca_of_ones_own(tmp_path):
    ca = OwnCA()
    ca_pem = _write(tmp_path / 'ca.pem', ca.cert)
    state = tmp_path / 'state'
    rc, out, err = provision('--state', state, '--serial', '9', '--anchor', ca_pem)
    assert rc == 0, err
    assert 'trust anchors: 1 CA certificate(s)' in out
    s = _settings(out)
    keys = tmp_path / 'keys.json'
    keys.write_text(json.dumps({'ek': s['ek'], 'ak': s['ak']}))
    secrets = [s['ek'], s['ak'], s['kek'], s['bk']]

    with VirtualMeter(state_dir=str(state)) as vm:
        target = 'tcp:%s:%d' % (HOST, vm.port)
        csr_dir = tmp_path / 'csr'
        rc, out, err = provision('--enroll', target, '--keys', keys, '--csr-dir', csr_dir)
        assert rc == 0, err + out
        printed = [out, err]
        issued = {}
        for name, usage in (('server-sign', 'digital_signature'),
                            ('server-agree', 'key_agreement')):
            csr = x509.load_pem_x509_csr((csr_dir / (name + '.csr.pem')).read_bytes())
            assert csr.is_signature_valid                       # signed with the meter's key
            assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == s['title']
            assert isinstance(csr.public_key().curve, ec.SECP256R1)
            cert = ca.issue(csr.subject, csr.public_key(), **{usage: True})
            issued[name] = cert
            _write(tmp_path / (name + '.pem'), cert)
        client_key = ec.generate_private_key(ec.SECP256R1())
        _write(tmp_path / 'client-sign.pem',
               ca.issue(_name(CLIENT_TITLE), client_key.public_key(), digital_signature=True))
        demo_client = os.path.join(ROOT, 'tools', 'demo_pki', 'client-sign.pem')

        rc, out, err = provision('--import-certificates', target, '--keys', keys,
                                 tmp_path / 'server-sign.pem', tmp_path / 'server-agree.pem',
                                 tmp_path / 'client-sign.pem', demo_client)
        printed += [out, err]
        assert rc == 1, out + err              # the demo client certificate is refused
        lines = out.splitlines()
        assert lines[:3] == ['imported %s' % (tmp_path / n) for n in
                             ('server-sign.pem', 'server-agree.pem', 'client-sign.pem')]
        assert lines[3].startswith('REFUSED %s' % demo_client)

        # the meter now signs with the key the CA certified: method 7 gives that certificate
        m = GuruxSession(HOST, vm.port, 1, authentication='hls-gmac', ciphered=True,
                         block_cipher_key=bytes.fromhex(s['ek']),
                         authentication_key=bytes.fromhex(s['ak']),
                         invocation_counter=1 << 30)
        m.connect()
        try:
            m.associate()
            ss1 = make_object(64, '0.0.43.0.1.255')
            for key_type, name in ((0, 'server-sign'), (1, 'server-agree')):
                der = m.method(ss1, 7, certificate_selector(0, key_type, bytes.fromhex(s['title'])),
                               DataType.STRUCTURE)
                assert bytes(der) == issued[name].public_bytes(serialization.Encoding.DER)
            m.release()
        finally:
            m.close()
        meter_out = vm.output()
    assert 'demo public-key material' not in meter_out     # no demo CA on real keys
    for text in printed + [meter_out]:
        for secret in secrets:
            assert secret not in text.upper()
    # private keys: the only place is the keystore record; nothing the tools wrote holds one
    for path in tmp_path.rglob('*.pem'):
        assert b'PRIVATE KEY' not in path.read_bytes()


def test_provision_without_anchor_trusts_no_ca_not_even_the_demo_one(tmp_path):
    state = tmp_path / 'state'
    vm = VirtualMeter(state_dir=str(state)).start()         # a demo meter: demo CA trusted
    vm.stop()
    sys.path.insert(0, os.path.join(ROOT, 'lib'))
    from dlms.store import Store
    demo = Store(str(state)).load('certificates', True)
    assert any(c[0] == 2 for c in demo['certs'])            # the demo CA, and more
    rc, out, err = provision('--state', state, '--force')
    assert rc == 0, err
    assert Store(str(state)).load('certificates', True) == {'certs': []}
    with VirtualMeter(state_dir=str(state)) as vm:          # and it stays so at every start
        pass
    assert Store(str(state)).load('certificates', True) == {'certs': []}


def test_anchor_must_be_a_ca_certificate(tmp_path):
    rc, out, err = provision('--state', tmp_path / 'state', '--anchor',
                             os.path.join(ROOT, 'tools', 'demo_pki', 'client-sign.pem'))
    assert rc == 1 and 'not a CA certificate' in err
    assert not (tmp_path / 'state').exists() or not os.listdir(tmp_path / 'state')


@pytest.mark.skipif(shutil.which('openssl') is None, reason='no openssl command on this machine')
def test_readme_openssl_commands_sign_the_requests_the_meter_accepts(tmp_path):
    """The README's openssl lines for a CA of one's own: the certificates they make are ones
    the meter's reader accepts for its own key (checked with lib/dlms_pk, CN and key usage)."""
    sys.path.insert(0, os.path.join(ROOT, 'lib'))
    from dlms_pk import x509 as mx
    from dlms_ca import ca as dca
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    block = re.search(r'<!-- openssl-ca -->\n```\n(.*?)```', readme, re.S).group(1)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name('4D4D4D00000000AA'))
           .sign(key, hashes.SHA256()))
    (tmp_path / 'csr').mkdir()
    (tmp_path / 'csr' / 'server-sign.csr.pem').write_bytes(
        csr.public_bytes(serialization.Encoding.PEM))
    (tmp_path / 'csr' / 'server-agree.csr.pem').write_bytes(
        csr.public_bytes(serialization.Encoding.PEM))
    for line in block.strip().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        p = subprocess.run(line, shell=True, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        assert p.returncode == 0, (line, p.stdout)
    ca = mx.parse(dca.pem_decode((tmp_path / 'ca.pem').read_text(), 'CERTIFICATE'))
    assert ca.is_ca
    title = bytes.fromhex('4D4D4D00000000AA')
    for name, role in (('server-sign', mx.ROLE_SIGN), ('server-agree', mx.ROLE_AGREE)):
        cert = mx.parse(dca.pem_decode((tmp_path / (name + '.pem')).read_text(), 'CERTIFICATE'))
        mx.check(cert, role, title, int(time.time()) + 60, [ca])   # openssl: valid from now
