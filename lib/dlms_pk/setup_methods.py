# Security setup (class 64) methods 4..8 and attribute 6 of a suite 1/2 setup, with the optional
# public-key package: the A-XDR parameters of generate_key_pair (4), generate_certificate_request
# (5), import_certificate (6), export_certificate (7), remove_certificate (8) and the certificates
# list, on the certificate store (certstore.py). dlms/cosem/security_setup.py calls in here only
# when its setup has a store, so a board without the package carries none of this.
from dlms import axdr, security
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


def invoke(ss, method, param):
    """Methods 4..8 of the Security setup `ss` (its pki, title and suite): (result, data)."""
    pki = ss.pki
    title = ss.server_system_title
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
    return READ_WRITE_DENIED, None        # 3 key_agreement: not yet
