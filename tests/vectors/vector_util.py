# Helpers the vector modules share; same under CPython and MicroPython. Not a test module itself.
from binascii import unhexlify


def h(s):
    """Bytes from hex written with spaces where it reads better."""
    return unhexlify(s.replace(' ', ''))


def raised(exc, fn, *args):
    """The `exc` that fn(*args) raised, or None; any other exception goes on up."""
    try:
        fn(*args)
    except exc as e:
        return e
    return None
