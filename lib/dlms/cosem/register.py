# Register, class_id 3, version 0: a value with scaler_unit (e.g. active energy import 1.0.1.8.0.255).
from dlms import axdr
from dlms.cosem.base import CosemObject, SUCCESS, TYPE_UNMATCHED, READ_WRITE_DENIED

UNIT_WH = 30  # Blue Book unit enumeration: active energy, watt-hour


class Register(CosemObject):
    class_id = 3
    version = 0
    attribute_count = 3
    method_count = 1   # reset

    def __init__(self, logical_name, value, scaler=0, unit=UNIT_WH):
        CosemObject.__init__(self, logical_name)
        self.value = value          # typed value, or a callable returning one (metrology)
        self.scaler = scaler
        self.unit = unit

    def get_attribute(self, attr, ctx):
        if attr == 2:
            v = self.value
            return v() if callable(v) else v
        if attr == 3:
            return axdr.structure(axdr.i8(self.scaler), axdr.enum(self.unit))
        return CosemObject.get_attribute(self, attr, ctx)

    def set_attribute(self, attr, value, ctx):
        if attr == 2 and not callable(self.value):
            if value[0] != self.value[0]:
                return TYPE_UNMATCHED
            self.value = value
            return SUCCESS
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        # reset(data): only for stored values; metering registers refuse
        if callable(self.value):
            return READ_WRITE_DENIED, None
        self.value = (self.value[0], 0)
        return SUCCESS, None
