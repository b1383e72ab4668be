# Security suite 1 (ECDH-ECDSA-AES-GCM-128-SHA-256): the ciphering of suite 0 (AES-GCM-128, the
# same envelopes and 12-byte tags, dlms/suite0.py) with the suite nibble 1 in every SC byte, and
# the suite's public-key algorithms: ECDSA and ECDH on P-256 with SHA-256 (dlms_pk/ec.py).
# The suite interface of dlms/security.suite(): ID, KEY_LEN, Keys, protect, unprotect, seal,
# open_content, gmac, gmac_verify; and CURVE for the suite's signatures and key agreement.
from dlms._compat import const
from dlms import suite0
from dlms.suite0 import (protect, unprotect, seal, open_content, gmac,  # noqa: F401
                         gmac_verify)
from dlms_pk import ec

ID = const(1)
KEY_LEN = const(16)
CURVE = ec.P256


class Keys(suite0.Keys):
    SUITE = ID
