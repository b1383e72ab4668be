# Security setup (class 64) methods 3..8 and attribute 6 of a suite 1/2 setup, with the optional
# public-key package: key_agreement (3), the A-XDR parameters of generate_key_pair (4),
# generate_certificate_request (5), import_certificate (6), export_certificate (7),
# remove_certificate (8) and the certificates list, on the certificate store (certstore.py).
# dlms/cosem/security_setup.py calls in here only when its setup has a store, so a board without
# the package carries none of this.
#
# key_agreement: the Ephemeral Unified Model C(2e,0s) (dlms-public-key.md 3.1, 3.4), the layout
# Gurux uses (the only one public): request array of {key_id enum, X_eU || Y_eU || Sig_U}, Sig_U
# the client's ECDSA over key_id || X_eU || Y_eU, verified with the client's digital-signature
# certificate (its calling AP-title, this setup's certificate store); answer the same with the
# meter's fresh ephemeral key, signed with its own digital-signature key. New key = KDF(Z =
# ECDH(d_eV, Q_eU), AlgorithmID || STc || STs), truncated to the setup's key length. Decided
# where the reference leaves it open (its 9.3): the AlgorithmID names what the key is for:
# AES-GCM-128/256 (2.16.756.5.8.3.0/1) for EK, BK and AK, AES-WRAP-128/256 (.2/.3) for the KEK
# (Gurux uses .0 for every key; for EK/BK/AK on suite 1 that is the same). Every element is
# checked before anything is computed into the keystore; the keys are installed together, with
# fresh counters, and apply after the response, which goes under the old keys. Z, the
# ephemeral private key and the new keys are never kept, logged or returned.
from dlms import axdr, events, security
from dlms.cosem.base import SUCCESS, READ_WRITE_DENIED, TYPE_UNMATCHED, TEMPORARY_FAILURE, \
    OTHER_REASON


def certificates(pki):
    """Attribute 6: array of {entity, type, serial, issuer, subject, subject_alt_name}."""
    return axdr.array([axdr.structure(axdr.enum(e[0]), axdr.enum(e[1]), axdr.octets(e[2]),
                                      axdr.octets(e[3]), axdr.octets(e[4]), axdr.octets(e[5]))
                       for e in pki.entries()])


# the certificate store's OK / REFUSED / NOT_FOUND / STORE as action-results
_PK_RESULT = (SUCCESS, OTHER_REASON, OTHER_REASON, TEMPORARY_FAILURE)


def _selector(param):
    # export/remove_certificate: structure {0, structure {entity, type, system title}} or
    # structure {1, structure {serial, issuer}}; None when it is neither
    if param is None or param[0] != axdr.STRUCTURE or len(param[1]) != 2:
        return None
    kind, inner = param[1]
    if kind[0] != axdr.ENUM or inner[0] != axdr.STRUCTURE:
        return None
    v = inner[1]
    if kind[1] == 0 and len(v) == 3 and v[0][0] == axdr.ENUM and v[1][0] == axdr.ENUM and \
            v[2][0] == axdr.OCTET_STRING:
        return 0, v[0][1], v[1][1], bytes(v[2][1])
    if kind[1] == 1 and len(v) == 2 and v[0][0] == axdr.OCTET_STRING and \
            v[1][0] == axdr.OCTET_STRING:
        return 1, bytes(v[0][1]), bytes(v[1][1])
    return None


_KEY_NAMES = ('ek', 'bk', 'ak', 'kek')     # key_id 0..3 (global key type)


def _key_agreement(ss, param, ctx):
    pki = ss.pki
    suite = security.suite(ss.security_suite)
    curve = suite.CURVE
    manager = ss.manager
    client = ctx.client_system_title if ctx is not None else None
    if param is None or param[0] != axdr.ARRAY or not 1 <= len(param[1]) <= 4:
        return TYPE_UNMATCHED, None
    if manager is None or client is None:
        return READ_WRITE_DENIED, None
    size = curve.size
    items = []
    seen = 0
    for item in param[1]:
        if item[0] != axdr.STRUCTURE or len(item[1]) != 2:
            return TYPE_UNMATCHED, None
        kid, data = item[1]
        if kid[0] != axdr.ENUM or data[0] != axdr.OCTET_STRING:
            return TYPE_UNMATCHED, None
        k = kid[1]
        data = bytes(data[1])
        if k > 3 or seen & (1 << k) or len(data) != 4 * size:
            return _failed(ss, 'key id %d: malformed' % k)
        seen |= 1 << k
        items.append((k, data))
    from dlms_pk import ec, kdf
    client_pub = pki.peer_key(client, 0, curve)     # the client's signature key, re-checked
    own = pki.own_key(0, curve)
    if client_pub is None or own is None:
        return _failed(ss, 'no valid certificate' if client_pub is None else 'no signing key')
    # every client element verified, its point valid, before any key is derived
    for k, data in items:
        q = data[:2 * size]
        try:
            ec.decode_point(curve, q)      # on the curve, in range (validated again in ECDH)
            if not ec.verify(curve, client_pub, bytes((k,)) + q, data[2 * size:]):
                return _failed(ss, 'key id %d: signature' % k)
        except ec.ECError:
            return _failed(ss, 'key id %d: not a point of the curve' % k)
    rng = pki.rng
    new = {}
    answer = []
    key_len = manager.key_length
    wide = 1 if key_len == 32 else 0
    for k, data in items:
        d_e, q_e = ec.generate_keypair(curve, rng)
        if k == 3:
            alg = kdf.ALG_AES_WRAP_256 if wide else kdf.ALG_AES_WRAP_128
        else:
            alg = kdf.ALG_AES_GCM_256 if wide else kdf.ALG_AES_GCM_128
        new[_KEY_NAMES[k]] = kdf.agreed_key(curve, d_e, data[:2 * size],
                                            kdf.other_info(alg, client, ss.server_system_title),
                                            key_len)
        d_e = None                      # Z never left agreed_key
        sig = ec.sign(curve, own, bytes((k,)) + q_e, rng(32))
        answer.append(axdr.structure(axdr.enum(k), axdr.octets(q_e + sig)))
    result = ctx.key_agreement(manager, new)
    new = None
    if result != 0:
        return TEMPORARY_FAILURE if result == 3 else OTHER_REASON, None
    return SUCCESS, axdr.array(answer)


def _failed(ss, why):
    # a refused agreement: nothing changed; a security event (never with key material)
    ss.pki.ks.event(events.KEY_AGREEMENT_FAILED, why)
    return OTHER_REASON, None


def invoke(ss, method, param, ctx=None):
    """Methods 3..8 of the Security setup `ss` (its pki, title and suite; `ctx` the
    association's view): (result, data)."""
    pki = ss.pki
    title = ss.server_system_title
    if method == 3:
        return _key_agreement(ss, param, ctx)
    if method in (4, 5):                  # generate_key_pair, generate_certificate_request
        if param is None or param[0] != axdr.ENUM:
            return TYPE_UNMATCHED, None
        if method == 4:
            curve = security.suite(ss.security_suite).CURVE
            return _PK_RESULT[pki.generate_key_pair(param[1], curve)], None
        req = pki.certificate_request(param[1], title)
        if req is None:
            return OTHER_REASON, None
        return SUCCESS, axdr.octets(req)
    if method == 6:                       # import_certificate
        if param is None or param[0] != axdr.OCTET_STRING:
            return TYPE_UNMATCHED, None
        return _PK_RESULT[pki.import_certificate(bytes(param[1]), title)[0]], None
    if method in (7, 8):                  # export_certificate, remove_certificate
        sel = _selector(param)
        if sel is None:
            return TYPE_UNMATCHED, None
        if method == 7:
            der = pki.export_certificate(sel, title)
            if der is None:
                return OTHER_REASON, None
            return SUCCESS, axdr.octets(der)
        return _PK_RESULT[pki.remove_certificate(sel, title)], None
    return READ_WRITE_DENIED, None
