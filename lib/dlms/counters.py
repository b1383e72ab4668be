# Invocation counters: the server's own counter for a key, handed out only below a persisted
# reservation, and the client counter tables (the last accepted counter per client system title:
# in RAM only, or with persisted floors a restart cannot go below), with the write coalescing
# that lets one flash write carry a server reservation and client floors that are due soon.
# Persistence is passed in (dlms/keystore.py owns the record); this module knows no store, key,
# session or APDU.
from dlms.security import SecurityError

_MAX_U32 = 0xFFFFFFFF
LIMIT = 0x100000000           # 2^32: a reservation or floor this high means "nothing left"


class CounterError(SecurityError):
    """No counter value can be handed out (exhausted, or a reservation did not persist):
    nothing can be protected, which is a security error to whoever asked."""


class InvocationCounter:
    """The server's own invocation counter for one key. A value is handed out only once it lies
    below a reservation that `persist(reserved)` has made durable, so a restart that resumes from
    the last reservation can never repeat a value. `persist` must raise if it cannot persist.
    The first value of a key is 1, never 0 (clients that require the server's counter to grow
    from the 0 they start with refuse a 0)."""

    def __init__(self, start=1, persist=None, step=1024):
        if start < 1:
            start = 1
        self.value = start
        self.reserved = start
        self.step = step
        self._persist = persist
        self.reported = False          # exhaustion event already recorded

    @property
    def exhausted(self):
        return self.value > _MAX_U32

    def next_reservation(self):
        """The reservation that would cover the next value: `step` values on, at most 2^32."""
        r = self.value + self.step
        return r if r <= LIMIT else LIMIT

    def due(self):
        """The next reservation when the current one is within half a step of running out (a
        write made for another reason may carry it: then `reserved_to`), else None."""
        if self.exhausted or self.reserved - self.value > self.step // 2:
            return None
        return self.next_reservation()

    def reserved_to(self, reserved):
        """A reservation persisted by someone else's write."""
        if reserved > self.reserved:
            self.reserved = reserved

    def ensure(self):
        """Make sure the next value is covered by a persisted reservation (persist now if not),
        e.g. before the stored keys change under a response that still needs this counter."""
        if self.reserved <= self.value <= _MAX_U32:
            self._reserve()

    def _reserve(self):
        r = self.next_reservation()
        if self._persist is not None:
            self._persist(r)
        self.reserved = r

    def next(self):
        v = self.value
        if v > _MAX_U32:
            raise CounterError('invocation counter exhausted')
        if v >= self.reserved:
            self._reserve()
        self.value = v + 1
        return v


class ClientCounters:
    """Last accepted invocation counter per client system title, in RAM (a restart forgets)."""

    def __init__(self):
        self._last = {}

    def fresh(self, system_title, ic):
        last = self._last.get(system_title)
        return last is None or ic > last

    def expected(self, system_title):
        last = self._last.get(system_title)
        return 0 if last is None else (last + 1) & _MAX_U32

    def accept(self, system_title, ic):
        self._last[bytes(system_title)] = ic

    def reset(self):
        self._last = {}


class ClientCounterTable:
    """The same interface as ClientCounters (fresh / expected / accept / reset), with a persisted
    floor per title: the lowest counter acceptable after a restart. Before a counter at or above
    its floor is accepted, the floor is raised to counter + step through `floors`, an object
    with floor(title) -> the persisted floor, and raise_floor(title, floor) -> the titles the
    raise evicted (raising CounterError when it did not persist: the request is refused).
    The last accepted counter of each title is kept in RAM: every secured request asks fresh()
    and accept(), one dict lookup each while no floor is due."""

    def __init__(self, floors, step):
        self._floors = floors
        self.step = step
        self._t = {}          # title -> [last accepted counter, its floor as persisted or -1]

    def fresh(self, system_title, ic):
        e = self._t.get(bytes(system_title))
        if e is not None:
            return ic > e[0]
        return ic >= self._floors.floor(system_title)

    def expected(self, system_title):
        e = self._t.get(bytes(system_title))
        if e is not None:
            return (e[0] + 1) & _MAX_U32
        return self._floors.floor(system_title) & _MAX_U32

    def accept(self, system_title, ic):
        st = bytes(system_title)
        e = self._t.get(st)
        if e is not None and ic < e[1]:
            e[0] = ic                      # below the persisted floor: nothing to write
            return
        floor = e[1] if e is not None else -1
        if floor < 0:
            floor = self._floors.floor(st)
        if ic >= floor:
            floor = min(ic + self.step, LIMIT)
            evicted = self._floors.raise_floor(st, floor)
            if evicted:
                for victim in evicted:
                    self._t.pop(victim, None)
                for other in self._t.values():
                    other[1] = -1          # an eviction may raise the floor of other titles
        self._t[st] = [ic, floor]

    def due(self):
        """[(title, floor as persisted, next floor)] of every known title within half a step of
        its persisted floor: a write of the record made for another reason carries them (one
        flash write where there would be two); done() once it stuck."""
        out = []
        half = self.step // 2
        for st, e in self._t.items():
            f = e[1]
            if f >= 0 and f - e[0] <= half:
                out.append((st, f, min(e[0] + self.step, LIMIT)))
        return out

    def done(self, raised):
        """The write that carried these [(title, floor)] stuck: the raised floors count."""
        for st, nf in raised:
            e = self._t.get(st)
            if e is not None and nf > e[1]:
                e[1] = nf

    def reset(self):
        self._t = {}

