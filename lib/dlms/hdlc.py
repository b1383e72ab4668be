# HDLC frame codec (IEC 62056-46, frame format type 3), sans-IO.
# Owns: the frame layout (flags, format field with segmentation bit and 11-bit length, addresses,
# control field, HCS/FCS), CRC-16/X.25, the server/client address forms, the SNRM/UA parameter
# field and the LLC bytes. Frames are cut out of a byte stream with resynchronisation on noise.
# Knows nothing about link state, sequence numbers, sessions or APDU contents (see hdlc_link.py).
from array import array
from dlms._compat import const

FLAG = const(0x7E)
_FORMAT_TYPE3 = const(0xA0)
_SEGMENTED = const(0x08)
MAX_LENGTH = const(0x7FF)     # 11-bit frame length: every byte between the flags
_MIN_LENGTH = const(7)        # format(2) dest(1) src(1) control(1) check(2)
_GOOD_RESIDUE = const(0xF0B8)

# LLC header (8.5): requests carry E6 E6 00, responses E6 E7 00, in the first segment only.
LLC_REQUEST = b'\xe6\xe6\x00'
LLC_RESPONSE = b'\xe6\xe7\x00'

# Control field (8.3). PF is the poll/final bit.
PF = const(0x10)
RR = const(0x01)
RNR = const(0x05)
REJ = const(0x09)
SREJ = const(0x0D)
SNRM = const(0x83)
DISC = const(0x43)
UA = const(0x63)
DM = const(0x0F)
FRMR = const(0x87)
UI = const(0x03)

# Lower (physical) all-station address in the 2- and 4-byte forms (8.2).
ALL_STATION = const(0x7F)
ALL_STATION_4 = const(0x3FFF)

# SNRM/UA parameter field (8.6): format id, HDLC parameter group, parameter ids.
_FORMAT_ID = const(0x81)
_GROUP_ID = const(0x80)
_MAX_INFO_TX = const(0x05)
_MAX_INFO_RX = const(0x06)
_WINDOW_TX = const(0x07)
_WINDOW_RX = const(0x08)
DEFAULT_MAX_INFO = const(128)
DEFAULT_WINDOW = const(1)


class HdlcError(ValueError):
    pass


def _make_table():
    t = array('H', [0] * 256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        t[i] = c
    return t


_CRC_TABLE = _make_table()


def crc16(data, start=0, end=None, crc=0xFFFF):
    """CRC-16/X.25 register over data[start:end] (not inverted). Fold more data in by passing the
    result back as `crc`."""
    t = _CRC_TABLE
    if end is None:
        end = len(data)
    for i in range(start, end):
        crc = (crc >> 8) ^ t[(crc ^ data[i]) & 0xFF]
    return crc


def fcs(data, start=0, end=None):
    """The HCS/FCS value of data[start:end]; it goes on the wire least significant byte first."""
    return crc16(data, start, end) ^ 0xFFFF


def _append_check(out, start):
    v = crc16(out, start) ^ 0xFFFF
    out.append(v & 0xFF)
    out.append(v >> 8)


# ---- addresses (8.2) ----

def encode_server_address(upper, lower=None, size=None):
    """Server address bytes: upper (logical device) and lower (physical) HDLC address.
    size 1 carries the upper address only; 2 and 4 carry both. size None picks the smallest."""
    if size is None:
        if lower is None:
            size = 1
        elif upper < 0x80 and lower < 0x80:
            size = 2
        else:
            size = 4
    if size == 1:
        if lower is not None or not 0 <= upper < 0x80:
            raise HdlcError('1-byte server address holds an upper address < 128 only')
        return bytes(((upper << 1) | 1,))
    if lower is None:
        raise HdlcError('%d-byte server address needs a lower address' % size)
    if size == 2:
        if not (0 <= upper < 0x80 and 0 <= lower < 0x80):
            raise HdlcError('2-byte server address parts must be < 128')
        return bytes((upper << 1, (lower << 1) | 1))
    if size == 4:
        if not (0 <= upper < 0x4000 and 0 <= lower < 0x4000):
            raise HdlcError('4-byte server address parts must be < 16384')
        return bytes(((upper >> 7) << 1, (upper & 0x7F) << 1, (lower >> 7) << 1,
                      ((lower & 0x7F) << 1) | 1))
    raise HdlcError('server address size must be 1, 2 or 4')


def decode_server_address(raw):
    """(upper, lower) from server address bytes; lower is None for the 1-byte form."""
    n = len(raw)
    if n == 1:
        return raw[0] >> 1, None
    if n == 2:
        return raw[0] >> 1, raw[1] >> 1
    if n == 4:
        return ((raw[0] >> 1) << 7) | (raw[1] >> 1), ((raw[2] >> 1) << 7) | (raw[3] >> 1)
    raise HdlcError('server address of %d bytes' % n)


def encode_client_address(sap):
    if not 0 <= sap < 0x80:
        raise HdlcError('client address must be < 128')
    return bytes(((sap << 1) | 1,))


def decode_client_address(raw):
    if len(raw) != 1:
        raise HdlcError('client address must be 1 byte')
    return raw[0] >> 1


# ---- control field (8.3) ----

def i_control(ns, nr, pf=True):
    return ((nr & 7) << 5) | (PF if pf else 0) | ((ns & 7) << 1)


def s_control(kind, nr, pf=True):
    return ((nr & 7) << 5) | (PF if pf else 0) | kind


def u_control(kind, pf=True):
    return kind | (PF if pf else 0)


def is_i(control):
    return not control & 1


def is_s(control):
    return control & 3 == 1


def s_kind(control):
    """RR, RNR, REJ or SREJ."""
    return control & 0x0F


def u_kind(control):
    """SNRM, DISC, UA, DM, FRMR, UI or another U-frame code, without the P/F bit."""
    return control & 0xEF


def n_s(control):
    return (control >> 1) & 7


def n_r(control):
    return (control >> 5) & 7


# ---- frames (8.1) ----

class Frame:
    """One checked frame: `segmented` (more segments follow), `dest` and `src` (raw address
    bytes), `control`, `info` (bytes, empty when the frame has no information field)."""

    def __init__(self, segmented, dest, src, control, info=b''):
        self.segmented = segmented
        self.dest = dest
        self.src = src
        self.control = control
        self.info = info

    def __repr__(self):
        return '<Frame ctl=%02X seg=%d info=%d>' % (self.control, self.segmented, len(self.info))


def encode_frame(dest, src, control, info=b'', segmented=False):
    """Whole frame with both flags. The HCS is present only with an information field."""
    n = len(info)
    length = 2 + len(dest) + len(src) + 1 + 2 + (n + 2 if n else 0)
    if length > MAX_LENGTH:
        raise HdlcError('frame too long')
    out = bytearray()
    out.append(FLAG)
    out.append(_FORMAT_TYPE3 | (_SEGMENTED if segmented else 0) | (length >> 8))
    out.append(length & 0xFF)
    out.extend(dest)
    out.extend(src)
    out.append(control)
    _append_check(out, 1)
    if n:
        out.extend(info)
        _append_check(out, 1)
    out.append(FLAG)
    return bytes(out)


def _address_end(buf, pos, end):
    """Index after the address starting at pos (1, 2 or 4 bytes), or -1."""
    i = pos
    while i < end and i - pos < 4:
        if buf[i] & 1:
            n = i - pos + 1
            return i + 1 if n != 3 else -1
        i += 1
    return -1


def parse_frame(buf, start, end):
    """Frame from buf[start:end] (format field ... FCS, no flags), or None if it is malformed or a
    check sequence is wrong."""
    length = end - start
    if length < _MIN_LENGTH:
        return None
    fmt = buf[start]
    if fmt & 0xF0 != _FORMAT_TYPE3 or (((fmt & 7) << 8) | buf[start + 1]) != length:
        return None
    p = start + 2
    d_end = _address_end(buf, p, end)
    if d_end < 0:
        return None
    s_end = _address_end(buf, d_end, end)
    if s_end < 0 or s_end >= end:
        return None
    control = buf[s_end]
    p = s_end + 1
    rest = end - p
    if rest == 2:
        if crc16(buf, start, end) != _GOOD_RESIDUE:
            return None
        info = b''
    elif rest > 4:
        if crc16(buf, start, p + 2) != _GOOD_RESIDUE or crc16(buf, start, end) != _GOOD_RESIDUE:
            return None
        info = bytes(buf[p + 2:end - 2])
    else:
        return None
    return Frame(bool(fmt & _SEGMENTED), bytes(buf[start + 2:d_end]), bytes(buf[d_end:s_end]),
                 control, info)


class FrameDecoder:
    """Cuts frames out of a byte stream. Noise before a flag, frames whose closing flag is not
    where the length says, and frames with a bad HCS/FCS are dropped (counted in `dropped`);
    decoding resumes at the next flag. A closing flag may be the next frame's opening flag.

    Noise can look like the start of a long frame; the decoder then waits for bytes that never
    come. Call idle() when the line has been quiet longer than the inter-octet time: frame starts
    whose frame is incomplete are skipped, so the frames behind them are found.

    `max_length` bounds how long a frame may claim to be (and so the buffer)."""

    def __init__(self, max_length=MAX_LENGTH):
        self.max_length = max_length if max_length <= MAX_LENGTH else MAX_LENGTH
        self.dropped = 0
        self._buf = bytearray()
        self._pos = 0
        self._idle = False

    def feed(self, data):
        self._buf.extend(data)
        self._idle = False

    def idle(self):
        self._idle = True

    def reset(self):
        """Forget buffered input (a line change)."""
        self._buf = bytearray()
        self._pos = 0
        self._idle = False

    def pending(self):
        return len(self._buf) - self._pos

    def next(self):
        buf = self._buf
        i = self._pos
        n = len(buf)
        frame = None
        while True:
            while i < n and buf[i] != FLAG:
                i += 1
            if i + 3 > n:
                break                          # need flag + format field
            f0 = buf[i + 1]
            if f0 == FLAG:
                i += 1                         # consecutive flags
                continue
            length = ((f0 & 7) << 8) | buf[i + 2]
            if f0 & 0xF0 != _FORMAT_TYPE3 or length < _MIN_LENGTH or length > self.max_length:
                i += 1
                self.dropped += 1
                continue
            if i + length + 2 > n:
                if self._idle:                 # it will not come
                    i += 1
                    self.dropped += 1
                    continue
                break                          # the rest of the frame is still to come
            if buf[i + length + 1] != FLAG:
                i += 1
                self.dropped += 1
                continue
            frame = parse_frame(buf, i + 1, i + 1 + length)
            i += length + 1                    # stay on the closing flag: it may open the next
            if frame is not None:
                break
            self.dropped += 1
        if i >= n or (self._idle and frame is None):
            self._buf = bytearray()
            self._pos = 0
        elif i > 256 and i > n // 2:
            self._buf = buf[i:]
            self._pos = 0
        else:
            self._pos = i
        return frame


# ---- SNRM / UA parameters (8.6) ----

class LinkParameters:
    """HDLC parameters from one station's point of view: the longest information field it sends
    (max_info_tx) and accepts (max_info_rx), and its window sizes."""

    def __init__(self, max_info_tx=DEFAULT_MAX_INFO, max_info_rx=DEFAULT_MAX_INFO,
                 window_tx=DEFAULT_WINDOW, window_rx=DEFAULT_WINDOW):
        self.max_info_tx = max_info_tx
        self.max_info_rx = max_info_rx
        self.window_tx = window_tx
        self.window_rx = window_rx

    def __repr__(self):
        return '<LinkParameters tx %d rx %d window tx %d rx %d>' % (
            self.max_info_tx, self.max_info_rx, self.window_tx, self.window_rx)


def parse_parameters(info):
    """LinkParameters from an SNRM/UA information field; absent values take the defaults
    (128, window 1). Unknown parameters and groups are skipped; malformed input raises."""
    p = LinkParameters()
    if not info:
        return p
    n = len(info)
    if n < 3 or info[0] != _FORMAT_ID:
        raise HdlcError('parameter field: format identifier')
    pos = 1
    while pos < n:
        if pos + 2 > n:
            raise HdlcError('parameter field: truncated group')
        group = info[pos]
        glen = info[pos + 1]
        gend = pos + 2 + glen
        if gend > n:
            raise HdlcError('parameter field: group length')
        if group == _GROUP_ID:
            q = pos + 2
            while q < gend:
                if q + 2 > gend:
                    raise HdlcError('parameter field: truncated parameter')
                pid = info[q]
                plen = info[q + 1]
                if plen < 1 or plen > 4 or q + 2 + plen > gend:
                    raise HdlcError('parameter field: parameter length')
                v = 0
                for k in range(q + 2, q + 2 + plen):
                    v = (v << 8) | info[k]
                if pid == _MAX_INFO_TX:
                    p.max_info_tx = v
                elif pid == _MAX_INFO_RX:
                    p.max_info_rx = v
                elif pid == _WINDOW_TX:
                    p.window_tx = v
                elif pid == _WINDOW_RX:
                    p.window_rx = v
                q += 2 + plen
        pos = gend
    return p


def _append_param(out, pid, value, size):
    out.append(pid)
    out.append(size)
    for k in range(size - 1, -1, -1):
        out.append((value >> (8 * k)) & 0xFF)


def build_parameters(p):
    """The information field of a UA (or SNRM): lengths in 1 or 2 bytes, windows in 4."""
    body = bytearray()
    _append_param(body, _MAX_INFO_TX, p.max_info_tx, 1 if p.max_info_tx < 0x100 else 2)
    _append_param(body, _MAX_INFO_RX, p.max_info_rx, 1 if p.max_info_rx < 0x100 else 2)
    _append_param(body, _WINDOW_TX, p.window_tx, 4)
    _append_param(body, _WINDOW_RX, p.window_rx, 4)
    return bytes((_FORMAT_ID, _GROUP_ID, len(body))) + bytes(body)
