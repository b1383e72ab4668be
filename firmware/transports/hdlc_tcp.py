# HDLC over TCP (the frames of IEC 62056-46 on a TCP connection, no wrapper): one HDLC line per
# connection, served by transports/hdlc_serve.py. Closing the connection drops the link and the
# association.
import asyncio
from transports import hdlc_serve


class StreamPort:
    """An asyncio stream pair as an hdlc_serve port (line settings do not apply)."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    async def read(self):
        return await self.reader.read(512)

    async def write(self, data):
        self.writer.write(data)
        await self.writer.drain()

    async def set_line(self, baud, bits, parity):
        pass


async def start(server, host, port, opts, log):
    async def on_connect(reader, writer):
        try:
            await hdlc_serve.serve_hdlc(server, StreamPort(reader, writer), opts, log,
                                        'hdlc-tcp', until_eof=True)
        except OSError:
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:
                pass

    srv = await asyncio.start_server(on_connect, host, port)
    log('hdlc-tcp: listening on %s:%d (HDLC frames over TCP, physical address %s)'
        % (host, port, opts.get('physical_address')))
    return srv
