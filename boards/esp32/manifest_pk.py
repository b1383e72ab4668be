# This board's firmware with the public-key part (dlms_pk: HLS-ECDSA, suite 1, certificates),
# as `make mpy BOARD=esp32 WITH=pk` builds it:
#     make BOARD=... FROZEN_MANIFEST=/path/to/this/repo/boards/esp32/manifest_pk.py
include("manifest.py")
require("dlms_pk", library="meter")
