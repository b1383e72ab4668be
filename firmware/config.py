# The meter's configuration: defaults (the public demo meter) overlaid with a JSON file.
# Owns the names of settings and their defaults; knows nothing about how they are used.
import json

# Public demo values (Green Book example keys): never use them on a real meter.
DEMO_SYSTEM_TITLE = '4D4D4D0000BC614E'
DEMO_EK = '000102030405060708090A0B0C0D0E0F'
DEMO_AK = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'
DEMO_KEK = '000102030405060708090A0B0C0D0E0F'    # master key (the KEK of the RFC 3394 vector)
# the suite 2 Security setup's own key set (32-byte keys, the reference's suite 2 example keys)
DEMO_EK2 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'
DEMO_AK2 = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF'
DEMO_KEK2 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'

DEFAULTS = {
    'system_title': DEMO_SYSTEM_TITLE,
    'ek': DEMO_EK,
    'ak': DEMO_AK,
    'kek': DEMO_KEK,
    'ek2': DEMO_EK2,                # the suite 2 setup's keys (SAP 4), 32 bytes each: used when
    'ak2': DEMO_AK2,                # its key set is first made (a new state directory, or one
    'kek2': DEMO_KEK2,              # from before suite 2 whose keys came from the configuration)
    'bk': '',                       # global broadcast key (none until key_transfer sets one)
    'allow_demo_keys': None,        # None: the virtual meter yes, a board no; or true / false
    'public_key': None,             # the public-key part (SAP 2, Security setup 0.0.43.0.1.255):
                                    # None = when lib/dlms_pk is there (and, on the virtual meter,
                                    # the heap has room for it); or true / false
    'security_policy': 0x0C,        # security setup policy (version 1 flags) of a new state
    'logical_device_name': 'MMM0000012345678',
    'lls_password': '12345678',
    'hls_secret': '0123456789ABCDEF',   # HLS-SHA256 (SAP 3) secret of a new state (demo value)
    'wrapper_host': '127.0.0.1',
    'wrapper_port': 4059,
    'max_pdu': 1024,
    'tcp_max_connections': 4,       # per TCP listener (wrapper, HDLC over TCP); at the cap a new
                                    # connection replaces the idlest one without an authenticated
                                    # association, or is closed at once
    'tcp_inactivity_s': 180,        # a TCP connection silent this long is closed (its
                                    # associations aborted): TCP-UDP setup inactivity_time_out
    'counter_step': 1000,
    'general_window_s': 300,        # a general-ciphering/-signing request's date-time, when it
                                    # has one, within this many seconds of the meter's clock
    'client_counter_step': 1000,   # per title; a floor write costs a flash write
    'lockout_failures': 3,          # consecutive failed authentications that start a lockout
    'lockout_seconds': 60,          # first lockout period; doubles per lockout ...
    'lockout_max_seconds': 3600,    # ... up to this
    'event_log_entries': 100,       # security event log ring size
    'event_log_save_s': 10,         # at most one write of the event log per this many seconds
    'event_log_coalesce_s': 60,     # frequent events of one code within this time share a row
    'energy_start_wh': 0,
    'energy_wh_per_second': 1,
}


def load(path=None):
    cfg = {}
    for k in DEFAULTS:
        cfg[k] = DEFAULTS[k]
    if path:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError('config must be a JSON object')
        for k in data:
            if k not in DEFAULTS:
                raise ValueError('unknown config key: %s' % k)
            cfg[k] = data[k]
    return cfg
