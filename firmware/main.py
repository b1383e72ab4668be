# Firmware entry point: reads the board profile and configuration, opens the persistent store,
# builds the meter and starts one asyncio task per configured port. firmware/supervisor.py
# reports at boot, feeds the watchdog from the main loop and restarts after a fatal error.
# On the unix port (the virtual meter) options come from the command line; a board reads
# its profile's CONFIG_FILE when present.
import gc
# Collect every 8 KiB allocated while the code is imported and the meter built (MicroPython's
# default collects only when the heap is full). Loading .mpy files into the heap leaves the
# loader's garbage between long-lived code objects; collected only when the heap is full, it is
# spread across all of it and the meter then runs in a heap free only in small pieces (with
# 15 KiB free, a session failed for want of 600 contiguous bytes; README, "Memory").
# supervisor.ready() sets the threshold the meter runs with. Before every other import.
if hasattr(gc, 'threshold'):            # MicroPython; CPython's gc has no threshold(n)
    gc.threshold(8192)
import sys
import asyncio
import board
import supervisor
import config as configmod
import meter as metermod
from dlms.store import Store
from dlms._compat import const

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


def log(msg):
    print('[meter] ' + msg)


sup = supervisor.Supervisor(board, log)


def parse_args(argv):
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


_EVENT_LINES_PER_S = const(5)   # console lines for security events; the rest are counted
_event_lines = [0, 0]             # lines this second, lines held back


def on_event(name, client_sap, detail):
    # a flood of bad requests must not become a flood of console output (a UART at 115200 baud
    # takes about 5 ms a line): a few lines a second, then a count (every event is in the log)
    if _event_lines[0] < _EVENT_LINES_PER_S:
        _event_lines[0] += 1
        log('security event: %s (client SAP %d) %s' % (name, client_sap, detail))
    else:
        _event_lines[1] += 1


def events_second():
    if _event_lines[1]:
        log('security events: %d more in the last second (see the security event log)'
            % _event_lines[1])
    _event_lines[0] = 0
    _event_lines[1] = 0


async def run(opts):
    sup.heap('after imports')
    cfg = configmod.load(opts.get('config') or supervisor.config_path(board))
    if 'wrapper-port' in opts:
        cfg['wrapper_port'] = int(opts['wrapper-port'])
    if 'host' in opts:
        cfg['wrapper_host'] = opts['host']
    store = Store(opts.get('state') or board.STATE_DIR)
    sup.boot(store)
    meter = metermod.build(cfg, store, board.utc_now, board.random_bytes, on_event,
                           virtual=board.NAME == 'host')
    log('board %s, AES backend %s' % (board.NAME, supervisor.aes_backend(board)))
    for line in metermod.describe(meter) + supervisor.key_identities(meter):
        log(line)
    sup.start_watchdog()
    net = await supervisor.start_network(board, cfg, log, sup.feed)  # noqa: F841 (ESP32 Wi-Fi)
    import ports
    served = await ports.start(meter.server, cfg, opts, board, log)
    sup.heap('at start')
    sup.ready()
    log('ready')
    while True:
        await asyncio.sleep(1)
        served.tick()
        sup.second(served.serving())
        sup.tick()
        meter.tick()
        events_second()


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    opts = parse_args(argv)
    sup.state_dir = opts.get('state') or board.STATE_DIR
    try:
        asyncio.run(run(opts))
    except KeyboardInterrupt:
        log('stopped')
    except Exception as e:      # restart cleanly, the reason kept for the next boot
        sup.fatal(e)


main()
