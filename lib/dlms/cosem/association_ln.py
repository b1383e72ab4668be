# Association LN, class_id 15, version 1 (0.0.40.0.0.255 = the current association).
# What it shows comes from the session it is read in (`ctx`): object_list (only the objects the
# association grants, with its access rights), partners, context, xDLMS info, mechanism, status
# and the security setup reference. The secret is write-only: never readable by anyone.
# Method 1 reply_to_HLS_authentication hands f(StoC) to the session, which owns the HLS check.
from dlms import axdr
from dlms.cosem.base import (CosemObject, SUCCESS, READ_WRITE_DENIED, TYPE_UNMATCHED,
                             READ, WRITE, AUTH_REQUEST, ENC_REQUEST, INVOKE)


def _oid(arc, last):
    # 2.16.756.5.8.<arc>.<last> as a structure of 7 (joint-iso-ccitt .. id)
    return axdr.structure(axdr.u8(2), axdr.u8(16), axdr.u16(756), axdr.u8(5), axdr.u8(8),
                          axdr.u8(arc), axdr.u8(last))


def attribute_mode_v1(mode):
    """Internal access bits -> Association LN v0..v2 attribute access enum (0..6)."""
    rw = mode & (READ | WRITE)
    if rw == 0:
        return 0
    if mode & (AUTH_REQUEST | ENC_REQUEST):
        return rw + 3
    return rw


def method_mode_v1(mode):
    """Internal method bits -> v1 method access enum: no-access 0, access 1, authenticated 2."""
    if not mode & INVOKE:
        return 0
    return 2 if mode & (AUTH_REQUEST | ENC_REQUEST) else 1


class AssociationLN(CosemObject):
    class_id = 15
    version = 1
    attribute_count = 9
    method_count = 4

    def get_attribute(self, attr, ctx):
        if attr == 2:
            return self._object_list(ctx)
        if attr == 3:
            return axdr.structure(axdr.i8(ctx.client_sap), axdr.u16(ctx.server_sap))
        if attr == 4:
            return _oid(1, ctx.context_id)
        if attr == 5:
            c = ctx.conformance
            return axdr.structure(
                axdr.bitstring(24, bytes((c >> 16 & 0xFF, c >> 8 & 0xFF, c & 0xFF))),
                axdr.u16(ctx.server_max_pdu), axdr.u16(ctx.client_max_pdu),
                axdr.u8(6), axdr.i8(0), axdr.octets(b''))
        if attr == 6:
            return _oid(2, ctx.mechanism)
        if attr == 7:
            return READ_WRITE_DENIED          # secrets are never readable
        if attr == 8:
            return axdr.enum(ctx.association_status)
        if attr == 9:
            ref = ctx.security_setup_reference
            return axdr.octets(ref if ref is not None else bytes(6))
        return CosemObject.get_attribute(self, attr, ctx)

    def _object_list(self, ctx):
        items = []
        for obj, attr_modes, method_modes in ctx.granted_objects():
            attrs = [axdr.structure(axdr.i8(i + 1), axdr.enum(attribute_mode_v1(m)), axdr.null())
                     for i, m in enumerate(attr_modes)]
            methods = [axdr.structure(axdr.i8(i + 1), axdr.enum(method_mode_v1(m)))
                       for i, m in enumerate(method_modes)]
            items.append(axdr.structure(
                axdr.u16(obj.class_id), axdr.u8(obj.version), axdr.octets(obj.logical_name),
                axdr.structure(axdr.array(attrs), axdr.array(methods))))
        return axdr.array(items)

    def set_attribute(self, attr, value, ctx):
        if attr == 7:
            if value[0] != axdr.OCTET_STRING:
                return TYPE_UNMATCHED
            return ctx.change_secret(value[1])
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        if method == 1:
            if param is None or param[0] != axdr.OCTET_STRING:
                return TYPE_UNMATCHED, None
            reply = ctx.hls_reply(param[1])
            if reply is None:
                return READ_WRITE_DENIED, None
            return SUCCESS, axdr.octets(reply)
        return READ_WRITE_DENIED, None
