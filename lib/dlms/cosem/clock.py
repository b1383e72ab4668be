# Clock, class_id 8, version 0 (0.0.1.0.0.255). The time source is passed in: `now()` returns UTC
# seconds since 1970-01-01, `set_time(utc)` (optional) moves it; without it the clock keeps its own
# offset. Also owns the COSEM date-time octet-string (12 bytes) conversions.
from dlms import axdr
from dlms.cosem.base import (CosemObject, SUCCESS, TYPE_UNMATCHED, READ_WRITE_DENIED,
                             OTHER_REASON)

_NOT_SPECIFIED = 0x8000
STATUS_OK = 0x00
STATUS_INVALID = 0x01


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def encode_datetime(utc, deviation=0, status=STATUS_OK):
    """UTC seconds -> 12-byte COSEM date-time. deviation: minutes, Blue Book sign (UTC = local +
    deviation), so local = utc - deviation."""
    local = utc - deviation * 60
    days = local // 86400
    secs = local - days * 86400
    y, m, d = _civil_from_days(days)
    dow = (days + 3) % 7 + 1          # 1970-01-01 was a Thursday; Monday = 1
    dev = deviation & 0xFFFF
    return bytes((y >> 8, y & 0xFF, m, d, dow, secs // 3600, (secs // 60) % 60, secs % 60, 0,
                  dev >> 8, dev & 0xFF, status))


def decode_datetime(b):
    """12-byte COSEM date-time -> UTC seconds, or None when a field is not specified/invalid."""
    if len(b) != 12:
        return None
    y = (b[0] << 8) | b[1]
    m, d, hh, mm, ss = b[2], b[3], b[5], b[6], b[7]
    if y == 0xFFFF or not 1 <= m <= 12 or not 1 <= d <= 31 or hh > 23 or mm > 59 or ss > 59:
        return None
    dev = (b[9] << 8) | b[10]
    if dev == _NOT_SPECIFIED:
        dev = 0
    elif dev >= 0x8000:
        dev -= 0x10000
    if not -720 <= dev <= 720:
        return None
    local = _days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss
    return local + dev * 60


class Clock(CosemObject):
    class_id = 8
    version = 0
    attribute_count = 9
    method_count = 6

    def __init__(self, logical_name, now, set_time=None, time_zone=0):
        CosemObject.__init__(self, logical_name)
        self._now = now
        self._set_time = set_time
        self._offset = 0
        self.time_zone = time_zone    # minutes, Blue Book sign
        self.status = STATUS_OK

    def time(self):
        return int(self._now()) + self._offset

    def adjust(self, utc):
        if self._set_time is not None:
            self._set_time(utc)
        else:
            self._offset = utc - int(self._now())

    def get_attribute(self, attr, ctx):
        if attr == 2:
            return axdr.octets(encode_datetime(self.time(), self.time_zone, self.status))
        if attr == 3:
            return axdr.i16(self.time_zone)
        if attr == 4:
            return axdr.u8(self.status)
        if attr == 5 or attr == 6:
            return axdr.octets(b'\xff\xff\xff\xff\xff\xff\xff\xff\xff\x80\x00\xff')
        if attr == 7:
            return axdr.i8(0)
        if attr == 8:
            return axdr.boolean(False)
        if attr == 9:
            return axdr.enum(1)  # internal crystal
        return CosemObject.get_attribute(self, attr, ctx)

    def set_attribute(self, attr, value, ctx):
        if attr == 2:
            if value[0] not in (axdr.OCTET_STRING, axdr.DATE_TIME):
                return TYPE_UNMATCHED
            utc = decode_datetime(value[1])
            if utc is None:
                return OTHER_REASON
            self.adjust(utc)
            return SUCCESS
        if attr == 3:
            if value[0] != axdr.LONG:
                return TYPE_UNMATCHED
            if not -720 <= value[1] <= 720:
                return OTHER_REASON
            self.time_zone = value[1]
            return SUCCESS
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        if method == 6:  # shift_time(long seconds, -900..900)
            if param is None or param[0] != axdr.LONG or not -900 <= param[1] <= 900:
                return TYPE_UNMATCHED, None
            self.adjust(self.time() + param[1])
            return SUCCESS, None
        if method == 3:  # adjust_to_minute
            t = self.time()
            r = t % 60
            self.adjust(t - r + (60 if r >= 30 else 0))
            return SUCCESS, None
        return READ_WRITE_DENIED, None
