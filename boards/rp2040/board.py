# Board profile: Raspberry Pi Pico (RP2040, 2 MB flash) running MicroPython (RPI_PICO). Names
# the ports, status LED, storage, watchdog and board services the firmware uses. Importable
# without `machine` (the tests read it under CPython): hardware modules are imported inside the
# functions. The plain Pico has no network: no TCP wrapper (a Pico W profile would add Wi-Fi as
# boards/esp32 does).
#
# Pins (GP numbers; RP2040 UARTs have fixed pin sets: UART0 on GP0/1, 12/13, 16/17; UART1 on
# GP4/5, 8/9):
#   optical port (IR head)      UART0  TX GP0 -> IR LED driver, RX GP1 <- phototransistor
#   RS485 (MAX3485 class)       UART1  TX GP4 -> DI, RX GP5 <- RO, GP6 -> DE and /RE
#   status LED                  GP25 (the Pico's own LED; on a Pico W it is 'LED')
# Wiring diagrams: README.md, "Boards and deployment".
import os
import time

NAME = 'rp2040'
HAS_NETWORK = False
STATE_DIR = 'state'          # on the littlefs filesystem, next to main.py
CONFIG_FILE = 'config.json'  # the meter configuration (firmware/config.py keys), optional
STATUS_LED = 25
STATUS_LED_ACTIVE = 1
WDT_TIMEOUT_MS = 8000        # the RP2040 watchdog allows at most 8388 ms
AES_HARDWARE = False         # no AES engine: mbedTLS software AES (MBEDTLS_AES_ROM_TABLES)

# firmware/ modules this board never imports, left out of `make deploy` and manifest.py
# (HDLC over TCP is a virtual-meter option; no network, no TCP wrapper).
DEPLOY_EXCLUDE = ('transports/hdlc_tcp.py', 'transports/tcp.py', 'transports/wrapper_tcp.py')

# Seconds between 1970-01-01 and MicroPython's epoch on this port (2000-01-01 on rp2).
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0


def utc_now():
    return int(time.time()) + _EPOCH


def random_bytes(n):
    # pico_rand: a PRNG mixed with ring-oscillator bits, not a certified TRNG; the keystore's
    # DRBG also mixes the provisioned seed and the previous boot's forward seed.
    return os.urandom(n)


def aes_backend():
    from dlms import aes
    if aes.BACKEND != 'cryptolib':
        return 'pure-Python AES (this firmware has no cryptolib)'
    return 'cryptolib in software (mbedTLS; the RP2040 has no AES engine)'


def unique_id():
    import machine
    return machine.unique_id()


def reset_cause():
    # rp2 reports only power-on and watchdog; machine.reset() itself goes through the watchdog,
    # so the fatal-error record (firmware/supervisor.py) tells a restart from a hang.
    import machine
    c = machine.reset_cause()
    if c == getattr(machine, 'WDT_RESET', 3):
        return 'watchdog (a hang, or machine.reset after a fatal error)'
    if c == getattr(machine, 'PWRON_RESET', 1):
        return 'power-on'
    return 'unknown (%d)' % c


def restart():
    import machine
    machine.reset()


async def start_network(cfg, log, feed):
    return None


# ---- HDLC lines and serial ports (IEC 62056-46, IEC 62056-21) ----
# As boards/host/board.py (HDLC settings: firmware/ports.py); 'invert' names machine.UART
# constants (see boards/esp32/board.py for the IR head it fits). rp2 forgets the inversion on
# every init(): transports/uart.py passes it again at each line change of the mode E opening.
SERIAL_PORTS = {
    'optical': {
        'kind': 'optical', 'uart': 0, 'tx': 0, 'rx': 1, 'invert': ('INV_TX',),
        'max_baud': 9600,
        'device_address': '12345678',
        'manufacturer': 'MMM',
        'identification': 'SECMETER',
        'txbuf': 512, 'rxbuf': 512,
    },
    'rs485': {
        'kind': 'rs485', 'uart': 1, 'tx': 4, 'rx': 5, 'de': 6, 'de_active': 1,
        'baud': 9600,
        'txbuf': 512, 'rxbuf': 512,
    },
}
SERIAL_AUTOSTART = ('optical', 'rs485')


def open_port(name, spec, line):
    from transports import uart
    return uart.open_uart(spec, line)
