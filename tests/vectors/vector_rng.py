# A tiny deterministic byte source (xorshift32) for the mutation tests; same bytes under CPython
# and MicroPython. Not a test module itself.


class Rng:
    def __init__(self, seed):
        self.s = seed

    def byte(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s & 0xFF
