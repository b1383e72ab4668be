# Board profile: the host (MicroPython unix port), i.e. the virtual meter.
# Names the ports, storage and the board services (time, randomness) the firmware uses.
import os
import time

NAME = 'host'
HAS_NETWORK = True
STATE_DIR = 'sim-state'
# the virtual meter compiles its modules into the heap: the public-key part (lib/dlms_pk) only
# when this much is free after the imports (a board-sized SIM_HEAP runs without it)
PUBLIC_KEY_MIN_FREE = 160 * 1024


def utc_now():
    return int(time.time())


def random_bytes(n):
    return os.urandom(n)


def aes_backend():
    from dlms import aes
    return aes.BACKEND


def tick():
    pass


def prepare(meter, log):
    """Once the meter is built: the virtual meter's demo public-key material (demo_enroll.py)."""
    from demo_enroll import enroll
    enroll(meter, log)


def options(argv):
    """The virtual meter's command-line options (boards/host/cli.py)."""
    from cli import parse
    return parse(argv)


# ---- HDLC lines and serial ports (IEC 62056-46, IEC 62056-21) ----
# The settings every HDLC line shares are firmware/ports.py's HDLC_DEFAULTS; a profile may
# override some of them with a dict HDLC of its own.
# The serial ports. On a board each entry names its UART: 'uart' (id), 'tx'/'rx' (pins),
# 'invert' (IR heads: UART.INV_TX | UART.INV_RX), 'de' (RS485 driver-enable pin, 'de_active'
# its transmit level), 'txbuf'/'rxbuf', and the baud rates: the optical port opens at 300 baud
# 7E1 and offers up to 'max_baud' for HDLC (mode E); the RS485 port runs HDLC at 'baud' 8N1.
# An entry may override any HDLC setting (e.g. its own 'physical_address').
# On the host every port is a pseudo-terminal, made only when its option asks for it
# (--optical-pty, --rs485-pty); the pins do not exist.
SERIAL_PORTS = {
    'optical': {
        'kind': 'optical', 'uart': 'pty', 'tx': None, 'rx': None, 'invert': 0,
        'max_baud': 9600,
        'device_address': '12345678',    # /?12345678! selects this meter
        'manufacturer': 'MMM',           # identification /MMM5\2SECMETER
        'identification': 'SECMETER',
    },
    'rs485': {
        'kind': 'rs485', 'uart': 'pty', 'tx': None, 'rx': None, 'de': None, 'de_active': 1,
        'baud': 9600,
    },
}
SERIAL_AUTOSTART = ()   # ports started without an option: none on the host


def open_port(name, spec, line):
    """The port object for SERIAL_PORTS[name], opened at `line` = (baud, bits, parity).
    A board with UARTs returns transports.uart.open_uart(spec, line) here."""
    from ptyport import PtyPort
    return PtyPort()
