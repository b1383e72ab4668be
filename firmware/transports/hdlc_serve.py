# HDLC lines served by the COSEM server: thin asyncio loops between a byte port and the sans-IO
# HDLC link (dlms/hdlc_link.py), the mode E opening (dlms/iec62056_21.py) and server sessions.
# A port is anything with `await read() -> bytes`, `await write(data)` (returns once the bytes
# are on the line: RS485 releases its driver after the last bit) and
# `await set_line(baud, bits, parity)`; see transports/uart.py, transports/hdlc_tcp.py and
# boards/host/ptyport.py.
# One link per line, one session per connected client; the session closes with the link.
import asyncio
import time
from dlms import hdlc_link, iec62056_21 as mode_e

_TICK_S = 0.25        # how often timeouts are looked at while the line is quiet


class Monotonic:
    """Milliseconds that never wrap (time.ticks_ms wraps), for the protocol modules' `now`."""

    def __init__(self):
        self._ticks = getattr(time, 'ticks_ms', None)
        if self._ticks is None:                      # CPython
            self._last = int(time.monotonic() * 1000)
        else:
            self._last = self._ticks()
        self._total = 0

    def __call__(self):
        if self._ticks is None:
            return int(time.monotonic() * 1000)
        t = self._ticks()
        self._total += time.ticks_diff(t, self._last)
        self._last = t
        return self._total


now_ms = Monotonic()


class LinkServer:
    """One HdlcLink and the session of its connected client."""

    def __init__(self, server, link, log, name):
        self.server = server
        self.link = link
        self.log = log
        self.name = name
        self.session = None
        self.dropped = None
        self._answered = False

    def idle(self):
        """Once the reply's frames are written: the session's idle work (Session.idle)."""
        if self._answered and self.session is not None:
            self._answered = False
            self.session.idle()

    def pump(self):
        """Handle every pending link event. Returns (bytes to write, link went up, went down).
        `dropped` says why the link last went down other than by the client's DISC (inactivity,
        a refused SNRM), else None."""
        up = down = False
        link = self.link
        while True:
            ev = link.next_event()
            if ev is None:
                break
            kind = ev[0]
            if kind == hdlc_link.APDU:
                reply = self.session.handle(ev[1]) if self.session is not None else None
                link.reply(reply)
                self._answered = reply is not None
            elif kind == hdlc_link.CONNECTED:
                self._close_session()
                self.session = self.server.session(ev[1], ev[2])
                self.log('%s: HDLC link up, client %d, logical device %d'
                         % (self.name, ev[1], ev[2]))
                up = True
            elif kind == hdlc_link.DISCONNECTED:
                self._close_session()
                self.dropped = ev[1] if ev[1] != 'disc' else None
                self.log('%s: HDLC link down (%s)' % (self.name, ev[1]))
                down = True
        return link.data_to_send(), up, down

    def tick(self, now):
        self.link.tick(now)
        return self.pump()

    def authenticated(self):
        return self.session is not None and self.session.authenticated

    def _close_session(self):
        if self.session is not None:
            self.session.close()
            self.session = None

    def close(self):
        self._close_session()


async def _read(port):
    try:
        return await asyncio.wait_for(port.read(), _TICK_S)
    except asyncio.TimeoutError:
        return None


def make_link(server, opts, multidrop=False):
    """The link of a line: every setting from `opts` over ports.HDLC_DEFAULTS, the one place
    the meter's HDLC settings live (dlms/hdlc_link.py's own defaults are the standard's)."""
    from ports import HDLC_DEFAULTS
    o = dict(HDLC_DEFAULTS)
    o.update(opts)
    return hdlc_link.HdlcLink(
        logical_devices=o['logical_devices'],
        physical_address=o['physical_address'],
        multidrop=multidrop,
        max_info=o['max_info'],
        max_apdu=server.max_pdu + 64,
        inactivity_timeout=o['inactivity_timeout'],
        inter_octet_timeout=o['inter_octet_timeout'])


async def serve_hdlc(server, port, opts, log, name, multidrop=False, until_eof=False, conn=None):
    """Plain HDLC on a port at a fixed line setting (RS485 bus, HDLC over TCP). `conn`: the
    tcp.Connection the port reads (HDLC over TCP): told whether the link's association holds a
    secret, and the serving ends (the connection closes) once the link drops (inactivity); after
    the client's own DISC the connection stays for its next SNRM."""
    ls = LinkServer(server, make_link(server, opts, multidrop), log, name)
    if conn is not None:
        conn.holds_secret = ls.authenticated
    try:
        while True:
            data = await _read(port)
            if data is not None and not data:
                if until_eof:
                    break
                continue
            now = now_ms()
            if data:
                ls.link.receive_data(data, now)
            out, up, down = ls.tick(now)
            if out:
                await port.write(out)
                ls.idle()
            if down and conn is not None and ls.dropped and not ls.link.connected:
                log('%s: link dropped (%s): connection closed' % (name, ls.dropped))
                break
    finally:
        ls.close()


class _Optical:
    """The optical port's moving parts: the mode E handshake and, while binary, the link."""

    def __init__(self, server, port, opts, log, name):
        self.server = server
        self.port = port
        self.opts = opts
        self.log = log
        self.name = name
        self.ls = None
        self.handshake = mode_e.ModeE(
            device_address=opts.get('device_address', ''),
            manufacturer=opts.get('manufacturer', 'MMM'),
            identification=opts.get('identification', 'DLMS'),
            max_baud=opts.get('max_baud', 9600))

    async def set_line(self, baud, bits, parity):
        await self.port.set_line(baud, bits, parity)
        self.log('%s: %d baud %s' % (self.name, baud, '8N1' if bits == 8 else '7E1'))

    async def run(self, actions, now):
        for act in actions:
            kind = act[0]
            if kind == mode_e.SEND:
                await asyncio.sleep(mode_e.REACTION_MS / 1000)
                await self.port.write(act[1])
            elif kind == mode_e.SET_LINE:
                await self.set_line(act[1], act[2], act[3])
            elif kind == mode_e.START_LINK:
                self.ls = LinkServer(self.server, make_link(self.server, self.opts), self.log,
                                     self.name)
            elif kind == mode_e.STOP_LINK:
                if self.ls is not None:
                    self.ls.close()
                    self.ls = None
            elif kind == mode_e.LINK_DATA:
                await self.to_link(act[1], now)

    async def to_link(self, data, now):
        if self.ls is not None:
            self.ls.link.receive_data(data, now)
            await self.pump_link(now)

    async def pump_link(self, now):
        if self.ls is None:
            return
        out, up, down = self.ls.tick(now)
        if out:
            await self.port.write(out)
            if self.ls is not None:
                self.ls.idle()
        if up or down:                   # what counts is where the link ended up
            if self.ls.link.connected:
                await self.run(self.handshake.link_up(now), now)
            else:
                await self.run(self.handshake.link_down(now), now)


async def serve_optical(server, port, opts, log, name='optical'):
    """IEC 62056-21 mode E, then HDLC, then back to 300 baud 7E1; forever."""
    op = _Optical(server, port, opts, log, name)
    hs = op.handshake
    await op.set_line(*hs.line())
    while True:
        data = await _read(port)
        now = now_ms()
        if data:
            if hs.binary:
                await op.to_link(data, now)
            else:
                await op.run(hs.receive(data, now), now)
        await op.run(hs.tick(now), now)
        await op.pump_link(now)
