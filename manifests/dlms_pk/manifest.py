metadata(description="Public-key security for dlms: P-256/P-384 ECDSA and ECDH, SHA-384, X.509, "
         "suite 1, HLS-ECDSA", version="0.4.0")
require("dlms", library="meter")
package("dlms_pk", base_path="../../lib")
