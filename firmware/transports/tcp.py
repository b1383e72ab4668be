# TCP listeners of the meter's network ports (the IEC 62056-47 wrapper, HDLC over TCP): the accept
# loop, a cap on concurrent connections, an inactivity time-out per connection, and errors kept
# inside the connection they happen in. Knows no protocol: a handler serves each connection.
# - At the cap, a new connection takes the place of the connection idle the longest among those
#   that hold no authenticated association (a stranger's idle sockets cannot keep the holder of
#   the secrets out); when every connection holds one, the new one is closed at once.
# - A connection without a byte for `inactivity_s` (Blue Book TCP-UDP setup inactivity_time_out)
#   is closed; its handler's `finally` aborts its associations.
# - A MemoryError or any other error in a connection ends that connection only; an error in the
#   accept loop restarts the listener after a second (MicroPython's own start_server ends its
#   accept task for good on such an error, which left the port dead). `serving` says whether
#   the socket listens, for the main loop's "no port served for a minute" check.
import asyncio
import socket

try:
    from time import ticks_ms, ticks_diff
except ImportError:                     # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

try:
    from asyncio.core import _io_queue  # MicroPython
except ImportError:                     # CPython: loop.sock_accept
    _io_queue = None

_READ = 512                             # bytes per read: the memory a connection holds at once
_BACKLOG = 5                            # as MicroPython's start_server
_BURST = 8                              # connections taken per wake-up at most


def _readable(s):
    # MicroPython: awaiting this generator returns once s is readable (asyncio's streams wait the
    # same way); only called where _io_queue exists
    yield _io_queue.queue_read(s)


class Connection:
    """One accepted connection as a handler sees it: read() and write()/drain() on its stream,
    and `holds_secret`, which the handler sets to a callable that says whether an association
    authenticated by a secret is live on it."""

    def __init__(self, peer):
        self.peer = peer
        self.reader = None
        self.writer = None
        self.sock = None
        self.task = None
        self.last = ticks_ms()
        self.holds_secret = None

    async def read(self, n=_READ):
        data = await self.reader.read(n)
        self.last = ticks_ms()
        return data

    def write(self, data):
        self.writer.write(data)

    async def drain(self):
        await self.writer.drain()

    def authenticated(self):
        f = self.holds_secret
        if f is None:
            return False
        try:
            return bool(f())
        except Exception:
            return False


class Listener:
    def __init__(self, name, host, port, handler, log, max_connections=4, inactivity_s=180,
                 on_event=None):
        self.name = name
        self.host = host
        self.port = port
        self.handler = handler          # async handler(connection)
        self.log = log
        self.max_connections = max(1, max_connections)
        self.inactivity_ms = int(inactivity_s * 1000)
        self.on_event = on_event        # (name, detail): security events of the listener
        self.conns = []
        self.serving = False
        self.refused = 0                # connections closed at once (all slots authenticated)
        self.evicted = 0                # idle unauthenticated connections closed for a new one
        self.task = None

    def start(self):
        self.task = asyncio.create_task(self.run())
        return self

    async def run(self):
        """Listen forever; after an error, listen again a second later."""
        while True:
            try:
                await self._serve()
            except asyncio.CancelledError:
                self.serving = False
                return
            except Exception as e:      # MemoryError, OSError: the listener comes back
                self.serving = False
                try:
                    self.log('%s: listener error (%s), listening again in 1 s'
                             % (self.name, e.__class__.__name__))
                except Exception:
                    pass
            self.serving = False
            await asyncio.sleep(1)

    async def _serve(self):
        ai = socket.getaddrinfo(self.host, self.port)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(ai[-1])
            s.listen(_BACKLOG)
            s.setblocking(False)
            self.serving = True
            while True:
                await self._accept(s)
        finally:
            self.serving = False
            s.close()

    async def _accept(self, s):
        """Take the connections waiting (a burst is taken in one go: the kernel's queue is
        short, and a connection it cannot queue waits a second for its SYN to come again)."""
        if _io_queue is None:
            c, peer = await asyncio.get_event_loop().sock_accept(s)
            await self._admit(c, peer)
            return
        await _readable(s)
        for _ in range(_BURST):
            try:
                c, peer = s.accept()
            except OSError:             # none (left) waiting
                return
            await self._admit(c, peer)

    async def _admit(self, c, peer):
        try:
            if len(self.conns) >= self.max_connections and not self._make_room():
                self.refused += 1
                self._event('connection refused: every slot holds an authenticated association')
                c.close()
                return
            conn = Connection(peer)
            conn.sock = c
            self.conns.append(conn)
            try:
                conn.task = asyncio.create_task(self._connection(conn))
            except Exception:
                self.conns.remove(conn)
                raise
        except MemoryError:             # no memory for this one: it goes, the others stay
            c.close()
            await asyncio.sleep(0.1)

    def _make_room(self):
        victim = None
        for conn in self.conns:
            if not conn.authenticated() and (
                    victim is None or ticks_diff(victim.last, conn.last) > 0):
                victim = conn
        if victim is None:
            return False
        self.evicted += 1
        self._event('connection closed for a new one (idle, no authenticated association)')
        self._drop(victim)
        return True

    def _drop(self, conn):
        if conn in self.conns:
            self.conns.remove(conn)
        if conn.task is not None:
            conn.task.cancel()

    def _event(self, detail):
        if self.on_event is not None:
            try:
                self.on_event('connection-limit', '%s: %s' % (self.name, detail))
            except Exception:
                pass

    def tick(self):
        """Once a second (the main loop): close the connections silent for too long. (Not a
        task of its own: on MicroPython a second task sleeping beside the accept loop delayed
        the wake-up for new connections by up to its sleep.)"""
        now = ticks_ms()
        for conn in list(self.conns):
            if ticks_diff(now, conn.last) > self.inactivity_ms:
                self.log('%s: connection idle for %d s: closed'
                         % (self.name, self.inactivity_ms // 1000))
                self._drop(conn)

    async def _connection(self, conn):
        c = conn.sock
        try:
            c.setblocking(False)
            if _io_queue is not None:
                conn.reader = conn.writer = asyncio.StreamReader(c)
            else:
                conn.reader, conn.writer = await asyncio.open_connection(sock=c)
            await self.handler(conn)
        except asyncio.CancelledError:
            pass
        except Exception as e:          # MemoryError included: this connection only
            try:
                self.log('%s: connection closed (%s)' % (self.name, e.__class__.__name__))
            except Exception:
                pass
        finally:
            if conn in self.conns:
                self.conns.remove(conn)
            try:
                if _io_queue is None and conn.writer is not None:
                    conn.writer.close()
                else:
                    c.close()
            except Exception:
                pass

