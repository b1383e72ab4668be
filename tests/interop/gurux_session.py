"""A small synchronous DLMS/COSEM client for interoperability tests, on top of gurux-dlms.

It owns: one byte stream (a TCP socket it opens, or one it is given, e.g. a pseudo-terminal)
speaking the IEC 62056-47 wrapper or HDLC (IEC 62056-46), one gurux GXDLMSSecureClient, and the
translation of gurux's error reporting into exceptions that carry the code the meter sent.
It must not know anything about our meter's internals: it talks to whatever listens on the port.

Typical use (see tests/interop/test_gurux_harness.py):

    s = GuruxSession('127.0.0.1', 4059, client_address=1, authentication='hls-gmac', ciphered=True)
    s.connect(); s.associate()
    clock = make_object(8, '0.0.1.0.0.255')
    t = s.read(clock, 2)
    s.release(); s.close()

HLS-SHA256 (mechanism 6; the password is the HLS secret) and HLS-ECDSA (mechanism 7, with the
client's signing key, the server's public key and a security suite, 1 for P-256):

    s = GuruxSession(host, port, 3, authentication='hls-sha256', password=b'0123456789ABCDEF',
                     ciphered=True)
    s = GuruxSession(host, port, 2, authentication='hls-ecdsa', ciphered=True, security_suite=1,
                     signing_key=key, server_public_key=cert_der, ctos_challenge=os.urandom(32))

gurux 1.0.203 prints the client's private key on every HLS-ECDSA pass 3 ("Private signed
key: ..."); the session swallows gurux's output of pass 3/4 so it never reaches a log (it only
records, in `private_key_printed`, that gurux did it).

Over HDLC, connect() also makes the link (SNRM/UA) and disconnect() ends it (DISC):

    s = GuruxSession('127.0.0.1', 4062, 16, transport='hdlc', physical_address=17)
    s = GuruxSession(None, None, 16, transport='hdlc-mode-e', stream=FdStream(fd))
"""

import contextlib
import io
import os
import select
import socket

from cryptography import x509 as _x509
from cryptography.hazmat.primitives import serialization as _serialization
from cryptography.hazmat.primitives.asymmetric import ec as _ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gurux_dlms import (
    GXByteBuffer,
    GXDLMSConfirmedServiceError,
    GXDLMSException,
    GXDLMSExceptionResponse,
    GXReplyData,
)
from gurux_dlms.enums import Authentication, DataType, InterfaceType, ObjectType, Security
from gurux_dlms.ecdsa import GXPrivateKey, GXPublicKey
from gurux_dlms.GXDLMS import GXDLMS
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSRegister,
    GXDLMSSecuritySetup,
)
from gurux_dlms.objects.enums import SecuritySuite
from gurux_dlms.secure import GXDLMSSecureClient

# Re-exported so that tests can catch gurux's own errors without importing gurux.
__all__ = [
    'GuruxSession', 'make_object', 'DlmsError', 'AssociationRejected', 'HlsFailed',
    'DataAccessError', 'ExceptionResponse', 'ConfirmedServiceError', 'FramingError',
    'ReplyProtectionError', 'parse_aare_result', 'unprotect_reply',
    'GXDLMSException', 'GXDLMSExceptionResponse', 'GXDLMSConfirmedServiceError',
    'DataType', 'DEMO_EK', 'DEMO_AK', 'SERVER_SYSTEM_TITLE', 'CLIENT_SYSTEM_TITLE',
    'wrapper_frame', 'split_wrapper_frame', 'FdStream', 'HdlcRefused', 'split_hdlc_frame',
    'TRANSPORTS', 'DEMO_PASSWORD', 'demo_session', 'DEMO_HLS_SECRET', 'DEMO_PKI',
    'demo_client_signing_key', 'certificate_selector', 'raw_public_key', 'raw_private_key',
]

# Green Book demo keys and titles (reference/dlms-security.md section 7).
DEMO_EK = bytes.fromhex('000102030405060708090A0B0C0D0E0F')
DEMO_AK = bytes.fromhex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
SERVER_SYSTEM_TITLE = bytes.fromhex('4D4D4D0000BC614E')
CLIENT_SYSTEM_TITLE = bytes.fromhex('4D4D4D0000000001')
DEMO_PASSWORD = b'12345678'                     # LLS secret of the reader association (SAP 17)
DEMO_HLS_SECRET = b'0123456789ABCDEF'           # HLS-SHA256 secret of SAP 3 (a new state's)
_DEMO_AUTHENTICATION = {16: 'none', 17: 'low', 1: 'hls-gmac', 3: 'hls-sha256', 2: 'hls-ecdsa'}
# The demo PKI (public demo material, never on a real meter): the client's certificates and keys.
DEMO_PKI = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools',
                        'demo_pki')
_ECDSA_CHALLENGE = 32           # CtoS for HLS-ECDSA (32..64 bytes; gurux's own is 16)

_WRAPPER_VERSION = 1
_WRAPPER_HEADER = 8

TRANSPORTS = {
    'wrapper': InterfaceType.WRAPPER,
    'hdlc': InterfaceType.HDLC,
    'hdlc-mode-e': InterfaceType.HDLC_WITH_MODE_E,   # HDLC after an IEC 62056-21 mode E opening
}
_HDLC_FLAG = 0x7E
_LLC_REPLY = b'\xe6\xe7\x00'
_UA = 0x73
_MAX_WRAPPER_LENGTH = 0xFFFF

_AUTHENTICATIONS = {
    'none': Authentication.NONE,
    'low': Authentication.LOW,
    'hls-gmac': Authentication.HIGH_GMAC,
    'hls-sha256': Authentication.HIGH_SHA256,
    'hls-ecdsa': Authentication.HIGH_ECDSA,
}
_SUITES = {0: SecuritySuite.SUITE_0, 1: SecuritySuite.SUITE_1, 2: SecuritySuite.SUITE_2}
_SUITE_KEY_LENGTH = {0: 16, 1: 16, 2: 32}
_CURVES = {1: _ec.SECP256R1, 2: _ec.SECP384R1}

_CLASSES = {
    1: GXDLMSData,
    3: GXDLMSRegister,
    8: GXDLMSClock,
    15: GXDLMSAssociationLogicalName,
    64: GXDLMSSecuritySetup,
}


# --- errors --------------------------------------------------------------------------------------

class DlmsError(Exception):
    """Base class of every error this harness raises about what the meter answered."""


class AssociationRejected(DlmsError):
    """The AARE said result != accepted. `result` is the AARE result (1 rejected-permanent,
    2 rejected-transient); `diagnostic` the result-source-diagnostic value; `diagnostic_source`
    is 'user' (acse-service-user, A1) or 'provider' (acse-service-provider, A2) or None;
    `aare` the raw AARE bytes."""

    def __init__(self, result, diagnostic, diagnostic_source=None, aare=b''):
        DlmsError.__init__(self, 'association rejected: result %r, %s diagnostic %r'
                           % (result, diagnostic_source, diagnostic))
        self.result = result
        self.diagnostic = diagnostic
        self.diagnostic_source = diagnostic_source
        self.aare = aare


class HlsFailed(DlmsError):
    """HLS pass 3/4 failed. `code` is the action-result the meter sent (None when the meter
    answered success without a valid f(CtoS)); `reason` says what went wrong."""

    def __init__(self, reason, code=None):
        DlmsError.__init__(self, 'HLS pass 3/4 failed: %s (action result %r)' % (reason, code))
        self.reason = reason
        self.code = code


class DataAccessError(DlmsError):
    """GET/SET/ACTION answered with a data-access-result or action-result other than success.
    `code` is that result (e.g. 3 read-write-denied, 4 object-undefined, 13 access-violated)."""

    def __init__(self, service, code):
        DlmsError.__init__(self, '%s failed with result %d' % (service, code))
        self.service = service
        self.code = code


class ExceptionResponse(DlmsError):
    """The meter sent an exception-response (tag 0xD8). `state_error` (1 service-not-allowed,
    2 service-unknown), `service_error` (e.g. 6 deciphering-error, 7 invocation-counter-error),
    `value` (the meter's counter for invocation-counter-error, else None)."""

    def __init__(self, state_error, service_error, value=None):
        DlmsError.__init__(self, 'exception-response: state-error %r, service-error %r'
                           % (state_error, service_error))
        self.state_error = state_error
        self.service_error = service_error
        self.value = value
        self.code = (state_error, service_error)


class ConfirmedServiceError(DlmsError):
    """The meter sent a confirmed-service-error (tag 0x0E): `service`, `error_type`, `value`."""

    def __init__(self, service, error_type, value):
        DlmsError.__init__(self, 'confirmed-service-error: service %r, error %r, value %r'
                           % (service, error_type, value))
        self.service = service
        self.error_type = error_type
        self.value = value
        self.code = (service, error_type, value)


class FramingError(DlmsError):
    """The reply was not a well-formed wrapper frame for this client, or the peer closed."""


class HdlcRefused(DlmsError):
    """The meter answered an HDLC command with something else than expected (e.g. DM or FRMR to
    an SNRM). `control` is the control field of its answer."""

    def __init__(self, what, control):
        DlmsError.__init__(self, '%s answered with control field %02X' % (what, control))
        self.control = control


class ReplyProtectionError(DlmsError):
    """A protected reply failed the harness's own check (gurux does not verify GCM tags of
    authenticated+encrypted replies, and never checks the server invocation counter):
    wrong tag, undecodable ciphered APDU, or a server IC that did not increase."""


# --- helpers -------------------------------------------------------------------------------------

def make_object(class_id, obis):
    """A gurux COSEM object for `class_id` (1, 3, 8, 15, 64 by their own classes; any other
    class id through gurux's object factory) with logical name `obis` ('a.b.c.d.e.f')."""
    cls = _CLASSES.get(class_id)
    if cls is not None:
        return cls(obis)
    obj = GXDLMSSecureClient.createObject(ObjectType(class_id))
    obj.logicalName = obis
    return obj


def demo_session(host, port, sap, **kw):
    """A GuruxSession (not yet connected) for one of the virtual meter's demo associations:
    SAP 16 public, 17 reader (LLS with the demo password), 1 management (HLS-GMAC, ciphered;
    the caller gives its `invocation_counter`), 3 HLS-SHA256 (ciphered, suite 0, the demo
    secret), 2 HLS-ECDSA (ciphered, suite 1, the demo client's signing key from tools/demo_pki,
    a random 32-byte CtoS; the caller gives `server_public_key`, e.g. the meter's signing
    certificate exported over SAP 1 with export_certificate(), without which pass 4 cannot be
    verified). Every ciphered session needs an `invocation_counter` above the last one the meter
    saw from this client title. `kw` as for GuruxSession, and wins."""
    if sap == 17:
        kw.setdefault('password', DEMO_PASSWORD)
    if sap in (1, 2, 3):
        kw.setdefault('ciphered', True)
    if sap == 3:
        kw.setdefault('password', DEMO_HLS_SECRET)
    if sap == 2:
        kw.setdefault('security_suite', 1)
        if 'signing_key' not in kw:
            kw['signing_key'] = demo_client_signing_key(kw['security_suite'])
        kw.setdefault('ctos_challenge', os.urandom(_ECDSA_CHALLENGE))
    return GuruxSession(host, port, sap, authentication=_DEMO_AUTHENTICATION[sap], **kw)


def demo_client_signing_key(security_suite=1):
    """The demo client's digital-signature private key (a `cryptography` key) of tools/demo_pki:
    P-256 for suite 1, P-384 for suite 2. Public demo material, never on a real meter."""
    name = 'client-sign.key.pem' if security_suite == 1 else 'client-sign-p384.key.pem'
    with open(os.path.join(DEMO_PKI, name), 'rb') as f:
        return _serialization.load_pem_private_key(f.read(), None)


def raw_public_key(key):
    """X || Y (64 or 96 bytes) of a public key given as a `cryptography` EC public key, a
    certificate (`cryptography` object, DER or PEM bytes), or raw bytes (X || Y, 04 || X || Y)."""
    if isinstance(key, _x509.Certificate):
        key = key.public_key()
    elif isinstance(key, (bytes, bytearray, memoryview)):
        key = bytes(key)
        if len(key) in (65, 97) and key[0] == 4:
            return key[1:]
        if len(key) in (64, 96):
            return key
        if key.startswith(b'-----BEGIN'):
            key = _x509.load_pem_x509_certificate(key).public_key()
        elif key[:1] == b'\x30':
            key = _x509.load_der_x509_certificate(key).public_key()
        else:
            raise ValueError('not a public key: %d bytes' % len(key))
    if not isinstance(key, _ec.EllipticCurvePublicKey):
        raise ValueError('not an EC public key: %r' % type(key))
    return key.public_bytes(_serialization.Encoding.X962,
                            _serialization.PublicFormat.UncompressedPoint)[1:]


def raw_private_key(key):
    """The private scalar d (32 or 48 bytes) of a key given as a `cryptography` EC private key,
    PEM bytes (PKCS#8 or SEC1), or the raw scalar."""
    if isinstance(key, (bytes, bytearray, memoryview)):
        key = bytes(key)
        if not key.startswith(b'-----BEGIN'):
            if len(key) not in (32, 48):
                raise ValueError('not a private key: %d bytes' % len(key))
            return key
        key = _serialization.load_pem_private_key(key, None)
    if not isinstance(key, _ec.EllipticCurvePrivateKey):
        raise ValueError('not an EC private key: %r' % type(key))
    return key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, 'big')


def certificate_selector(entity, certificate_type, system_title):
    """The A-XDR parameter of Security setup export_certificate (7) / remove_certificate (8) by
    entity: structure{enum 0, structure{enum entity (0 server, 1 client, 2 CA), enum type
    (0 digital-signature, 1 key-agreement, 2 TLS), octet-string system title}}."""
    title = bytes(system_title)
    return (bytes([0x02, 0x02, 0x16, 0x00, 0x02, 0x03, 0x16, entity, 0x16, certificate_type,
                   0x09, len(title)]) + title)


def wrapper_frame(source, destination, apdu):
    """IEC 62056-47 frame: 0x0001, source wPort, destination wPort, length, APDU (all BE u16)."""
    apdu = bytes(apdu)
    if len(apdu) > _MAX_WRAPPER_LENGTH:
        raise ValueError('APDU too long for one wrapper frame')
    return (_WRAPPER_VERSION.to_bytes(2, 'big') + source.to_bytes(2, 'big')
            + destination.to_bytes(2, 'big') + len(apdu).to_bytes(2, 'big') + apdu)


def split_wrapper_frame(frame):
    """(version, source, destination, apdu) of one complete frame; FramingError if malformed."""
    frame = bytes(frame)
    if len(frame) < _WRAPPER_HEADER:
        raise FramingError('frame shorter than the wrapper header')
    length = int.from_bytes(frame[6:8], 'big')
    if len(frame) != _WRAPPER_HEADER + length:
        raise FramingError('wrapper length %d does not match %d bytes of APDU'
                           % (length, len(frame) - _WRAPPER_HEADER))
    return (int.from_bytes(frame[0:2], 'big'), int.from_bytes(frame[2:4], 'big'),
            int.from_bytes(frame[4:6], 'big'), frame[_WRAPPER_HEADER:])


def _hdlc_crc_ok(frame):
    """HCS/FCS check of one frame (flags included), CRC-16/X.25 residue 0xF0B8."""
    def residue(data):
        crc = 0xFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        return crc
    return residue(frame[1:-1]) == 0xF0B8


def split_hdlc_frame(frame):
    """(segmented, dest, src, control, info) of one whole HDLC frame with its flags; dest and src
    are the raw address bytes. FramingError when malformed or a check sequence is wrong."""
    frame = bytes(frame)
    if len(frame) < 9 or frame[0] != _HDLC_FLAG or frame[-1] != _HDLC_FLAG:
        raise FramingError('not an HDLC frame: %s' % frame.hex())
    if frame[1] & 0xF0 != 0xA0 or ((frame[1] & 7) << 8 | frame[2]) != len(frame) - 2:
        raise FramingError('HDLC format field does not match the frame: %s' % frame.hex())
    pos = 3
    addresses = []
    for _ in range(2):
        start = pos
        while pos < len(frame) - 1 and not frame[pos] & 1:
            pos += 1
        pos += 1
        addresses.append(frame[start:pos])
    control = frame[pos]
    rest = frame[pos + 1:-1]
    if len(rest) == 2:
        info = b''
    elif len(rest) > 4:
        info = rest[2:-2]
    else:
        raise FramingError('HDLC frame with a truncated information field: %s' % frame.hex())
    if not _hdlc_crc_ok(frame):
        raise FramingError('HDLC frame with a wrong HCS/FCS: %s' % frame.hex())
    return bool(frame[1] & 0x08), addresses[0], addresses[1], control, info


class FdStream:
    """An already-open file descriptor (a pseudo-terminal, a pipe) with the socket calls the
    session uses: sendall, recv (socket.timeout after `timeout` seconds), close."""

    def __init__(self, fd, timeout=5, close_fd=False):
        self.fd = fd
        self.timeout = timeout
        self.close_fd = close_fd

    def sendall(self, data):
        view = memoryview(bytes(data))
        while view:
            if not select.select([], [self.fd], [], self.timeout)[1]:
                raise socket.timeout('write timed out')
            n = os.write(self.fd, view)
            view = view[n:]

    def recv(self, n):
        if not select.select([self.fd], [], [], self.timeout)[0]:
            raise socket.timeout('read timed out')
        return os.read(self.fd, n)

    def settimeout(self, timeout):
        self.timeout = timeout

    def close(self):
        if self.close_fd and self.fd is not None:
            os.close(self.fd)
        self.fd = None


def _ber_fields(aare):
    """Top-level fields of an AARE/AARQ as {tag: content}; single-byte lengths and 0x81/0x82."""
    fields = {}
    if len(aare) < 2:
        return fields
    pos, end = _ber_length(aare, 1)
    end = min(end + pos, len(aare))
    while pos + 2 <= end:
        tag = aare[pos]
        start, n = _ber_length(aare, pos + 1)
        fields[tag] = aare[start:start + n]
        pos = start + n
    return fields


def _ber_length(buf, pos):
    """(position after the length, length) of the BER length at buf[pos]."""
    first = buf[pos]
    if first < 0x80:
        return pos + 1, first
    count = first & 0x7F
    return pos + 1 + count, int.from_bytes(buf[pos + 1:pos + 1 + count], 'big')


def parse_aare_result(aare):
    """(result, diagnostic_source, diagnostic) read from the raw AARE; values are None when a
    field is missing. diagnostic_source is 'user' or 'provider'."""
    fields = _ber_fields(bytes(aare))
    result = diagnostic = source = None
    res = fields.get(0xA2)
    if res is not None and len(res) >= 3 and res[0] == 0x02:
        result = int.from_bytes(res[2:2 + res[1]], 'big')
    diag = fields.get(0xA3)
    if diag is not None and len(diag) >= 5 and diag[0] in (0xA1, 0xA2):
        source = 'user' if diag[0] == 0xA1 else 'provider'
        diagnostic = int.from_bytes(diag[4:4 + diag[3]], 'big')
    return result, source, diagnostic


_GLO_REPLY_TAGS = (0x28, 0x2C, 0x2D, 0x2E, 0xCC, 0xCD, 0xCF)   # glo-initiateResponse ... action
_GENERAL_GLO = 0xDB


def _axdr_length(buf, pos):
    first = buf[pos]
    if first < 0x80:
        return pos + 1, first
    count = first & 0x7F
    return pos + 1 + count, int.from_bytes(buf[pos + 1:pos + 1 + count], 'big')


def unprotect_reply(apdu, system_title, block_cipher_key=DEMO_EK, authentication_key=DEMO_AK,
                    suite=None):
    """Check and open a glo-xxx or general-glo-ciphering APDU independently of gurux (suites 0,
    1 and 2 are all AES-GCM with a 12-byte tag; suite 2 takes 32-byte keys). With `suite` (0, 1,
    2) the SC must name that suite (SC 0x30 / 0x31 / 0x32 for authenticated encryption) and carry
    no compression bit. Returns (tag, sc, ic, plaintext); raises ReplyProtectionError on any
    mismatch."""
    apdu = bytes(apdu)
    try:
        tag = apdu[0]
        pos = 1
        if tag == _GENERAL_GLO:
            pos, n = _axdr_length(apdu, pos)
            if n:
                system_title = apdu[pos:pos + n]
            pos += n
        pos, n = _axdr_length(apdu, pos)
        content = apdu[pos:pos + n]
        if len(content) != n or n < 5:
            raise ReplyProtectionError('ciphered APDU %02X is truncated' % tag)
        sc = content[0]
        if suite is not None and (sc & 0x0F != suite or sc & 0x80):
            raise ReplyProtectionError('reply %02X has SC %02X, not one of suite %d'
                                       % (tag, sc, suite))
        iv = bytes(system_title) + content[1:5]
        ic = int.from_bytes(content[1:5], 'big')
    except IndexError:
        raise ReplyProtectionError('ciphered APDU is truncated')
    body = content[5:]
    if sc & 0x10:
        if len(body) < 12:
            raise ReplyProtectionError('ciphered APDU has no room for a tag')
        body, tag12 = body[:-12], body[-12:]
    if sc & 0x20:
        dec = Cipher(algorithms.AES(block_cipher_key),
                     modes.CTR(iv + b'\x00\x00\x00\x02')).decryptor()
        plain = dec.update(body) + dec.finalize()
    else:
        plain = body
    if sc & 0x10:
        gcm = AESGCM(block_cipher_key)
        if sc & 0x20:
            expect = gcm.encrypt(iv, plain, bytes([sc]) + authentication_key)[-16:-4]
        else:
            expect = gcm.encrypt(iv, b'', bytes([sc]) + authentication_key + plain)[:12]
        if expect != tag12:
            raise ReplyProtectionError('GCM tag of reply %02X (SC %02X, IC %d) is wrong'
                                       % (tag, sc, ic))
    return tag, sc, ic, plain


# --- the session ---------------------------------------------------------------------------------

class GuruxSession:
    """One client association over the TCP wrapper or HDLC, driven synchronously.

    `authentication` is 'none', 'low' (password = LLS secret) or 'hls-gmac'. `ciphered=True`
    uses the LN-with-ciphering context (application context 3) and protects every xDLMS APDU
    with authentication+encryption (SC 0x30) under the global unicast key. `invocation_counter`
    is the first client IC gurux will use; read it back with `.invocation_counter`.
    `proposed_conformance` (24-bit value as on the wire, e.g. 0x007E1F) replaces gurux's default
    proposal 0x401E5D; `ctos_challenge` (bytes) replaces gurux's random 16-byte HLS CtoS.
    With `verify_replies` every glo-/general-glo-ciphered reply is checked by the harness itself
    (GCM tag, and a strictly increasing server IC within this session): ReplyProtectionError.

    `authentication` may also be 'hls-sha256' (mechanism 6; password = the HLS secret) or
    'hls-ecdsa' (mechanism 7: `signing_key` the client's digital-signature private key, a
    `cryptography` key, PEM bytes or the raw scalar; `server_public_key` the server's, as a
    `cryptography` key, its certificate (object, DER, PEM) or raw X || Y; without it f(CtoS)
    cannot be checked and pass 4 raises HlsFailed). For mechanism 7 set `ctos_challenge` to
    32..64 bytes: gurux's own CtoS is 16 bytes. `security_suite` (0, 1, 2) is the suite of the
    ciphering (SC 0x30 | suite; suite 2 takes 32-byte keys), and of the reply check.

    `transport` is 'wrapper' (default), 'hdlc' or 'hdlc-mode-e' (HDLC framing; the mode E opening
    itself is the caller's). `stream`: an open object with sendall/recv/close (a socket, an
    FdStream) used instead of connecting to host:port. HDLC only: `physical_address` (lower HDLC
    address; None = the 1-byte server address form), `server_address_size` (0 = smallest, 1, 2,
    4), `max_info_tx` / `max_info_rx` (proposed in the SNRM; None = gurux default 128, which
    sends no parameter), `window` (proposed window sizes; None = default 1).
    """

    def __init__(self, host, port, client_address, server_address=1, authentication='none',
                 password=b'', ciphered=False, client_system_title=CLIENT_SYSTEM_TITLE,
                 block_cipher_key=DEMO_EK, authentication_key=DEMO_AK, invocation_counter=1,
                 max_pdu=1024, timeout=5, proposed_conformance=None, ctos_challenge=None,
                 verify_replies=True, transport='wrapper', stream=None, physical_address=None,
                 server_address_size=0, max_info_tx=None, max_info_rx=None, window=None,
                 security_suite=0, signing_key=None, server_public_key=None):
        if authentication not in _AUTHENTICATIONS:
            raise ValueError('authentication must be one of %s' % sorted(_AUTHENTICATIONS))
        if transport not in TRANSPORTS:
            raise ValueError('transport must be one of %s' % sorted(TRANSPORTS))
        if security_suite not in _SUITES:
            raise ValueError('security_suite must be 0, 1 or 2')
        if authentication == 'hls-ecdsa':
            if security_suite == 0:
                raise ValueError('HLS-ECDSA needs security suite 1 or 2')
            if signing_key is None:
                raise ValueError('HLS-ECDSA needs the client signing_key')
        self.host = host
        self.port = port
        self.client_address = client_address
        self.server_address = server_address
        self.authentication = authentication
        self.ciphered = ciphered
        self.timeout = timeout
        self.sock = None
        self.transport = transport
        self.hdlc = transport != 'wrapper'
        self._stream = stream
        self.last_control = None        # HDLC: control field of the last frame received
        self.last_frame_info = None     # HDLC: information field of the last frame received
        self._hdlc_rx = bytearray()     # HDLC: reply APDU being reassembled from segments
        self.segments_sent = 0          # HDLC: frames sent with the segmentation bit
        self.segments_received = 0      # HDLC: frames received with the segmentation bit
        self.last_reply_raw = None      # APDU (no wrapper header / LLC) of the last reply
        self.last_request_raw = None    # APDU of the last frame sent
        self.aare_raw = None
        self.verify_replies = verify_replies
        self.server_invocation_counters = []   # IC of every protected reply, in order
        self._responding_ap_title = None
        self._keys = (bytes(block_cipher_key), bytes(authentication_key))
        self.security_suite = security_suite
        self.private_key_printed = False    # gurux printed the client private key (bug, swallowed)
        self._private_hex = None
        self._server_public = None
        self._rx = bytearray()
        if isinstance(password, str):
            password = password.encode()
        hdlc_server_address = server_address
        if self.hdlc and physical_address is not None:
            hdlc_server_address = GXDLMSSecureClient.getServerAddress(
                server_address, physical_address, server_address_size)
        client = GXDLMSSecureClient(True, client_address, hdlc_server_address,
                                    _AUTHENTICATIONS[authentication], password or None,
                                    TRANSPORTS[transport])
        if self.hdlc:
            client.serverAddressSize = server_address_size
            hs = client.hdlcSettings
            if max_info_tx is not None:
                hs.maxInfoTX = max_info_tx
            if max_info_rx is not None:
                hs.maxInfoRX = max_info_rx
            if window is not None:
                hs.windowSizeTX = hs.windowSizeRX = window
        client.maxReceivePDUSize = max_pdu
        cipher = client.ciphering
        cipher.systemTitle = bytes(client_system_title)
        cipher.blockCipherKey = bytes(block_cipher_key)
        cipher.authenticationKey = bytes(authentication_key)
        cipher.invocationCounter = invocation_counter
        cipher.security = Security.AUTHENTICATION_ENCRYPTION if ciphered else Security.NONE
        cipher.securitySuite = _SUITES[security_suite]
        if authentication == 'hls-ecdsa':
            d = raw_private_key(signing_key)
            self._private_hex = d.hex().upper()
            self._server_public = (None if server_public_key is None
                                   else raw_public_key(server_public_key))
            # gurux's convention: (the peer's public key, our own private key)
            cipher.signingKeyPair = (
                GXPublicKey.fromRawBytes(b'\x04' + self._server_public)
                if self._server_public is not None else None,
                GXPrivateKey.fromRawBytes(d))
        if proposed_conformance is not None:
            client.proposedConformance = _reverse24(proposed_conformance)
        if ctos_challenge is not None:
            client.ctoSChallenge = bytes(ctos_challenge)
        self.client = client

    # -- properties --

    @property
    def invocation_counter(self):
        """The IC gurux will put in the next protected APDU (or HLS pass-3 f(StoC))."""
        return self.client.ciphering.invocationCounter

    @invocation_counter.setter
    def invocation_counter(self, value):
        self.client.ciphering.invocationCounter = value

    @property
    def server_system_title(self):
        """The responding-AP-title of the last AARE (bytes), or None."""
        st = self.client.settings.sourceSystemTitle
        return bytes(st) if st else None

    @property
    def negotiated_conformance(self):
        """Conformance from the InitiateResponse as the 24-bit wire value (bit 0 = 0x800000)."""
        return _reverse24(int(self.client.settings.negotiatedConformance))

    @property
    def negotiated_max_pdu(self):
        return self.client.settings.maxPduSize

    @property
    def negotiated_max_info(self):
        """HDLC: (max info field we send, max info field we receive) after the UA."""
        hs = self.client.hdlcSettings
        return hs.maxInfoTX, hs.maxInfoRX

    # -- transport --

    def connect(self):
        """Open the transport (or take the given stream); over HDLC also SNRM/UA."""
        if self._stream is not None:
            self.sock = self._stream
        else:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._rx = bytearray()
        self._hdlc_rx = bytearray()
        if self.hdlc:
            self.hdlc_connect()

    def hdlc_connect(self):
        """SNRM, and the UA's parameters into gurux. HdlcRefused on DM or FRMR."""
        self.send_frame(self.client.snrmRequest())
        self.recv_frame()
        if self.last_control != _UA:
            raise HdlcRefused('SNRM', self.last_control)
        self.client.parseUAResponse(GXByteBuffer(self.last_frame_info))

    def disconnect(self):
        """HDLC: DISC; returns the control field of the answer (0x73 UA, 0x1F DM)."""
        self.send_frame(self.client.disconnectRequest(True))
        self.recv_frame()
        return self.last_control

    def close(self):
        if self.sock is not None:
            try:
                if self.sock is not self._stream:
                    self.sock.close()
            finally:
                self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_frame(self, frame):
        """Send bytes as they are (a whole wrapper or HDLC frame, or deliberately broken bytes)."""
        if self.sock is None:
            raise FramingError('not connected')
        frame = bytes(frame)
        if self.hdlc:
            try:
                segmented, _, _, _, info = split_hdlc_frame(frame)
                self.segments_sent += segmented
            except FramingError:
                info = b''
            self.last_request_raw = info[3:] if info[:2] == b'\xe6\xe6' else info
        elif len(frame) >= _WRAPPER_HEADER:
            self.last_request_raw = frame[_WRAPPER_HEADER:]
        self.sock.sendall(frame)

    def recv_frame(self):
        """One whole frame from the stream (raises socket.timeout / FramingError). Over HDLC,
        `last_reply_raw` is the reply APDU once its last segment is in (b'' before that)."""
        if self.hdlc:
            return self._recv_hdlc_frame()
        while True:
            if len(self._rx) >= _WRAPPER_HEADER:
                n = int.from_bytes(self._rx[6:8], 'big')
                if len(self._rx) >= _WRAPPER_HEADER + n:
                    frame = bytes(self._rx[:_WRAPPER_HEADER + n])
                    del self._rx[:_WRAPPER_HEADER + n]
                    version, source, dest, apdu = split_wrapper_frame(frame)
                    if version != _WRAPPER_VERSION:
                        raise FramingError('wrapper version %d' % version)
                    if source != self.server_address or dest != self.client_address:
                        raise FramingError('reply from wPort %d to wPort %d, expected %d -> %d'
                                           % (source, dest, self.server_address,
                                              self.client_address))
                    self.last_reply_raw = apdu
                    if self.verify_replies:
                        self._verify_reply(apdu)
                    return frame
            chunk = self.sock.recv(4096)
            if not chunk:
                raise FramingError('connection closed by peer')
            self._rx += chunk

    def _cut_hdlc_frame(self):
        rx = self._rx
        while True:
            start = rx.find(_HDLC_FLAG)
            if start < 0:
                rx.clear()
                return None
            del rx[:start]
            while len(rx) >= 2 and rx[1] == _HDLC_FLAG:
                del rx[0]
            if len(rx) < 3:
                return None
            length = (rx[1] & 7) << 8 | rx[2]
            if rx[1] & 0xF0 != 0xA0 or length < 7:
                del rx[0]
                continue
            if len(rx) < length + 2:
                return None
            if rx[length + 1] != _HDLC_FLAG:
                del rx[0]
                continue
            frame = bytes(rx[:length + 2])
            del rx[:length + 2]
            return frame

    def _recv_hdlc_frame(self):
        while True:
            frame = self._cut_hdlc_frame()
            if frame is not None:
                break
            chunk = self.sock.recv(4096)
            if not chunk:
                raise FramingError('connection closed by peer')
            self._rx += chunk
        segmented, dest, src, control, info = split_hdlc_frame(frame)
        if len(dest) != 1 or dest[0] >> 1 != self.client_address:
            raise FramingError('HDLC frame for client address %s, expected %d'
                               % (dest.hex(), self.client_address))
        self.last_control = control
        self.last_frame_info = info
        if control & 1:                 # S- or U-frame: no APDU
            self.last_reply_raw = b''
            return frame
        if not self._hdlc_rx and info[:3] == _LLC_REPLY:
            info = info[3:]
        self._hdlc_rx += info
        if segmented:
            self.segments_received += 1
            self.last_reply_raw = b''
            return frame
        apdu = bytes(self._hdlc_rx)
        self._hdlc_rx = bytearray()
        self.last_reply_raw = apdu
        if self.verify_replies:
            self._verify_reply(apdu)
        return frame

    def _verify_reply(self, apdu):
        if not apdu:
            return
        protected = None
        if apdu[0] == 0x61:
            fields = _ber_fields(apdu)
            title = fields.get(0xA4)
            if title is not None and len(title) >= 2:
                self._responding_ap_title = title[2:]
            ui = fields.get(0xBE)
            if ui is not None and len(ui) > 2 and ui[0] == 0x04:
                start, n = _ber_length(ui, 1)
                if start < len(ui) and ui[start] in _GLO_REPLY_TAGS:
                    protected = ui[start:start + n]
        elif apdu[0] in _GLO_REPLY_TAGS or apdu[0] == _GENERAL_GLO:
            protected = apdu
        if protected is None:
            return
        title = self._responding_ap_title
        if title is None and protected[0] != _GENERAL_GLO:
            raise ReplyProtectionError('protected reply before any responding-AP-title')
        tag, sc, ic, plain = unprotect_reply(protected, title or b'', *self._keys,
                                             suite=self.security_suite)
        if self.server_invocation_counters and ic <= self.server_invocation_counters[-1]:
            raise ReplyProtectionError('server invocation counter %d after %d'
                                       % (ic, self.server_invocation_counters[-1]))
        self.server_invocation_counters.append(ic)

    def exchange_raw(self, apdu):
        """Send one raw APDU in a wrapper frame (or HDLC I-frames) from this client; return the
        raw reply APDU. gurux's APDU state is not touched (use it for replays and deliberately
        bad requests); over HDLC its frame counters advance as the frames go and come."""
        if not self.hdlc:
            self.send_frame(wrapper_frame(self.client_address, self.server_address, apdu))
            self.recv_frame()
            return self.last_reply_raw
        settings = self.client.settings
        data = GXByteBuffer(b'\xe6\xe6\x00' + bytes(apdu))
        frame = GXDLMS.getHdlcFrame(settings, 0, data)
        while True:
            self.send_frame(frame)
            self.recv_frame()
            settings.checkFrame(self.last_control, None)
            if data.position >= len(data):
                break
            frame = GXDLMS.getHdlcFrame(settings, settings.getNextSend(False), data)
        while self.last_control & 1 == 0 and not self.last_reply_raw:   # reply segments
            self.send_frame(GXDLMS.getHdlcFrame(settings, settings.getReceiverReady(), None))
            self.recv_frame()
            settings.checkFrame(self.last_control, None)
        return self.last_reply_raw

    def _exchange(self, frames, reply=None):
        """Send gurux-made frames one by one and feed every reply to gurux; follow
        GET-with-datablock by asking for the next blocks. Returns the GXReplyData."""
        if reply is None:
            reply = GXReplyData()
        if isinstance(frames, (bytes, bytearray)):
            frames = [frames]
        for frame in frames:
            self._send_and_parse(frame, reply)
        while reply.isMoreData():
            self._send_and_parse(self.client.receiverReady(reply), reply)
        return reply

    def _send_and_parse(self, frame, reply):
        self.send_frame(frame)
        while True:
            data = GXByteBuffer(self.recv_frame())
            _raise_plain_error(self.last_reply_raw)
            try:
                complete = self.client.getData(data, reply, None)
            except GXDLMSExceptionResponse as e:
                raise ExceptionResponse(_int(e.exceptionStateError),
                                        _int(e.exceptionServiceError), e.serviceErrorValue)
            except GXDLMSConfirmedServiceError as e:
                raise ConfirmedServiceError(_int(e.confirmedServiceError),
                                            _int(e.serviceError), _int(e.serviceErrorValue))
            if complete:
                return

    # -- association --

    def associate(self):
        """AARQ/AARE, then HLS pass 3/4 when the meter asked for it."""
        reply = GXReplyData()
        self._exchange(self.client.aarqRequest(), reply)
        self.aare_raw = self.last_reply_raw
        result, source, diagnostic = parse_aare_result(self.aare_raw)
        if result is None:
            raise FramingError('reply to the AARQ is not an AARE: %s' % self.aare_raw.hex())
        if result != 0:
            raise AssociationRejected(result, diagnostic, source, self.aare_raw)
        try:
            self.client.parseAareResponse(reply.data)
        except GXDLMSConfirmedServiceError as e:
            raise ConfirmedServiceError(_int(e.confirmedServiceError),
                                        _int(e.serviceError), _int(e.serviceErrorValue))
        except GXDLMSException as e:
            raise AssociationRejected(_int(getattr(e, 'result', result)),
                                      _int(getattr(e, 'diagnostic', diagnostic)),
                                      source, self.aare_raw)
        if self.client.isAuthenticationRequired:
            self._hls_pass_3_and_4()

    @contextlib.contextmanager
    def _quiet_gurux(self):
        """gurux's prints of pass 3/4 go nowhere: for HLS-ECDSA they include the client's
        private key (gurux 1.0.203 GXSecure.secure). Only the fact is kept."""
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                yield
        finally:
            if self._private_hex is not None:
                text = out.getvalue().replace(' ', '').upper()
                if self._private_hex in text:
                    self.private_key_printed = True

    def _hls_pass_3_and_4(self):
        reply = GXReplyData()
        with self._quiet_gurux():
            frames = self.client.getApplicationAssociationRequest()
        self._exchange(frames, reply)
        if reply.error:
            raise HlsFailed('meter refused f(StoC)', _int(reply.error))
        if self.authentication == 'hls-ecdsa' and self._server_public is None:
            raise HlsFailed('no server public key: f(CtoS) cannot be verified')
        try:
            with self._quiet_gurux():
                self.client.parseApplicationAssociationResponse(reply.data)
        except Exception as e:  # gurux raises a bare Exception on a wrong or missing f(CtoS)
            raise HlsFailed('f(CtoS) missing or wrong: %s: %s' % (type(e).__name__, e))

    def release(self):
        """RLRQ (62 03 80 01 00, not protected) and wait for the RLRE; returns its raw bytes.
        Returns None when gurux thinks there is no association to release."""
        frames = self.client.releaseRequest()
        if not frames:
            return None
        self._exchange(frames)
        return self.last_reply_raw

    # -- services --

    def read(self, obj, attribute_index):
        """GET attribute; returns the value as gurux decodes it for that object (also stored in
        `obj`). DataAccessError carries the data-access-result."""
        reply = self._exchange(self.client.read(obj, attribute_index))
        if reply.error:
            raise DataAccessError('get', _int(reply.error))
        return self.client.updateValue(obj, attribute_index, reply.value)

    def read_raw_value(self, obj, attribute_index):
        """GET attribute; the value as gurux's generic A-XDR decoder returns it (no
        object-specific conversion)."""
        reply = self._exchange(self.client.read(obj, attribute_index))
        if reply.error:
            raise DataAccessError('get', _int(reply.error))
        return reply.value

    def write(self, obj, attribute_index, value=None, datatype=None):
        """SET attribute. With `value` None the object's current value is sent (gurux's own
        encoding for that attribute); otherwise `value` is encoded as `datatype` (a gurux
        DataType; guessed from the Python value when None)."""
        if value is None:
            frames = self.client.write(obj, attribute_index)
        else:
            if datatype is None:
                datatype = obj.getDataType(attribute_index)
                if datatype == DataType.NONE:
                    datatype = _GXCommon.getDLMSDataType(value)
            frames = self.client._GXDLMSClient__write(obj.name, value, datatype,
                                                      obj.objectType, attribute_index)
        reply = self._exchange(frames)
        if reply.error:
            raise DataAccessError('set', _int(reply.error))

    def method(self, obj, index, data=0, datatype=DataType.INT8):
        """ACTION method `index` with parameter `data` of gurux DataType `datatype`; returns the
        return parameters as gurux decodes them, or None."""
        reply = self._exchange(self.client.method(obj, index, data, datatype))
        if reply.error:
            raise DataAccessError('action', _int(reply.error))
        return reply.value

    # -- Security setup certificate methods (version 1, suites 1 and 2) --

    @staticmethod
    def _security_setup(security_setup):
        if isinstance(security_setup, str):
            return make_object(64, security_setup)
        return security_setup

    def export_certificate(self, security_setup, entity, certificate_type, system_title):
        """Security setup method 7 by entity: the certificate's DER (bytes). `security_setup` is
        a gurux object or a logical name."""
        value = self.method(self._security_setup(security_setup), 7,
                            certificate_selector(entity, certificate_type, system_title),
                            DataType.STRUCTURE)
        return bytes(value)

    def import_certificate(self, security_setup, der):
        """Security setup method 6 with a DER certificate (or PEM, converted)."""
        der = bytes(der)
        if der.startswith(b'-----BEGIN'):
            der = _x509.load_pem_x509_certificate(der).public_bytes(_serialization.Encoding.DER)
        self.method(self._security_setup(security_setup), 6, der, DataType.OCTET_STRING)

    def remove_certificate(self, security_setup, entity, certificate_type, system_title):
        """Security setup method 8 by entity."""
        self.method(self._security_setup(security_setup), 8,
                    certificate_selector(entity, certificate_type, system_title),
                    DataType.STRUCTURE)


def _raise_plain_error(apdu):
    """exception-response (D8) and confirmed-service-error (0E) are parsed here, not by gurux,
    which raises ValueError on codes its enums do not know."""
    if len(apdu) >= 3 and apdu[0] == 0xD8:
        value = int.from_bytes(apdu[3:7], 'big') if len(apdu) >= 7 else None
        raise ExceptionResponse(apdu[1], apdu[2], value)
    if len(apdu) >= 4 and apdu[0] == 0x0E:
        raise ConfirmedServiceError(apdu[1], apdu[2], apdu[3])


def _reverse24(v):
    """gurux keeps conformance bits LSB-first (bit n of the BIT STRING = 1 << n); the wire
    value read as a big-endian integer has bit n at 1 << (23 - n)."""
    r = 0
    for i in range(24):
        if v & (1 << i):
            r |= 1 << (23 - i)
    return r


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return v
