# Failed-authentication lockout per client SAP. After `max_failures` consecutive failures the SAP's
# AARQs are refused for a back-off period that doubles with each further lockout, up to `cap`
# seconds; a successful association resets it. The state is kept in the persistent store (when one
# is given) so a restart does not lift a lockout. Time is passed in (UTC seconds); this module
# reads no clock and knows nothing about APDUs.
from dlms._compat import const

_RECORD = 'lockout'
_FAILURES = const(0)
_UNTIL = const(1)
_PERIOD = const(2)


class Lockout:
    def __init__(self, now, store=None, max_failures=3, base=60, cap=3600, on_change=None):
        self.now = now
        self.store = store
        self.max_failures = max_failures
        self.base = base
        self.cap = cap
        self.on_change = on_change        # called (sap, 'started'|'ended', seconds)
        self._state = {}                  # sap -> [consecutive failures, locked until, period]
        if store is not None:
            rec = store.load(_RECORD)
            if rec is not None:
                for k in rec:
                    v = rec[k]
                    if isinstance(v, list) and len(v) == 3:
                        self._state[int(k)] = [int(v[0]), int(v[1]), int(v[2])]

    def _save(self):
        if self.store is None:
            return
        rec = {}
        for sap in self._state:
            rec[str(sap)] = self._state[sap]
        try:
            self.store.save(_RECORD, rec)
        except Exception:
            pass  # the lockout still holds in RAM; the store reports its own failures

    def remaining(self, sap):
        """Seconds the SAP stays locked out, 0 when it may associate."""
        st = self._state.get(sap)
        if st is None or st[_UNTIL] == 0:
            return 0
        left = st[_UNTIL] - int(self.now())
        if left > 0:
            return left
        return 0

    def failure(self, sap):
        """Count a failed authentication; returns the lockout seconds when this one starts one."""
        st = self._state.get(sap)
        if st is None:
            st = [0, 0, 0]
            self._state[sap] = st
        st[_FAILURES] += 1
        started = 0
        if st[_FAILURES] >= self.max_failures:
            period = self.base if st[_PERIOD] == 0 else min(st[_PERIOD] * 2, self.cap)
            st[_PERIOD] = period
            st[_UNTIL] = int(self.now()) + period
            st[_FAILURES] = 0
            started = period
        self._save()
        if started and self.on_change is not None:
            self.on_change(sap, 'started', started)
        return started

    def success(self, sap):
        st = self._state.get(sap)
        if st is not None:
            del self._state[sap]
            self._save()
