# The meter application: the object instances of the logical device, their access rights per
# association, identity/keys/counters from the persistent store (dlms.keystore), and the
# metrology stand-in. Board-independent: time, entropy and the store are passed in by main.py.
# Ciphered service is refused (keys None) when the keystore has no good copy, or when the keys are
# the public demo keys and the configuration does not allow them (boards: never by default).
from binascii import unhexlify, hexlify
from dlms._compat import const
from dlms import axdr, security, keystore
from dlms.server import (Server, AssociationConfig, KeyContext, MECH_LOWEST, MECH_LLS,
                         MECH_HLS_GMAC, CTX_LN, CTX_LN_CIPHERED)
from dlms.authentication import HLS_SHA256, HLS_ECDSA
from dlms.counters import InvocationCounter, CounterError
from dlms.cosem.base import AUTH_REQUEST, ENC_REQUEST
from dlms.cosem import Data, Register, Clock, AssociationLN, SecuritySetup
from dlms.cosem.security_setup import POLICY_SUITE0, POLICY_SIGNATURES
from dlms.eventlog import SecurityEventLog
from dlms.lockout import Lockout
import config as configmod

# Access modes (dlms.cosem.base bits), written as constants so that the rights below are
# constant tuples, made once by the compiler (in flash on a board with frozen modules) and shared.
_N = const(0)           # NO_ACCESS
_R = const(0x01)        # READ; INVOKE for a method
_AE = const(0x6C)       # AUTH_REQUEST | ENC_REQUEST | AUTH_RESPONSE | ENC_RESPONSE
_RA = const(0x6D)       # _R | _AE: read (invoke) authenticated and encrypted
_RWA = const(0x6F)      # READ | WRITE | _AE

PUBLIC_SAP = 16
READER_SAP = 17
MANAGEMENT_SAP = 1
ECDSA_SAP = 2
SHA256_SAP = 3
ECDSA384_SAP = 4
SECURITY_SETUP_LN = b'\x00\x00\x2b\x00\x00\xff'     # 0.0.43.0.0.255, suite 0
SECURITY_SETUP_1_LN = b'\x00\x00\x2b\x00\x01\xff'   # 0.0.43.0.1.255, suite 1
SECURITY_SETUP_2_LN = b'\x00\x00\x2b\x00\x02\xff'   # 0.0.43.0.2.255, suite 2, its own keys
SUITE2_KEYS = 'suite2'          # the keystore key set of the suite 2 setup


class Meter:
    def __init__(self, server, objects, demo_keys, identity, keystore=None, refused=None,
                 virtual=False):
        self.server = server
        self.objects = objects
        self.demo_keys = demo_keys
        self.identity = identity
        self.keystore = keystore        # dlms.keystore.KeyStore
        self.refused = refused          # why ciphered service is refused, or None
        self.virtual = virtual
        self.events = None              # dlms.eventlog.SecurityEventLog
        self.pki = None                 # dlms_pk.certstore.CertStore, or None

    def tick(self):
        """Once a second from the main loop: writes that were held back."""
        if self.events is not None:
            self.events.tick()


def _hex(s, n, what):
    b = unhexlify(s)
    if len(b) != n:
        raise ValueError('%s must be %d bytes' % (what, n))
    return b


_DEMO = (('ek', 'EK (global unicast encryption key)', configmod.DEMO_EK),
         ('ak', 'AK (authentication key)           ', configmod.DEMO_AK),
         ('kek', 'KEK (master key)                  ', configmod.DEMO_KEK))
_DEMO2 = (('ek2', 'EK suite 2 (SAP 4)  ', configmod.DEMO_EK2),
          ('ak2', 'AK suite 2 (SAP 4)  ', configmod.DEMO_AK2),
          ('kek2', 'KEK suite 2 (SAP 4) ', configmod.DEMO_KEK2))


def _demo_values(table=_DEMO, suffix=''):
    values = {}
    for name, _, value in table:
        values[name[:len(name) - len(suffix)]] = unhexlify(value)
    return values


def _initial(cfg, entropy):
    """The keystore record a new state directory starts from (the configuration's values)."""
    return keystore.new_record(
        _hex(cfg['system_title'], 8, 'system title'), _hex(cfg['ek'], 16, 'EK'),
        _hex(cfg['ak'], 16, 'AK'), _hex(cfg['kek'], 16, 'KEK'),
        _hex(cfg['bk'], 16, 'BK') if cfg['bk'] else b'',
        lls={READER_SAP: cfg['lls_password'].encode(), SHA256_SAP: cfg['hls_secret'].encode()},
        seed=entropy(32), policies={SECURITY_SETUP_LN: (cfg['security_policy'], 0),
                                    SECURITY_SETUP_1_LN: (cfg['security_policy'], 1)},
        origin='config')


def _refusing_counter():
    def persist(reserved):
        raise CounterError('ciphered service refused')
    return InvocationCounter(1, persist, 1)


def _no_rng(n):
    raise security.SecurityError('no random bit generator')


def build(cfg, store, now, entropy, on_event=None, virtual=False):
    """The meter. entropy(n) is the board's os.urandom; `virtual` says the board is the virtual
    meter, which may use the public demo keys unless the configuration says otherwise."""
    ks = keystore.KeyStore(store, cfg['counter_step'], cfg['client_counter_step'])
    refused = None
    demo = []                       # names of the keys that are public demo values
    if not ks.open(_initial(cfg, entropy)):
        refused = ks.failure
    else:
        demo = ks.matching(_demo_values())
        # suite 2 (with the public-key part): its own key set, made from the configuration only
        # where the primary keys came from it too (a provisioned meter gets no suite 2 until
        # it is provisioned with one)
        allow = cfg['allow_demo_keys']
        if allow is None:
            allow = virtual
        # a meter that may not use demo keys never makes its suite 2 set of the demo values:
        # it goes without suite 2 until provisioned (its other associations are not refused)
        new2 = (_hex(cfg['ek2'], 32, 'EK2'), _hex(cfg['ak2'], 32, 'AK2'),
                _hex(cfg['kek2'], 32, 'KEK2'))
        demo2 = _demo_values(_DEMO2, '2')
        if cfg['public_key'] and ks.keyset(SUITE2_KEYS) is None and \
                ks.origin in ('config', 'migrated') and \
                (allow or not [k for k, n in zip(new2, ('ek', 'ak', 'kek')) if k == demo2[n]]):
            ks.add_keyset(SUITE2_KEYS, *new2)
        ks2 = ks.keyset(SUITE2_KEYS)
        if ks2 is not None:
            for n in ('ek', 'ak', 'kek'):
                if ks2.key(n) == demo2[n]:
                    demo.append(n + '2')
        if demo and not allow:
            refused = 'public demo keys in use and the configuration does not allow them ' \
                      '(allow_demo_keys); provision the meter with tools/provision.py'
    rng = _no_rng
    if refused is None:
        try:
            rng = ks.rng(entropy)
        except keystore.KeyStoreError as e:
            refused = str(e)
    if refused is not None:
        try:
            store.save('keystore_fault', {'reason': refused})
        except Exception:
            pass
    hls_secret = None
    if ks.ok:
        st = ks.system_title
        secret = ks.secret(READER_SAP)
        hls_secret = ks.secret(SHA256_SAP)
        # a state from before SAP 3 takes the configuration's secret, if its keys came from the
        # configuration too; a provisioned one (or one whose keys were transferred) never gets
        # the public demo value: no SAP 3 until it is provisioned with a secret of its own
        if hls_secret is None and refused is None and ks.origin in ('config', 'migrated'):
            hls_secret = cfg['hls_secret'].encode()
            if not ks.set_secret(SHA256_SAP, hls_secret):
                hls_secret = None
        pol = ks.policy(SECURITY_SETUP_LN)
        policy = pol[0] if pol is not None else cfg['security_policy']
        pol1 = ks.policy(SECURITY_SETUP_1_LN)
        policy1 = pol1[0] if pol1 is not None else cfg['security_policy']
        pol2 = ks.policy(SECURITY_SETUP_2_LN)
        policy2 = pol2[0] if pol2 is not None else cfg['security_policy']
    else:
        st = _hex(cfg['system_title'], 8, 'system title')
        secret = None
        policy = policy1 = policy2 = cfg['security_policy']
    policy = (policy | AUTH_REQUEST | ENC_REQUEST) & POLICY_SUITE0
    # suites 1 and 2 may also carry the digital-signature bits (0x10, 0x80)
    policy1 = (policy1 | AUTH_REQUEST | ENC_REQUEST) & (POLICY_SUITE0 | POLICY_SIGNATURES)
    policy2 = (policy2 | AUTH_REQUEST | ENC_REQUEST) & (POLICY_SUITE0 | POLICY_SIGNATURES)

    t0 = now()
    start_wh = cfg['energy_start_wh']
    rate = cfg['energy_wh_per_second']

    def energy():
        wh = int(start_wh + (now() - t0) * rate) & 0xFFFFFFFF
        return axdr.u32(wh)

    ldn = Data('0.0.42.0.0.255', axdr.octets(cfg['logical_device_name'].encode()))
    clock = Clock('0.0.1.0.0.255', now)
    active_energy = Register('1.0.1.8.0.255', energy, 0, 30)
    current = AssociationLN('0.0.40.0.0.255')
    sec_setup = SecuritySetup(SECURITY_SETUP_LN, st, security_policy=policy, security_suite=0,
                              manager=ks if refused is None else None)
    pki = _pki(ks, store, clock, rng) if refused is None and cfg['public_key'] else None
    sec_setup1 = sec_setup2 = kc2 = None
    if pki is not None:             # suite 1 needs the public-key package (lib/dlms_pk)
        sec_setup1 = SecuritySetup(SECURITY_SETUP_1_LN, st, security_policy=policy1,
                                   security_suite=1, manager=ks.primary, pki=pki)
        from dlms_pk import ec
        ec.prepare(security.suite(1).CURVE)     # its 2 KiB table now, while the heap is whole
        ks2 = ks.keyset(SUITE2_KEYS)
        suite2 = None
        try:
            suite2 = security.suite(2)
        except security.SecurityError:
            pass
        if ks2 is not None and suite2 is not None and ks2.key_length == suite2.KEY_LEN:
            ks2.keys_class = suite2.Keys
            pki2 = _pki(ks, store, clock, rng, '_s2')
            sec_setup2 = SecuritySetup(SECURITY_SETUP_2_LN, st, security_policy=policy2,
                                       security_suite=2, manager=ks2, pki=pki2)
            ec.prepare(suite2.CURVE)
            kc2 = KeyContext(ks2.keys(), ks2.server_counter(), ks2.client_counters(), ks2)
    events = SecurityEventLog(clock, store, cfg['event_log_entries'], now,
                              cfg['event_log_save_s'], cfg['event_log_coalesce_s'])
    lockout = Lockout(now, store, cfg['lockout_failures'], cfg['lockout_seconds'],
                      cfg['lockout_max_seconds'])

    def record(name, client_sap, detail):
        events.record(name)
        if on_event is not None:
            on_event(name, client_sap, detail)

    # public and reader share their entries; the secret (Association LN attribute 7) is never
    # readable
    ldn_e = (ldn, (_R, _R), ())
    clock_e = (clock, (_R, _R, _R, _R, _R, _R, _R, _R, _R), (_N, _N, _N, _N, _N, _N))
    current_e = (current, (_R, _R, _R, _R, _R, _R, _N, _R, _R), (_N, _N, _N, _N))
    public = AssociationConfig(
        PUBLIC_SAP, 'public', MECH_LOWEST, CTX_LN, objects=(ldn_e, clock_e, current_e))
    reader = AssociationConfig(
        READER_SAP, 'reader', MECH_LLS, CTX_LN, secret=secret, objects=(
            ldn_e, clock_e, (active_energy, (_R, _R, _R), (_N,)), current_e))
    ra2 = (_RA, _RA)
    # management (HLS-GMAC) and the public-key demo associations share objects and rights;
    # SAP 2 reaches its own Security setup (suite 1), SAP 1 that one's key pair and certificate
    # methods too (a head-end enrols a new meter's certificates over SAP 1: SAP 2 needs them).
    # SAP 3 (HLS-SHA256) does not: its shared secret may be weak, and whoever guessed it could
    # otherwise remove the meter's own certificates (and with them its key pairs)
    ss_rights = (_RA, _RA, _RA, _RA, _RA, _RA)
    ss1_methods = (_RA, _RA, _RA, _RA, _RA, _RA, _RA, _RA)      # key_agreement (3) included

    def managed(ss, change_secret=_N, certificates=False):
        objs = [
            (ldn, ra2, ()),
            (clock, (_RA, _RWA, _RWA, _RA, _RA, _RA, _RA, _RA, _RA),
             (_N, _N, _RA, _N, _N, _RA)),
            (active_energy, (_RA, _RA, _RA), (_N,)),
            (current, (_RA, _RA, _RA, _RA, _RA, _RA, _N, _RA, _RA),
             (_RA, change_secret, _N, _N)),
            (ss, ss_rights, (_RA, _RA, _N, _N, _N, _N, _N, _N) if ss.security_suite == 0
             else ss1_methods),
            (events.code, ra2, ()),
            (events.count, ra2, ()),
            (events.profile, (_RA, _RA, _RA, _RA, _RA, _RA, _RA, _RA), (_N, _N)),
        ]
        if certificates:
            for other in (sec_setup2, sec_setup1):
                if other is not None:
                    objs.insert(5, (other, ss_rights, ss1_methods))
        return objs
    management = AssociationConfig(
        MANAGEMENT_SAP, 'management', MECH_HLS_GMAC, CTX_LN_CIPHERED,
        security_setup=sec_setup, objects=managed(sec_setup, certificates=True))
    associations = [public, management]
    if secret is not None:          # without its secret from the store, no reader association
        associations.insert(1, reader)
    if hls_secret is not None:
        associations.append(AssociationConfig(
            SHA256_SAP, 'hls-sha256', HLS_SHA256, CTX_LN_CIPHERED, secret=hls_secret,
            security_setup=sec_setup, objects=managed(sec_setup, _RA)))
    if sec_setup1 is not None:
        associations.append(AssociationConfig(
            ECDSA_SAP, 'hls-ecdsa', HLS_ECDSA, CTX_LN_CIPHERED, security_setup=sec_setup1,
            objects=managed(sec_setup1)))
    if sec_setup2 is not None:
        associations.append(AssociationConfig(
            ECDSA384_SAP, 'hls-ecdsa-384', HLS_ECDSA, CTX_LN_CIPHERED, security_setup=sec_setup2,
            objects=managed(sec_setup2)))
    if refused is None:
        server = Server(st, ks.keys(), associations, rng, ks.server_counter(),
                        max_pdu=cfg['max_pdu'], client_counters=ks.client_counters(),
                        on_event=record, lockout=lockout)
    else:
        server = Server(st, None, associations, rng, _refusing_counter(),
                        max_pdu=cfg['max_pdu'], on_event=record, lockout=lockout)
    if kc2 is not None and refused is None:
        server.add_context(sec_setup2, kc2)
    if refused is None:
        server.primary.manager = ks.primary
    if pki is not None:             # general-ciphering / -signing: transaction-id floors, clock
        from dlms_pk import general_service
        general_service.configure(server, store, now, cfg['client_counter_step'],
                                  cfg['general_window_s'])
    if ks.ok:
        server.secret_store = ks
    for name, detail in ks.events:
        server.event(name, 0, detail)

    def sink(name, detail):             # keystore/certificate events: the SAP whose request
        server.event(name, server.serving_sap, detail)      # made them (0: the meter itself)
    ks.sink = sink
    objects = {'ldn': ldn, 'clock': clock, 'energy': active_energy,
               'association': current, 'security_setup': sec_setup,
               'event_code': events.code, 'event_count': events.count,
               'event_log': events.profile}
    if sec_setup1 is not None:
        objects['security_setup_1'] = sec_setup1
    if sec_setup2 is not None:
        objects['security_setup_2'] = sec_setup2
    m = Meter(server, objects, demo, st, ks, refused, virtual)
    m.events = events
    m.pki = pki
    return m


def _pki(ks, store, clock, rng, scope=''):
    """The certificate store of a public-key Security setup, when the optional package is
    there (scope '' the suite 1 setup, '_s2' the suite 2 one)."""
    try:
        from dlms_pk.certstore import CertStore
    except ImportError:
        return None
    return CertStore(ks, store, clock.time, rng, scope)


_ORIGINS = {'provisioned': 'provisioned', 'config': 'from the configuration',
            'migrated': 'from the first store format', 'transferred': 'set by key_transfer'}


def describe(meter):
    """Start-up lines. Key values are shown only for the public demo keys."""
    lines = ['system title %s' % hexlify(meter.identity).decode().upper()]
    if meter.demo_keys:
        lines.append('demo keys: never use on a real meter')
        for name, label, value in _DEMO + _DEMO2:
            if name in meter.demo_keys:
                lines.append('  %s %s' % (label, value))
        if meter.virtual and meter.refused is None:
            lines.append('the virtual meter uses the public demo keys by default '
                         '(allow_demo_keys false refuses them; tools/provision.py makes real ones)')
    primary_demo = [n for n in meter.demo_keys if not n.endswith('2')]
    if meter.keystore is not None and meter.keystore.ok and len(primary_demo) < len(_DEMO):
        origin = _ORIGINS.get(meter.keystore.origin, meter.keystore.origin)
        lines.append('%s: %s (values not shown)' % (
            'other keys' if meter.demo_keys else 'keys', origin))
    if meter.refused is not None:
        lines.append('CIPHERED SERVICE REFUSED: %s' % meter.refused)
    names = {PUBLIC_SAP: '16 public (lowest)', READER_SAP: '17 reader (LLS)',
             MANAGEMENT_SAP: '1 management (HLS-GMAC, suite 0)',
             SHA256_SAP: '3 HLS-SHA256 (suite 0)', ECDSA_SAP: '2 HLS-ECDSA (suite 1)',
             ECDSA384_SAP: '4 HLS-ECDSA (suite 2)'}
    lines.append('associations: SAP ' + ', SAP '.join(
        [names[sap] for sap in (PUBLIC_SAP, READER_SAP, MANAGEMENT_SAP, SHA256_SAP, ECDSA_SAP,
                                ECDSA384_SAP) if sap in meter.server.associations]))
    return lines
