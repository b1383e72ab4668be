# Association LN, class_id 15, version 1 (0.0.40.0.0.255 = the current association).
# What it shows comes from the association it is read in (`ctx`, the session's
# AssociationView): object_list (only the objects the association grants, with its access
# rights), partners, context, xDLMS info, mechanism, status and the security setup reference.
# The secret is write-only (through ctx.change_secret), never readable by anyone. Method 1
# reply_to_HLS_authentication is HLS pass 3: while it is pending, dlms/authentication.py answers
# it before any object is asked; once associated there is nothing to reply to (denied). Method 2
# change_HLS_secret changes the secret of HLS-SHA256 (ctx.change_secret, persisted).
from dlms._compat import const
from dlms import axdr
from dlms.cosem.base import (CosemObject, READ_WRITE_DENIED, TYPE_UNMATCHED, READ, WRITE,
                             AUTH_REQUEST, ENC_REQUEST, INVOKE)


def _oid(arc, last):
    # 2.16.756.5.8.<arc>.<last> as a structure of 7 (joint-iso-ccitt .. id)
    return axdr.structure(axdr.u8(2), axdr.u8(16), axdr.u16(756), axdr.u8(5), axdr.u8(8),
                          axdr.u8(arc), axdr.u8(last))


# A-XDR tags of the object_list (axdr's, inlined here)
_NULL = const(0)
_ARRAY = const(1)
_STRUCTURE = const(2)
_OCTET_STRING = const(9)
_UNSIGNED = const(17)
_ENUM = const(22)
# structure of 4, class_id tag / structure of 3, attribute_id tag / structure of 2, method_id tag
_ENTRY_HEAD = b'\x02\x04\x12'
_ITEM_HEAD = b'\x02\x03\x0f'
_METHOD_HEAD = b'\x02\x02\x0f'


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
        # Encoded straight to A-XDR (no tree of typed values: the list is the largest answer):
        # array of structure {class_id u16, version u8, logical_name octet-string(6),
        # access_rights structure {array of {attribute_id i8, access_mode enum, selectors null},
        # array of {method_id i8, access_mode enum}}}.
        granted = ctx.granted_objects()
        size = 4
        for entry in granted:
            if len(entry[1]) > 127 or len(entry[2]) > 127:
                raise axdr.AxdrError('ids are integer (i8)')
            size += 25 + 7 * len(entry[1]) + 6 * len(entry[2])
        out = bytearray(size)
        out[0:size] = b''               # room reserved: the appends below do not reallocate
        a = out.append
        a(_ARRAY)
        axdr.encode_length(len(granted), out)
        for obj, attr_modes, method_modes in granted:
            cid = obj.class_id
            out.extend(_ENTRY_HEAD)
            a(cid >> 8)
            a(cid & 0xFF)
            a(_UNSIGNED)
            a(obj.version)
            a(_OCTET_STRING)
            a(6)
            out.extend(obj.logical_name)
            a(_STRUCTURE)
            a(2)
            a(_ARRAY)
            axdr.encode_length(len(attr_modes), out)
            i = 1
            for m in attr_modes:
                out.extend(_ITEM_HEAD)
                a(i)
                a(_ENUM)
                a(attribute_mode_v1(m))
                a(_NULL)
                i += 1
            a(_ARRAY)
            axdr.encode_length(len(method_modes), out)
            i = 1
            for m in method_modes:
                out.extend(_METHOD_HEAD)
                a(i)
                a(_ENUM)
                a(method_mode_v1(m))
                i += 1
        return axdr.raw(out)

    def set_attribute(self, attr, value, ctx):
        if attr == 7:
            if value[0] != axdr.OCTET_STRING:
                return TYPE_UNMATCHED
            return ctx.change_secret(value[1])
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        if method == 2:                   # change_HLS_secret (HLS-SHA256): octet-string
            if param is None or param[0] != axdr.OCTET_STRING:
                return TYPE_UNMATCHED, None
            return ctx.change_secret(param[1]), None
        return READ_WRITE_DENIED, None
