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

With the public-key part (build_tree(..., with_=('pk',)), sap=2, state=enrolled_state(...)):
the same session as HLS-ECDSA on suite 1 (SAP 2), the dlms_pk modules imported before the
meter's own so that they count as code.
"""
import contextlib
import io
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'tests')):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mpy_build  # noqa: E402
from sim_process import VirtualMeter  # noqa: E402

_PK_CONFIG = os.path.join(ROOT, 'tools', 'meter_memory_pk.json')
_AFTER_IMPORTS = re.compile(r'\[meter\] heap: (\d+) bytes in use after imports')


_PROBE = """import asyncio
async def _probe():
    while True:
        await asyncio.sleep_ms(200)
        print('[probe] ' + ' '.join(sorted(sys.modules)))
asyncio.create_task(_probe())
"""


def build_tree(out, romfs=False, with_=(), sap=1):
    """The host board's filesystem, compiled (x64 for viper), and a launcher that puts only it
    on the path. With `romfs` the modules are packed into a ROMFS image (mpremote's builder)
    that the launcher mounts with vfs.VfsRom, so that their bytecode runs in place from the
    image, as from a board's ROMFS partition; the image itself has to sit in the heap here.
    `with_`: optional packages (('pk',): the public-key part, for the HLS-ECDSA session, `sap`
    2).

    Code is code wherever the meter imports it: the launcher imports, before the meter's own
    imports, every module the meter has loaded by the end of that session (found by a first run
    that lists sys.modules), so that the meter's `after imports` figure holds all the code and
    `beyond the code` only data. (On a board that code would be frozen in flash.)
    Returns the launcher's path."""
    if 'pk' in with_ and 'ca' not in with_:
        with_ = tuple(with_) + ('ca',)       # the demo CA of the first start (demo_enroll)
    mpy_build.build_board('host', out, with_=with_)
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
    if 'pk' in with_:        # the demo PKI beside demo_enroll (boards/host), as in the repository
        import shutil
        shutil.copytree(os.path.join(ROOT, 'tools', 'demo_pki'), os.path.join(lib, 'demo_pki'))
    main = 'import %s\n' % mpy_build.MAIN_MODULE
    with open(launcher, 'w') as f:
        f.write(code + _PROBE + main)
    loaded = _loaded_modules(launcher, sap)
    with open(launcher, 'w') as f:
        # as main.py does first (collecting as the loader goes keeps the heap unfragmented)
        f.write(code + 'import gc\ngc.threshold(8192)\n' +
                ''.join('import %s\n' % m for m in loaded) + main)
    return launcher


def _loaded_modules(launcher, sap):
    """The tree's modules loaded once the meter has served the session (the probe's last list
    after it), in the order of the list (packages before their modules)."""
    m = CompiledMeter(launcher, config=_PK_CONFIG if sap in (2, 4) else None)
    ok, out = _session(m, sap, wait=0.5)
    if not ok:
        raise RuntimeError('probe run failed:\n' + out)
    lists = [ln.split()[1:] for ln in out.splitlines() if ln.startswith('[probe] ')]
    if not lists:
        raise RuntimeError('probe printed nothing:\n' + out)
    skip = (mpy_build.MAIN_MODULE, '__main__')
    return [n for n in lists[-1] if n not in skip and not n.startswith('asyncio')]


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


def code_footprint(launcher, public_key=False):
    with CompiledMeter(launcher, config=_PK_CONFIG if public_key else None) as m:
        found = _AFTER_IMPORTS.search(m.output())
    if not found:
        raise RuntimeError('the meter did not report its heap:\n' + m.output())
    return int(found.group(1))


def _server_signing_key(state_dir, record='certificates'):
    """The meter's signing public key, from its own certificate in the state directory's
    certificates record (public data: what export_certificate would give; the suite 2 setup's
    is in 'certificates_s2')."""
    sys.path.insert(0, os.path.join(ROOT, 'lib'))
    from binascii import unhexlify
    from dlms.store import Store
    from dlms_pk import x509
    for entity, key_type, der in Store(state_dir).load(record, True)['certs']:
        if entity == 0 and key_type == 0:
            return x509.parse(unhexlify(der)).public_key
    raise RuntimeError('the meter has no signing certificate')


def enrolled_state(launcher, out):
    """A state directory in `out` whose demo enrolment (key pairs made, certificates issued by
    the demo CA: what the virtual meter does at its first start) is done, with a large heap, so
    that the heap search measures the session, not the one-time enrolment."""
    with CompiledMeter(launcher, config=_PK_CONFIG, state_dir=out) as m:
        if 'demo public-key material' not in m.output():
            raise RuntimeError('no demo enrolment:\n' + m.output())
    return out


def session_fits(launcher, heap, sap=1, state=None):
    """Run the management session (SAP 1, HLS-GMAC; SAP 2: HLS-ECDSA, suite 1, which needs a
    tree built with_=('pk',)) against a meter with `heap` bytes of heap: (ok, output). `state`:
    a state directory to start from (a copy of it is used)."""
    import shutil
    import tempfile
    kw = {}
    if sap in (2, 4):       # the public-key part even in a small heap (not left out for room)
        kw['config'] = _PK_CONFIG
    tmp = None
    if state is not None:
        tmp = tempfile.mkdtemp(prefix='meter-memory-')
        kw['state_dir'] = os.path.join(tmp, 'state')
        shutil.copytree(state, kw['state_dir'])
    m = CompiledMeter(launcher, heap=str(heap), **kw)
    try:
        return _session(m, sap)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _suite2_session(m):
    """The management session on SAP 4 (HLS-ECDSA P-384, suite 2): Gurux cannot sign with P-384
    (tests/interop/test_suite2.py), so the thin client on `cryptography` does it, with the same
    ten GETs and the object_list in blocks (a client max PDU of 128)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from interop.raw_client import RawClient, sign_raw, verify_raw
    import dlms_client as dc
    pub = _server_signing_key(m.state_dir, 'certificates_s2')
    server = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP384R1(), b'\x04' + pub)
    with open(os.path.join(ROOT, 'tools', 'demo_pki', 'client-sign-p384.key.pem'), 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    c = RawClient(m.port, 4, 2)
    try:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(48), max_pdu=128)
        assert a.result == 0
        result, f = c.pass3(sign_raw(key, c.ecdsa_pass3_message()))
        assert result == 0
        verify_raw(server, c.ecdsa_pass4_message(), f)
        gets = 0
        for cid, ln, attr in ((1, '0.0.42.0.0.255', 1), (1, '0.0.42.0.0.255', 2),
                              (8, '0.0.1.0.0.255', 2), (8, '0.0.1.0.0.255', 3),
                              (3, '1.0.1.8.0.255', 3), (3, '1.0.1.8.0.255', 2),
                              (15, '0.0.40.0.0.255', 2), (64, '0.0.43.0.2.255', 2),
                              (64, '0.0.43.0.2.255', 3), (64, '0.0.43.0.2.255', 4)):
            before = len(c.server_ics)
            v = c.get(cid, ln, attr)
            assert v[0] != 'error', (cid, ln, attr, v)
            if cid == 15:
                blocks = len(c.server_ics) - before
            gets += 1
        assert c.release() == 0
        return {'gets': gets, 'object_list_blocks': blocks}
    finally:
        c.close()


def _session(m, sap, wait=0):
    from hil.sessions import Credentials, management_session
    try:
        m.start()
    except RuntimeError as e:
        return False, str(e)
    try:
        creds = Credentials(ic_start=1000)
        extra = {}
        if sap == 2:
            extra['server_public_key'] = _server_signing_key(m.state_dir)
        if sap == 4:
            summary = _suite2_session(m)
        else:
            with contextlib.redirect_stdout(io.StringIO()):     # gurux prints per APDU
                summary = management_session(_Target(m), creds, sap=sap, **extra)
        time.sleep(wait)                # a probe run: its list after the session
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


def smallest_heap(launcher, lo, hi, step=1024, sap=1, state=None):
    """Binary search between lo (fails) and hi (succeeds) to `step` bytes."""
    if not session_fits(launcher, hi, sap, state)[0]:
        raise RuntimeError('the session fails even with %d bytes of heap' % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if mid <= lo:
            break
        if session_fits(launcher, mid, sap, state)[0]:
            hi = mid
        else:
            lo = mid
    return hi
