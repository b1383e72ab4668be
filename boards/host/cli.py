# The virtual meter's command line (the MicroPython unix port): firmware/main.py asks the board
# profile for its options; only the host profile has a command line, so boards never load this.
import sys

USAGE = '''usage: main.py [--wrapper-port N] [--hdlc-port N] [--optical-pty] [--rs485-pty]
               [--state DIR] [--config FILE] [--host ADDR]
  --wrapper-port N  TCP port of the IEC 62056-47 wrapper server (default 4059)
  --hdlc-port N     also serve HDLC frames (IEC 62056-46) over TCP on port N
  --optical-pty     optical port (IEC 62056-21 mode E, then HDLC) on a pseudo-terminal
  --rs485-pty       RS485 port (HDLC, multidrop) on a pseudo-terminal
  --state DIR       emulated flash: identity, keys, invocation counters (default: board's)
  --config FILE     JSON file overriding configuration defaults
  --host ADDR       address to listen on (default 127.0.0.1)
Pseudo-terminal paths are printed at start.'''

_SERIAL_FLAGS = {'--optical-pty': 'optical', '--rs485-pty': 'rs485'}


def parse(argv):
    opts = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('-h', '--help'):
            print(USAGE)
            sys.exit(0)
        if a in ('--wrapper-port', '--hdlc-port', '--state', '--config', '--host') \
                and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1]
            i += 2
            continue
        if a in _SERIAL_FLAGS:
            serial = opts.setdefault('serial', [])
            if _SERIAL_FLAGS[a] not in serial:
                serial.append(_SERIAL_FLAGS[a])
            i += 1
            continue
        print('unknown option: %s' % a)
        print(USAGE)
        sys.exit(2)
    return opts
