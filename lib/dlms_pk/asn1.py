# Strict, bounded DER (ITU-T X.690 section 10) reader and a small DER writer: only what X.509
# certificates, PKCS#10 requests and SEC1 / PKCS#8 EC private keys need (dlms_pk.x509).
#
# Reader: single-byte tags only (tag numbers 0..30; the high-tag-number form 0x1F is refused,
# and X.509 needs none), definite lengths only, in the minimal form (short form below 128,
# then 0x81 / 0x82; 0x80 indefinite and 0x83+ are refused: no input exceeds MAX_SIZE), every
# element inside its parent, no trailing bytes once done() is called, minimal non-negative
# INTEGERs, BOOLEAN 0x00 / 0xFF, BIT STRING unused bits zero, minimal OID sub-identifiers,
# UTCTime YYMMDDHHMMSSZ / GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 4.1.2.5: Z, seconds, no
# fractions) with real calendar dates. Any violation, truncation or overrun raises DERError (a
# ValueError), never IndexError or anything else. The reader follows a schema (no recursion on
# the input): MAX_DEPTH bounds how deep callers may enter, MAX_SIZE the whole input.
#
# Writer: the same subset, DER by construction (minimal INTEGERs with the 0x00 pad, lengths up
# to 0xFFFF). SET is written in the order given: callers pass one element (DER SET OF sorts).
from dlms._compat import const

MAX_SIZE = const(4096)      # bytes: the largest input a Reader takes
MAX_DEPTH = const(10)       # constructed levels a Reader may enter (X.509 needs 9)

BOOLEAN = const(0x01)
INTEGER = const(0x02)
BIT_STRING = const(0x03)
OCTET_STRING = const(0x04)
NULL = const(0x05)
OID = const(0x06)
UTF8 = const(0x0C)
PRINTABLE = const(0x13)
IA5 = const(0x16)
UTC_TIME = const(0x17)
GEN_TIME = const(0x18)
SEQUENCE = const(0x30)
SET = const(0x31)

_NO_END = b'99991231235959Z'    # RFC 5280 4.1.2.5: no well-defined expiration date


class DERError(ValueError):
    pass


def days(y, m, d):
    """Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m in 1..12)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil(n):
    """(y, m, d) of day n after 1970-01-01 (inverse of days())."""
    n += 719468
    era = n // 146097
    doe = n - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1


class Reader:
    """Elements of data[start:end], in order. depth: how many levels the caller has entered."""

    def __init__(self, data, start=0, end=-1, depth=0):
        if not isinstance(data, bytes):
            data = bytes(data)
        if end < 0:
            end = len(data)
        if end - start > MAX_SIZE:
            raise DERError('too large')
        self.d = data
        self.pos = start
        self.end = end
        self.depth = depth

    def more(self):
        return self.pos < self.end

    def peek(self):
        """The next tag, or -1 at the end."""
        return self.d[self.pos] if self.pos < self.end else -1

    def next(self, tag=-1):
        """(tag, content start, content end) of the next element (of that tag if given)."""
        d = self.d
        p = self.pos
        e = self.end
        if p + 2 > e:
            raise DERError('truncated')
        t = d[p]
        if t & 0x1F == 0x1F:
            raise DERError('tag')
        if tag >= 0 and t != tag:
            raise DERError('unexpected tag')
        n = d[p + 1]
        p += 2
        if n & 0x80:
            k = n - 0x80
            if k < 1 or k > 2 or p + k > e:
                raise DERError('length')
            n = d[p] if k == 1 else (d[p] << 8) | d[p + 1]
            if n < (0x80 if k == 1 else 0x100):
                raise DERError('length not minimal')
            p += k
        if n > e - p:
            raise DERError('truncated')
        self.pos = p + n
        return t, p, p + n

    def get(self, tag):
        """The content bytes of the next element, which must have this tag."""
        t, s, e = self.next(tag)
        return self.d[s:e]

    def raw(self, tag):
        """The whole next element (tag, length and content) as bytes."""
        p = self.pos
        self.next(tag)
        return self.d[p:self.pos]

    def enter(self, tag=SEQUENCE):
        """A Reader over the content of the next (constructed) element."""
        t, s, e = self.next(tag)
        if self.depth >= MAX_DEPTH:
            raise DERError('too deep')
        return Reader(self.d, s, e, self.depth + 1)

    def done(self):
        if self.pos != self.end:
            raise DERError('trailing bytes')

    def integer(self):
        """A non-negative INTEGER as an int."""
        c = self.get(INTEGER)
        if not c or c[0] & 0x80:
            raise DERError('INTEGER')
        if len(c) > 1 and c[0] == 0 and c[1] < 0x80:
            raise DERError('INTEGER not minimal')
        return int.from_bytes(c, 'big')

    def boolean(self):
        c = self.get(BOOLEAN)
        if len(c) != 1 or c[0] not in (0, 0xFF):
            raise DERError('BOOLEAN')
        return c[0] != 0

    def bits(self):
        """A BIT STRING as (unused bits, bytes)."""
        c = self.get(BIT_STRING)
        if not c or c[0] > 7 or (len(c) == 1 and c[0]) or c[len(c) - 1] & ((1 << c[0]) - 1):
            raise DERError('BIT STRING')
        return c[0], c[1:]

    def oid(self):
        """An OBJECT IDENTIFIER as its content bytes."""
        c = self.get(OID)
        if not c or c[len(c) - 1] & 0x80:
            raise DERError('OID')
        lead = True
        for b in c:
            if lead and b == 0x80:
                raise DERError('OID not minimal')
            lead = b < 0x80
        return c

    def null(self):
        if self.get(NULL):
            raise DERError('NULL')

    def string(self):
        """UTF8String, PrintableString or IA5String as str."""
        t = self.peek()
        c = self.get(t if t in (UTF8, PRINTABLE, IA5) else UTF8)
        if t != UTF8:
            for b in c:
                if b > 0x7F:
                    raise DERError('string')
        try:
            return c.decode()
        except ValueError:
            raise DERError('UTF-8')

    def time(self):
        """UTCTime (years 1950..2049) or GeneralizedTime as Unix seconds; None for
        99991231235959Z (no expiration)."""
        t = self.peek()
        c = self.get(UTC_TIME if t == UTC_TIME else GEN_TIME)
        n = len(c)
        if n != (13 if t == UTC_TIME else 15) or c[n - 1] != 0x5A:
            raise DERError('time')
        if c == _NO_END:
            return None
        v = []
        for i in range(0, n - 1, 2):
            a = c[i] - 48
            b = c[i + 1] - 48
            if not (0 <= a <= 9 and 0 <= b <= 9):
                raise DERError('time')
            v.append(10 * a + b)
        if t == UTC_TIME:
            y = v[0] + (1900 if v[0] >= 50 else 2000)
        else:
            y = 100 * v.pop(0) + v[0]
        mo, d, hh, mi, ss = v[1:]
        if not 1 <= mo <= 12 or hh > 23 or mi > 59 or ss > 59:
            raise DERError('time')
        n = days(y, mo, d)
        if civil(n) != (y, mo, d):
            raise DERError('date')
        return n * 86400 + hh * 3600 + mi * 60 + ss


# ---------------------------------------------------------------------------
# Writer

def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        h = bytes((tag, n))
    elif n < 0x100:
        h = bytes((tag, 0x81, n))
    else:
        h = bytes((tag, 0x82, n >> 8, n & 0xFF))
    return h + content


def seq(*parts):
    return tlv(SEQUENCE, b''.join(parts))


def set_(*parts):
    return tlv(SET, b''.join(parts))


def ctx(n, content, constructed=True):
    """Context tag [n] (EXPLICIT / constructed by default, else IMPLICIT primitive)."""
    return tlv((0xA0 if constructed else 0x80) | n, content)


def integer(v):
    """A non-negative int as a minimal INTEGER (0x00 pad when the top bit is set)."""
    if v < 0:
        raise DERError('negative')
    n = 1
    while v >> (8 * n - 1):
        n += 1
    return tlv(INTEGER, v.to_bytes(n, 'big'))


def boolean(v):
    return tlv(BOOLEAN, b'\xff' if v else b'\x00')


def bit_string(data, unused=0):
    return tlv(BIT_STRING, bytes((unused,)) + data)


def octet_string(data):
    return tlv(OCTET_STRING, data)


def null():
    return b'\x05\x00'


def oid(x):
    """An OBJECT IDENTIFIER from dotted text ('1.2.840.10045.2.1') or its content bytes."""
    if not isinstance(x, str):
        return tlv(OID, bytes(x))
    p = [int(s) for s in x.split('.')]
    if len(p) < 2 or p[0] > 2 or (p[0] < 2 and p[1] > 39):
        raise DERError('OID')
    a = p.pop(0)
    p[0] += 40 * a
    out = b''
    for v in p:
        b = bytes((v & 0x7F,))
        v >>= 7
        while v:
            b = bytes((0x80 | (v & 0x7F),)) + b
            v >>= 7
        out += b
    return tlv(OID, out)


def utf8(s):
    return tlv(UTF8, s.encode())


def printable(s):
    return tlv(PRINTABLE, s.encode())


def time(t):
    """Unix seconds -> UTCTime for 1950..2049, else GeneralizedTime (RFC 5280 4.1.2.5);
    None -> 99991231235959Z (no expiration)."""
    if t is None:
        return tlv(GEN_TIME, _NO_END)
    n, s = divmod(t, 86400)
    y, m, d = civil(n)
    v = (m, d, s // 3600, s // 60 % 60, s % 60)
    if 1950 <= y < 2050:
        return tlv(UTC_TIME, (('%02d' * 6 + 'Z') % ((y % 100,) + v)).encode())
    if not 0 <= y <= 9999:
        raise DERError('time')
    return tlv(GEN_TIME, (('%04d' + '%02d' * 5 + 'Z') % ((y,) + v)).encode())
