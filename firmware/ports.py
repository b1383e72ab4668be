# The meter's ports at start-up: which run (board profile and command line), with which
# settings, each as an asyncio server or task. Knows no protocol: transports/ do the serving.
# HDLC code is imported only when an HDLC line is configured (RAM on small boards).
import asyncio

_OPENING_LINE = (300, 7, 0)     # IEC 62056-21: 300 baud, 7 data bits, even parity

# Settings every HDLC line shares: the logical devices (upper HDLC addresses) served, the meter's
# physical (lower) HDLC address, the longest information field offered (an SNRM may lower it),
# the inactivity timeout that drops link and association, and the inter-octet timeout, in ms.
# A board profile's HDLC dict overrides them for all its lines, a SERIAL_PORTS entry for its own.
HDLC_DEFAULTS = {
    'logical_devices': (1,),
    'physical_address': 17,
    'max_info': 256,
    'inactivity_timeout': 120000,
    'inter_octet_timeout': 1000,
}


def _merged(base, spec):
    d = dict(base)
    d.update(spec)
    return d


def line_settings(board, spec=None):
    """The settings of an HDLC line: HDLC_DEFAULTS, under the profile's HDLC, under the port's
    SERIAL_PORTS entry `spec` (if any)."""
    opts = _merged(HDLC_DEFAULTS, getattr(board, 'HDLC', {}))
    return _merged(opts, spec) if spec is not None else opts


class Ports:
    """The running ports: TCP listeners (transports/tcp.py) and line tasks. serving() says
    whether at least one of them can serve a client now (the main loop stops feeding the
    watchdog after a minute without)."""

    def __init__(self):
        self.listeners = []
        self.lines = []              # _Line

    def tick(self):
        """Once a second from the main loop."""
        for lst in self.listeners:
            lst.tick()

    def serving(self):
        if not self.listeners and not self.lines:
            return True              # nothing configured: nothing a restart would bring back
        for lst in self.listeners:
            if lst.serving:
                return True
        for line in self.lines:
            if line.running:
                return True
        return False


class _Line:
    """A serial line's task: started again a second after it fails (a port that fails must not
    take the meter down, nor stay down)."""

    def __init__(self, make, name, log):
        self.make = make             # () -> the coroutine that serves the line
        self.name = name
        self.log = log
        self.running = False
        self.task = asyncio.create_task(self.run())

    async def run(self):
        while True:
            self.running = True
            try:
                await self.make()
            except asyncio.CancelledError:
                self.running = False
                return
            except Exception as e:
                self.log('%s: stopped: %s %s; again in 1 s' % (self.name, e.__class__.__name__, e))
            self.running = False
            await asyncio.sleep(1)


def _where(port):
    path = getattr(port, 'path', None)
    return ('pseudo-terminal %s' % path) if path else 'UART'


async def start(server, cfg, opts, board, log):
    """Start every configured port. `opts`: 'hdlc-port' (HDLC over TCP), 'serial' (names of the
    board's serial ports to start; default board.SERIAL_AUTOSTART). Returns a Ports."""
    handles = Ports()
    hdlc_opts = line_settings(board)
    if board.HAS_NETWORK:
        from transports import wrapper_tcp
        limits = (cfg['tcp_max_connections'], cfg['tcp_inactivity_s'])
        handles.listeners.append(wrapper_tcp.start(server, cfg['wrapper_host'],
                                                   cfg['wrapper_port'], log, *limits))
        if opts.get('hdlc-port') is not None:
            from transports import hdlc_tcp
            handles.listeners.append(hdlc_tcp.start(server, cfg['wrapper_host'],
                                                    int(opts['hdlc-port']), hdlc_opts, log,
                                                    *limits))
        await asyncio.sleep(0)       # the listeners bind before the meter says it is ready
    names = opts.get('serial')
    if names is None:
        names = getattr(board, 'SERIAL_AUTOSTART', ())
    specs = getattr(board, 'SERIAL_PORTS', {})
    for name in names:
        spec = line_settings(board, specs[name])
        if spec['kind'] == 'optical':
            port = board.open_port(name, spec, _OPENING_LINE)
            log('%s: %s (IEC 62056-21 mode E at 300 baud 7E1, then HDLC at up to %d baud 8N1;'
                ' device address %s, physical address %s)'
                % (name, _where(port), spec.get('max_baud', 9600),
                   spec.get('device_address') or '-', spec.get('physical_address')))
            make = _optical(server, port, spec, log, name)
        else:
            baud = spec.get('baud', 9600)
            port = board.open_port(name, spec, (baud, 8, None))
            log('%s: %s (HDLC at %d baud 8N1, multidrop, physical address %s)'
                % (name, _where(port), baud, spec.get('physical_address')))
            make = _rs485(server, port, spec, log, name)
        handles.lines.append(_Line(make, name, log))
    return handles


def _optical(server, port, spec, log, name):
    from transports import hdlc_serve
    return lambda: hdlc_serve.serve_optical(server, port, spec, log, name)


def _rs485(server, port, spec, log, name):
    from transports import hdlc_serve
    return lambda: hdlc_serve.serve_hdlc(server, port, spec, log, name, multidrop=True)
