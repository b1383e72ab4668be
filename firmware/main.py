# Firmware entry point: reads the board profile and configuration, opens the persistent store,
# builds the meter and starts one asyncio task per configured port. firmware/supervisor.py
# reports at boot, feeds the watchdog from the main loop and restarts after a fatal error.
# On the unix port (the virtual meter) options come from the command line (the host profile's
# options(), boards/host/cli.py); a board reads its profile's CONFIG_FILE when present.
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

def log(msg):
    print('[meter] ' + msg)


sup = supervisor.Supervisor(board, log)


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
    if cfg['public_key'] is None:
        cfg['public_key'] = supervisor.public_key_fits(board, log)
    meter = metermod.build(cfg, store, board.utc_now, board.random_bytes, on_event,
                           virtual=board.NAME == 'host')
    prepare = getattr(board, 'prepare', None)       # the virtual meter's demo material
    if prepare is not None:
        prepare(meter, log)
    log('board %s, AES backend %s' % (board.NAME, supervisor.aes_backend(board)))
    for line in metermod.describe(meter) + supervisor.key_identities(meter):
        log(line)
    sup.start_watchdog()
    net = await supervisor.start_network(board, cfg, log, sup.feed)  # noqa: F841 (ESP32 Wi-Fi)
    import ports
    served = await ports.start(meter.server, cfg, opts, board, log)
    sup.heap('at start')
    sup.ready()
    events_second()                 # the start's events do not use up the first second's lines
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
    # a board has no command line; the virtual meter's profile reads it (boards/host/cli.py)
    options = getattr(board, 'options', None)
    opts = options(argv) if options is not None else {}
    sup.state_dir = opts.get('state') or board.STATE_DIR
    try:
        asyncio.run(run(opts))
    except KeyboardInterrupt:
        log('stopped')
    except Exception as e:      # restart cleanly, the reason kept for the next boot
        sup.fatal(e)


main()
