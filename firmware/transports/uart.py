# A board UART as an hdlc_serve port: asyncio streams over machine.UART, line changes for the
# IEC 62056-21 opening, TX/RX inversion for IR heads, and an RS485 driver-enable pin that is
# raised before each transmission and released only once the UART reports the last bit sent.
# MicroPython has no RS485 mode (reference micropython-platform.md section 6), hence the pin.
import asyncio

_POLL_MS = 1


class UartPort:
    """`uart`: a machine.UART (or anything with write/read streams, txdone() and init());
    `de`: a machine.Pin driving the transceiver's DE (and /RE), or None; `de_active`: its
    transmit level. `line`: (baud, bits, parity) the UART was opened with; `invert`: passed
    again on every init() (rp2 forgets it otherwise)."""

    def __init__(self, uart, de=None, de_active=1, invert=0, line=None):
        self.uart = uart
        self.de = de
        self.de_active = 1 if de_active else 0
        self.invert = invert
        self.line = line
        if de is not None:
            de.value(1 - self.de_active)
        self._reader = asyncio.StreamReader(uart)
        self._writer = asyncio.StreamWriter(uart, {})

    async def read(self):
        return await self._reader.read(256)

    async def _sent(self):
        while not self.uart.txdone():
            await asyncio.sleep_ms(_POLL_MS)

    async def write(self, data):
        de = self.de
        if de is not None:
            de.value(self.de_active)
        try:
            self._writer.write(data)
            await self._writer.drain()
            await self._sent()
        finally:
            if de is not None:
                de.value(1 - self.de_active)

    async def set_line(self, baud, bits, parity):
        await self._sent()            # rp2 cuts the tail of the last message otherwise
        kw = {'baudrate': baud, 'bits': bits, 'parity': parity, 'stop': 1}
        if self.invert:
            kw['invert'] = self.invert
        self.uart.init(**kw)
        self.line = (baud, bits, parity)


def invert_flags(names):
    """machine.UART inversion flags for a board profile's tuple of constant names, e.g.
    ('INV_TX',); an int is taken as it is, () or None is no inversion."""
    if not names:
        return 0
    if isinstance(names, int):
        return names
    from machine import UART
    flags = 0
    for n in names:
        flags |= getattr(UART, n)
    return flags


def open_uart(spec, line):
    """UartPort for a board profile entry: uart id, tx/rx pins, invert (flags or names), de pin,
    buffers."""
    from machine import UART, Pin
    spec = dict(spec)
    spec['invert'] = invert_flags(spec.get('invert'))
    baud, bits, parity = line
    kw = {'baudrate': baud, 'bits': bits, 'parity': parity, 'stop': 1, 'timeout': 0,
          'txbuf': spec.get('txbuf', 512), 'rxbuf': spec.get('rxbuf', 512)}
    if spec.get('tx') is not None:
        kw['tx'] = Pin(spec['tx'])
    if spec.get('rx') is not None:
        kw['rx'] = Pin(spec['rx'])
    if spec.get('invert'):
        kw['invert'] = spec['invert']
    uart = UART(spec['uart'], **kw)
    de = None
    if spec.get('de') is not None:
        de = Pin(spec['de'], Pin.OUT)
    return UartPort(uart, de, spec.get('de_active', 1), spec.get('invert', 0), line)
