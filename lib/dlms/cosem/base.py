# The interface-class base (IEC 62056-6-2) and the access-right vocabulary.
# An interface class is one module with one subclass of CosemObject; it answers get/set/action with
# A-XDR typed values and result codes. It never sees frames, ciphertext, sessions or the server:
# what it needs of the current association comes through `ctx`, the association's narrow view
# (dlms/server.py AssociationView: what it may read, and a few named requests).
from dlms._compat import const
from dlms import axdr

# Data-access-result / action-result codes used by the object model (IEC 62056-5-3).
SUCCESS = const(0)
HARDWARE_FAULT = const(1)
TEMPORARY_FAILURE = const(2)
READ_WRITE_DENIED = const(3)
OBJECT_UNDEFINED = const(4)
OBJECT_CLASS_INCONSISTENT = const(9)
OBJECT_UNAVAILABLE = const(11)
TYPE_UNMATCHED = const(12)
SCOPE_OF_ACCESS_VIOLATED = const(13)
OTHER_REASON = const(250)

# Access-mode bits, as in Association LN version 3 (the richest form); older object_list
# encodings are derived from them in association_ln.py.
NO_ACCESS = const(0)
READ = const(0x01)
WRITE = const(0x02)
AUTH_REQUEST = const(0x04)
ENC_REQUEST = const(0x08)
SIGNED_REQUEST = const(0x10)      # digitally signed (general-signing), suites 1 and 2
AUTH_RESPONSE = const(0x20)
ENC_RESPONSE = const(0x40)
SIGNED_RESPONSE = const(0x80)
READ_WRITE = const(0x03)
# method access uses the same request/response bits with bit 0 meaning "may invoke"
INVOKE = const(0x01)


def obis(text):
    """'1.0.1.8.0.255' -> 6 bytes."""
    parts = text.split('.')
    if len(parts) != 6:
        raise ValueError('obis')
    return bytes([int(p) for p in parts])


def obis_text(ln):
    return '.'.join([str(b) for b in ln])


class CosemObject:
    class_id = 0
    version = 0
    attribute_count = 1
    method_count = 0

    def __init__(self, logical_name):
        if isinstance(logical_name, str):
            logical_name = obis(logical_name)
        if len(logical_name) != 6:
            raise ValueError('logical name')
        self.logical_name = bytes(logical_name)

    def get(self, attr, ctx, selector=None, params=None):
        """Typed A-XDR value, or an int data-access-result."""
        if selector is not None:
            return OBJECT_UNAVAILABLE
        if attr == 1:
            return axdr.octets(self.logical_name)
        return self.get_attribute(attr, ctx)

    def get_attribute(self, attr, ctx):
        return OBJECT_UNDEFINED

    def set(self, attr, value, ctx, selector=None, params=None):
        """Data-access-result."""
        if selector is not None:
            return OBJECT_UNAVAILABLE
        if attr == 1:
            return READ_WRITE_DENIED
        if attr < 1 or attr > self.attribute_count:
            return OBJECT_UNDEFINED
        return self.set_attribute(attr, value, ctx)

    def set_attribute(self, attr, value, ctx):
        return READ_WRITE_DENIED

    def action(self, method, param, ctx):
        """(action-result, typed return value or None)."""
        if method < 1 or method > self.method_count:
            return OBJECT_UNDEFINED, None
        return self.invoke(method, param, ctx)

    def invoke(self, method, param, ctx):
        return READ_WRITE_DENIED, None

    def __repr__(self):
        return '<%s %s>' % (self.__class__.__name__, obis_text(self.logical_name))
