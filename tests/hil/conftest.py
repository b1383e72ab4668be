"""Options of the hardware-in-the-loop suite. They exist when pytest is started on this
directory (`pytest tests/hil --target ...`); `make test` (pytest tests) leaves them at their
defaults, i.e. the virtual meter.

    --target sim | /dev/ttyUSB0 | tcp:HOST:PORT     (default sim)
    --line rs485 | optical                          serial line kind (default rs485; with sim:
                                                    the virtual meter's pseudo-terminal)
    --physical-address N  --baud N  --device-address DIGITS
    --ek HEX --ak HEX --password TEXT               the meter's keys and LLS password
    --server-title HEX  --client-title HEX          (default: the public demo values)
    --ic-start N                                    first client invocation counter
"""
import binascii

import pytest

from hil import sessions

_DEFAULTS = {'target': 'sim', 'line': None, 'physical_address': 17, 'baud': 9600,
             'device_address': '', 'ek': None, 'ak': None, 'password': None,
             'server_title': None, 'client_title': None, 'ic_start': None}


def pytest_addoption(parser):
    g = parser.getgroup('hil', 'hardware-in-the-loop target (tests/hil)')
    g.addoption('--target', default='sim',
                help='sim (the virtual meter, default), a serial device path, or tcp:HOST:PORT')
    g.addoption('--line', choices=('rs485', 'optical'), default=None,
                help='serial line: rs485 (HDLC, default) or optical (IEC 62056-21 mode E)')
    g.addoption('--physical-address', type=int, default=17, help='HDLC lower address (17)')
    g.addoption('--baud', type=int, default=9600, help='RS485 baud rate (9600)')
    g.addoption('--device-address', default='', help='optical: /?ADDRESS! (none)')
    g.addoption('--ek', help='global unicast encryption key, hex (demo key)')
    g.addoption('--ak', help='authentication key, hex (demo key)')
    g.addoption('--password', help='LLS password of client SAP 17 (12345678)')
    g.addoption('--server-title', help='expected server system title, hex (sim: the demo one; '
                                       'else not checked)')
    g.addoption('--client-title', help='client system title, hex (4D4D4D0000000001)')
    g.addoption('--ic-start', type=int,
                help='first client invocation counter (default: above every earlier run, '
                     'recorded in build/hil-ic.json)')


def _opt(config, name):
    return config.getoption('--' + name.replace('_', '-'), default=_DEFAULTS[name])


@pytest.fixture(scope='session')
def hil_credentials(request):
    c = request.config
    target = _opt(c, 'target')
    kw = {}
    for name in ('ek', 'ak', 'client_title'):
        v = _opt(c, name)
        if v:
            kw[name] = binascii.unhexlify(v)
    if _opt(c, 'password'):
        kw['password'] = _opt(c, 'password')
    title = _opt(c, 'server_title')
    if title:
        kw['server_title'] = binascii.unhexlify(title)
    elif target != 'sim':
        kw['server_title'] = None
    if target == 'sim':
        kw['ic_start'] = _opt(c, 'ic_start') or 1000           # a fresh virtual meter
    else:
        kw['ic_start'] = _opt(c, 'ic_start')
        kw['ic_file'] = sessions.IC_FILE
    return sessions.Credentials(**kw)


@pytest.fixture(scope='session')
def hil_target(request):
    c = request.config
    t = sessions.parse_target(_opt(c, 'target'), line=_opt(c, 'line'),
                              physical_address=_opt(c, 'physical_address'),
                              baud=_opt(c, 'baud'), device_address=_opt(c, 'device_address'))
    yield t
    t.close()
    meter = getattr(t, 'meter', None)
    if meter is not None:
        assert 'Traceback' not in meter.output(), meter.output()


def pytest_report_header(config):
    target = _opt(config, 'target')
    line = _opt(config, 'line')
    return 'hil target: %s%s' % (target, (' (%s)' % line) if line else '')

