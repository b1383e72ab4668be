# IEC 62056-21 mode E on the optical port, meter side, sans-IO: the 300 baud 7E1 opening
# (request, identification, acknowledgement/option select) that hands the line to HDLC at the
# agreed baud rate 8N1, and the way back to 300 baud when the HDLC link ends.
# Everything that decides a transition lives in TRANSITIONS below. The transport reports bytes,
# time (`now`, monotonic milliseconds) and the HDLC link going up or down; it gets back actions
# (send these bytes, change the line settings, start/stop the link, hand bytes to the link).
# Knows nothing about UARTs, HDLC frames or DLMS.
from dlms._compat import const

# ---- states ----
IDLE = const(0)        # 300 baud 7E1, waiting for a request message
WAIT_ACK = const(1)    # identification sent, waiting for the acknowledgement/option select
BINARY = const(2)      # switched to the agreed baud 8N1, HDLC link not up yet
LINKED = const(3)      # HDLC link up

STATE_NAMES = ('IDLE', 'WAIT-ACK', 'BINARY', 'LINKED')

# ---- events ----
EV_REQUEST = const(0)          # /?!CRLF or /?<our address>!CRLF
EV_REQUEST_OTHER = const(1)    # a request for another device address
EV_ACK_HDLC = const(2)         # ACK 2 Z 2 CRLF with a baud rate we offer
EV_ACK_OTHER = const(3)        # any other acknowledgement/option select (unsupported)
EV_MALFORMED = const(4)        # a line that is no message we know, or too long
EV_TIMEOUT = const(5)
EV_LINK_UP = const(6)          # the HDLC link connected (SNRM/UA)
EV_LINK_DOWN = const(7)        # the HDLC link ended (DISC, FRMR recovery, inactivity, loss)

EVENT_NAMES = ('REQUEST', 'REQUEST-OTHER', 'ACK-HDLC', 'ACK-OTHER', 'MALFORMED', 'TIMEOUT',
               'LINK-UP', 'LINK-DOWN')

LINE_EVENTS = (EV_REQUEST, EV_REQUEST_OTHER, EV_ACK_HDLC, EV_ACK_OTHER, EV_MALFORMED)

# ---- what a transition does ----
T_NONE = const(0)
T_IDENTIFY = const(1)          # send the identification message
T_ENTER_BINARY = const(2)      # switch to the agreed baud 8N1 and start the HDLC link
T_LEAVE_BINARY = const(3)      # stop the link, back to 300 baud 7E1
T_CLEAR = const(4)             # drop partial input

TRANSITIONS = {
    IDLE: {
        EV_REQUEST: (WAIT_ACK, T_IDENTIFY),
        EV_REQUEST_OTHER: (IDLE, T_NONE),      # another meter on the same head: stay silent
        EV_ACK_HDLC: (IDLE, T_NONE),           # an ACK without a request before it
        EV_ACK_OTHER: (IDLE, T_NONE),
        EV_MALFORMED: (IDLE, T_NONE),
        EV_TIMEOUT: (IDLE, T_CLEAR),
    },
    WAIT_ACK: {
        EV_REQUEST: (WAIT_ACK, T_IDENTIFY),    # the request again: identify again
        EV_REQUEST_OTHER: (IDLE, T_NONE),
        EV_ACK_HDLC: (BINARY, T_ENTER_BINARY),
        EV_ACK_OTHER: (IDLE, T_NONE),          # readout/programming modes are not offered
        EV_MALFORMED: (IDLE, T_NONE),
        EV_TIMEOUT: (IDLE, T_CLEAR),
    },
    BINARY: {
        EV_LINK_UP: (LINKED, T_NONE),
        EV_LINK_DOWN: (IDLE, T_LEAVE_BINARY),
        EV_TIMEOUT: (IDLE, T_LEAVE_BINARY),    # no SNRM came
    },
    LINKED: {
        EV_LINK_UP: (LINKED, T_NONE),          # SNRM again on a live link
        EV_LINK_DOWN: (IDLE, T_LEAVE_BINARY),
    },
}

# ---- actions handed to the transport ----
SEND = const(1)        # (SEND, bytes): write at the current line settings
SET_LINE = const(2)    # (SET_LINE, baud, bits, parity): once everything written has gone out;
                       # parity None, 0 (even) or 1 (odd), as machine.UART takes it
START_LINK = const(3)  # (START_LINK,): a fresh HDLC link takes the line
STOP_LINK = const(4)   # (STOP_LINK,): the HDLC link (and its association) is gone
LINK_DATA = const(5)   # (LINK_DATA, bytes): bytes after the acknowledgement belong to HDLC

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200)   # baud characters '0'..'6'
OPENING_BAUD = const(300)
_PARITY_EVEN = const(0)

_ACK = const(0x06)
_CR = const(0x0D)
_LF = const(0x0A)
_MAX_LINE = const(40)          # '/?' + 32-character address + '!' CR LF, and some noise
_MAX_ADDRESS = const(32)
REACTION_MS = const(200)       # the shortest wait before the identification is sent


class ModeEError(Exception):
    pass


def baud_char(baud):
    for i in range(len(BAUD_RATES)):
        if BAUD_RATES[i] == baud:
            return chr(0x30 + i)
    raise ModeEError('no baud character for %d' % baud)


def _valid_address_char(c):
    return (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A) or c == 0x20


def _same_address(a, b):
    # leading zeros of a device address are not significant
    a = a.lstrip(b'0')
    b = b.lstrip(b'0')
    return a == b


class ModeE:
    """Meter side of the mode E opening on one optical port.

    `device_address`: what `/?<address>!` must name for this meter (the plain `/?!` always
    works). `manufacturer`: three letters; `identification`: up to 16 printable characters;
    `max_baud`: the highest HDLC baud rate offered (300..19200).
    Feed bytes with receive(data, now) while `binary` is False, report the link with
    link_up(now)/link_down(now), call tick(now) now and then; each returns a list of actions."""

    def __init__(self, device_address='', manufacturer='MMM', identification='DLMS',
                 max_baud=9600, ack_timeout=3000, line_timeout=1500, binary_timeout=5000):
        if len(manufacturer) != 3:
            raise ModeEError('manufacturer identification is three characters')
        if not 1 <= len(identification) <= 16:
            raise ModeEError('identification is 1 to 16 characters')
        if '/' in identification or '!' in identification:
            raise ModeEError('identification may not contain / or !')
        self.device_address = device_address.encode() if isinstance(device_address, str) \
            else bytes(device_address)
        self._z = baud_char(max_baud)
        self.max_baud = max_baud
        self.identification = ('/' + manufacturer + self._z + '\\2' + identification +
                               '\r\n').encode()
        self.ack_timeout = ack_timeout
        self.line_timeout = line_timeout
        self.binary_timeout = binary_timeout
        self.state = IDLE
        self.baud = OPENING_BAUD     # the agreed baud rate while binary
        self._buf = bytearray()
        self._since = 0              # when the current state began
        self._line_since = 0         # when the partial line in _buf began
        self._agreed = ord(self._z)  # baud character of the last acceptable acknowledgement

    @property
    def binary(self):
        return self.state == BINARY or self.state == LINKED

    def line(self):
        """(baud, bits, parity) the line should have in the current state."""
        if self.binary:
            return (self.baud, 8, None)
        return (OPENING_BAUD, 7, _PARITY_EVEN)

    # ---- inputs ----

    def receive(self, data, now):
        """Bytes read at 300 baud 7E1. Returns the actions."""
        if self.binary:
            raise ModeEError('bytes for the HDLC link, not the mode E opening')
        actions = []
        if self._buf and now - self._line_since > self.line_timeout:
            self._buf = bytearray()
        i = 0
        n = len(data)
        while i < n:
            if self.binary:               # bytes after the acknowledgement: HDLC
                actions.append((LINK_DATA, bytes(data[i:])))
                break
            c = data[i] & 0x7F            # 7 data bits; the parity bit is not ours to see
            i += 1
            if not self._buf:
                self._line_since = now
            if len(self._buf) >= _MAX_LINE:
                self._buf = bytearray()
                self._fire(EV_MALFORMED, now, actions)
                continue
            self._buf.append(c)
            if c == _LF:
                line = bytes(self._buf)
                self._buf = bytearray()
                self._fire(self._classify(line), now, actions)
        return actions

    def tick(self, now):
        actions = []
        if self.state == WAIT_ACK and now - self._since >= self.ack_timeout:
            self._fire(EV_TIMEOUT, now, actions)
        elif self.state == BINARY and now - self._since >= self.binary_timeout:
            self._fire(EV_TIMEOUT, now, actions)
        elif self.state == IDLE and self._buf and now - self._line_since > self.line_timeout:
            self._fire(EV_TIMEOUT, now, actions)
        return actions

    def link_up(self, now):
        actions = []
        self._fire(EV_LINK_UP, now, actions)
        return actions

    def link_down(self, now):
        actions = []
        self._fire(EV_LINK_DOWN, now, actions)
        return actions

    # ---- messages ----

    def _classify(self, line):
        # the message starts at the last start character; anything before it is noise
        start = -1
        for k in range(len(line) - 1, -1, -1):
            if line[k] == 0x2F or line[k] == _ACK:
                start = k
                break
        if start < 0:
            return EV_MALFORMED
        msg = line[start:]
        if len(msg) < 3 or msg[-2] != _CR:
            return EV_MALFORMED
        body = msg[:-2]
        if body[0] == _ACK:
            if len(body) != 4:
                return EV_MALFORMED
            v, z, y = body[1], body[2], body[3]
            if v == 0x32 and y == 0x32 and 0x30 <= z <= ord(self._z):
                self._agreed = z
                return EV_ACK_HDLC
            return EV_ACK_OTHER
        # '/?' address '!'
        if len(body) < 3 or body[1] != 0x3F or body[-1] != 0x21:
            return EV_MALFORMED
        address = body[2:-1]
        if len(address) > _MAX_ADDRESS:
            return EV_MALFORMED
        for c in address:
            if not _valid_address_char(c):
                return EV_MALFORMED
        if not address or _same_address(address, self.device_address):
            return EV_REQUEST
        return EV_REQUEST_OTHER

    # ---- the table ----

    def _fire(self, event, now, actions, arg=None):
        entry = TRANSITIONS[self.state].get(event)
        if entry is None:
            raise ModeEError('event %s not allowed in state %s'
                             % (EVENT_NAMES[event], STATE_NAMES[self.state]))
        nxt, todo = entry
        prev = self.state
        self.state = nxt
        if nxt != prev:
            self._since = now
        if todo == T_IDENTIFY:
            self._since = now
            actions.append((SEND, self.identification))
        elif todo == T_ENTER_BINARY:
            self.baud = BAUD_RATES[self._agreed - 0x30]
            self._buf = bytearray()
            actions.append((SET_LINE, self.baud, 8, None))
            actions.append((START_LINK,))
        elif todo == T_LEAVE_BINARY:
            self.baud = OPENING_BAUD
            self._buf = bytearray()
            actions.append((STOP_LINK,))
            actions.append((SET_LINE, OPENING_BAUD, 7, _PARITY_EVEN))
        elif todo == T_CLEAR:
            self._buf = bytearray()
