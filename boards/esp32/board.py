# Board profile: ESP32-DevKitC (ESP32-WROOM-32 / -32E, original ESP32, 4 MB flash) running
# MicroPython (ESP32_GENERIC). Names the ports, status LED, storage, watchdog and board services
# the firmware uses. Importable without `machine` (the tests read it under CPython): hardware
# modules are imported inside the functions.
#
# Pins (GPIO numbers). Avoided: 0, 2, 5, 12, 15 (strapping; 2 only drives the LED), 6-11 (flash),
# 1/3 (UART0 = USB REPL, used by mpremote), 34-39 are input only.
#   optical port (IR head)      UART1  TX GPIO 32 -> IR LED driver, RX GPIO 33 <- phototransistor
#   RS485 (MAX3485 class)       UART2  TX GPIO 17 -> DI, RX GPIO 16 <- RO, GPIO 4 -> DE and /RE
#   status LED                  GPIO 2 (the blue LED of most DevKit clones; the DevKitC V4 has
#                               none: wire an LED and 330 ohm to GND)
# Wiring diagrams: README.md, "Boards and deployment".
import os
import time

NAME = 'esp32'
HAS_NETWORK = False          # True once a Wi-Fi station is configured (start_network)
STATE_DIR = 'state'          # on the littlefs filesystem (vfs partition), next to main.py
CONFIG_FILE = 'config.json'  # the meter configuration (firmware/config.py keys), optional
BOARD_FILE = 'board.json'    # this board's own settings: Wi-Fi station, listen address, NTP
STATUS_LED = 2
STATUS_LED_ACTIVE = 1
WDT_TIMEOUT_MS = 8000        # fed every second from the firmware's main loop
AES_HARDWARE = True          # mbedTLS uses the AES peripheral (CONFIG_MBEDTLS_HARDWARE_AES)

# firmware/ modules this board never imports, left out of `make deploy` and manifest.py
# (HDLC over TCP is a virtual-meter option).
DEPLOY_EXCLUDE = ('transports/hdlc_tcp.py',)

# Seconds between 1970-01-01 and MicroPython's epoch on this port (2000-01-01 on esp32).
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0


def utc_now():
    return int(time.time()) + _EPOCH


def random_bytes(n):
    # esp_random(): true random only while the radio runs; the keystore's DRBG also mixes the
    # provisioned seed and the previous boot's forward seed (README, "Randomness").
    return os.urandom(n)


def aes_hardware():
    """ESP32, -S2, -S3, -C3, -C6, -H2 have the AES peripheral; the ESP32-C2 has none."""
    try:
        return AES_HARDWARE and 'ESP32C2' not in os.uname().machine.replace('-', '')
    except AttributeError:
        return AES_HARDWARE


def aes_backend():
    from dlms import aes
    if aes.BACKEND != 'cryptolib':
        return 'pure-Python AES (this firmware has no cryptolib)'
    if aes_hardware():
        return 'cryptolib with hardware AES (mbedTLS, ESP32 AES peripheral)'
    return 'cryptolib in software (mbedTLS; this chip has no AES peripheral)'


def unique_id():
    import machine
    return machine.unique_id()


_CAUSES = {1: 'power-on or brownout', 2: 'hard reset (reset button, machine.reset or panic)',
           3: 'watchdog', 4: 'wake from deep sleep', 5: 'soft reset'}


def reset_cause():
    import machine
    c = machine.reset_cause()
    return _CAUSES.get(c, 'unknown (%d)' % c)


def restart():
    import machine
    machine.reset()


# ---- Wi-Fi station for the TCP wrapper (IEC 62056-47) ----
# board.json: {"wifi": {"ssid": "...", "password": "...", "hostname": "meter-1",
#                       "timeout_s": 20},
#              "listen": "0.0.0.0", "ntp": "pool.ntp.org"}
# Without a "wifi" entry the radio stays off and the meter serves its serial ports only.

def _board_settings():
    import json
    try:
        with open(BOARD_FILE) as f:
            data = json.load(f)
    except OSError:
        return {}
    if not isinstance(data, dict):
        raise ValueError('%s must be a JSON object' % BOARD_FILE)
    return data


async def start_network(cfg, log, feed):
    """Connect the station named in board.json (feeding the watchdog while waiting), make the
    wrapper listen on all interfaces, and keep the station connected from a background task."""
    global HAS_NETWORK
    import asyncio
    settings = _board_settings()
    wifi = settings.get('wifi')
    if not wifi or not wifi.get('ssid'):
        log('wifi: not configured (%s); serial ports only' % BOARD_FILE)
        return None
    import network
    if wifi.get('hostname'):
        try:
            network.hostname(wifi['hostname'])
        except (AttributeError, ValueError, OSError):
            pass
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    HAS_NETWORK = True
    if cfg.get('wrapper_host') in (None, '127.0.0.1'):
        cfg['wrapper_host'] = settings.get('listen', '0.0.0.0')
    timeout_ms = int(wifi.get('timeout_s', 20)) * 1000
    log('wifi: connecting to "%s"' % wifi['ssid'])
    await _connect(sta, wifi, timeout_ms, feed)
    if sta.isconnected():
        log('wifi: connected, address %s' % sta.ifconfig()[0])
        if settings.get('ntp'):
            _set_time(settings['ntp'], log)
    else:
        log('wifi: not connected after %d s; retrying in the background' % (timeout_ms // 1000))
    return asyncio.create_task(_keep_connected(sta, wifi, timeout_ms, log))


async def _connect(sta, wifi, timeout_ms, feed):
    import asyncio
    if sta.isconnected():
        return
    try:
        sta.connect(wifi['ssid'], wifi.get('password', ''))
    except OSError:
        return
    t0 = time.ticks_ms()
    while not sta.isconnected() and time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        feed()
        await asyncio.sleep_ms(250)


async def _keep_connected(sta, wifi, timeout_ms, log):
    import asyncio
    while True:
        await asyncio.sleep(10)
        if not sta.isconnected():
            log('wifi: connection lost, reconnecting')
            await _connect(sta, wifi, timeout_ms, lambda: None)
            if sta.isconnected():
                log('wifi: connected, address %s' % sta.ifconfig()[0])


def _set_time(host, log):
    try:
        import ntptime
        ntptime.host = host
        ntptime.settime()
        log('clock: set from %s' % host)
    except Exception as e:
        log('clock: NTP failed (%s)' % e.__class__.__name__)


# ---- HDLC lines and serial ports (IEC 62056-46, IEC 62056-21) ----
# As boards/host/board.py (HDLC settings: firmware/ports.py). 'invert' names machine.UART
# constants: the documented IR head drives its LED from TX through an NPN transistor (TX high =
# light), so TX is inverted to keep the LED dark while the line idles; its phototransistor pulls
# RX low when lit, which is already the UART's polarity. Other heads: ('INV_TX', 'INV_RX'),
# ('INV_RX',) or ().
SERIAL_PORTS = {
    'optical': {
        'kind': 'optical', 'uart': 1, 'tx': 32, 'rx': 33, 'invert': ('INV_TX',),
        'max_baud': 9600,
        'device_address': '12345678',
        'manufacturer': 'MMM',
        'identification': 'SECMETER',
        'txbuf': 512, 'rxbuf': 512,
    },
    'rs485': {
        'kind': 'rs485', 'uart': 2, 'tx': 17, 'rx': 16, 'de': 4, 'de_active': 1,
        'baud': 9600,
        'txbuf': 512, 'rxbuf': 512,
    },
}
SERIAL_AUTOSTART = ('optical', 'rs485')


def open_port(name, spec, line):
    from transports import uart
    return uart.open_uart(spec, line)
