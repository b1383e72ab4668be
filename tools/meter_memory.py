"""Heap figures of the meter under the MicroPython unix port (make bench, the memory test).

The meter runs from compiled .mpy files, as on a board deployed with `make deploy` (boards/host
profile, x64 for the viper code), inside a `-X heapsize` heap, and the Gurux client runs the
management session of tests/hil/sessions.py (HLS-GMAC, authenticated and encrypted, ten GETs,
object_list in blocks) against it.

What the unix port can and cannot show: it loads every module's bytecode into the GC heap (a
board with the modules frozen into its firmware, or in a ROMFS partition, runs them from flash),
and its objects have 64-bit pointers (a board's have 32). So the meter reports the heap in use
right after its imports (`heap: N bytes in use after imports`, after gc.collect()): that is the
code. The figure that matters for a board is what the meter needs beyond it: its own data (keys,
GCM tables, objects, store records, asyncio, sockets) plus the session's working memory.

    code_footprint(tree)            heap in use after the imports (bytes)
    session_fits(tree, heap)        (True/False, meter output): the session in that heap
    smallest_heap(tree, lo, hi)     the smallest heap (bytes, to `step`) in which it succeeds
"""
import contextlib
import io
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'tests')):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mpy_build  # noqa: E402
from sim_process import VirtualMeter  # noqa: E402

_AFTER_IMPORTS = re.compile(r'\[meter\] heap: (\d+) bytes in use after imports')


def build_tree(out, romfs=False):
    """The host board's filesystem, compiled (x64 for viper), and a launcher that puts only it
    on the path. With `romfs` the modules are packed into a ROMFS image (mpremote's builder)
    that the launcher mounts with vfs.VfsRom, so that their bytecode runs in place from the
    image, as from a board's ROMFS partition; the image itself has to sit in the heap here.
    Returns the launcher's path."""
    mpy_build.build_board('host', out)
    launcher = os.path.join(out, 'launch.py')
    lib = os.path.join(out, 'lib')
    if romfs:
        from mpremote.romfs import make_romfs
        image = os.path.join(out, 'lib.romfs')
        with contextlib.redirect_stdout(io.StringIO()):       # it prints the tree
            data = make_romfs(lib, mpy_cross=False)
        with open(image, 'wb') as f:
            f.write(data)
        code = ('import sys, vfs\nf = open(%r, "rb")\nimage = f.read()\nf.close()\n'
                'vfs.mount(vfs.VfsRom(image), "/rom")\nsys.path[:] = [".frozen", "/rom"]\n'
                % image)
    else:
        code = 'import sys\nsys.path[:] = [".frozen", %r]\n' % lib
    with open(launcher, 'w') as f:
        f.write(code + 'import %s\n' % mpy_build.MAIN_MODULE)
    return launcher


class CompiledMeter(VirtualMeter):
    """The virtual meter run from a tree made by build_tree()."""

    def __init__(self, launcher, **kw):
        VirtualMeter.__init__(self, **kw)
        self.launcher = launcher

    def command(self):
        cmd = VirtualMeter.command(self)
        i = cmd.index(os.path.join(ROOT, 'firmware', 'main.py'))
        cmd[i] = self.launcher
        return cmd


def code_footprint(launcher):
    with CompiledMeter(launcher) as m:
        found = _AFTER_IMPORTS.search(m.output())
    if not found:
        raise RuntimeError('the meter did not report its heap:\n' + m.output())
    return int(found.group(1))


def session_fits(launcher, heap):
    """Run the management session against a meter with `heap` bytes of heap: (ok, output)."""
    from hil.sessions import Credentials, management_session
    m = CompiledMeter(launcher, heap=str(heap))
    try:
        m.start()
    except RuntimeError as e:
        return False, str(e)
    try:
        creds = Credentials(ic_start=1000)
        with contextlib.redirect_stdout(io.StringIO()):     # gurux prints per APDU
            summary = management_session(_Target(m), creds)
        ok = (summary['gets'] == 10 and summary['object_list_blocks'] >= 2 and m.alive()
              and 'MemoryError' not in m.output())
    except Exception:
        ok = False
    finally:
        m.stop()
    return ok, m.output()


class _Target:
    """A hil.sessions target over a meter already running."""

    def __init__(self, meter):
        self.meter = meter

    def session(self, sap, **kw):
        from hil.sessions import GuruxSession
        s = GuruxSession('127.0.0.1', self.meter.port, sap, **kw)
        s.connect()
        return s

    def end(self, s):
        s.close()


def smallest_heap(launcher, lo, hi, step=1024):
    """Binary search between lo (fails) and hi (succeeds) to `step` bytes."""
    if not session_fits(launcher, hi)[0]:
        raise RuntimeError('the session fails even with %d bytes of heap' % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if mid <= lo:
            break
        if session_fits(launcher, mid)[0]:
            hi = mid
        else:
            lo = mid
    return hi
