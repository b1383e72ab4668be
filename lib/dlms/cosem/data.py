# Data, class_id 1, version 0: a value held by the meter (e.g. logical device name 0.0.42.0.0.255).
from dlms.cosem.base import CosemObject, SUCCESS, TYPE_UNMATCHED


class Data(CosemObject):
    class_id = 1
    version = 0
    attribute_count = 2

    def __init__(self, logical_name, value, writable_type=None):
        CosemObject.__init__(self, logical_name)
        self.value = value          # typed A-XDR value, or a callable returning one
        self.writable_type = writable_type

    def get_attribute(self, attr, ctx):
        if attr == 2:
            v = self.value
            return v() if callable(v) else v
        return CosemObject.get_attribute(self, attr, ctx)

    def set_attribute(self, attr, value, ctx):
        if callable(self.value):
            return CosemObject.set_attribute(self, attr, value, ctx)
        want = self.writable_type if self.writable_type is not None else self.value[0]
        if value[0] != want:
            return TYPE_UNMATCHED
        self.value = value
        return SUCCESS
