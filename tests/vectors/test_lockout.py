from dlms.lockout import Lockout


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


class MemStore:
    def __init__(self):
        self.recs = {}

    def load(self, name):
        r = self.recs.get(name)
        return None if r is None else eval(repr(r))

    def save(self, name, rec):
        self.recs[name] = eval(repr(rec))


def test_lockout_starts_after_consecutive_failures():
    c = Clock()
    lo = Lockout(c, max_failures=3, base=10, cap=40)
    assert lo.failure(17) == 0 and lo.failure(17) == 0
    assert lo.remaining(17) == 0
    assert lo.failure(17) == 10
    assert lo.remaining(17) == 10
    c.t += 4
    assert lo.remaining(17) == 6
    assert lo.remaining(16) == 0


def test_lockout_period_doubles_up_to_cap_and_success_resets():
    c = Clock()
    lo = Lockout(c, max_failures=1, base=10, cap=25)
    assert lo.failure(1) == 10
    c.t += 11
    assert lo.remaining(1) == 0
    assert lo.failure(1) == 20
    c.t += 21
    assert lo.failure(1) == 25
    c.t += 26
    assert lo.failure(1) == 25
    lo.success(1)
    c.t += 26
    assert lo.failure(1) == 10


def test_lockout_survives_restart():
    c = Clock()
    store = MemStore()
    lo = Lockout(c, store, max_failures=2, base=30)
    lo.failure(17)
    lo.failure(17)
    again = Lockout(c, store, max_failures=2, base=30)
    assert again.remaining(17) == 30
    c.t += 31
    assert again.failure(17) == 0
    assert again.failure(17) == 60


def test_lockout_reports_start():
    seen = []
    lo = Lockout(Clock(), max_failures=1, base=5, on_change=lambda *a: seen.append(a))
    lo.failure(3)
    assert seen == [(3, 'started', 5)]
