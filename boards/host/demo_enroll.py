# The virtual meter's demo public-key material (demo only: never on a real meter). At the first
# start of a state directory the demo CA of tools/demo_pki becomes the meter's trust anchor (out
# of band, as a real meter's anchors are placed), and the meter gets its key pairs and server
# certificates through the very Security setup methods a head-end calls: generate_key_pair (4),
# generate_certificate_request (5), the request signed by the demo CA (here, with its public
# demo key), import_certificate (6); the demo client's certificates are imported the same way,
# so that HLS-ECDSA (SAP 2) works out of the box. Does nothing once that is done, and nothing
# at all on a meter that no longer runs on the public demo keys (tools/provision.py, a
# configuration of its own keys): the demo CA's key is public, so a meter with real keys must
# never trust it (provision.py also replaces the certificates record with its --anchor CAs).
from dlms import axdr

_YEAR = 365 * 86400


def _dirs():
    # tools/demo_pki of the repository (this file in boards/host), or demo_pki/ beside this file
    # (a compiled tree, tools/meter_memory.py)
    here = __file__
    i = here.rfind('/')
    here = here[:i] if i >= 0 else '.'
    root = here
    for _ in range(2):                    # boards/host -> the repository
        i = root.rfind('/')
        root = root[:i] if i >= 0 else '.'
    return (root + '/tools/demo_pki/', here + '/demo_pki/')


def _read(name):
    for d in _dirs():
        try:
            with open(d + name) as f:
                return f.read()
        except OSError:
            pass
    raise OSError(name)


def enroll(meter, log):
    if meter.pki is None:                 # built without the public-key part
        return
    if not meter.demo_keys:               # real keys: no demo CA, no demo certificates
        return
    done = []
    for name in ('security_setup_1', 'security_setup_2'):
        ss = meter.objects.get(name)
        if ss is not None and ss.pki is not None:
            r = _enroll(ss, log)
            if r is None:
                return
            if r:
                done.append('suite %d' % ss.security_suite)
    if done:
        log('demo public-key material (%s): key pairs made in the meter, certificates issued '
            'by the demo CA (tools/demo_pki: never on a real meter), demo client certificates '
            'imported' % ', '.join(done))


def _enroll(ss, log):
    # one Security setup; True: enrolled now, False: it was already, None: stop (logged)
    from dlms import security
    from dlms_pk import x509
    from dlms_ca import ca as dca
    pki = ss.pki
    curve = security.suite(ss.security_suite).CURVE
    ca_pem = 'ca.pem' if curve.name == 'P-256' else 'ca-p384.pem'
    try:
        ca = dca.pem_decode(_read(ca_pem), 'CERTIFICATE')
    except OSError:
        log('demo PKI not found (tools/demo_pki): no public-key demo material')
        return None
    if not pki.add_trust_anchor(ca):
        log('demo CA not accepted as trust anchor')
        return None
    if pki.own_key(0, curve) is not None and pki.own_key(1, curve) is not None:
        return False
    ca_curve, ca_d = dca.pem_private_key(_read(ca_pem.replace('.pem', '.key.pem')))
    now = pki.now()
    for key_type, usage in ((0, x509.KU_DIGITAL_SIGNATURE), (1, x509.KU_KEY_AGREEMENT)):
        if pki.own_key(key_type, curve) is not None:
            continue
        r = ss.action(4, axdr.enum(key_type), None)[0]          # generate_key_pair
        r2, csr = ss.action(5, axdr.enum(key_type), None)       # generate_certificate_request
        if r != 0 or r2 != 0:
            log('demo enrolment: key pair %d refused' % key_type)
            return None
        serial = int.from_bytes(pki.rng(8), 'big') >> 1 | 1
        cert = dca.issue(ca, ca_curve, ca_d, bytes(csr[1]), serial, now - 86400,
                         now + 20 * _YEAR, usage, extra=pki.rng(32))
        if ss.action(6, axdr.octets(cert), None)[0] != 0:      # import_certificate
            log('demo enrolment: certificate %d refused' % key_type)
            return None
    suffix = '' if curve.name == 'P-256' else '-p384'
    for name in ('client-sign', 'client-agree'):
        der = dca.pem_decode(_read(name + suffix + '.pem'), 'CERTIFICATE')
        ss.action(6, axdr.octets(der), None)
    return True
