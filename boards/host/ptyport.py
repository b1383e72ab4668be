# The host board's serial ports: a pseudo-terminal as an hdlc_serve port. Host tools open the
# slave path like a serial device; baud rate and parity changes are recorded, not applied (a pty
# has no line), so the IEC 62056-21 opening runs exactly as on a UART.
import asyncio
import hostpty


class PtyPort:
    def __init__(self):
        self.master, self.slave, self.path = hostpty.open_pty()
        self._reader = asyncio.StreamReader(self.master)
        self._writer = asyncio.StreamWriter(self.master, {})
        self.line = None

    async def read(self):
        return await self._reader.read(512)

    async def write(self, data):
        self._writer.write(data)
        await self._writer.drain()

    async def set_line(self, baud, bits, parity):
        self.line = (baud, bits, parity)
