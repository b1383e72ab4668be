# Ciphered APDUs whatever the suite: the security control byte, the envelopes (service-specific
# glo-/ded-, general-glo-/general-ded-) and which plain APDU each ciphered tag stands for, and the
# table of security suites (each a module with the same interface: dlms/suite0.py).
# Owns every byte layout of an envelope; the cryptography of each suite lives in its module.
# Knows nothing of sessions, policies or counters.
from dlms._compat import const
from dlms import axdr

SC_AUTH = const(0x10)
SC_ENC = const(0x20)
SC_AUTH_ENC = const(0x30)
_SC_BROADCAST = const(0x40)
_SC_COMPRESSION = const(0x80)

GENERAL_GLO = const(0xDB)
GENERAL_DED = const(0xDC)

# plain tag -> (glo tag, ded tag); requests and responses of the LN services, Initiate and errors.
CIPHERED = {
    0x01: (0x21, 0x41),  # initiateRequest
    0x08: (0x28, 0x48),  # initiateResponse
    0x0E: (0x2E, 0x4E),  # confirmedServiceError
    0xC0: (0xC8, 0xD0),  # get-request
    0xC1: (0xC9, 0xD1),  # set-request
    0xC3: (0xCB, 0xD3),  # action-request
    0xC4: (0xCC, 0xD4),  # get-response
    0xC5: (0xCD, 0xD5),  # set-response
    0xC7: (0xCF, 0xD7),  # action-response
}
KIND_GLO = const(1)
KIND_DED = const(2)
KIND_GENERAL_GLO = const(3)
KIND_GENERAL_DED = const(4)

# ciphered tag -> (kind, plain tag)
_PLAIN = {}
for _p, _gd in CIPHERED.items():
    _PLAIN[_gd[0]] = (KIND_GLO, _p)
    _PLAIN[_gd[1]] = (KIND_DED, _p)


class SecurityError(ValueError):
    pass


def suite(suite_id):
    """The module of a security suite (ID, KEY_LEN, Keys, protect, unprotect, seal,
    open_content, gmac, gmac_verify; suites 1 and 2 also CURVE); SecurityError for a suite this
    meter does not have (suites 1 and 2 live in the optional public-key package)."""
    try:
        if suite_id == 0:
            from dlms import suite0
            return suite0
        if suite_id == 1:
            from dlms_pk import suite1
            return suite1
        if suite_id == 2:
            from dlms_pk import suite2
            return suite2
    except ImportError:
        pass
    raise SecurityError('security suite %d' % suite_id)


def ciphered_tag(kind, plain_tag):
    """The glo- or ded- tag of a plain APDU tag (kind KIND_GLO / KIND_DED), else None."""
    pair = CIPHERED.get(plain_tag)
    if pair is None or (kind != KIND_GLO and kind != KIND_DED):
        return None
    return pair[0] if kind == KIND_GLO else pair[1]


def split(content, suite_id=0):
    """Read SC and IC off ciphered content without deciphering (for the replay check). An SC
    whose suite nibble is not `suite_id`, that asks for nothing, or for the broadcast key or
    compression (which this meter does not receive) raises SecurityError."""
    if len(content) < 5:
        raise SecurityError('short ciphered content')
    sc = content[0]
    if sc & 0x30 == 0 or sc & 0x0F != suite_id or sc & (_SC_COMPRESSION | _SC_BROADCAST):
        raise SecurityError('security control')
    return sc, (content[1] << 24) | (content[2] << 16) | (content[3] << 8) | content[4]


def unwrap(apdu):
    """Classify a ciphered APDU. Returns (kind, expected plain tag or None, system title or None,
    content), content a memoryview into apdu (no copy of it: on MicroPython a copy longer than a
    heap block is a search for free blocks per request). Raises SecurityError when the envelope
    is malformed; returns None when the APDU is not ciphered at all."""
    if not apdu:
        raise SecurityError('empty')
    tag = apdu[0]
    env = _PLAIN.get(tag)
    if env is None:
        if tag != GENERAL_GLO and tag != GENERAL_DED:
            return None
    else:
        n = len(apdu)
        if n > 1 and apdu[1] < 0x80:          # the one-byte length of most APDUs
            if apdu[1] + 2 != n:
                raise SecurityError('length')
            return env[0], env[1], None, memoryview(apdu)[2:]
    return _unwrap_long(apdu, env)


def _unwrap_long(apdu, env):
    # unwrap() for multi-byte lengths and the general-glo/-ded envelope
    try:
        if env is not None:
            n, pos = axdr.decode_length(apdu, 1)
            if pos + n != len(apdu):
                raise SecurityError('length')
            return env[0], env[1], None, memoryview(apdu)[pos:]
        n, pos = axdr.decode_length(apdu, 1)
        if pos + n > len(apdu):
            raise SecurityError('length')
        st = bytes(apdu[pos:pos + n])
        pos += n
        n, pos = axdr.decode_length(apdu, pos)
        if pos + n != len(apdu):
            raise SecurityError('length')
        kind = KIND_GENERAL_GLO if apdu[0] == GENERAL_GLO else KIND_GENERAL_DED
        return kind, None, st, memoryview(apdu)[pos:]
    except axdr.AxdrError:
        raise SecurityError('length')


def wrap(kind, system_title, content, plain_tag):
    """Put ciphered content in the envelope of `kind`; plain_tag picks the glo-/ded- tag."""
    out = bytearray()
    if kind == KIND_GLO or kind == KIND_DED:
        tag = ciphered_tag(kind, plain_tag)
        if tag is None:
            raise SecurityError('no ciphered form')
        out.append(tag)
    else:
        out.append(GENERAL_GLO if kind == KIND_GENERAL_GLO else GENERAL_DED)
        axdr.encode_length(len(system_title), out)
        out.extend(system_title)
    axdr.encode_length(len(content), out)
    out.extend(content)
    return bytes(out)
