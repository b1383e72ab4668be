# Security suite 0 (AES-GCM-128): the security control byte, IV, AAD, the ciphered-APDU wrappers
# (service-specific glo-/ded-, general-glo-/general-ded-) and HLS-GMAC f(challenge).
# Owns every byte layout of protection. Knows nothing of sessions, policies or counters' storage:
# the caller passes keys, system titles and invocation counters in.
from dlms._compat import const
from dlms import gcm
from dlms import axdr

SC_AUTH = const(0x10)
SC_ENC = const(0x20)
SC_AUTH_ENC = const(0x30)
_SC_BROADCAST = const(0x40)
_SC_COMPRESSION = const(0x80)
_TAG_LEN = const(12)

GENERAL_GLO = const(0xDB)
GENERAL_DED = const(0xDC)

# plain tag -> (glo tag, ded tag); requests and responses of the LN services, Initiate and errors.
_CIPHERED = {
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
for _p, _gd in _CIPHERED.items():
    _PLAIN[_gd[0]] = (KIND_GLO, _p)
    _PLAIN[_gd[1]] = (KIND_DED, _p)


class SecurityError(ValueError):
    pass


# the GCM kernel's control words for authenticated and encrypted APDUs: AAD SC || AK, T12
_CTL_SEAL = gcm.ctl(17, _TAG_LEN, False)
_CTL_OPEN = gcm.ctl(17, _TAG_LEN, True)


class Keys:
    """A cipher key (global unicast EK or a dedicated key) with the authentication key AK.
    The GHASH table is computed once per key."""

    def __init__(self, ek, ak):
        if len(ek) != 16 or len(ak) != 16:
            raise SecurityError('suite 0 keys are 16 bytes')
        self.ak = bytes(ak)
        self.gcm = gcm.Gcm(bytes(ek))
        # GHASH state after the AAD SC || AK of authenticated and encrypted APDUs (SC 0x30):
        # hashed once here instead of once per APDU
        self.pre = self.gcm.prefix(bytes((SC_AUTH_ENC,)) + self.ak)

    def __repr__(self):  # never show key material
        return '<Keys>'


def _iv(system_title, ic):
    return bytes(system_title) + ic.to_bytes(4, 'big')


def protect(keys, sc, system_title, ic, apdu):
    """SC || IC || (apdu | ciphertext) [|| T12]; sender's system title and counter."""
    level = sc & 0x30
    if level == 0 or (sc & 0x0F) != 0 or len(system_title) != 8:
        raise SecurityError('security control')
    if not 0 <= ic <= 0xFFFFFFFF:
        raise SecurityError('invocation counter')
    iv = _iv(system_title, ic)
    head = bytes((sc,)) + ic.to_bytes(4, 'big')
    if level == SC_AUTH:
        tag = keys.gcm.gmac(iv, bytes((sc,)) + keys.ak + bytes(apdu))
        return head + bytes(apdu) + tag[:_TAG_LEN]
    if level == SC_ENC:
        ct, _ = keys.gcm.encrypt(iv, apdu, b'')
        return head + ct
    ct, tag = keys.gcm.encrypt(iv, apdu, bytes((sc,)) + keys.ak)
    return head + ct + tag[:_TAG_LEN]


def seal(keys, kind, sc, system_title, ic, apdu):
    """wrap(kind, system_title, protect(keys, sc, system_title, ic, apdu), apdu[0]), built in
    one buffer for glo-/ded- APDUs authenticated and encrypted (the others take that way).
    Bytes-like: a bytearray on the fast path."""
    n = len(apdu)
    if not n:
        raise SecurityError('empty')
    size = n + 5 + _TAG_LEN
    pair = _CIPHERED.get(apdu[0])
    if (sc != SC_AUTH_ENC or len(system_title) != 8 or size > 0xFF or pair is None
            or (kind != KIND_GLO and kind != KIND_DED)):
        return wrap(kind, system_title, protect(keys, sc, system_title, ic, apdu), apdu[0])
    if not 0 <= ic <= 0xFFFFFFFF:
        raise SecurityError('invocation counter')
    o = 2 if size < 0x80 else 3
    out = bytearray(o + size)
    out[0] = pair[0] if kind == KIND_GLO else pair[1]
    out[o - 1] = size
    if o == 3:
        out[1] = 0x81
    out[o] = sc
    out[o + 1] = ic >> 24
    out[o + 2] = (ic >> 16) & 0xFF
    out[o + 3] = (ic >> 8) & 0xFF
    out[o + 4] = ic & 0xFF
    # the GCM kernels driven from here (every response takes this path); they check no
    # bounds: out holds o + 5 + n + 12 bytes, the title 8, keys.pre 16, ks 16 * nb
    g = keys.gcm
    _, _, run, tab, r8 = g.kernel
    run(g.keystream(system_title, out, o + 1, n), tab, r8, keys.pre, apdu, 0, out, o + 5, n,
        _CTL_SEAL)
    return out          # a fresh bytearray: no copy into bytes


def split(content):
    """Read SC and IC off ciphered content without deciphering (for the replay check)."""
    if len(content) < 5:
        raise SecurityError('short ciphered content')
    sc = content[0]
    if sc & 0x30 == 0 or sc & 0x0F != 0 or sc & (_SC_COMPRESSION | _SC_BROADCAST):
        raise SecurityError('security control')
    return sc, (content[1] << 24) | (content[2] << 16) | (content[3] << 8) | content[4]


def open_content(keys, system_title, content, sc):
    """The APDU inside ciphered content whose SC split() has read (bytes-like: a bytearray for
    authenticated and encrypted content); a bad tag or layout raises SecurityError. The tag is checked (in constant time) before anything is deciphered."""
    if len(system_title) != 8:
        raise SecurityError('system title')
    n = len(content) - 5
    if sc == SC_AUTH_ENC:
        n -= _TAG_LEN
        if n < 0:
            raise SecurityError('short tag')
        # the GCM kernels driven from here (every request takes this path); they check no
        # bounds: content holds 5 + n + 12 bytes, pt n, the title 8, keys.pre 16, ks 16 * nb
        g = keys.gcm
        _, _, run, tab, r8 = g.kernel
        ks = g.keystream(system_title, content, 1, n)
        pt = bytearray(n)
        if run(ks, tab, r8, keys.pre, content, 5, pt, 0, n, _CTL_OPEN) != 1:
            raise SecurityError('tag')
        return pt           # a fresh bytearray: no copy into bytes
    iv = bytes(system_title) + bytes(content[1:5])
    level = sc & 0x30
    body = content[5:]
    if level == SC_ENC:
        pt, _ = keys.gcm.encrypt(iv, body, b'')
        return pt
    if n < _TAG_LEN:
        raise SecurityError('short tag')
    n -= _TAG_LEN
    tag = body[n:]
    if level == SC_AUTH:
        apdu = bytes(body[:n])
        expect = keys.gcm.gmac(iv, bytes((sc,)) + keys.ak + apdu)
        if not gcm.ct_equal(expect[:_TAG_LEN], tag):
            raise SecurityError('tag')
        return apdu
    pt = keys.gcm.decrypt(iv, body[:n], bytes((sc,)) + keys.ak, tag)
    if pt is None:
        raise SecurityError('tag')
    return pt


def unprotect(keys, system_title, content):
    """Inverse of protect: returns (sc, ic, apdu); a bad tag or layout raises SecurityError."""
    sc, ic = split(content)
    return sc, ic, open_content(keys, system_title, content, sc)


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
        pair = _CIPHERED.get(plain_tag)
        if pair is None:
            raise SecurityError('no ciphered form')
        out.append(pair[0] if kind == KIND_GLO else pair[1])
    else:
        out.append(GENERAL_GLO if kind == KIND_GENERAL_GLO else GENERAL_DED)
        axdr.encode_length(len(system_title), out)
        out.extend(system_title)
    axdr.encode_length(len(content), out)
    out.extend(content)
    return bytes(out)


def hls_gmac(keys, system_title, ic, challenge, sc=SC_AUTH):
    """HLS-GMAC (mechanism 5): SC || IC || GMAC(SC || AK || challenge), IV = title || IC."""
    tag = keys.gcm.gmac(_iv(system_title, ic), bytes((sc,)) + keys.ak + bytes(challenge))
    return bytes((sc,)) + ic.to_bytes(4, 'big') + tag[:_TAG_LEN]


def hls_gmac_verify(keys, system_title, blob, challenge):
    """Check a received f(challenge) against the sender's title; the IC inside the blob is used
    and the whole 17 bytes are compared in constant time."""
    if len(blob) != 17 or (blob[0] & 0x3F) != SC_AUTH:
        return False
    ic = int.from_bytes(blob[1:5], 'big')
    return gcm.ct_equal(hls_gmac(keys, system_title, ic, challenge, blob[0]), blob)
