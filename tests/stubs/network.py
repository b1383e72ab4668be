# A stand-in for MicroPython's `network` module (ESP32 Wi-Fi station), for the board emulation
# tests only (tests/stubs on MICROPYPATH). The station "connects" at once to any SSID and gets
# the loopback address, so the TCP wrapper of the esp32 profile listens on this host.
# Events go to MACHINE_STUB_LOG like the machine stub's; the key is never recorded.
import machine

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 1010

_log = machine._log


_hostname = ['mpy-esp32']


def hostname(name=None):
    if name is None:
        return _hostname[0]
    _hostname[0] = name
    _log('wifi', 'hostname', name)


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface
        self._active = False
        self._ssid = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        _log('wifi', 'active', self._active)

    def connect(self, ssid=None, key=None, **kw):
        if not self._active:
            raise OSError('Wifi Not Started')
        self._ssid = ssid
        _log('wifi', 'connect', ssid)

    def disconnect(self):
        self._ssid = None

    def isconnected(self):
        return self._ssid is not None

    def status(self, param=None):
        return STAT_GOT_IP if self._ssid is not None else STAT_IDLE

    def ifconfig(self, *args):
        return ('127.0.0.1', '255.0.0.0', '127.0.0.1', '127.0.0.1')

    def config(self, *args, **kw):
        if args and args[0] == 'mac':
            return b'\xde\xad\xbe\xef\x00\x01'
        return None
