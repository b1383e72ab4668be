# Key derivation for DLMS key agreement (security suites 1 and 2): the single-step concatenation
# KDF of NIST SP 800-56A (5.8.1, with a hash), DKM = the leftmost key_len bytes of
# H(00000001 || Z || OtherInfo) || H(00000002 || Z || OtherInfo) || ... (one block suffices in
# DLMS: 16 bytes from SHA-256 in suite 1, 32 from SHA-384 in suite 2), OtherInfo =
# AlgorithmID || PartyUInfo || PartyVInfo (SuppPubInfo and SuppPrivInfo are not used in DLMS),
# and Z = the x-coordinate of the ECC CDH point (dlms_pk/ec.py, which validates the peer's key).
# Sans-IO; hashing by dlms_pk/sha2.py. Byte layouts: shared/reference/dlms-public-key.md 3.2, 3.3.
#   C(2e,0s) key_agreement, C(1e,1s):  OtherInfo = AlgorithmID || ID_U || ID_V
#   C(0e,2s) general-ciphering:        OtherInfo = AlgorithmID || ID_U || len(TID) || TID || ID_V
# U is the originator (the client in key_agreement), V the recipient; IDs are system titles.
# Errors are KdfError (a ValueError); a bad peer key is ec.ECError (a ValueError too).
from dlms._compat import const
from dlms_pk import ec, sha2

# AlgorithmID: the DER contents of OID 2.16.756.5.8.3.x, without tag and length
ALG_AES_GCM_128 = b'\x60\x85\x74\x05\x08\x03\x00'     # 2.16.756.5.8.3.0
ALG_AES_GCM_256 = b'\x60\x85\x74\x05\x08\x03\x01'     # 2.16.756.5.8.3.1
ALG_AES_WRAP_128 = b'\x60\x85\x74\x05\x08\x03\x02'    # 2.16.756.5.8.3.2
ALG_AES_WRAP_256 = b'\x60\x85\x74\x05\x08\x03\x03'    # 2.16.756.5.8.3.3

MAX_KEY_LEN = const(1024)   # far above any DLMS key (16 or 32 bytes)
_TITLE_LEN = const(8)
_NONCE_MAX = const(127)     # the transaction-id with its one-byte length (A-XDR short form)


class KdfError(ValueError):
    pass


def kdf(hash_name, z, other_info, key_len):
    """The leftmost key_len bytes of H(counter || Z || OtherInfo) for counter = 1, 2, ... (32-bit
    big-endian), H = 'sha256' or 'sha384'."""
    hl = sha2.DIGEST_SIZE.get(hash_name)
    if hl is None:
        raise KdfError('unknown hash')
    if not 0 < key_len <= MAX_KEY_LEN:
        raise KdfError('key length')
    nz = len(z)
    buf = bytearray(4 + nz + len(other_info))   # counter || Z || OtherInfo, hashed per block
    buf[4:4 + nz] = z
    buf[4 + nz:] = other_info
    out = bytearray()
    counter = 1
    while len(out) < key_len:
        buf[3] = counter            # counter <= MAX_KEY_LEN / 32 + 1 < 256: the last byte only
        out.extend(sha2.digest(hash_name, buf))
        counter += 1
    for i in range(4 + nz):         # our copy of Z
        buf[i] = 0
    dkm = bytes(out[0:key_len])
    for i in range(len(out)):
        out[i] = 0
    return dkm


def other_info(alg_id, party_u, party_v, nonce_u=None):
    """AlgorithmID || PartyUInfo || PartyVInfo with PartyUInfo = ID_U, or ID_U || len || Nonce_U
    when nonce_u (the transaction-id of C(0e,2s), 1..127 bytes) is given; party_u, party_v:
    the 8-byte system titles of U (originator) and V (recipient)."""
    if len(party_u) != _TITLE_LEN or len(party_v) != _TITLE_LEN:
        raise KdfError('system title')
    out = bytearray(alg_id)
    out.extend(party_u)
    if nonce_u is not None:
        n = len(nonce_u)
        if not 0 < n <= _NONCE_MAX:
            raise KdfError('nonce length')
        out.append(n)
        out.extend(nonce_u)
    out.extend(party_v)
    return bytes(out)


def agree(curve, d, peer_public):
    """Z, the shared secret of ECC CDH: x(d * peer_public), curve.size bytes (dlms_pk.ec; the
    peer's key, X||Y, 04||X||Y or (x, y), is validated first: ECError when it is not a point)."""
    return ec.shared_secret(curve, d, peer_public)


def agreed_key(curve, d, peer_public, other_info, key_len):
    """kdf(curve's hash, agree(curve, d, peer_public), other_info, key_len): the key agreed with
    the peer (P-256: SHA-256, suite 1; P-384: SHA-384, suite 2). Z does not leave this call."""
    return kdf(curve.hash, ec.shared_secret(curve, d, peer_public), other_info, key_len)
