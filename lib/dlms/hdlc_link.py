# The HDLC link state machine of a server (secondary station), IEC 62056-46, sans-IO.
# Everything that decides a link state transition lives in TRANSITIONS below: frames are first
# turned into one event each (after the address, control-field and sequence-number checks), the
# table gives the next state and the action, and the action only builds frames and upper-layer
# events. Time is passed in (`now`, milliseconds, monotonic); this module reads no clock.
# Knows nothing about APDU contents, sessions, sockets or UARTs: it hands up whole APDUs (LLC
# removed) and takes whole reply APDUs, segmenting both ways.
#
# One HdlcLink serves one physical line (a TCP connection, an optical port, an RS485 bus) for one
# server physical address; it is connected to at most one client at a time. Window size 1.
from dlms._compat import const
from dlms import hdlc

# ---- states ----
NDM = const(0)          # normal disconnected mode
NRM = const(1)          # normal response mode, waiting for a command
RECEIVING = const(2)    # a segmented request is being reassembled
RESPONDING = const(3)   # a whole request went up; waiting for the reply (reply())
SENDING = const(4)      # a segmented reply is going out, one segment per RR
FRAME_REJECT = const(5)  # FRMR sent; only SNRM or DISC get the link out of here

STATE_NAMES = ('NDM', 'NRM', 'RECEIVING', 'RESPONDING', 'SENDING', 'FRAME-REJECT')

# ---- events ----
# from the peer, one per accepted frame
EV_SNRM = const(0)          # SNRM with acceptable parameters
EV_SNRM_BAD = const(1)      # SNRM whose parameters cannot be met or do not parse
EV_DISC = const(2)
EV_I_LAST = const(3)        # in-sequence I-frame, last (or only) segment
EV_I_SEGMENT = const(4)     # in-sequence I-frame, more segments follow
EV_REPEAT = const(5)        # the peer repeats its last frame: our answer was lost
EV_RR = const(6)
EV_RNR = const(7)
EV_SEQUENCE_ERROR = const(8)  # N(S) or N(R) out of sequence
EV_INVALID = const(9)       # unknown or unsupported control field, information not permitted
EV_TOO_LONG = const(10)     # information field or reassembled APDU over the bound
EV_UI = const(11)
EV_FOREIGN = const(12)      # a frame from a client other than the connected one
# from the clock
EV_TIMEOUT = const(13)      # inactivity timeout
# from the upper layer / the link itself
EV_REPLY = const(14)        # reply() with the answer to the delivered APDU
EV_LAST_SENT = const(15)    # internal: the last segment of a reply went out

EVENT_NAMES = ('SNRM', 'SNRM-BAD', 'DISC', 'I-LAST', 'I-SEGMENT', 'REPEAT', 'RR', 'RNR',
               'SEQUENCE-ERROR', 'INVALID', 'TOO-LONG', 'UI', 'FOREIGN', 'TIMEOUT', 'REPLY',
               'LAST-SENT')

PEER_EVENTS = (EV_SNRM, EV_SNRM_BAD, EV_DISC, EV_I_LAST, EV_I_SEGMENT, EV_REPEAT, EV_RR, EV_RNR,
               EV_SEQUENCE_ERROR, EV_INVALID, EV_TOO_LONG, EV_UI, EV_FOREIGN)

# ---- actions ----
A_NONE = const(0)
A_CONNECT = const(1)        # UA with the negotiated parameters; (re)start the link
A_DISCONNECT = const(2)     # UA; the link and the association are gone
A_DM = const(3)             # DM: we are not connected (to you)
A_REFUSE = const(4)         # DM to a bad SNRM; a connected link is dropped
A_RR = const(5)             # RR acknowledging what we have
A_SEGMENT = const(6)        # keep a request segment, RR
A_DELIVER = const(7)        # the request is whole: hand it up
A_START_REPLY = const(8)    # send the reply (or its first segment)
A_NEXT_SEGMENT = const(9)   # send the next reply segment
A_RESEND = const(10)        # send our last answer again
A_FRMR = const(11)          # FRMR (again)
A_DROP = const(12)          # inactivity: forget the link silently

_CONNECTED_COMMON = {
    EV_SNRM: (NRM, A_CONNECT),
    EV_SNRM_BAD: (NDM, A_REFUSE),
    EV_DISC: (NDM, A_DISCONNECT),
    EV_SEQUENCE_ERROR: (FRAME_REJECT, A_FRMR),
    EV_INVALID: (FRAME_REJECT, A_FRMR),
    EV_TOO_LONG: (FRAME_REJECT, A_FRMR),
    EV_UI: (None, A_NONE),
    EV_FOREIGN: (None, A_DM),
    EV_TIMEOUT: (NDM, A_DROP),
}


def _row(common, own):
    row = dict(common)
    row.update(own)
    return row


# TRANSITIONS[state][event] -> (next state, action); next state None = unchanged.
TRANSITIONS = {
    # Disconnected, frames are not checked for sequence or length: any command but SNRM gets DM.
    NDM: {
        EV_SNRM: (NRM, A_CONNECT),
        EV_SNRM_BAD: (NDM, A_DM),
        EV_DISC: (NDM, A_DM),
        EV_I_LAST: (NDM, A_DM),
        EV_I_SEGMENT: (NDM, A_DM),
        EV_RR: (NDM, A_DM),
        EV_RNR: (NDM, A_DM),
        EV_INVALID: (NDM, A_DM),
        EV_UI: (NDM, A_NONE),
    },
    NRM: _row(_CONNECTED_COMMON, {
        EV_I_LAST: (RESPONDING, A_DELIVER),
        EV_I_SEGMENT: (RECEIVING, A_SEGMENT),
        EV_REPEAT: (NRM, A_RESEND),
        EV_RR: (NRM, A_RR),
        EV_RNR: (NRM, A_RR),
    }),
    RECEIVING: _row(_CONNECTED_COMMON, {
        EV_I_LAST: (RESPONDING, A_DELIVER),
        EV_I_SEGMENT: (RECEIVING, A_SEGMENT),
        EV_REPEAT: (RECEIVING, A_RESEND),
        EV_RR: (RECEIVING, A_RR),
        EV_RNR: (RECEIVING, A_RR),
    }),
    # No frame is taken from the input while the upper layer holds the request.
    RESPONDING: {
        EV_REPLY: (SENDING, A_START_REPLY),
        EV_TIMEOUT: (NDM, A_DROP),
    },
    SENDING: _row(_CONNECTED_COMMON, {
        EV_I_LAST: (FRAME_REJECT, A_FRMR),       # the peer must RR until the reply is complete
        EV_I_SEGMENT: (FRAME_REJECT, A_FRMR),
        EV_REPEAT: (SENDING, A_RESEND),
        EV_RR: (SENDING, A_NEXT_SEGMENT),
        EV_RNR: (SENDING, A_RR),
        EV_LAST_SENT: (NRM, A_NONE),
    }),
    FRAME_REJECT: _row(_CONNECTED_COMMON, {
        EV_I_LAST: (FRAME_REJECT, A_FRMR),
        EV_I_SEGMENT: (FRAME_REJECT, A_FRMR),
        EV_REPEAT: (FRAME_REJECT, A_FRMR),
        EV_RR: (FRAME_REJECT, A_FRMR),
        EV_RNR: (FRAME_REJECT, A_FRMR),
    }),
}

# ---- upper-layer events (next_event()) ----
CONNECTED = const(1)        # (CONNECTED, client_sap, logical_device)
DISCONNECTED = const(2)     # (DISCONNECTED, reason)
APDU = const(3)             # (APDU, apdu): answer it with reply(apdu or None)

# FRMR information field, flag byte (ISO/IEC 13239): W invalid control, X information not
# permitted, Y information field too long, Z invalid N(R).
_FRMR_W = const(0x01)
_FRMR_X = const(0x02)
_FRMR_Y = const(0x04)
_FRMR_Z = const(0x08)

MIN_INFO = const(32)        # the smallest information field we agree to


class HdlcStateError(Exception):
    pass


class HdlcLink:
    """Server side of one HDLC line.

    Feed received bytes with receive_data(data, now); take events with next_event() until it
    returns None; answer every APDU event with reply(apdu or None); call tick(now) now and then
    (the inactivity timeout); write data_to_send() to the line after each of these.

    `logical_devices`: upper addresses served. `physical_address`: our lower address. On a
    `multidrop` line (RS485) frames must carry our own lower address: the 1-byte form and the
    all-station address get no answer. `max_info`: the largest information field we send and
    accept (the SNRM may lower it). `max_apdu`: bound on a reassembled request.
    """

    def __init__(self, logical_devices=(1,), physical_address=None, multidrop=False,
                 max_info=hdlc.DEFAULT_MAX_INFO, max_apdu=2048, inactivity_timeout=120000,
                 inter_octet_timeout=1000):
        self.logical_devices = tuple(logical_devices)
        self.physical_address = physical_address
        self.multidrop = multidrop
        self.max_info = max_info
        self.max_apdu = max_apdu
        self.inactivity_timeout = inactivity_timeout      # ms; 0 = none
        self.inter_octet_timeout = inter_octet_timeout    # ms; 0 = none
        self.state = NDM
        self.params = None          # LinkParameters of this server for the current connection
        self.client = None          # raw client address of the connected client
        self.ignored = 0            # frames for another station, dropped without an answer
        # frames longer than we could ever accept are noise; longer than agreed get FRMR
        self._decoder = hdlc.FrameDecoder(min(hdlc.MAX_LENGTH, max_info + 20))
        self._events = []
        self._out = []
        self._last_rx = 0           # time of the last frame for us
        self._last_byte = None      # time of the last byte received
        self._frame = None          # the frame being handled
        self._src = None            # our address as the frame being handled addressed us
        self._reset_sequence()

    def _reset_sequence(self):
        self.vs = 0
        self.vr = 0
        self._rx = bytearray()      # request being reassembled
        self._tx = None             # reply being sent: (apdu, offset)
        self._last_answer = None    # our answer to the last I-frame (resent on a repeat)
        self._last_i = None         # the last I-frame we sent (resent when an RR repeats)
        self._reject_flags = 0
        self._first = True
        self._offer = None

    # ---- the upper layer's side ----

    def receive_data(self, data, now):
        if not data:
            return
        if (self.inter_octet_timeout and self._last_byte is not None
                and now - self._last_byte > self.inter_octet_timeout
                and self._decoder.pending()):
            self._decoder.reset()
        self._last_byte = now
        self._decoder.feed(data)

    def next_event(self):
        while not self._events and self.state != RESPONDING:
            frame = self._decoder.next()
            if frame is None:
                return None
            self._on_frame(frame)
        if self._events:
            return self._events.pop(0)
        return None

    def reply(self, apdu):
        """The answer to the last APDU event; None when the upper layer has nothing to say."""
        self._fire(EV_REPLY, apdu)

    def tick(self, now):
        if (self.inactivity_timeout and self.state != NDM
                and now - self._last_rx >= self.inactivity_timeout):
            self._fire(EV_TIMEOUT)
        if (self.inter_octet_timeout and self._last_byte is not None and self._decoder.pending()
                and now - self._last_byte > self.inter_octet_timeout):
            self._decoder.idle()        # a partial frame will not be completed

    def data_to_send(self):
        if not self._out:
            return b''
        out = b''.join(self._out)
        self._out = []
        return out

    @property
    def connected(self):
        return self.state != NDM

    @property
    def dropped(self):
        """Frames dropped for noise, bad framing or a bad HCS/FCS."""
        return self._decoder.dropped

    # ---- the table ----

    def _fire(self, event, arg=None):
        entry = TRANSITIONS[self.state].get(event)
        if entry is None:
            raise HdlcStateError('event %s not allowed in state %s'
                                 % (EVENT_NAMES[event], STATE_NAMES[self.state]))
        nxt, action = entry
        if nxt is not None:
            self.state = nxt
        self._act(action, arg)

    def _act(self, action, arg):
        if action == A_NONE:
            return
        if action == A_CONNECT:
            self._connect()
        elif action == A_DISCONNECT:
            self._send_u(hdlc.UA)
            self._down('disc')
        elif action == A_DM:
            self._send_u(hdlc.DM)
        elif action == A_REFUSE:
            self._send_u(hdlc.DM)
            if self.client is not None:
                self._down('snrm refused')
        elif action == A_RR:
            self._send_rr()
        elif action == A_SEGMENT:
            self._take_info()
            self._accept()
            if self._frame.control & hdlc.PF:
                self._last_answer = self._send_rr()
        elif action == A_DELIVER:
            self._take_info()
            self._accept()
            apdu = bytes(self._rx)
            self._rx = bytearray()
            self._events.append((APDU, apdu))
        elif action == A_START_REPLY:
            self._start_reply(arg)
        elif action == A_NEXT_SEGMENT:
            self._send_segment()
        elif action == A_RESEND:
            frame = self._last_i if hdlc.is_s(self._frame.control) else self._last_answer
            self._out.append(frame)
        elif action == A_FRMR:
            self._send_frmr()
        elif action == A_DROP:
            self._down('inactivity timeout')

    # ---- frames in ----

    def _on_frame(self, frame):
        src = self._addressed_to_us(frame)
        if src is None:
            self.ignored += 1
            return
        self._frame = frame
        self._src = src
        try:
            event = self._classify(frame)
        except hdlc.HdlcError:
            event = EV_INVALID
            self._reject_flags = _FRMR_W
        self._last_rx = self._last_byte if self._last_byte is not None else 0
        self._fire(event)

    def _addressed_to_us(self, frame):
        """Our address bytes for the answer, or None when the frame is not for this station."""
        if len(frame.src) != 1:
            return None
        try:
            upper, lower = hdlc.decode_server_address(frame.dest)
        except hdlc.HdlcError:
            return None
        if upper not in self.logical_devices:
            return None
        size = len(frame.dest)
        if lower is None:
            if self.multidrop:
                return None
            return frame.dest
        if lower == self.physical_address:
            return frame.dest
        if lower == (hdlc.ALL_STATION if size == 2 else hdlc.ALL_STATION_4):
            if self.multidrop or self.physical_address is None:
                return None
            return hdlc.encode_server_address(upper, self.physical_address, size)
        return None

    def _classify(self, frame):
        c = frame.control
        self._reject_flags = 0
        if self.client is not None and frame.src != self.client and self.state != NDM:
            return EV_FOREIGN
        if hdlc.is_i(c):
            return self._classify_i(frame)
        if hdlc.is_s(c):
            kind = hdlc.s_kind(c)
            if kind not in (hdlc.RR, hdlc.RNR) or frame.info:
                self._reject_flags = _FRMR_X if frame.info else _FRMR_W
                return EV_INVALID
            if self.state == NDM:
                return EV_RR if kind == hdlc.RR else EV_RNR
            nr = hdlc.n_r(c)
            if nr == self.vs:
                return EV_RR if kind == hdlc.RR else EV_RNR
            if nr == (self.vs - 1) & 7 and self._last_i is not None:
                return EV_REPEAT
            self._reject_flags = _FRMR_Z
            return EV_SEQUENCE_ERROR
        kind = hdlc.u_kind(c)
        if kind == hdlc.SNRM:
            return self._negotiate(frame.info)
        if kind == hdlc.DISC:
            if frame.info:
                self._reject_flags = _FRMR_X
                return EV_INVALID
            return EV_DISC
        if kind == hdlc.UI:
            return EV_UI
        self._reject_flags = _FRMR_W
        return EV_INVALID

    def _classify_i(self, frame):
        c = frame.control
        n = len(frame.info)
        if self.state == NDM:
            return EV_I_SEGMENT if frame.segmented else EV_I_LAST
        ns = hdlc.n_s(c)
        if ns == (self.vr - 1) & 7 and self._last_answer is not None:
            return EV_REPEAT
        if ns != self.vr:
            self._reject_flags = 0
            return EV_SEQUENCE_ERROR
        if hdlc.n_r(c) != self.vs:
            self._reject_flags = _FRMR_Z
            return EV_SEQUENCE_ERROR
        first = self.state != RECEIVING
        self._first = first
        if n > self.params.max_info_rx:
            self._reject_flags = _FRMR_Y
            return EV_TOO_LONG
        if n == 0 or (first and (n < 3 or frame.info[0] != 0xE6 or frame.info[1] != 0xE6)):
            self._reject_flags = _FRMR_W
            return EV_INVALID
        if len(self._rx) + n - (3 if first else 0) > self.max_apdu:
            self._reject_flags = _FRMR_Y
            return EV_TOO_LONG
        return EV_I_SEGMENT if frame.segmented else EV_I_LAST

    def _negotiate(self, info):
        """EV_SNRM with self._offer set, or EV_SNRM_BAD."""
        try:
            peer = hdlc.parse_parameters(info)
        except hdlc.HdlcError:
            return EV_SNRM_BAD
        tx = min(peer.max_info_rx, self.max_info)
        rx = min(peer.max_info_tx, self.max_info)
        if tx < MIN_INFO or rx < MIN_INFO or peer.window_tx < 1 or peer.window_rx < 1:
            return EV_SNRM_BAD
        self._offer = hdlc.LinkParameters(tx, rx, 1, 1)
        return EV_SNRM

    def _take_info(self):
        info = self._frame.info
        if self._first:
            self._rx = bytearray(memoryview(info)[3:])     # the LLC header goes
        else:
            self._rx.extend(info)

    def _accept(self):
        self.vr = (self.vr + 1) & 7

    # ---- frames out ----

    def _connect(self):
        offer = self._offer
        if self.client is not None:
            self._down('snrm')
        self._reset_sequence()
        self.params = offer
        self.client = self._frame.src
        self._send_u(hdlc.UA, hdlc.build_parameters(self.params))
        upper = hdlc.decode_server_address(self._frame.dest)[0]
        self._events.append((CONNECTED, hdlc.decode_client_address(self.client), upper))

    def _down(self, reason):
        self.client = None
        self.params = None
        self._reset_sequence()
        self._events.append((DISCONNECTED, reason))

    def _frame_out(self, control, info=b'', segmented=False):
        f = hdlc.encode_frame(self._frame.src, self._src, control, info, segmented)
        self._out.append(f)
        return f

    def _send_u(self, kind, info=b''):
        return self._frame_out(hdlc.u_control(kind), info)

    def _send_rr(self):
        return self._frame_out(hdlc.s_control(hdlc.RR, self.vr))

    def _send_frmr(self):
        c = self._frame.control if self._frame is not None else 0
        info = bytes((c, (self.vr << 5) | (self.vs << 1), self._reject_flags))
        self._rx = bytearray()
        self._tx = None
        self._frame_out(hdlc.u_control(hdlc.FRMR), info)

    def _start_reply(self, apdu):
        if not apdu:
            self._last_answer = self._send_rr()
            self._fire(EV_LAST_SENT)
            return
        self._tx = [apdu, -1]
        self._send_segment()
        self._last_answer = self._last_i

    def _send_segment(self):
        tx = self._tx
        if tx is None:
            self._send_rr()
            return
        apdu, off = tx
        room = self.params.max_info_tx
        if off < 0:
            chunk = hdlc.LLC_RESPONSE + apdu[:room - 3]
            off = room - 3
        else:
            chunk = apdu[off:off + room]
            off += room
        more = off < len(apdu)
        self._last_i = self._frame_out(hdlc.i_control(self.vs, self.vr), chunk, more)
        self.vs = (self.vs + 1) & 7
        if more:
            tx[1] = off
        else:
            self._tx = None
            self._fire(EV_LAST_SENT)
