# general-ciphering (0xDD) and general-signing (0xDF), codec and cryptography only, for a meter
# (server) that (a) parses a request, (b) decides freshness and authorization itself (titles,
# transaction-id, date-time, IC: this module keeps no sessions, counters, policies or
# certificates; keys and public keys come in as arguments or callables), (c) opens or verifies
# it, (d) builds the response in kind. Layouts: shared/reference/dlms-public-key.md 3.3, 4.1-4.4.
#
#   DD F key-info len||ciphered-content        F = len||transaction-id len||originator
#   DF F len||content len||signature               len||recipient len||date-time len||other-info
#   key-info: 00 (absent) | 01 00 key-id | 01 01 kek-id len||wrapped | 01 02 len||key-parameters
#             len||key-ciphered-data;   ciphered-content: SC || IC(4) || APDU-or-ciphertext [|| T12]
#
# Ciphering (reference 4.3, Green Book Table 38): IV = originator || IC; AAD = SC || AK || F for
# authenticated encryption (0x3s), SC || AK || F || APDU for authentication only (0x1s, GMAC
# under EK), none for encryption only (0x2s, no tag); F exactly as on the wire; key-info is not
# in the AAD. Tags are 12 bytes, checked by dlms/gcm.py in constant time before anything is
# deciphered. EK is the key named or established by key-info; AK is the global AK.
#
# Decisions where the reference leaves room:
# - System titles are exactly 8 bytes, the recipient's too (an empty recipient is refused): the
#   reference gives both as len || 8 bytes (4.1); the recipient is the party that must check or
#   remove the protection, which a meter checks against its own title; both titles are the
#   IDs of OtherInfo (3.3), which kdf.py takes as 8 bytes; and Gurux refuses to send without one.
# - transaction-id: 1..64 bytes (TID_MIN, TID_MAX). Gurux sends 8; it is Nonce_U of C(0e,2s),
#   which OtherInfo carries behind one length byte (kdf allows 127); 64 is the bound the HLS
#   challenges have, far above any known use, and keeps every length byte short.
# - date-time: empty or a COSEM date-time of 12 bytes (DATE_TIME_LENS); other-information: any
#   length the APDU holds (its meaning is not public).
# - SC: the suite nibble must be the suite's; the key-set bit (0x40: "not relevant, shall be 0"
#   in general-ciphering) and compression (0x80: V.44 is not implemented) are refused. SC with no
#   protection (0x0s: "a layer for this party with nothing applied", reference 4.3) is sealed
#   when asked for, and opened only with unprotected=True (the caller's policy decides).
# - A-XDR lengths are read by axdr.decode_length (long forms 81..84 accepted, as everywhere in
#   this meter); F and the signed bytes are the wire bytes, so no re-encoding is ever signed or
#   authenticated; what this module writes is minimal.
# - C(1e,1s): U signs key-parameters (01) || X || Y (C1E1S_SIGNS_KEY_PARAMETERS = True), as Gurux
#   does (the only public implementation, so a meter that interoperates with it), and as
#   key_agreement (method 3) here signs key_id || X || Y (dlms_pk/setup_methods.py); the scheme
#   identifier is bound into the signature. The Green Book says only "Q_e,U signed"; False signs
#   X || Y alone. (Noticed: with True, the signed string equals a method-3 element for key_id 1.)
# - general-signing signs F || len||content: every field's length and value, from the
#   transaction-id's length to the content's last byte (SIGNING_SIGNS_CONTENT_LENGTH = True), as
#   the Green Book's Figure 85 is quoted ("the length and the value of each field contribute to
#   the signature"; the Gurux code is the only other source, and it is inconsistent: it omits
#   the content length from its encoding when nothing is ciphered while its decoder reads one,
#   and verifies P-256 only). The signed bytes are one contiguous slice of the APDU. Gurux signs
#   F || content, without the content's length octets: False.
# - Signatures are raw r||s of 64 (P-256) or 96 (P-384) bytes, ECDSA hedged (RFC 6979 with
#   rng(32) as extra data, dlms_pk/ec.py).
#
# Every malformed APDU, wrong length, bad tag, bad signature, invalid point or unusable key raises
# GeneralError (a ValueError) with a short reason; no message carries key material.
from dlms._compat import const
from dlms import axdr, gcm, keywrap
from dlms.security import SC_AUTH, SC_ENC, SC_AUTH_ENC

GENERAL_CIPHERING = const(0xDD)
GENERAL_SIGNING = const(0xDF)
TITLE_LEN = const(8)
TID_MIN = const(1)
TID_MAX = const(64)
DATE_TIME_LENS = (0, 12)
TAG_LEN = const(12)

KEY_IDENTIFIED = 'identified'
KEY_WRAPPED = 'wrapped'
KEY_AGREED = 'agreed'
KEY_ID_UNICAST = const(0)       # identified-key: global unicast EK
KEY_ID_BROADCAST = const(1)     # global broadcast EK
KEK_MASTER = const(0)           # wrapped-key: kek-id master key
C1E1S = const(1)                # agreed-key key-parameters: One-Pass Diffie-Hellman
C0E2S = const(2)                # Static Unified Model

C1E1S_SIGNS_KEY_PARAMETERS = True
SIGNING_SIGNS_CONTENT_LENGTH = True

_SC_KEY_SET = const(0x40)
_SC_COMPRESSION = const(0x80)
_WRAPPED_LENS = (24, 40)        # RFC 3394 of a 16- or 32-byte key
_AGREED_LENS = (128, 192)       # C(1e,1s) X||Y||r||s on P-256 / P-384
_SIG_LENS = (64, 96)


class GeneralError(ValueError):
    pass


class Ciphering:
    """A parsed general-ciphering APDU. transaction_id, originator, recipient, date_time,
    other_information: bytes (empty when the wire had 00); key_info: None, ('identified',
    key_id), ('wrapped', kek_id, wrapped_key) or ('agreed', key_parameters, key_ciphered_data)
    (ints and bytes); key_info_bytes: the wire bytes of the Key-Info CHOICE (to echo), or None;
    content: SC || IC || ... [|| T] and fields: F, memoryviews into the APDU."""

    def __repr__(self):
        return '<Ciphering>'


class Signing:
    """A parsed general-signing APDU: transaction_id, originator, recipient, date_time,
    other_information, signature (bytes); content, fields and signed (the bytes the signature
    is over): memoryviews into the APDU (signed: bytes with SIGNING_SIGNS_CONTENT_LENGTH
    False)."""

    def __repr__(self):
        return '<Signing>'


# ---------------------------------------------------------------------------
# Codec

def _string(mv, pos):
    # an A-XDR octet-string at pos -> (start, end) of its value, within the APDU
    try:
        n, pos = axdr.decode_length(mv, pos)
    except axdr.AxdrError:
        raise GeneralError('length')
    return pos, pos + n


def _byte(mv, pos):
    if pos >= len(mv):
        raise GeneralError('truncated')
    return mv[pos]


def _check_header(tid, originator, recipient, date_time):
    if not TID_MIN <= len(tid) <= TID_MAX:
        raise GeneralError('transaction-id')
    if len(originator) != TITLE_LEN or len(recipient) != TITLE_LEN:
        raise GeneralError('system title')
    if len(date_time) not in DATE_TIME_LENS:
        raise GeneralError('date-time')


def _header(apdu, tag, msg):
    # the tag and F into msg; -> (memoryview of the APDU, position after F)
    mv = memoryview(apdu)
    if not len(mv) or mv[0] != tag:
        raise GeneralError('tag')
    pos = 1
    out = []
    for _ in range(5):
        s, pos = _string(mv, pos)
        out.append(bytes(mv[s:pos]))
    _check_header(out[0], out[1], out[2], out[3])
    msg.transaction_id, msg.originator, msg.recipient, msg.date_time, \
        msg.other_information = out
    msg.fields = mv[1:pos]
    return mv, pos


def _key_info(mv, pos):
    # the Key-Info CHOICE at pos -> (key_info tuple, position after it)
    choice = _byte(mv, pos)
    if choice == 0:
        k = _byte(mv, pos + 1)
        if k != KEY_ID_UNICAST and k != KEY_ID_BROADCAST:
            raise GeneralError('key-id')
        return (KEY_IDENTIFIED, k), pos + 2
    if choice == 1:
        k = _byte(mv, pos + 1)
        if k != KEK_MASTER:
            raise GeneralError('kek-id')
        s, e = _string(mv, pos + 2)
        if e - s not in _WRAPPED_LENS:
            raise GeneralError('wrapped key length')
        return (KEY_WRAPPED, k, bytes(mv[s:e])), e
    if choice == 2:
        s, e = _string(mv, pos + 1)
        if e - s != 1 or (mv[s] != C1E1S and mv[s] != C0E2S):
            raise GeneralError('key-parameters')
        kp = mv[s]
        s, e = _string(mv, e)
        n = e - s
        if (kp == C0E2S and n) or (kp == C1E1S and n not in _AGREED_LENS):
            raise GeneralError('key-ciphered-data length')
        return (KEY_AGREED, kp, bytes(mv[s:e])), e
    raise GeneralError('key-info')


def parse_ciphering(apdu):
    """A general-ciphering APDU (bytes-like, the whole of it) -> Ciphering; GeneralError when
    anything is malformed, out of bounds or followed by trailing bytes."""
    msg = Ciphering()
    mv, pos = _header(apdu, GENERAL_CIPHERING, msg)
    flag = _byte(mv, pos)
    pos += 1
    msg.key_info = None
    msg.key_info_bytes = None
    if flag == 1:
        msg.key_info, end = _key_info(mv, pos)
        msg.key_info_bytes = mv[pos:end]
        pos = end
    elif flag:
        raise GeneralError('key-info flag')
    s, e = _string(mv, pos)
    if e != len(mv):
        raise GeneralError('trailing bytes')
    if e - s < 5:
        raise GeneralError('short content')
    msg.content = mv[s:e]
    return msg


def parse_signing(apdu):
    """A general-signing APDU -> Signing; GeneralError when malformed (content empty, signature
    not 64 or 96 bytes, trailing bytes, ...)."""
    msg = Signing()
    mv, pos = _header(apdu, GENERAL_SIGNING, msg)
    s, e = _string(mv, pos)
    if s == e:
        raise GeneralError('empty content')
    msg.content = mv[s:e]
    if SIGNING_SIGNS_CONTENT_LENGTH:
        msg.signed = mv[1:e]
    else:
        msg.signed = bytes(msg.fields) + bytes(msg.content)
    s, e = _string(mv, e)
    if e != len(mv):
        raise GeneralError('trailing bytes')
    if e - s not in _SIG_LENS:
        raise GeneralError('signature length')
    msg.signature = bytes(mv[s:e])
    return msg


def encode_fields(transaction_id, originator, recipient, date_time, other_information):
    """F: the five header fields, each len || value (the AAD's F; what a response seals under)."""
    _check_header(transaction_id, originator, recipient, date_time)
    out = bytearray()
    for v in (transaction_id, originator, recipient, date_time, other_information):
        axdr.encode_length(len(v), out)
        out.extend(v)
    return bytes(out)


def key_info_identified(key_id):
    """The Key-Info CHOICE identified-key (key_id 0: global unicast EK, 1: broadcast EK)."""
    if key_id != KEY_ID_UNICAST and key_id != KEY_ID_BROADCAST:
        raise GeneralError('key-id')
    return bytes((0, key_id))


def key_info_wrapped(wrapped, kek_id=KEK_MASTER):
    """The Key-Info CHOICE wrapped-key: kek-id and the RFC 3394-wrapped key."""
    out = bytearray((1, kek_id))
    axdr.encode_length(len(wrapped), out)
    out.extend(wrapped)
    return bytes(out)


def key_info_agreed(key_parameters, key_ciphered_data):
    """The Key-Info CHOICE agreed-key: key-parameters (C1E1S or C0E2S) and key-ciphered-data."""
    out = bytearray((2, 1, key_parameters))
    axdr.encode_length(len(key_ciphered_data), out)
    out.extend(key_ciphered_data)
    return bytes(out)


def build_ciphering(transaction_id, originator, recipient, date_time, other_information,
                    key_info_bytes, content):
    """DD || F || key-info || len||content: key_info_bytes a Key-Info CHOICE (key_info_*(), the
    agreed_key_*() builders, or a request's key_info_bytes echoed) or None (absent). Refuses what
    parse_ciphering would refuse."""
    f = encode_fields(transaction_id, originator, recipient, date_time, other_information)
    if len(content) < 5:
        raise GeneralError('short content')
    out = bytearray((GENERAL_CIPHERING,))
    out.extend(f)
    if key_info_bytes is None:
        out.append(0)
    else:
        _, end = _key_info(memoryview(key_info_bytes), 0)
        if end != len(key_info_bytes):
            raise GeneralError('key-info')
        out.append(1)
        out.extend(key_info_bytes)
    axdr.encode_length(len(content), out)
    out.extend(content)
    return bytes(out)


# ---------------------------------------------------------------------------
# Ciphered content

def split_content(suite, content, unprotected=False):
    """(SC, IC) of ciphered content without deciphering it, for the caller's replay check.
    GeneralError for a suite nibble that is not suite.ID, the key-set or compression bit, no
    protection asked for (unless unprotected), or content shorter than SC || IC."""
    if len(content) < 5:
        raise GeneralError('short content')
    sc = content[0]
    if (sc & 0x0F) != suite.ID or sc & (_SC_KEY_SET | _SC_COMPRESSION):
        raise GeneralError('security control')
    if not sc & SC_AUTH_ENC and not unprotected:
        raise GeneralError('no protection')
    return sc, (content[1] << 24) | (content[2] << 16) | (content[3] << 8) | content[4]


def additional_data(sc, ak, fields, apdu=b''):
    """The AAD of ciphered content with security control sc: SC || AK || F (0x3s), SC || AK || F
    || apdu (0x1s), empty otherwise."""
    level = sc & SC_AUTH_ENC
    if not level & SC_AUTH:
        return b''
    na = len(ak)
    nf = len(fields)
    n = 1 + na + nf
    out = bytearray(n + (len(apdu) if level == SC_AUTH else 0))
    out[0] = sc
    out[1:1 + na] = ak
    out[1 + na:n] = fields
    if level == SC_AUTH:
        out[n:] = apdu
    return out


def _gcm(suite, ek, ak, level):
    n = suite.KEY_LEN
    if len(ek) != n or (level & SC_AUTH and (ak is None or len(ak) != n)):
        raise GeneralError('key length')
    return gcm.Gcm(bytes(ek))


def seal_content(suite, ek, ak, originator, fields, sc, ic, apdu):
    """SC || IC || (apdu | ciphertext) [|| T12] under EK (and AK), IV = originator || IC, the
    AAD of additional_data(); sc with no protection (0x0s) gives SC || IC || apdu."""
    if (sc & 0x0F) != suite.ID or sc & (_SC_KEY_SET | _SC_COMPRESSION):
        raise GeneralError('security control')
    if len(originator) != TITLE_LEN:
        raise GeneralError('system title')
    if not 0 <= ic <= 0xFFFFFFFF:
        raise GeneralError('invocation counter')
    level = sc & SC_AUTH_ENC
    n = len(apdu)
    out = bytearray(5 + n + (TAG_LEN if level & SC_AUTH else 0))
    out[0] = sc
    out[1] = ic >> 24
    out[2] = (ic >> 16) & 0xFF
    out[3] = (ic >> 8) & 0xFF
    out[4] = ic & 0xFF
    if not level:
        out[5:] = apdu
        return bytes(out)
    g = _gcm(suite, ek, ak, level)
    iv = bytes(originator) + bytes(out[1:5])
    if level == SC_AUTH:
        out[5:5 + n] = apdu
        _, tag = g.encrypt(iv, b'', additional_data(sc, ak, fields, apdu))
    else:
        ct, tag = g.encrypt(iv, apdu, additional_data(sc, ak, fields))
        out[5:5 + n] = ct
    if level & SC_AUTH:
        out[5 + n:] = tag[0:TAG_LEN]
    return bytes(out)


def open_content(suite, ek, ak, originator, fields, content, unprotected=False):
    """The inverse of seal_content: (sc, ic, apdu). The tag is checked (constant time) before
    anything is deciphered; a bad tag, SC or length raises GeneralError. Encryption only (0x2s)
    authenticates nothing; no protection (0x0s) is opened only with unprotected=True."""
    sc, ic = split_content(suite, content, unprotected)
    if len(originator) != TITLE_LEN:
        raise GeneralError('system title')
    level = sc & SC_AUTH_ENC
    if not level:
        return sc, ic, bytes(content[5:])
    g = _gcm(suite, ek, ak, level)
    iv = bytes(originator) + bytes(content[1:5])
    n = len(content)
    if level == SC_ENC:
        pt, _ = g.encrypt(iv, content[5:], b'')
        return sc, ic, pt
    if n < 5 + TAG_LEN:
        raise GeneralError('short tag')
    body = content[5:n - TAG_LEN]
    tag = content[n - TAG_LEN:]
    if level == SC_AUTH:
        if g.decrypt(iv, b'', additional_data(sc, ak, fields, body), tag) is None:
            raise GeneralError('tag')
        return sc, ic, bytes(body)
    pt = g.decrypt(iv, body, additional_data(sc, ak, fields), tag)
    if pt is None:
        raise GeneralError('tag')
    return sc, ic, pt


# ---------------------------------------------------------------------------
# Key-info: the content key

def _suite_pk(suite):
    # (curve, AlgorithmID) of a public-key suite
    from dlms_pk import kdf
    c = getattr(suite, 'CURVE', None)
    if c is None or (suite.ID != 1 and suite.ID != 2):
        raise GeneralError('suite')
    return c, kdf.ALG_AES_GCM_128 if suite.ID == 1 else kdf.ALG_AES_GCM_256


def _kind(msg, kind, kp=None):
    ki = msg.key_info
    if ki is None or ki[0] != kind or (kp is not None and ki[1] != kp):
        raise GeneralError('key-info')
    return ki


def _point(c, q):
    from dlms_pk import ec
    try:
        ec.decode_point(c, q)
    except ec.ECError:
        raise GeneralError('point')


def _agree(suite, c, d, q, other_info):
    # KDF(ECDH(d, q), other_info), q validated first; Z stays inside kdf.agreed_key
    from dlms_pk import ec, kdf
    _point(c, q)
    try:
        return kdf.agreed_key(c, d, q, other_info, suite.KEY_LEN)
    except (ec.ECError, kdf.KdfError):
        raise GeneralError('key agreement')


def _other_info(alg, u, v, nonce=None):
    from dlms_pk import kdf
    try:
        return kdf.other_info(alg, u, v, nonce)
    except kdf.KdfError:
        raise GeneralError('other info')


def c1e1s_signed(q):
    """The bytes U signs in C(1e,1s) for its ephemeral key q = X || Y (see the header)."""
    if C1E1S_SIGNS_KEY_PARAMETERS:
        return bytes((C1E1S,)) + bytes(q)
    return bytes(q)


def key_identified(suite, msg, key):
    """identified-key: `key` is the global key the server holds for msg's key_id (0 unicast EK,
    1 broadcast EK); checked to be the suite's length. -> key."""
    _kind(msg, KEY_IDENTIFIED)
    if key is None or len(key) != suite.KEY_LEN:
        raise GeneralError('key length')
    return bytes(key)


def key_wrapped(suite, msg, kek):
    """wrapped-key: RFC 3394 unwrap under `kek` (the master key); the key must be the suite's
    length. -> key."""
    ki = _kind(msg, KEY_WRAPPED)
    if len(ki[2]) != suite.KEY_LEN + 8:
        raise GeneralError('wrapped key length')
    try:
        return keywrap.unwrap(kek, ki[2])
    except keywrap.KeyWrapError:
        raise GeneralError('key unwrap')


def key_c1e1s(suite, msg, own_agree_private, originator_sign_public):
    """agreed-key C(1e,1s), this meter V: key-ciphered-data = Q_eU (X||Y) || Sig_U. Sig_U is
    verified first with the originator's signature public key (from its certificate), then
    key = KDF(ECDH(d_sV, Q_eU), AlgorithmID || ST_U || ST_V), U = originator, V = recipient."""
    from dlms_pk import ec
    ki = _kind(msg, KEY_AGREED, C1E1S)
    c, alg = _suite_pk(suite)
    size = c.size
    data = ki[2]
    if len(data) != 4 * size:
        raise GeneralError('key-ciphered-data length')
    q = data[0:2 * size]
    try:
        ok = ec.verify(c, originator_sign_public, c1e1s_signed(q), data[2 * size:])
    except ec.ECError:
        raise GeneralError('signature key')
    if not ok:
        raise GeneralError('signature')
    return _agree(suite, c, own_agree_private, q,
                  _other_info(alg, msg.originator, msg.recipient))


def key_c0e2s(suite, msg, own_agree_private, originator_agree_public):
    """agreed-key C(0e,2s), this meter V: key = KDF(ECDH(d_sV, Q_sU), AlgorithmID || ST_U ||
    len(TID) || TID || ST_V), Q_sU from U's key-agreement certificate."""
    _kind(msg, KEY_AGREED, C0E2S)
    c, alg = _suite_pk(suite)
    return _agree(suite, c, own_agree_private, originator_agree_public,
                  _other_info(alg, msg.originator, msg.recipient, msg.transaction_id))


def _value(v, arg):
    return v(arg) if callable(v) else v


def content_key(suite, msg, global_key=None, kek=None, own_agree_private=None,
                sign_public=None, agree_public=None):
    """The content key of a parsed request, whatever its key-info: global_key (identified-key;
    bytes, or a callable key_id -> key), kek (wrapped-key), own_agree_private with sign_public
    (C(1e,1s)) or agree_public (C(0e,2s)), the originator's public keys (bytes, or callables
    originator title -> key). Only what the key-info needs is asked for; GeneralError when it is
    missing (None) or when key-info is absent (the key is then the caller's to know). kek may
    be a callable kek_id -> KEK too."""
    ki = msg.key_info
    if ki is None:
        raise GeneralError('no key-info')
    if ki[0] == KEY_IDENTIFIED:
        return key_identified(suite, msg, _value(global_key, ki[1]))
    if ki[0] == KEY_WRAPPED:
        kek = _value(kek, ki[1])
        if kek is None:
            raise GeneralError('no key')
        return key_wrapped(suite, msg, kek)
    if own_agree_private is None:
        raise GeneralError('no key')
    if ki[1] == C1E1S:
        pub = _value(sign_public, msg.originator)
        if pub is None:
            raise GeneralError('no key')
        return key_c1e1s(suite, msg, own_agree_private, pub)
    pub = _value(agree_public, msg.originator)
    if pub is None:
        raise GeneralError('no key')
    return key_c0e2s(suite, msg, own_agree_private, pub)


# ---------------------------------------------------------------------------
# Key-info of a response (this meter U, the request's originator V)

def agreed_key_c1e1s(suite, own_sign_private, recipient_static_public, originator, recipient,
                     rng):
    """C(1e,1s) with this meter as U: an ephemeral key pair from rng (rng(n) -> n bytes), Q_eU
    signed with own_sign_private (hedged with rng(32)), key = KDF(ECDH(d_eU, Q_sV), AlgorithmID
    || ST_U || ST_V). -> (key, key_info_bytes)."""
    from dlms_pk import ec
    c, alg = _suite_pk(suite)
    oi = _other_info(alg, originator, recipient)
    _point(c, recipient_static_public)
    try:
        d_e, q_e = ec.generate_keypair(c, rng)
    except ec.ECError:
        raise GeneralError('key generation')
    try:
        sig = ec.sign(c, own_sign_private, c1e1s_signed(q_e), rng(32))
    except ec.ECError:
        raise GeneralError('signing')
    key = _agree(suite, c, d_e, recipient_static_public, oi)
    d_e = None
    return key, key_info_agreed(C1E1S, q_e + sig)


def agreed_key_c0e2s(suite, own_agree_private, recipient_static_public, originator, recipient,
                     transaction_id):
    """C(0e,2s) with this meter as U: key = KDF(ECDH(d_sU, Q_sV), AlgorithmID || ST_U ||
    len(TID) || TID || ST_V). -> (key, key_info_bytes); key-ciphered-data is empty."""
    c, alg = _suite_pk(suite)
    if not TID_MIN <= len(transaction_id) <= TID_MAX:
        raise GeneralError('transaction-id')
    key = _agree(suite, c, own_agree_private, recipient_static_public,
                 _other_info(alg, originator, recipient, transaction_id))
    return key, key_info_agreed(C0E2S, b'')


def wrapped_key(suite, kek, rng):
    """A fresh content key from rng, wrapped under kek (RFC 3394). -> (key, key_info_bytes)."""
    key = bytes(rng(suite.KEY_LEN))
    if len(key) != suite.KEY_LEN:
        raise GeneralError('rng')
    try:
        return key, key_info_wrapped(keywrap.wrap(kek, key))
    except keywrap.KeyWrapError:
        raise GeneralError('key wrap')


# ---------------------------------------------------------------------------
# general-signing

def sign_signing(curve, private_key, transaction_id, originator, recipient, date_time,
                 other_information, content, rng):
    """DF || F || len||content || len||signature: ECDSA (curve P-256 or P-384, raw r||s) by
    private_key over the signed bytes (see the header), hedged with rng(32)."""
    from dlms_pk import ec
    f = encode_fields(transaction_id, originator, recipient, date_time, other_information)
    if not len(content):
        raise GeneralError('empty content')
    out = bytearray((GENERAL_SIGNING,))
    out.extend(f)
    axdr.encode_length(len(content), out)
    out.extend(content)
    if SIGNING_SIGNS_CONTENT_LENGTH:
        signed = memoryview(out)[1:]
    else:
        signed = f + bytes(content)
    try:
        sig = ec.sign(curve, private_key, signed, rng(32))
    except ec.ECError:
        raise GeneralError('signing')
    signed = None
    axdr.encode_length(len(sig), out)
    out.extend(sig)
    return bytes(out)


def verify_signing(curve, public_key, msg):
    """True when msg (parse_signing()) carries a valid signature of its signed bytes under
    public_key (the originator's, X||Y); a signature of the wrong size is False, an invalid
    public key GeneralError."""
    from dlms_pk import ec
    if len(msg.signature) != 2 * curve.size:
        return False
    try:
        return ec.verify(curve, public_key, msg.signed, msg.signature)
    except ec.ECError:
        raise GeneralError('public key')
