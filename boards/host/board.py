# Board profile: the host (MicroPython unix port), i.e. the virtual meter.
# Names the ports, storage and the board services (time, randomness) the firmware uses.
import os
import time

NAME = 'host'
HAS_NETWORK = True
STATE_DIR = 'sim-state'


def utc_now():
    return int(time.time())


def random_bytes(n):
    return os.urandom(n)


def aes_backend():
    from dlms import aes
    return aes.BACKEND


def tick():
    pass
