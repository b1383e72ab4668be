# The meter application: the object instances of the logical device, their access rights per
# association, identity/keys/counters from the persistent store, and the metrology stand-in.
# Board-independent: time, randomness and the store are passed in by main.py.
from binascii import unhexlify, hexlify
from dlms import axdr, security
from dlms.server import (Server, AssociationConfig, InvocationCounter, MECH_LOWEST, MECH_LLS,
                         MECH_HLS_GMAC, CTX_LN, CTX_LN_CIPHERED)
from dlms.cosem.base import READ, WRITE, AUTH_REQUEST, ENC_REQUEST, AUTH_RESPONSE, ENC_RESPONSE
from dlms.cosem.base import INVOKE, NO_ACCESS
from dlms.cosem import Data, Register, Clock, AssociationLN, SecuritySetup
import config as configmod

R = READ
RW = READ | WRITE
AE = AUTH_REQUEST | ENC_REQUEST | AUTH_RESPONSE | ENC_RESPONSE
N = NO_ACCESS

PUBLIC_SAP = 16
READER_SAP = 17
MANAGEMENT_SAP = 1


class Meter:
    def __init__(self, server, objects, demo_keys, identity):
        self.server = server
        self.objects = objects
        self.demo_keys = demo_keys
        self.identity = identity


def _hex(s, n, what):
    b = unhexlify(s)
    if len(b) != n:
        raise ValueError('%s must be %d bytes' % (what, n))
    return b


def _load_identity(store, cfg):
    """System title and keys: from the store; on a fresh store, from the configuration."""
    ident = store.load('identity')
    if ident is None:
        ident = {'system_title': cfg['system_title'].upper(), 'ek': cfg['ek'].upper(),
                 'ak': cfg['ak'].upper()}
        store.save('identity', ident)
    return ident


def _counter(store, step):
    rec = store.load('server_ic')
    start = rec['reserved'] if rec is not None else 0

    def persist(reserved):
        store.save('server_ic', {'reserved': reserved})

    return InvocationCounter(start, persist, step)


def build(cfg, store, now, rng, on_event=None):
    ident = _load_identity(store, cfg)
    st = _hex(ident['system_title'], 8, 'system title')
    keys = security.Keys(_hex(ident['ek'], 16, 'EK'), _hex(ident['ak'], 16, 'AK'))
    demo = ident['ek'] == configmod.DEMO_EK and ident['ak'] == configmod.DEMO_AK

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
    sec_setup = SecuritySetup('0.0.43.0.0.255', st, security_policy=3, security_suite=0)

    assoc_read = (R, R, R, R, R, R, N, R, R)          # secret (7) never readable
    public = AssociationConfig(
        PUBLIC_SAP, 'public', MECH_LOWEST, CTX_LN, objects=[
            (ldn, (R, R), ()),
            (clock, (R,) * 9, (N,) * 6),
            (current, assoc_read, (N, N, N, N)),
        ])
    reader = AssociationConfig(
        READER_SAP, 'reader', MECH_LLS, CTX_LN, secret=cfg['lls_password'].encode(), objects=[
            (ldn, (R, R), ()),
            (clock, (R,) * 9, (N,) * 6),
            (active_energy, (R, R, R), (N,)),
            (current, assoc_read, (N, N, N, N)),
        ])
    mgmt_assoc = tuple([m | AE if m else m for m in assoc_read])
    management = AssociationConfig(
        MANAGEMENT_SAP, 'management', MECH_HLS_GMAC, CTX_LN_CIPHERED,
        security_setup=sec_setup, require=AUTH_REQUEST | ENC_REQUEST, objects=[
            (ldn, (R | AE, R | AE), ()),
            (clock, (R | AE, RW | AE, RW | AE, R | AE, R | AE, R | AE, R | AE, R | AE, R | AE),
             (N, N, INVOKE | AE, N, N, INVOKE | AE)),
            (active_energy, (R | AE, R | AE, R | AE), (N,)),
            (current, mgmt_assoc, (INVOKE | AE, N, N, N)),
            (sec_setup, (R | AE,) * 5, (N, N)),
        ])
    server = Server(st, keys, [public, reader, management], rng,
                    _counter(store, cfg['counter_step']), max_pdu=cfg['max_pdu'],
                    on_event=on_event)
    objects = {'ldn': ldn, 'clock': clock, 'energy': active_energy,
               'association': current, 'security_setup': sec_setup}
    return Meter(server, objects, demo, st)


def describe(meter):
    """Start-up lines. Key values are shown only for the public demo keys."""
    lines = ['system title %s' % hexlify(meter.identity).decode().upper()]
    if meter.demo_keys:
        lines.append('demo keys: never use on a real meter')
        lines.append('  EK (global unicast encryption key) %s' % configmod.DEMO_EK)
        lines.append('  AK (authentication key)            %s' % configmod.DEMO_AK)
    else:
        lines.append('keys: provisioned (values not shown)')
    lines.append('associations: SAP 16 public (lowest), SAP 17 reader (LLS), '
                 'SAP 1 management (HLS-GMAC, authenticated and encrypted)')
    return lines
