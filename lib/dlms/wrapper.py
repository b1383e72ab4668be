# IEC 62056-47 (now 62056-4-7) TCP wrapper framing, sans-IO.
# Owns: the 8-byte header (version, source wPort, destination wPort, length) and reassembly of a
# byte stream into APDUs. Knows nothing about APDU contents, sockets or sessions.
from dlms._compat import const

_VERSION = const(1)
_HEADER = const(8)


class WrapperError(ValueError):
    pass


def encode(source, dest, apdu):
    n = len(apdu)
    if n > 0xFFFF:
        raise WrapperError('apdu too long')
    out = bytearray(_HEADER + n)
    out[0] = 0
    out[1] = _VERSION
    out[2] = source >> 8
    out[3] = source & 0xFF
    out[4] = dest >> 8
    out[5] = dest & 0xFF
    out[6] = n >> 8
    out[7] = n & 0xFF
    out[_HEADER:] = apdu
    return out          # bytearray, written to the stream as it is


class WrapperDecoder:
    """Feed bytes from the stream; take whole (source, dest, apdu) frames out.

    A frame whose length exceeds max_apdu is skipped without being stored and comes out as
    (source, dest, None), so the transport can answer it (exception-response pdu-too-long).
    A wrong version cannot be resynchronised on a stream: `next()` raises WrapperError and the
    transport closes the connection."""

    def __init__(self, max_apdu=2048):
        self.max_apdu = max_apdu
        # what is buffered, as bytes: a read that holds exactly one frame (the usual case) is
        # kept as it came and its APDU is one slice of it, no other copy
        self._buf = b''
        self._skip = 0          # bytes of an oversized frame still to discard
        self._skipped = None    # (source, dest) of the oversized frame being discarded

    def feed(self, data):
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            data = data[n:]
        if self._buf:
            self._buf += data
        else:
            self._buf = bytes(data)
        if len(self._buf) > 4 * (self.max_apdu + _HEADER):
            raise WrapperError('input backlog too large')

    def next(self):
        if self._skipped is not None:
            if self._skip:
                return None
            frame = (self._skipped[0], self._skipped[1], None)
            self._skipped = None
            return frame
        buf = self._buf
        if len(buf) < _HEADER:
            return None
        version = (buf[0] << 8) | buf[1]
        if version != _VERSION:
            raise WrapperError('wrapper version')
        n = (buf[6] << 8) | buf[7]
        source = (buf[2] << 8) | buf[3]
        dest = (buf[4] << 8) | buf[5]
        if n > self.max_apdu:
            have = len(buf) - _HEADER
            if have >= n:
                self._buf = buf[_HEADER + n:]
                return (source, dest, None)
            self._skip = n - have
            self._buf = b''
            self._skipped = (source, dest)
            return None
        end = _HEADER + n
        if len(buf) < end:
            return None
        if len(buf) == end:
            self._buf = b''
            return (source, dest, buf[_HEADER:])
        self._buf = buf[end:]
        return (source, dest, buf[_HEADER:end])
