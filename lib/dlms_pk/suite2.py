# Security suite 2 (ECDH-ECDSA-AES-GCM-256-SHA-384): the ciphering of suite 0 (the same
# envelopes, IV = system title || IC, AAD SC || AK, 12-byte tags; dlms/suite0.py) with AES-256:
# EK and AK (and the dedicated key) of 32 bytes, so the AAD SC || AK is 33 bytes; the suite
# nibble 2 in every SC byte; and the suite's public-key algorithms: ECDSA and ECDH on P-384 with
# SHA-384 (dlms_pk/ec.py), the concatenation KDF with SHA-384 (dlms_pk/kdf.py), AES-256 key wrap
# (dlms/keywrap.py, any KEK of 16 or 32 bytes).
# The suite interface of dlms/security.suite(): ID, KEY_LEN, Keys, protect, unprotect, seal,
# open_content, gmac, gmac_verify; and CURVE for the suite's signatures and key agreement.
# Keys of another length are refused with SecurityError (a ValueError): Keys(16-byte keys), and
# of_suite between these Keys and those of suite 0 or 1 either way.
from dlms._compat import const
from dlms import suite0
from dlms.suite0 import (protect, unprotect, seal, open_content, gmac,  # noqa: F401
                         gmac_verify)
from dlms_pk import ec

ID = const(2)
KEY_LEN = const(32)
CURVE = ec.P384


class Keys(suite0.Keys):
    SUITE = ID
    KEY_SIZE = KEY_LEN
