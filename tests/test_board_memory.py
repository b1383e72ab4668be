"""Heap: a whole management session (HLS-GMAC, every APDU authenticated and encrypted, ten GETs,
object_list in blocks) succeeds against the meter when it has 64 KiB of heap beyond its code.

The meter runs from compiled .mpy files under the MicroPython unix port with `-X heapsize` set to
the heap its imports take (it reports that at boot, after gc.collect()) plus 64 KiB: all of the
meter's own data (keystore, GCM tables, objects, asyncio, sockets) and the session must fit in
those 64 KiB. The unix port loads bytecode into the heap, which a board with frozen modules does
not, so the code is counted apart; see README.md, "Memory" (tools/meter_memory.py)."""
import os
import subprocess
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, 'tools'))

import meter_memory  # noqa: E402

KIB = 1024


def test_management_session_fits_in_64_kib_of_heap_beyond_the_code(tmp_path):
    launcher = meter_memory.build_tree(str(tmp_path / 'tree'))
    code = meter_memory.code_footprint(launcher)
    ok, out = meter_memory.session_fits(launcher, code + 64 * KIB)
    assert ok, out
    assert '[meter] ready' in out and 'MemoryError' not in out
    # the limit is real: with a quarter of that the meter cannot do it
    ok, out = meter_memory.session_fits(launcher, code + 16 * KIB)
    assert not ok, out


def test_hls_ecdsa_session_fits_in_64_kib_of_heap_beyond_the_code(tmp_path):
    """The same session as HLS-ECDSA on suite 1 (SAP 2), with the public-key part (its modules
    counted as code): the meter's data with its certificates and key pairs, the certificate and
    pass 3 verifications and the pass 4 signature fit (make bench: about 46 KiB, target 48)."""
    launcher = meter_memory.build_tree(str(tmp_path / 'tree'), with_=('pk',), sap=2)
    state = meter_memory.enrolled_state(launcher, str(tmp_path / 'state'))
    code = meter_memory.code_footprint(launcher, public_key=True)
    ok, out = meter_memory.session_fits(launcher, code + 64 * KIB, 2, state)
    assert ok, out
    assert 'SAP 2 HLS-ECDSA (suite 1)' in out and 'MemoryError' not in out
    ok, out = meter_memory.session_fits(launcher, code + 24 * KIB, 2, state)
    assert not ok, out


def test_sim_heap_sets_the_micropython_heap():
    proc = subprocess.run(['make', '-n', 'sim', 'SIM_HEAP=64K'], cwd=_ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    assert b'-X heapsize=64K firmware/main.py' in proc.stdout, proc.stdout
