"""make bench: speed, heap and size figures of the meter. Printed, never asserted.

- secured GET round trips per second (HLS-GMAC, authenticated and encrypted) beside public ones,
  against the virtual meter under MicroPython, with the same Gurux client; target: secured >= 80%
  of public;
- GCM cost per 64-byte and 1 KiB APDU under the MicroPython unix port and under CPython, beside
  `cryptography`; target: MicroPython 64 B within 100x of cryptography under CPython;
- the smallest heap in which a whole management session (HLS-GMAC, authenticated and encrypted,
  ten GETs, object_list in blocks) still succeeds, under the MicroPython unix port, the meter
  running from .mpy files (tools/meter_memory.py): total, the code's share, and what is needed
  beyond the code (the figure for a board with frozen modules; target 32 KiB);
- the total size of the compiled .mpy files a board gets (make deploy); target 96 KiB.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, 'lib'))

from sim_process import VirtualMeter, MICROPYTHON  # noqa: E402

ROUND_TRIPS = 300
_IC = iter(range(1000, 1 << 31, 100000))   # fresh meter: each session starts above the last


_GET_CLOCK = bytes.fromhex('C001C100080000010000FF0200')


def _check(aes, iv, reply):
    # 12-byte tags: cryptography wants 16, so recompute the tag over the ciphertext and compare
    from interop.gurux_session import DEMO_AK
    body = reply[7:-12]
    pt = _ctr_decrypt(aes, iv, body)
    ct_tag = aes.encrypt(iv, pt, b'\x30' + DEMO_AK)
    if ct_tag[-16:-4] != reply[-12:]:
        raise AssertionError('bad tag in reply')
    return pt


def _ctr_decrypt(aes, iv, body):
    # GCM encryption is its own inverse on the ciphertext part
    return aes.encrypt(iv, body, b'')[:-16]


def round_trips(port, sap, raw):
    """GET clock.time round trips per second. The association is made by the Gurux client;
    with raw=True the GETs are then sent by a thin client whose AES-GCM is `cryptography`, so the
    figure measures the meter and not Gurux's pure-Python GCM (raw=False: Gurux end to end)."""
    import contextlib
    import io
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from interop.gurux_session import (GuruxSession, make_object, DEMO_EK, DEMO_AK,
                                       CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE)
    kw = {}
    if sap == 1:
        kw = dict(authentication='hls-gmac', ciphered=True,
                  invocation_counter=next(_IC))
    s = GuruxSession('127.0.0.1', port, sap, verify_replies=not raw, **kw)
    s.connect()
    aes = AESGCM(DEMO_EK)
    with contextlib.redirect_stdout(io.StringIO()):   # gurux prints on every ciphered APDU
        s.associate()
        clock = make_object(8, '0.0.1.0.0.255')
        s.read(clock, 2)
        ic = s.invocation_counter
        t0 = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            if not raw:
                s.read_raw_value(clock, 2)
            elif sap == 1:
                iv = CLIENT_SYSTEM_TITLE + ic.to_bytes(4, 'big')
                ct = aes.encrypt(iv, _GET_CLOCK, b'\x30' + DEMO_AK)
                body = b'\x30' + ic.to_bytes(4, 'big') + ct[:-4]
                reply = s.exchange_raw(bytes((0xC8, len(body))) + body)
                assert reply[0] == 0xCC, reply.hex()
                # the thin client checks every reply: server title, reply IC, tag
                riv = SERVER_SYSTEM_TITLE + reply[3:7]
                _check(aes, riv, reply)
                ic += 1
            else:
                assert s.exchange_raw(_GET_CLOCK)[0] == 0xC4
        dt = time.perf_counter() - t0
        if raw and sap == 1:
            s.invocation_counter = ic
        s.release()
    s.close()
    return ROUND_TRIPS / dt


def gcm_figures():
    figures = {}
    env = dict(os.environ)
    env['MICROPYPATH'] = '.frozen:' + os.path.join(ROOT, 'lib')
    env['PYTHONPATH'] = os.path.join(ROOT, 'lib')
    script = os.path.join(ROOT, 'tools', 'bench_gcm.py')
    for cmd in ([MICROPYTHON, script], [sys.executable, script]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[0] == 'gcm':
                figures[(parts[1], parts[2], parts[3])] = float(parts[4])
    return figures


def main():
    print('== secured vs public GET round trips (virtual meter, MicroPython unix port) ==')
    with VirtualMeter() as vm:
        for raw, label in ((True, 'thin client, cryptography GCM'),
                           (False, 'Gurux client end to end, its own pure-Python GCM')):
            public = round_trips(vm.port, 16, raw)
            secured = round_trips(vm.port, 1, raw)
            print('-- %s' % label)
            print('public  (SAP 16, no security)          %8.0f GET/s' % public)
            print('secured (SAP 1, HLS-GMAC, auth+enc)     %8.0f GET/s' % secured)
            print('secured / public                        %8.0f %%   (target >= 80 %%)'
                  % (100.0 * secured / public))
    print()
    print('== AES-GCM per APDU (auth+enc, 17-byte AAD) ==')
    f = gcm_figures()
    for key in sorted(f):
        print('%-12s %-18s %-4s %9.1f us' % (key[0], key[1], key[2], f[key]))
    ref = {k[2]: v for k, v in f.items() if k[0] == 'cryptography'}
    for key in sorted(f):
        if key[0] != 'cryptography' and key[2] in ref:
            print('%-12s %-18s %-4s %7.0fx cryptography' % (key[0], key[1], key[2],
                                                           f[key] / ref[key[2]]))
    print('(target: micropython 64B within 100x of cryptography)')
    print()
    memory_figures()
    print()
    size_figures()


KIB = 1024


def memory_figures():
    import meter_memory
    print('== heap: smallest for a management session (HLS-GMAC, auth+enc, 10 GETs, object_list '
          'in blocks) ==')
    print('(MicroPython unix port, x64: pointers and object headers take 8 bytes, 4 on a board)')
    with tempfile.TemporaryDirectory(prefix='bench-heap-') as tmp:
        for romfs, label in ((False, '.mpy files loaded into the heap (make deploy layout)'),
                             (True, '.mpy in a ROMFS image, run in place')):
            out = os.path.join(tmp, 'romfs' if romfs else 'mpy')
            launcher = meter_memory.build_tree(out, romfs)
            code = meter_memory.code_footprint(launcher)
            least = meter_memory.smallest_heap(launcher, code, code + 256 * KIB, 512)
            print('-- %s' % label)
            print('smallest heap for the session        %7d bytes (%5.1f KiB, -X heapsize)'
                  % (least, least / KIB))
            print('  code: in use after the imports     %7d bytes (%5.1f KiB)'
                  % (code, code / KIB))
            if romfs:
                image = os.path.getsize(os.path.join(out, 'lib.romfs'))
                print('    the ROMFS image (flash on a board) %5d bytes, module objects and '
                      'qstrs %d bytes' % (image, code - image))
            print('  needed beyond the code             %7d bytes (%5.1f KiB; target 32 KiB, '
                  'make test checks <= 64 KiB)' % (least - code, (least - code) / KIB))


def size_figures():
    import mpy_build
    print('== .mpy a board gets (make deploy: lib/, firmware/, the board profile) ==')
    with tempfile.TemporaryDirectory(prefix='bench-mpy-') as tmp:
        for board in mpy_build.BOARDS:
            for opt in (0, 3):
                _, sizes = mpy_build.build_board(board, os.path.join(tmp, '%s%d' % (board, opt)),
                                                 opt=opt)
                total = sum(n for _, n in sizes)
                print('%-7s %-10s %-27s %3d files %7d bytes (%5.1f KiB; target 96 KiB)'
                      % (board, mpy_build.ARCH[board],
                         'with -O3 (no line numbers)' if opt else 'as deployed',
                         len(sizes), total, total / KIB))


if __name__ == '__main__':
    main()
