# A-XDR encoding of the COSEM Data CHOICE (IEC 62056-6-2) and the A-XDR variable-length form.
# Owns: typed values `(tag, value)`, their encoding, and a bounded decoder that turns any bad input
# into AxdrError. Knows nothing of APDUs, objects or sessions.
#
# Values by tag: NULL / DONT_CARE -> None; ARRAY / STRUCTURE -> list of typed values;
# BOOLEAN -> bool; BIT_STRING -> (nbits, bytes); integer tags and ENUM / BCD -> int;
# OCTET_STRING, VISIBLE_STRING, UTF8_STRING -> bytes; FLOAT32 / FLOAT64 / DATE_TIME / DATE / TIME
# -> bytes of fixed size (4, 8, 12, 5, 4), kept raw. RAW (not a Data tag: `raw()`) -> bytes of a
# value already encoded. The encoder allocates nothing but its output, the decoder one tuple per
# value (a tree of typed values is the largest thing a request makes).
from dlms._compat import const

NULL = const(0)
ARRAY = const(1)
STRUCTURE = const(2)
BOOLEAN = const(3)
BIT_STRING = const(4)
DOUBLE_LONG = const(5)
DOUBLE_LONG_UNSIGNED = const(6)
OCTET_STRING = const(9)
VISIBLE_STRING = const(10)
UTF8_STRING = const(12)
BCD = const(13)
INTEGER = const(15)
LONG = const(16)
UNSIGNED = const(17)
LONG_UNSIGNED = const(18)
LONG64 = const(20)
LONG64_UNSIGNED = const(21)
ENUM = const(22)
FLOAT32 = const(23)
FLOAT64 = const(24)
DATE_TIME = const(25)
DATE = const(26)
TIME = const(27)
DONT_CARE = const(255)

_ENCODE_DEPTH = const(64)


class AxdrError(ValueError):
    pass


# tag -> (size in bytes, lowest value, highest value)
_INTS = {
    INTEGER: (1, -0x80, 0x7F),
    LONG: (2, -0x8000, 0x7FFF),
    DOUBLE_LONG: (4, -0x80000000, 0x7FFFFFFF),
    LONG64: (8, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    BCD: (1, -0x80, 0x7F),
    UNSIGNED: (1, 0, 0xFF),
    ENUM: (1, 0, 0xFF),
    LONG_UNSIGNED: (2, 0, 0xFFFF),
    DOUBLE_LONG_UNSIGNED: (4, 0, 0xFFFFFFFF),
    LONG64_UNSIGNED: (8, 0, 0xFFFFFFFFFFFFFFFF),
}

# tag -> fixed body size
_FIXED = {FLOAT32: 4, FLOAT64: 8, DATE_TIME: 12, DATE: 5, TIME: 4}

_STRINGS = (OCTET_STRING, VISIBLE_STRING, UTF8_STRING)

# Not a Data CHOICE tag: a value already A-XDR encoded (`raw()`), copied as it is by encode().
# Lets an interface class answer a large attribute (the object_list) without a tree of tuples.
RAW = const(0x100)

# isinstance() classes, built once (a literal tuple in a call is built at every call)
_SEQ = (tuple, list)
_BYTES = (bytes, bytearray, memoryview)


# ---------------------------------------------------------------- lengths and counts

def encode_length(n, out):
    """Append the A-XDR variable-length form of n (also used for element counts)."""
    if not isinstance(n, int) or n < 0:
        raise AxdrError('length')
    if n < 0x80:
        out.append(n)
    elif n <= 0xFF:
        out.append(0x81)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0x82)
        out.append(n >> 8)
        out.append(n & 0xFF)
    elif n <= 0xFFFFFF:
        out.append(0x83)
        out.append(n >> 16)
        out.append((n >> 8) & 0xFF)
        out.append(n & 0xFF)
    elif n <= 0xFFFFFFFF:
        out.append(0x84)
        out.append(n >> 24)
        out.append((n >> 16) & 0xFF)
        out.append((n >> 8) & 0xFF)
        out.append(n & 0xFF)
    else:
        raise AxdrError('length')


def _raw_length(buf, pos):
    # Read the variable-length form without relating it to the buffer size.
    end = len(buf)
    if pos >= end:
        raise AxdrError('truncated')
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    k = b & 0x7F
    if k == 0 or k > 4:
        raise AxdrError('bad length form')
    if pos + k > end:
        raise AxdrError('truncated')
    n = 0
    for i in range(pos, pos + k):
        n = (n << 8) | buf[i]
    return n, pos + k


def decode_length(buf, pos):
    """-> (n, pos after the length). n larger than the bytes left after it is an error, so the
    same call serves for element counts (every element takes at least one byte)."""
    n, pos = _raw_length(buf, pos)
    if n > len(buf) - pos:
        raise AxdrError('length beyond buffer')
    return n, pos


encode_count = encode_length
decode_count = decode_length


# ---------------------------------------------------------------- constructors

def _check_int(tag, v):
    # -> size in bytes of integer tag `tag` once v is known to fit it
    size, lo, hi = _INTS[tag]
    if not isinstance(v, int) or v < lo or v > hi:
        raise AxdrError('int value')
    return size


def _int(tag, v):
    _check_int(tag, v)
    return (tag, v)


def _bytes(v):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, _BYTES):
        return bytes(v)
    raise AxdrError('not bytes')


def null():
    return (NULL, None)


def u8(v):
    return _int(UNSIGNED, v)


def u16(v):
    return _int(LONG_UNSIGNED, v)


def u32(v):
    return _int(DOUBLE_LONG_UNSIGNED, v)


def u64(v):
    return _int(LONG64_UNSIGNED, v)


def i8(v):
    return _int(INTEGER, v)


def i16(v):
    return _int(LONG, v)


def i32(v):
    return _int(DOUBLE_LONG, v)


def i64(v):
    return _int(LONG64, v)


def enum(v):
    return _int(ENUM, v)


def bcd(v):
    return _int(BCD, v)


def boolean(v):
    return (BOOLEAN, bool(v))


def octets(v):
    return (OCTET_STRING, _bytes(v))


def visible(v):
    return (VISIBLE_STRING, _bytes(v))


def utf8(v):
    return (UTF8_STRING, _bytes(v))


def bitstring(nbits, data):
    data = _bytes(data)
    if not isinstance(nbits, int) or nbits < 0 or len(data) != (nbits + 7) // 8:
        raise AxdrError('bit-string size')
    return (BIT_STRING, (nbits, data))


def date_time(v):
    v = _bytes(v)
    if len(v) != 12:
        raise AxdrError('date-time size')
    return (DATE_TIME, v)


def float32(v):
    v = _bytes(v)
    if len(v) != 4:
        raise AxdrError('float32 size')
    return (FLOAT32, v)


def float64(v):
    v = _bytes(v)
    if len(v) != 8:
        raise AxdrError('float64 size')
    return (FLOAT64, v)


def structure(*items):
    return (STRUCTURE, list(items))


def array(items):
    return (ARRAY, list(items))


def raw(encoded):
    """A value already encoded as A-XDR Data (bytes or bytearray, kept as is)."""
    if not isinstance(encoded, _BYTES):
        raise AxdrError('not bytes')
    return (RAW, encoded)


# ---------------------------------------------------------------- encoder

def encode(v, out, _depth=0):
    """Append the A-XDR encoding of typed value v to bytearray out. Bad values raise AxdrError.
    Allocates nothing but out's growth."""
    if _depth > _ENCODE_DEPTH:
        raise AxdrError('too deep')
    if not isinstance(v, _SEQ) or len(v) != 2:
        raise AxdrError('not a typed value')
    tag, val = v
    if not isinstance(tag, int):
        raise AxdrError('unknown tag')
    if tag in _INTS:
        size = _check_int(tag, val)
        if val < 0:
            val += 1 << (size * 8)
        out.append(tag)
        for s in range((size - 1) * 8, -8, -8):
            out.append((val >> s) & 0xFF)
        return
    if tag == STRUCTURE or tag == ARRAY:
        if not isinstance(val, _SEQ):
            raise AxdrError('not a list')
        out.append(tag)
        encode_length(len(val), out)
        for item in val:
            encode(item, out, _depth + 1)
        return
    if tag == RAW:
        if not isinstance(val, _BYTES):
            raise AxdrError('not bytes')
        out.extend(val)
        return
    if tag in _STRINGS:
        if not isinstance(val, _BYTES):
            raise AxdrError('not bytes')
        out.append(tag)
        encode_length(len(val), out)
        out.extend(val)
        return
    if tag == NULL or tag == DONT_CARE:
        if val is not None:
            raise AxdrError('null with a value')
        out.append(tag)
        return
    if tag == BOOLEAN:
        if val is not True and val is not False and val != 0 and val != 1:
            raise AxdrError('not a boolean')
        out.append(tag)
        out.append(1 if val else 0)
        return
    if tag == BIT_STRING:
        if not isinstance(val, _SEQ) or len(val) != 2:
            raise AxdrError('bit-string value')
        nbits, data = val
        if (not isinstance(nbits, int) or nbits < 0 or not isinstance(data, _BYTES)
                or len(data) != (nbits + 7) // 8):
            raise AxdrError('bit-string size')
        out.append(tag)
        encode_length(nbits, out)
        out.extend(data)
        return
    if tag in _FIXED:
        if not isinstance(val, _BYTES) or len(val) != _FIXED[tag]:
            raise AxdrError('fixed-size value')
        out.append(tag)
        out.extend(val)
        return
    raise AxdrError('unknown tag')


def to_bytes(v):
    if isinstance(v, tuple) and len(v) == 2 and v[0] == RAW and isinstance(v[1], _BYTES):
        return bytes(v[1])          # already encoded: no second copy
    out = bytearray()
    encode(v, out)
    return bytes(out)


# ---------------------------------------------------------------- decoder

def _length(buf, st):
    # the variable-length form at st[0] (advanced past it), within what is left of buf
    n, st[0] = _raw_length(buf, st[0])
    if n > len(buf) - st[0]:
        raise AxdrError('length beyond buffer')
    return n


def _dec(buf, st, depth, max_depth):
    # -> typed value at st[0]. st = [position, elements still allowed], both advanced in place
    # (no tuple per element: a decoded tree is most of what decoding allocates).
    end = len(buf)
    pos = st[0]
    if pos >= end:
        raise AxdrError('truncated')
    tag = buf[pos]
    pos += 1
    ints = _INTS.get(tag)
    if ints is not None:
        size = ints[0]
        if pos + size > end:
            raise AxdrError('truncated')
        n = 0
        for i in range(pos, pos + size):
            n = (n << 8) | buf[i]
        if ints[1] and buf[pos] & 0x80:
            n -= 1 << (size * 8)
        st[0] = pos + size
        return (tag, n)
    st[0] = pos
    if tag in _STRINGS:
        n = _length(buf, st)
        pos = st[0]
        st[0] = pos + n
        return (tag, bytes(buf[pos:pos + n]))
    if tag == STRUCTURE or tag == ARRAY:
        if depth >= max_depth:
            raise AxdrError('too deep')
        n = _length(buf, st)
        if n > st[1]:
            raise AxdrError('too many elements')
        st[1] -= n
        items = []
        for _ in range(n):
            items.append(_dec(buf, st, depth + 1, max_depth))
        return (tag, items)
    if tag == NULL or tag == DONT_CARE:
        return (tag, None)
    if tag == BOOLEAN:
        if pos >= end:
            raise AxdrError('truncated')
        st[0] = pos + 1
        return (BOOLEAN, buf[pos] != 0)
    if tag == BIT_STRING:
        nbits, pos = _raw_length(buf, pos)
        nbytes = (nbits + 7) // 8
        if nbytes > end - pos:
            raise AxdrError('length beyond buffer')
        st[0] = pos + nbytes
        return (BIT_STRING, (nbits, bytes(buf[pos:pos + nbytes])))
    size = _FIXED.get(tag)
    if size is not None:
        if pos + size > end:
            raise AxdrError('truncated')
        st[0] = pos + size
        return (tag, bytes(buf[pos:pos + size]))
    raise AxdrError('unknown tag')


def decode(buf, pos=0, max_depth=8, max_elements=512):
    """-> (typed value, position after it). At most max_depth nested arrays/structures and
    max_elements array/structure elements in total. Any bad input raises AxdrError."""
    if pos < 0:
        raise AxdrError('position')
    st = [pos, max_elements]
    v = _dec(buf, st, 0, max_depth)
    return v, st[0]


def decode_all(buf, max_depth=8, max_elements=512):
    """Decode one typed value that must fill buf exactly."""
    v, pos = decode(buf, 0, max_depth, max_elements)
    if pos != len(buf):
        raise AxdrError('trailing bytes')
    return v
