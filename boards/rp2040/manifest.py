# Freezes the meter into a custom MicroPython firmware for this board: its bytecode then runs
# from flash instead of being loaded into the heap (see README.md, "Memory"). From a MicroPython
# source tree with the ARM GCC toolchain set up:
#     cd ports/rp2
#     make BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/this/repo/boards/rp2040/manifest.py
# Flash that firmware, then put on the filesystem only firmware/main.py (as main.py) and, if
# wanted, config.json:  mpremote cp firmware/main.py :main.py
# main.py is left out on purpose: a frozen main.py would always run at boot, and renaming the
# file (what `make halt` does) is the way to reach the REPL while the watchdog is not running.
# The module list is that of `make deploy BOARD=rp2040` (DEPLOY_EXCLUDE of board.py left out);
# manifest_pk.py beside this file adds the public-key part (WITH=pk);
# tests/test_board_packaging.py checks both. Relative paths are relative to this file.
include("$(PORT_DIR)/boards/manifest.py")
add_library("meter", "../../manifests")
require("dlms", library="meter")
module("config.py", base_path="../../firmware")
module("meter.py", base_path="../../firmware")
module("ports.py", base_path="../../firmware")
module("supervisor.py", base_path="../../firmware")
package("transports", base_path="../../firmware",
        files=["__init__.py", "hdlc_serve.py", "uart.py"])
module("board.py")
