# The security event log: an event code object (Data), an event count object (Data) and a Profile
# generic whose rows are (clock time of the first event, event code, number of events) for every
# security event the server reports (names and codes: dlms/events.py).
# Evidence that a flood cannot erase: a FREQUENT event (one anyone can cause at the rate requests
# arrive: a bad tag, a replay) is coalesced into the newest row of its code while that row is
# younger than `coalesce_s`, which then counts it; and when the ring is full the oldest frequent
# row makes room, so a rare row (key changed, policy raised, lockout, store fallback) is only ever
# pushed out by another rare row. Writes to the store are bounded (min_save_s).
from dlms._compat import const
from dlms import axdr, events
from dlms.cosem.data import Data
from dlms.cosem.profile_generic import ProfileGeneric
from dlms.cosem.clock import encode_datetime, decode_datetime

EVENT_CODES = {}                      # name -> code, for tools and tests
for _n in events.CODES:
    EVENT_CODES[_n] = events.CODES[_n][0]

EVENT_CODE_LN = '0.0.96.11.7.255'     # event code object of the security event log
EVENT_COUNT_LN = '0.0.96.15.7.255'    # number of events of the row last written
EVENT_LOG_LN = '0.0.99.98.7.255'      # the security event log (Profile generic)

_T = const(0)                         # _meta entries: [first time, code, count]
_CODE = const(1)
_COUNT = const(2)


def _row(t, code, count, deviation, status):
    # structure {date-time octet-string(12), long-unsigned code, double-long-unsigned count}
    out = bytearray(b'\x02\x03\x09\x0c')
    out.extend(encode_datetime(t, deviation, status))
    out.append(axdr.LONG_UNSIGNED)
    out.append(code >> 8)
    out.append(code & 0xFF)
    out.append(axdr.DOUBLE_LONG_UNSIGNED)
    out.extend(count.to_bytes(4, 'big'))
    return bytes(out)


class SecurityEventLog:
    """Every event is in the log at once (a new row, or the count of a coalesced one); the rows
    are written to the store at most once every `min_save_s` seconds of `now()`: the first event
    after a quiet spell is written at once, the rest of a burst by tick() once the interval is
    over. A power cut loses at most the rows of the last interval."""

    def __init__(self, clock, store=None, capacity=100, now=None, min_save_s=0, coalesce_s=60):
        self.code = Data(EVENT_CODE_LN, axdr.u16(0))
        self.count = Data(EVENT_COUNT_LN, axdr.u32(0))
        self.clock = clock
        self.profile = ProfileGeneric(EVENT_LOG_LN, [(clock, 2, 0), (self.code, 2, 0),
                                                     (self.count, 2, 0)],
                                      capacity, store, 'security_events')
        self.profile.autosave = False
        self.now = now
        self.min_save_s = min_save_s
        self.coalesce_s = coalesce_s
        self._saved_at = None
        self._dirty = False
        self._meta = []                # per row: [first time, code, count]
        self._load()

    def _load(self):
        # rows as persisted (also the two-column rows of earlier versions: count 1)
        rows = []
        for r in self.profile.rows:
            try:
                v = axdr.decode_all(r)[1]
                t = decode_datetime(v[0][1])
                code = v[1][1]
                count = v[2][1] if len(v) > 2 else 1
            except (axdr.AxdrError, IndexError, TypeError):
                continue
            if t is None or not isinstance(code, int) or not isinstance(count, int):
                continue
            rows.append([t, code, count])
        self._meta = rows
        self.profile.rows = [self._encode(m) for m in rows]

    def _encode(self, m):
        c = self.clock
        return _row(m[_T], m[_CODE], m[_COUNT], c.time_zone, c.status)

    def record(self, name):
        code = events.code(name)
        if not code:
            return False
        t = self.clock.time()
        self.code.value = axdr.u16(code)
        rows = self.profile.rows
        if len(rows) != len(self._meta):     # rows changed behind our back (reset): re-read
            self._load()
            rows = self.profile.rows
        meta = self._meta
        if code in events.FREQUENT_CODES:
            i = len(meta) - 1
            while i >= 0 and meta[i][_CODE] != code:
                i -= 1
            if i >= 0 and 0 <= t - meta[i][_T] < self.coalesce_s and meta[i][_COUNT] < 0xFFFFFFFF:
                m = meta[i]
                m[_COUNT] += 1
                rows[i] = self._encode(m)
                self.count.value = axdr.u32(m[_COUNT])
                self._dirty = True
                self.tick()
                return True
        if len(rows) >= self.profile.capacity:
            victim = self._victim(code in events.FREQUENT_CODES)
            if victim < 0:
                return True             # the ring holds rare rows only: a frequent one is dropped
            rows.pop(victim)
            meta.pop(victim)
        m = [t, code, 1]
        meta.append(m)
        rows.append(self._encode(m))
        self.count.value = axdr.u32(1)
        self._dirty = True
        self.tick()
        return True

    def _victim(self, frequent):
        """Index of the row that makes room: the oldest frequent row; a rare event may take the
        oldest rare row when there is no frequent one; -1 when nothing may go."""
        meta = self._meta
        for i in range(len(meta)):
            if meta[i][_CODE] in events.FREQUENT_CODES:
                return i
        return -1 if frequent or not meta else 0

    def tick(self):
        """Write the rows if some are unwritten and the interval is over (the main loop calls it
        every second)."""
        if not self._dirty:
            return
        if self.now is not None and self.min_save_s > 0 and self._saved_at is not None:
            elapsed = self.now() - self._saved_at
            if 0 <= elapsed < self.min_save_s:
                return
        self._dirty = False
        self._saved_at = self.now() if self.now is not None else None
        self.profile.save()

    def objects(self):
        return self.code, self.count, self.profile
