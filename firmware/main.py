# Firmware entry point: reads the board profile and configuration, opens the persistent store,
# builds the meter and starts one asyncio task per configured port.
# On the unix port (the virtual meter) options come from the command line.
import sys
import asyncio
import board
import config as configmod
import meter as metermod
from dlms.store import Store

USAGE = '''usage: main.py [--wrapper-port N] [--state DIR] [--config FILE] [--host ADDR]
  --wrapper-port N  TCP port of the IEC 62056-47 wrapper server (default 4059)
  --state DIR       emulated flash: identity, keys, invocation counters (default: board's)
  --config FILE     JSON file overriding configuration defaults
  --host ADDR       address to listen on (default 127.0.0.1)'''


def log(msg):
    print('[meter] ' + msg)


def parse_args(argv):
    opts = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('-h', '--help'):
            print(USAGE)
            sys.exit(0)
        if a in ('--wrapper-port', '--state', '--config', '--host') and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1]
            i += 2
            continue
        print('unknown option: %s' % a)
        print(USAGE)
        sys.exit(2)
    return opts


def on_event(name, client_sap, detail):
    log('security event: %s (client SAP %d) %s' % (name, client_sap, detail))


async def run(opts):
    cfg = configmod.load(opts.get('config'))
    if 'wrapper-port' in opts:
        cfg['wrapper_port'] = int(opts['wrapper-port'])
    if 'host' in opts:
        cfg['wrapper_host'] = opts['host']
    store = Store(opts.get('state') or board.STATE_DIR)
    meter = metermod.build(cfg, store, board.utc_now, board.random_bytes, on_event)
    log('board %s, AES backend %s' % (board.NAME, board.aes_backend()))
    for line in metermod.describe(meter):
        log(line)
    servers = []
    if board.HAS_NETWORK:
        from transports import wrapper_tcp
        servers.append(await wrapper_tcp.start(meter.server, cfg['wrapper_host'],
                                               cfg['wrapper_port'], log))
    log('ready')
    while True:
        await asyncio.sleep(1)
        board.tick()


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    opts = parse_args(argv)
    try:
        asyncio.run(run(opts))
    except KeyboardInterrupt:
        log('stopped')


main()
