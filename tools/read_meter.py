"""Read attributes of a meter from the command line: the virtual meter or a board, over the TCP
wrapper, HDLC over TCP, or a serial line (RS485, the optical port with its IEC 62056-21 mode E
opening), pseudo-terminals included. It drives gurux-dlms through the test harness
(tests/interop/gurux_session.py, tests/hil/sessions.py), which opens a pty itself where the
serial library of Gurux's own example client cannot (its DTR ioctl fails on a pty), and it
continues the client invocation counter from the last run (build/hil-ic.json), where Gurux's
example always starts at 0 and is refused as a replay the second time.

    .venv/bin/python tools/read_meter.py tcp:127.0.0.1:4059 --sap 1 0.0.1.0.0.255:2
    .venv/bin/python tools/read_meter.py hdlc:127.0.0.1:4061 --sap 16 0.0.42.0.0.255:2
    .venv/bin/python tools/read_meter.py /dev/pts/3 --line rs485 --sap 17 1.0.1.8.0.255:2
    .venv/bin/python tools/read_meter.py /dev/pts/4 --line optical 0.0.42.0.0.255:2

Each argument CLASS-ID:OBIS:ATTRIBUTE or OBIS:ATTRIBUTE (the class taken from the association's
object list) is read once and printed as `OBIS:ATTRIBUTE value`. --ek/--ak/--password default to
the virtual meter's public demo values. Exit status 1 when the association or a read fails.
"""
import argparse
import contextlib
import io
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, 'tests'))

from hil import sessions  # noqa: E402
from interop.gurux_session import GuruxSession, make_object, DEMO_EK, DEMO_AK  # noqa: E402

_AUTH = {16: 'none', 17: 'low', 1: 'hls-gmac'}


class _HdlcTcp(sessions.Target):
    """HDLC frames over TCP (the virtual meter's --hdlc-port)."""

    def __init__(self, host, port, physical_address):
        self.host, self.port, self.physical_address = host, port, physical_address

    def session(self, sap, **kw):
        s = GuruxSession(self.host, self.port, sap, transport='hdlc',
                         physical_address=self.physical_address, **kw)
        s.connect()
        return s

    def end(self, s):
        try:
            s.disconnect()
        finally:
            s.close()


def _target(spec, args):
    if spec.startswith('hdlc:'):
        host, _, port = spec[5:].rpartition(':')
        return _HdlcTcp(host, int(port), args.physical_address)
    return sessions.parse_target(spec, line=args.line, physical_address=args.physical_address,
                                 baud=args.baud, device_address=args.device_address)


def _show(v):
    if isinstance(v, (bytes, bytearray)):
        raw = bytes(v)
        text = raw.decode('ascii', 'replace')
        return text if raw and all(32 <= b < 127 for b in raw) else raw.hex().upper()
    return repr(v)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('target', help='tcp:HOST:PORT (wrapper), hdlc:HOST:PORT (HDLC over TCP) or '
                                  'a serial device')
    p.add_argument('reads', nargs='*', default=['1:0.0.42.0.0.255:2', '8:0.0.1.0.0.255:2'],
                   help='[CLASS:]OBIS:ATTRIBUTE to read (default: logical device name, clock)')
    p.add_argument('--sap', type=int, default=16, choices=sorted(_AUTH),
                   help='client SAP: 16 public, 17 reader (LLS), 1 management (HLS-GMAC)')
    p.add_argument('--line', choices=('rs485', 'optical'), default='rs485')
    p.add_argument('--physical-address', type=int, default=17)
    p.add_argument('--baud', type=int, default=9600)
    p.add_argument('--device-address', default='')
    p.add_argument('--ek', default=DEMO_EK.hex())
    p.add_argument('--ak', default=DEMO_AK.hex())
    p.add_argument('--password', default=sessions.DEMO_PASSWORD)
    a = p.parse_intermixed_args(argv)
    creds = sessions.Credentials(bytes.fromhex(a.ek), bytes.fromhex(a.ak), a.password,
                                 ic_file=sessions.IC_FILE)
    kw = dict(block_cipher_key=creds.ek, authentication_key=creds.ak,
              client_system_title=creds.client_title, authentication=_AUTH[a.sap])
    if a.sap == 17:
        kw['password'] = creds.password
    if a.sap == 1:
        kw['ciphered'] = True
        kw['invocation_counter'] = creds.next_ic()
    status = 0
    out = []
    # gurux-dlms 1.0.203 prints a line per ciphered APDU: kept off the output
    with _target(a.target, a) as t, contextlib.redirect_stdout(io.StringIO()):
        s = t.session(a.sap, **kw)
        try:
            s.associate()
            listed = None
            for item in a.reads:
                parts = item.split(':')
                if len(parts) == 3:
                    cid, ln, attr = int(parts[0]), parts[1], int(parts[2])
                else:
                    ln, attr = parts[0], int(parts[1])
                    if listed is None:
                        listed = {str(o.logicalName): int(o.objectType)
                                  for o in s.read(make_object(15, '0.0.40.0.0.255'), 2)}
                    cid = listed.get(ln)
                    if cid is None:
                        out.append('%s:%d not in this association' % (ln, attr))
                        status = 1
                        continue
                try:
                    out.append('%s:%d %s' % (ln, attr, _show(s.read_raw_value(
                        make_object(cid, ln), attr))))
                except Exception as e:
                    out.append('%s:%d %s' % (ln, attr, e))
                    status = 1
            s.release()
        finally:
            if a.sap == 1:
                creds.used(s.invocation_counter)
            t.end(s)
    print('\n'.join(out))
    return status


if __name__ == '__main__':
    sys.exit(main())
