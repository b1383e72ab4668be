# What keeps a meter running unattended: the boot report (reset cause, the previous run's fatal
# error, AES backend, keys by identity, heap), the watchdog fed from the main loop, and the clean
# restart after a fatal error with its reason kept for the next boot. Knows the board profile's
# optional hooks (a profile without them, such as boards/host, gets the defaults) and no
# protocol.
import gc
import sys

FATAL_RECORD = 'fatal'          # record in the persistent store: the last fatal error
_STREAK_UPTIME_S = 60           # a fatal error within this time after boot continues a streak
_MAX_DELAY_S = 60               # restart delay doubles with the streak, up to this
_REASON_MAX = 200
NO_PORT_S = 60                  # no port able to serve for this long: restart the meter

try:
    from time import ticks_ms, ticks_diff, sleep_ms
except ImportError:             # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        _time.sleep(ms / 1000)


def aes_backend(board):
    """Which AES the meter uses: the board's own description, else from dlms.aes.BACKEND and the
    board's AES_HARDWARE fact."""
    f = getattr(board, 'aes_backend', None)
    text = f() if f is not None else None
    if text and text not in ('cryptolib', 'python'):
        return text
    from dlms import aes
    if aes.BACKEND != 'cryptolib':
        return 'pure-Python AES (no cryptolib in this firmware)'
    if getattr(board, 'AES_HARDWARE', False):
        return 'cryptolib with hardware AES (mbedTLS)'
    return 'cryptolib in software (mbedTLS)'


_KEY_NAMES = (('ek', 'EK'), ('ak', 'AK'), ('kek', 'KEK'), ('bk', 'BK'))


def key_identities(meter):
    """One line naming the loaded keys by identity (keystore.fingerprint: 8 bytes of a hash), never
    by value."""
    ks = getattr(meter, 'keystore', None)
    if ks is None or not getattr(ks, 'ok', False):
        return ['keys loaded: none (no good keystore)']
    from dlms.keystore import fingerprint
    parts = []
    for name, label in _KEY_NAMES:
        try:
            k = ks.key(name)
        except (KeyError, ValueError, TypeError):
            k = None
        parts.append('%s %s' % (label, fingerprint(k) if k else 'none'))
    return ['keys loaded (identity = keystore fingerprint, never the value): ' + ', '.join(parts)]


def public_key_fits(board, log):
    """Whether the meter takes its public-key part: when lib/dlms_pk is there, and a profile
    that runs code from the heap (the virtual meter: PUBLIC_KEY_MIN_FREE) has that much free
    after the imports (a board-sized SIM_HEAP leaves it out, as a board deployed without it)."""
    try:
        import dlms_pk          # noqa: F401
    except ImportError:
        return False
    need = getattr(board, 'PUBLIC_KEY_MIN_FREE', 0)
    if need and hasattr(gc, 'mem_free'):
        gc.collect()
        if gc.mem_free() < need:
            log('public-key part left out: %d bytes of heap free, it needs %d'
                % (gc.mem_free(), need))
            return False
    return True


def config_path(board):
    """The board's configuration file when it exists (a board has no command line)."""
    path = getattr(board, 'CONFIG_FILE', None)
    if not path:
        return None
    import os
    try:
        os.stat(path)
    except OSError:
        return None
    return path


async def start_network(board, cfg, log, feed):
    f = getattr(board, 'start_network', None)
    if f is None:
        return None
    return await f(cfg, log, feed)


class Supervisor:
    def __init__(self, board, log):
        self.board = board
        self.log = log
        self.state_dir = getattr(board, 'STATE_DIR', None)
        self.store = None
        self.previous = None       # the fatal record of the run before this one, if it ended so
        self.wdt = None
        self._unserved = 0          # seconds in a row without a port able to serve
        self.t0 = ticks_ms()
        self._led = None            # machine.Pin of the board's STATUS_LED, once made
        self._lit = 0
        self._status('boot')

    def _led_value(self, lit):
        self._lit = lit
        active = getattr(self.board, 'STATUS_LED_ACTIVE', 1)
        self._led.value(lit if active else 1 - lit)

    def _status(self, state):
        """Status LED: on while booting and before a restart, a heartbeat (tick) once ready."""
        pin = getattr(self.board, 'STATUS_LED', None)
        if pin is None:
            return
        try:
            if self._led is None:
                from machine import Pin
                self._led = Pin(pin, Pin.OUT)
            self._led_value(1 if state in ('boot', 'fatal') else 0)
        except Exception:
            pass

    def tick(self):
        """Once a second from the main loop: the heartbeat, and the board's own tick."""
        if self._led is not None:
            self._led_value(self._lit ^ 1)
        f = getattr(self.board, 'tick', None)
        if f is not None:
            f()

    def heap(self, when):
        """Log the heap in use after a collection (MicroPython; nothing under CPython)."""
        if not hasattr(gc, 'mem_alloc'):
            return
        gc.collect()
        self.log('heap: %d bytes in use %s, %d free' % (gc.mem_alloc(), when, gc.mem_free()))

    def boot(self, store):
        """Report why the board started, and the previous run's fatal error (once)."""
        self.store = store
        f = getattr(self.board, 'reset_cause', None)
        if f is not None:
            self.log('reset cause: %s' % f())
        f = getattr(self.board, 'unique_id', None)
        if f is not None:
            from binascii import hexlify
            self.log('board unique id %s' % hexlify(f()).decode().upper())
        try:
            rec = store.load(FATAL_RECORD)
        except Exception:
            rec = None
        if not isinstance(rec, dict) or rec.get('reported'):
            return
        self.previous = rec
        self.log('previous run ended with a fatal error after %s s: %s (restart %d in a row)'
                 % (rec.get('uptime_s', '?'), rec.get('reason', '?'), rec.get('streak', 1)))
        rec['reported'] = True
        try:
            store.save(FATAL_RECORD, rec)
        except Exception:
            pass

    def start_watchdog(self):
        timeout = getattr(self.board, 'WDT_TIMEOUT_MS', None)
        if not timeout:
            return
        import machine
        self.wdt = machine.WDT(timeout=timeout)
        self.log('watchdog: %d ms, fed from the main loop' % timeout)

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    def second(self, serving):
        """Once a second from the main loop, with whether any port can serve a client: feeds
        the watchdog, unless no port could for NO_PORT_S seconds; then the watchdog restarts
        the board (without a watchdog: a fatal error, which restarts or ends the process)."""
        self._unserved = 0 if serving else self._unserved + 1
        if self._unserved < NO_PORT_S:
            self.feed()
            return
        if self._unserved == NO_PORT_S:
            self.log('no port has been able to serve for %d s: restarting' % NO_PORT_S)
        if self.wdt is None:
            raise RuntimeError('no port served for %d s' % NO_PORT_S)

    def ready(self):
        """Once started: collect when a quarter of the free heap has been allocated rather than
        only when an allocation fails (less fragmentation in small heaps)."""
        if hasattr(gc, 'threshold'):
            gc.collect()
            gc.threshold(gc.mem_free() // 8)
        self._status('ready')

    def uptime_s(self):
        return ticks_diff(ticks_ms(), self.t0) // 1000

    def fatal(self, exc):
        """Log and keep the reason, wait (longer when it keeps happening), restart the board.
        Without a restart hook (the virtual meter) the process ends with status 1."""
        gc.collect()
        reason = '%s: %s' % (exc.__class__.__name__, exc)
        if len(reason) > _REASON_MAX:
            reason = reason[:_REASON_MAX]
        up = self.uptime_s()
        prev = self.previous
        streak = 1
        if prev is not None and up < _STREAK_UPTIME_S and prev.get('streak'):  # again at once
            streak = prev['streak'] + 1
        self.log('FATAL: %s' % reason)
        if hasattr(sys, 'print_exception'):
            sys.print_exception(exc)
        else:
            import traceback
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        self._status('fatal')
        self._keep({'reason': reason, 'uptime_s': up, 'streak': streak})
        restart = getattr(self.board, 'restart', None)
        if restart is None:
            sys.exit(1)
        delay = 1 << (streak - 1) if streak < 7 else _MAX_DELAY_S
        delay = min(delay, _MAX_DELAY_S)
        self.log('restarting in %d s' % delay)
        for i in range(delay * 4):
            try:
                self.feed()
            except Exception:
                pass
            if i & 1:
                self.tick()
            sleep_ms(250)
        restart()

    def _keep(self, rec):
        store = self.store
        try:
            if store is None and self.state_dir:
                from dlms.store import Store
                store = Store(self.state_dir)
            if store is not None:
                store.save(FATAL_RECORD, rec)
                return
        except Exception as e:
            self.log('could not record the fatal error (%s)' % e.__class__.__name__)
