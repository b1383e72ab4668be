# HDLC over TCP (the frames of IEC 62056-46 on a TCP connection, no wrapper): one HDLC line per
# connection of a transports/tcp.py listener, served by transports/hdlc_serve.py. Closing the
# connection drops the link and the association; a link that drops (DISC, inactivity) closes the
# connection.
from transports import hdlc_serve, tcp


class StreamPort:
    """A tcp.Connection as an hdlc_serve port (line settings do not apply)."""

    def __init__(self, conn):
        self.conn = conn

    async def read(self):
        return await self.conn.read()

    async def write(self, data):
        self.conn.write(data)
        await self.conn.drain()

    async def set_line(self, baud, bits, parity):
        pass


def start(server, host, port, opts, log, max_connections=4, inactivity_s=180):
    async def handler(conn):
        try:
            await hdlc_serve.serve_hdlc(server, StreamPort(conn), opts, log, 'hdlc-tcp',
                                        until_eof=True, conn=conn)
        except OSError:
            pass

    def on_event(name, detail):
        server.event(name, 0, detail)

    lst = tcp.Listener('hdlc-tcp', host, port, handler, log, max_connections, inactivity_s,
                       on_event)
    log('hdlc-tcp: listening on %s:%d (HDLC frames over TCP, physical address %s)'
        % (host, port, opts.get('physical_address')))
    return lst.start()
