"""firmware/transports/tcp.py under CPython's asyncio with real sockets: the cap on connections and
who makes room, the inactivity time-out, an error kept inside its connection, and an HDLC link
over TCP that drops closing its connection (issue 10, flaw 5). The same listener under the
MicroPython unix port, against a board-sized heap: tests/interop/test_tcp_connections.py."""
import asyncio
import os
import socket
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in ('firmware', 'lib'):
    sys.path.insert(0, os.path.join(_ROOT, _p))

from transports import tcp, hdlc_serve  # noqa: E402


def _port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


async def _until(cond, timeout=3.0):
    end = asyncio.get_event_loop().time() + timeout
    while not cond():
        if asyncio.get_event_loop().time() > end:
            raise AssertionError('timed out')
        await asyncio.sleep(0.01)


async def _closed(reader, timeout=2.0):
    try:
        return await asyncio.wait_for(reader.read(16), timeout) == b''
    except (ConnectionError, OSError):
        return True
    except asyncio.TimeoutError:
        return False


def _run(coro):
    asyncio.run(asyncio.wait_for(coro, 20))


class Echo:
    def __init__(self):
        self.secret = set()         # peers whose connection "holds an authenticated association"
        self.seen = []

    async def __call__(self, conn):
        conn.holds_secret = lambda: conn.peer in self.secret
        self.seen.append(conn)
        while True:
            data = await conn.read()
            if not data:
                return
            if data == b'boom':
                raise MemoryError('stand-in')
            conn.write(data)
            await conn.drain()


def test_at_the_cap_the_idlest_unauthenticated_connection_makes_room():
    async def main():
        port = _port()
        echo = Echo()
        log = []
        lst = tcp.Listener('t', '127.0.0.1', port, echo, log.append, max_connections=2).start()
        await _until(lambda: lst.serving)
        r1, w1 = await asyncio.open_connection('127.0.0.1', port)
        await _until(lambda: len(lst.conns) == 1)
        r2, w2 = await asyncio.open_connection('127.0.0.1', port)
        await _until(lambda: len(lst.conns) == 2)
        w2.write(b'x')                       # connection 2 is the more recent one
        assert await r2.read(1) == b'x'
        r3, w3 = await asyncio.open_connection('127.0.0.1', port)
        assert await _closed(r1)             # the idlest went
        w3.write(b'y')
        assert await r3.read(1) == b'y'
        w2.write(b'z')
        assert await r2.read(1) == b'z'
        assert lst.evicted == 1 and len(lst.conns) == 2
        # when every slot holds an authenticated association, a new one is closed at once
        echo.secret = {c.peer for c in lst.conns}
        r4, w4 = await asyncio.open_connection('127.0.0.1', port)
        assert await _closed(r4)
        assert lst.refused == 1
        w3.write(b'w')
        assert await r3.read(1) == b'w'
        for w in (w1, w2, w3, w4):
            w.close()
        lst.task.cancel()
    _run(main())


def test_a_silent_connection_is_closed_by_the_tick():
    async def main():
        port = _port()
        lst = tcp.Listener('t', '127.0.0.1', port, Echo(), lambda m: None,
                           inactivity_s=0.2).start()
        await _until(lambda: lst.serving)
        r, w = await asyncio.open_connection('127.0.0.1', port)
        await _until(lambda: len(lst.conns) == 1)
        lst.tick()
        assert len(lst.conns) == 1           # not silent for long yet
        await asyncio.sleep(0.3)
        lst.tick()
        assert await _closed(r)
        assert lst.conns == []
        w.close()
        lst.task.cancel()
    _run(main())


def test_an_error_in_one_connection_ends_that_connection_only():
    async def main():
        port = _port()
        log = []
        lst = tcp.Listener('t', '127.0.0.1', port, Echo(), log.append).start()
        await _until(lambda: lst.serving)
        ra, wa = await asyncio.open_connection('127.0.0.1', port)
        rb, wb = await asyncio.open_connection('127.0.0.1', port)
        wa.write(b'boom')
        assert await _closed(ra)
        assert any('MemoryError' in line for line in log)
        wb.write(b'ok')
        assert await rb.read(2) == b'ok'
        rc, wc = await asyncio.open_connection('127.0.0.1', port)   # still accepting
        wc.write(b'hi')
        assert await rc.read(2) == b'hi'
        assert lst.serving
        for w in (wa, wb, wc):
            w.close()
        lst.task.cancel()
    _run(main())


def test_a_listener_that_cannot_listen_says_so_and_tries_again():
    async def main():
        blocker = socket.socket()
        blocker.bind(('127.0.0.1', 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        log = []
        lst = tcp.Listener('t', '127.0.0.1', port, Echo(), log.append).start()
        await _until(lambda: log)
        assert not lst.serving and 'listener error' in log[0]
        blocker.close()
        await _until(lambda: lst.serving, 4)  # the port is free again: it listens
        lst.task.cancel()
    _run(main())


class _Port:
    """An hdlc_serve port fed from a list, then silent (an HDLC client that went quiet)."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.out = []

    async def read(self):
        if self.frames:
            return self.frames.pop(0)
        await asyncio.sleep(1)
        return None

    async def write(self, data):
        self.out.append(bytes(data))

    async def set_line(self, baud, bits, parity):
        pass


class _Conn:
    holds_secret = None


def test_an_hdlc_link_over_tcp_that_drops_ends_its_connection():
    from dlms import hdlc
    sys.path.insert(0, os.path.join(_ROOT, 'tests', 'vectors'))
    from test_server import make_server
    srv, _ = make_server()
    snrm = hdlc.encode_frame(hdlc.encode_server_address(1, 17), b'\x21', 0x93)
    port = _Port([bytes(snrm)])
    log = []
    conn = _Conn()
    opts = {'logical_devices': (1,), 'physical_address': 17, 'inactivity_timeout': 300}

    async def main():
        await hdlc_serve.serve_hdlc(srv, port, opts, log.append, 'hdlc-tcp', until_eof=True,
                                    conn=conn)
    _run(main())                              # returns: the link dropped (inactivity)
    assert port.out and port.out[0][3] == 0x21  # UA went out first
    assert any('link dropped (inactivity timeout): connection closed' in m for m in log)
    assert conn.holds_secret() is False
