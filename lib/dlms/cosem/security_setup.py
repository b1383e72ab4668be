# Security setup, class_id 64, version 0 (0.0.43.0.e.255): security policy and suite of the
# associations that reference it, and the two system titles. Key material is never an attribute.
# Methods security_activate (1) and key_transfer (2) belong to key management (not here yet):
# they answer read-write-denied.
from dlms import axdr
from dlms.cosem.base import CosemObject, READ_WRITE_DENIED


class SecuritySetup(CosemObject):
    class_id = 64
    version = 0
    attribute_count = 5
    method_count = 2

    def __init__(self, logical_name, server_system_title, security_policy=0, security_suite=0):
        CosemObject.__init__(self, logical_name)
        self.server_system_title = bytes(server_system_title)
        self.security_policy = security_policy
        self.security_suite = security_suite

    def get_attribute(self, attr, ctx):
        if attr == 2:
            return axdr.enum(self.security_policy)
        if attr == 3:
            return axdr.enum(self.security_suite)
        if attr == 4:
            st = ctx.client_system_title
            return axdr.octets(st if st is not None else b'')
        if attr == 5:
            return axdr.octets(self.server_system_title)
        return CosemObject.get_attribute(self, attr, ctx)

    def set_attribute(self, attr, value, ctx):
        return READ_WRITE_DENIED
