# The security event log: an event code object (Data) and a Profile generic capturing
# (clock time, event code) for every security event the server reports. Owns the event-code table.
# The Blue Book defines the event-code *objects* but leaves the code values to companion
# specifications; ours are listed here and in the README.
from dlms import axdr
from dlms.cosem.data import Data
from dlms.cosem.profile_generic import ProfileGeneric

EVENT_CODES = {
    'authentication-failed': 1,       # wrong LLS secret, failed HLS pass 3, bad AARQ challenge
    'deciphering-failed': 2,          # GCM tag or ciphered envelope rejected
    'invocation-counter-replay': 3,   # client invocation counter not above the last accepted
    'lockout-started': 4,             # too many failed authentications for one client SAP
    'key-changed': 5,                 # key_transfer applied a new key
    'security-policy-changed': 6,     # security_activate raised the policy
    'store-fallback': 7,              # a persistent record was torn/corrupt: older copy used
    'invocation-counter-exhausted': 8,  # a key's counter reached 2^32-1: no more protection
}

EVENT_CODE_LN = '0.0.96.11.7.255'     # event code object of the security event log
EVENT_LOG_LN = '0.0.99.98.7.255'      # the security event log (Profile generic)


class SecurityEventLog:
    """Every event is a row at once; the rows are written to the store at most once every
    `min_save_s` seconds of `now()`: the first event after a quiet spell is written at once, the
    rest of a burst by tick() once the interval is over. Several event kinds can be caused from
    the line at the rate requests arrive (a bad tag, a replay): without this, each would be a
    flash write of the whole log. A power cut loses at most the rows of the last interval."""

    def __init__(self, clock, store=None, capacity=100, now=None, min_save_s=0):
        self.code = Data(EVENT_CODE_LN, axdr.u16(0))
        self.clock = clock
        self.profile = ProfileGeneric(EVENT_LOG_LN, [(clock, 2, 0), (self.code, 2, 0)],
                                      capacity, store, 'security_events')
        self.profile.autosave = False
        self.now = now
        self.min_save_s = min_save_s
        self._saved_at = None
        self._dirty = False

    def record(self, name):
        code = EVENT_CODES.get(name)
        if code is None:
            return False
        self.code.value = axdr.u16(code)
        self.profile.capture()
        self._dirty = True
        self.tick()
        return True

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
        return self.code, self.profile
