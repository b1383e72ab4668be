# ACSE APDUs of DLMS/COSEM (AARQ, AARE, RLRQ, RLRE) in BER, server side: AARQ and RLRQ parsed,
# AARE and RLRE built (the client side, for tests: tests/vectors/dlms_client.py).
# Owns: the BER tag/length walk of these four APDUs and the DLMS object identifiers
# (2.16.756.5.8.1.N application contexts, 2.16.756.5.8.2.N mechanisms). Does not look inside
# user-information (that is xDLMS) and decides nothing.
from dlms._compat import const

# The numbers this module needs, private (inlined by the compiler, nothing stored on a board).
# Application contexts, mechanisms, results and diagnostics by name, for clients and tests:
# tests/vectors/dlms_client.py (the server names its own in dlms/server.py).
_AARQ = const(0x60)
_AARE = const(0x61)
_RLRQ = const(0x62)
_RLRE = const(0x63)
_SOURCE_USER = const(1)         # result-source-diagnostic: acse-service-user [1]
_SOURCE_PROVIDER = const(2)     # acse-service-provider [2]
_MECHANISM_UNKNOWN = const(-1)  # Aarq.mechanism for a mechanism name outside 2.16.756.5.8.2
_RELEASE_NORMAL = const(0)

_OID_PREFIX = b'\x60\x85\x74\x05\x08'
_ACN_ARC = const(1)
_MECH_ARC = const(2)


class AcseError(ValueError):
    pass


# ---------------------------------------------------------------- BER walk

def _tlv(buf, pos, end):
    """-> (tag, content start, content end). Multi-byte tags are read (and never matched)."""
    if pos >= end:
        raise AcseError('truncated')
    tag = buf[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        k = 0
        while True:
            if pos >= end or k >= 4:
                raise AcseError('bad tag')
            b = buf[pos]
            pos += 1
            k += 1
            if not b & 0x80:
                break
        tag = 0x100  # not a tag this module knows
    if pos >= end:
        raise AcseError('truncated')
    n = buf[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 2:
            raise AcseError('bad length form')
        if pos + k > end:
            raise AcseError('truncated')
        n = 0
        for i in range(pos, pos + k):
            n = (n << 8) | buf[i]
        pos += k
    if n > end - pos:
        raise AcseError('length overruns')
    return tag, pos, pos + n


def _outer(buf, tag):
    """Check the APDU tag and that its length fills buf exactly; -> (start, end) of contents."""
    t, start, end = _tlv(buf, 0, len(buf))
    if t != tag:
        raise AcseError('wrong apdu tag')
    if end != len(buf):
        raise AcseError('trailing bytes')
    return start, end


def _inner(buf, start, end, tag):
    """Contents of a field holding exactly one TLV with the given tag."""
    t, s, e = _tlv(buf, start, end)
    if t != tag or e != end:
        raise AcseError('field contents')
    return s, e


def _integer(buf, s, e):
    n = e - s
    if n < 1 or n > 4:
        raise AcseError('integer size')
    v = 0
    for i in range(s, e):
        v = (v << 8) | buf[i]
    if buf[s] & 0x80:
        v -= 1 << (8 * n)
    return v


def _oid_arc(buf, s, e, arc):
    """N of 2.16.756.5.8.<arc>.N, or None when the OID is something else."""
    if e - s != 7 or buf[s + 6] & 0x80 or buf[s + 5] != arc:
        return None
    if bytes(buf[s:s + 5]) != _OID_PREFIX:
        return None
    return buf[s + 6]


def _bit0(buf, s, e):
    # BER BIT STRING contents: unused-bit count, then bits; -> first bit set.
    return e - s >= 2 and buf[s] < 8 and bool(buf[s + 1] & 0x80)


def _int_field(buf, s, e):
    # [n] EXPLICIT INTEGER  (A2 03 02 01 xx)
    s, e = _inner(buf, s, e, 0x02)
    return _integer(buf, s, e)


# ---------------------------------------------------------------- AARQ

class Aarq:
    def __init__(self):
        self.protocol_version_ok = True
        self.context_id = None
        self.calling_ap_title = None
        self.calling_ae_invocation_id = None
        self.acse_requirements = False
        self.mechanism = None
        self.auth_value = None
        self.user_information = None


def parse_aarq(buf):
    pos, end = _outer(buf, _AARQ)
    a = Aarq()
    while pos < end:
        tag, s, e = _tlv(buf, pos, end)
        pos = e
        if tag == 0x80:
            a.protocol_version_ok = _bit0(buf, s, e)
        elif tag == 0xA1:
            # anything but an OBJECT IDENTIFIER of the DLMS prefix leaves context_id None
            a.context_id = None
            if s < e:
                t, s, e2 = _tlv(buf, s, e)
                if e2 != e:
                    raise AcseError('application-context-name')
                if t == 0x06:
                    a.context_id = _oid_arc(buf, s, e, _ACN_ARC)
        elif tag == 0xA6:
            s, e = _inner(buf, s, e, 0x04)
            a.calling_ap_title = bytes(buf[s:e])
        elif tag == 0xA9:
            a.calling_ae_invocation_id = _int_field(buf, s, e)
        elif tag == 0x8A:
            a.acse_requirements = _bit0(buf, s, e)
        elif tag == 0x8B:
            m = _oid_arc(buf, s, e, _MECH_ARC)
            a.mechanism = _MECHANISM_UNKNOWN if m is None else m
        elif tag == 0xAC:
            t, s, e2 = _tlv(buf, s, e)
            if e2 != e:
                raise AcseError('authentication-value')
            a.auth_value = bytes(buf[s:e2]) if t == 0x80 or t == 0x81 else None
        elif tag == 0xBE:
            s, e = _inner(buf, s, e, 0x04)
            a.user_information = bytes(buf[s:e])
        # other fields (called-*, calling-AE-qualifier, implementation-information...) skipped
    return a


# ---------------------------------------------------------------- builders

def _len(n, out):
    if n < 0x80:
        out.append(n)
    elif n <= 0xFF:
        out.append(0x81)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0x82)
        out.append(n >> 8)
        out.append(n & 0xFF)
    else:
        raise AcseError('too long')


def _field(out, tag, content):
    out.append(tag)
    _len(len(content), out)
    out.extend(content)


def _wrapped(out, tag, inner_tag, content):
    # tag LL inner_tag LL content
    n = len(content)
    out.append(tag)
    _len(n + (2 if n < 0x80 else 3 if n <= 0xFF else 4), out)
    _field(out, inner_tag, content)


def _byte(v, what):
    if not isinstance(v, int) or v < 0 or v > 0x7F:
        raise AcseError(what)
    return v


def _oid(arc, n):
    return _OID_PREFIX + bytes((arc, _byte(n, 'oid arc')))


def _apdu(tag, body):
    out = bytearray()
    _field(out, tag, body)
    return bytes(out)


def build_aare(context_id, result, diag_source, diagnostic, responding_ap_title=None,
               mechanism=None, auth_value=None, user_information=None):
    """AARE: A1 context, A2 result, A3 diagnostic (diag_source 1 = acse-service-user,
    2 = acse-service-provider), [A4 title], [88 + 89 mechanism], [AA StoC], [BE user-info]."""
    if diag_source != _SOURCE_USER and diag_source != _SOURCE_PROVIDER:
        raise AcseError('diagnostic source')
    b = bytearray()
    _wrapped(b, 0xA1, 0x06, _oid(_ACN_ARC, context_id))
    _wrapped(b, 0xA2, 0x02, bytes((_byte(result, 'result'),)))
    inner = bytearray()
    _wrapped(inner, 0xA0 | diag_source, 0x02, bytes((_byte(diagnostic, 'diagnostic'),)))
    _field(b, 0xA3, inner)
    if responding_ap_title is not None:
        _wrapped(b, 0xA4, 0x04, responding_ap_title)
    if mechanism is not None:
        b.extend(b'\x88\x02\x07\x80')
        _field(b, 0x89, _oid(_MECH_ARC, mechanism))
    if auth_value is not None:
        _wrapped(b, 0xAA, 0x80, auth_value)
    if user_information is not None:
        _wrapped(b, 0xBE, 0x04, user_information)
    return _apdu(_AARE, b)


# ---------------------------------------------------------------- release

def _parse_release(buf, tag):
    pos, end = _outer(buf, tag)
    reason = None
    ui = None
    while pos < end:
        t, s, e = _tlv(buf, pos, end)
        pos = e
        if t == 0x80:
            reason = _integer(buf, s, e)
        elif t == 0xBE:
            s, e = _inner(buf, s, e, 0x04)
            ui = bytes(buf[s:e])
    return reason, ui


def _build_release(tag, reason, user_information):
    b = bytearray()
    if reason is not None:
        b.append(0x80)
        b.append(1)
        b.append(_byte(reason, 'reason'))
    if user_information is not None:
        _wrapped(b, 0xBE, 0x04, user_information)
    return _apdu(tag, b)


def parse_rlrq(buf):
    """-> (reason or None, user_information or None)."""
    return _parse_release(buf, _RLRQ)


def build_rlre(reason=_RELEASE_NORMAL, user_information=None):
    return _build_release(_RLRE, reason, user_information)