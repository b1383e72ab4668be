"""make bench: speed, heap and size figures of the meter. Printed, never asserted.

- secured GET round trips per second (HLS-GMAC, authenticated and encrypted) beside public ones,
  against the virtual meter under MicroPython, each pair with the same client: a thin client whose
  own work overlaps the meter's (the meter's figure; target: secured >= 80% of public), the same
  client one step after the other, and Gurux end to end (for reference: there the clients' own
  GCM is on the path);
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
sys.path.insert(0, os.path.join(ROOT, 'tests', 'vectors'))

from sim_process import VirtualMeter, MICROPYTHON  # noqa: E402

ROUND_TRIPS = 300
RUNS = 5                                  # the median is printed
_IC = iter(range(1000, 1 << 31, 100000))   # fresh meter: each session starts above the last


_GET_CLOCK = bytes.fromhex('C001C100080000010000FF0200')


class _ThinClient:
    """GETs of clock.time, each request made and each reply checked (server title, reply IC,
    tag) with `cryptography`'s AES-GCM, on a session the Gurux client associated."""

    def __init__(self, session, secured):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from interop.gurux_session import (DEMO_EK, DEMO_AK, CLIENT_SYSTEM_TITLE,
                                           SERVER_SYSTEM_TITLE, wrapper_frame)
        self.s = session
        self.secured = secured
        self.aes = AESGCM(DEMO_EK)
        self.aad = b'\x30' + DEMO_AK
        self.ic = session.invocation_counter
        self.titles = (CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE)
        self.wrap = wrapper_frame

    def frame(self):
        """The next request as a wrapper frame."""
        s = self.s
        apdu = _GET_CLOCK
        if self.secured:
            ic = self.ic.to_bytes(4, 'big')
            ct = self.aes.encrypt(self.titles[0] + ic, _GET_CLOCK, self.aad)
            body = b'\x30' + ic + ct[:-4]
            apdu = bytes((0xC8, len(body))) + body
            self.ic += 1
        return self.wrap(s.client_address, s.server_address, apdu)

    def check(self, reply):
        if not self.secured:
            if reply[0] != 0xC4:
                raise AssertionError(reply.hex())
            return
        if reply[0] != 0xCC:
            raise AssertionError(reply.hex())
        iv = self.titles[1] + reply[3:7]
        # 12-byte tags: cryptography wants 16, so decipher (CTR is its own inverse), recompute
        # the tag over the plaintext and compare
        pt = self.aes.encrypt(iv, reply[7:-12], b'')[:-16]
        if self.aes.encrypt(iv, pt, self.aad)[-16:-4] != reply[-12:]:
            raise AssertionError('bad tag in reply')

    def run(self, n, overlapped):
        """n round trips; seconds. overlapped: the client makes request k+1 and checks reply
        k-1 while the meter works on request k (every reply is still checked)."""
        s = self.s
        t0 = time.perf_counter()
        if overlapped:
            frame = self.frame()
            pending = None
            for _ in range(n):
                s.send_frame(frame)
                frame = self.frame()
                if pending is not None:
                    self.check(pending)
                s.recv_frame()
                pending = s.last_reply_raw
            self.check(pending)
        else:
            for _ in range(n):
                s.send_frame(self.frame())
                s.recv_frame()
                self.check(s.last_reply_raw)
        dt = time.perf_counter() - t0
        if self.secured:
            s.invocation_counter = self.ic
        return dt


def round_trips(port, sap, mode):
    """GET clock.time round trips per second (the median of RUNS runs of ROUND_TRIPS). The
    association is made by the Gurux client; mode 'gurux': Gurux sends the GETs too (its own
    pure-Python GCM); 'thin': a thin client whose AES-GCM is `cryptography`, strictly one step
    after the other; 'overlapped': the same thin client, its own work overlapped with the
    meter's (see _ThinClient.run), so the figure is the meter's and the link's."""
    import contextlib
    import io
    from interop.gurux_session import GuruxSession, make_object
    kw = {}
    if sap == 1:
        kw = dict(authentication='hls-gmac', ciphered=True,
                  invocation_counter=next(_IC))
    s = GuruxSession('127.0.0.1', port, sap, verify_replies=mode == 'gurux', **kw)
    s.connect()
    times = []
    with contextlib.redirect_stdout(io.StringIO()):   # gurux prints on every ciphered APDU
        s.associate()
        clock = make_object(8, '0.0.1.0.0.255')
        s.read(clock, 2)
        for _ in range(RUNS):
            if mode == 'gurux':
                t0 = time.perf_counter()
                for _ in range(ROUND_TRIPS):
                    s.read_raw_value(clock, 2)
                times.append(time.perf_counter() - t0)
            else:
                times.append(_ThinClient(s, sap == 1).run(ROUND_TRIPS, mode == 'overlapped'))
        s.release()
    s.close()
    times.sort()
    return ROUND_TRIPS / times[len(times) // 2]


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
        for mode, label, note in (
                ('overlapped', 'thin client, cryptography GCM, its work overlapped with the '
                               "meter's", '(target >= 80 %)'),
                ('thin', 'thin client, cryptography GCM, one step after the other',
                 "(the client's own GCM on the path)"),
                ('gurux', 'Gurux client end to end, its own pure-Python GCM',
                 "(Gurux's GCM on the path)")):
            public = round_trips(vm.port, 16, mode)
            secured = round_trips(vm.port, 1, mode)
            print('-- %s' % label)
            print('public  (SAP 16, no security)          %8.0f GET/s' % public)
            print('secured (SAP 1, HLS-GMAC, auth+enc)     %8.0f GET/s' % secured)
            print('secured / public                        %8.0f %%   %s'
                  % (100.0 * secured / public, note))
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
    print('== ECDSA and ECDH (lib/dlms_pk, tools/bench_ec.py) ==')
    ec_figures()
    print()
    association_figures()
    print()
    suite_figures()
    print()
    memory_figures()
    print()
    size_figures()


def ec_figures():
    import bench_ec
    bench_ec._cpython_main()


def _association_times(port, mechanism, runs, server_public=None, ic=1 << 21):
    """Milliseconds from the AARQ sent to pass 4 received and checked, per association, with
    the thin client (tests/interop/raw_client.py; its own GCM and ECDSA from `cryptography`)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from interop.raw_client import RawClient, sign_raw, verify_raw
    from interop.gurux_session import DEMO_AK, DEMO_EK, DEMO_PKI
    import dlms_client as dc
    key = None
    if mechanism == dc.HLS_ECDSA:
        from cryptography.hazmat.primitives import serialization
        with open(os.path.join(DEMO_PKI, 'client-sign.key.pem'), 'rb') as f:
            key = serialization.load_pem_private_key(f.read(), None)
    out = []
    for _ in range(runs):
        sap, suite = (2, 1) if key is not None else (1, 0)
        ic += 100                     # above every counter this client title used so far
        with RawClient(port, sap, suite, ic) as c:
            t0 = time.perf_counter()
            a = c.aarq(mechanism, os.urandom(32))
            assert a.result == 0, (a.result, a.diagnostic)
            if key is not None:
                f = sign_raw(key, c.ecdsa_pass3_message())
            else:                     # HLS-GMAC f(StoC) = SC || IC || GMAC(SC || AK || StoC)
                icb = c.ic.to_bytes(4, 'big')
                c.ic += 1
                f = b'\x10' + icb + AESGCM(DEMO_EK).encrypt(
                    c.title + icb, b'', b'\x10' + DEMO_AK + c.stoc)[:12]
            result, f_ctos = c.pass3(f)
            assert result == 0 and f_ctos
            if key is not None:
                verify_raw(server_public, c.ecdsa_pass4_message(), f_ctos)
            out.append((time.perf_counter() - t0) * 1000)
            c.release()
    out.sort()
    return out[len(out) // 2]


class _SuiteLoop:
    """GET clock.time round trips on an association of the thin client (raw_client.RawClient)
    under suite 0 (SAP 1, HLS-GMAC), 1 (SAP 2) or 2 (SAP 4, 32-byte keys), overlapped as
    _ThinClient does; every reply opened and checked with `cryptography`."""

    def __init__(self, port, suite, server_sign=None):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from interop.raw_client import RawClient, sign_raw, verify_raw
        from interop.gurux_session import DEMO_PKI, DEMO_EK, DEMO_AK
        import dlms_client as dc
        sap = {0: 1, 1: 2, 2: 4}[suite]
        self.c = c = RawClient(port, sap, suite, next(_IC))
        a = c.aarq(dc.HLS_GMAC if suite == 0 else dc.HLS_ECDSA, os.urandom(48))
        assert a.result == 0, a
        if suite == 0:
            icb = c.ic.to_bytes(4, 'big')
            c.ic += 1
            f = b'\x10' + icb + AESGCM(DEMO_EK).encrypt(c.title + icb, b'',
                                                        b'\x10' + DEMO_AK + c.stoc)[:12]
        else:
            name = 'client-sign.key.pem' if suite == 1 else 'client-sign-p384.key.pem'
            with open(os.path.join(DEMO_PKI, name), 'rb') as fh:
                key = serialization.load_pem_private_key(fh.read(), None)
            f = sign_raw(key, c.ecdsa_pass3_message())
        result, f_ctos = c.pass3(f)
        assert result == 0
        if server_sign is not None:
            verify_raw(server_sign, c.ecdsa_pass4_message(), f_ctos)
        self.aes = AESGCM(c.ek)
        self.sc = 0x30 | suite

    def run(self, n):
        c = self.c
        from interop.gurux_session import wrapper_frame
        aad = bytes((self.sc,)) + c.ak

        def frame():
            ic = c.ic.to_bytes(4, 'big')
            c.ic += 1
            ct = self.aes.encrypt(c.title + ic, _GET_CLOCK, aad)
            body = bytes((self.sc,)) + ic + ct[:-4]
            return wrapper_frame(c.sap, 1, bytes((0xC8, len(body))) + body)

        def check(reply):
            assert reply[0] == 0xCC and reply[2] == self.sc, reply.hex()
            iv = c.server_title + reply[3:7]
            pt = self.aes.encrypt(iv, reply[7:-12], b'')[:-16]
            assert self.aes.encrypt(iv, pt, aad)[-16:-4] == reply[-12:], 'bad tag'
        t0 = time.perf_counter()
        f = frame()
        pending = None
        for _ in range(n):
            c.sock.sendall(f)
            f = frame()
            if pending is not None:
                check(pending)
            pending = c.exchange_reply()
        check(pending)
        return time.perf_counter() - t0


def suite_figures():
    """Secured GET round trips under suites 0, 1 and 2 in one run (the same thin client), a
    signed GET (general-signing both ways) and a whole key agreement."""
    import contextlib
    import io
    from cryptography import x509
    from interop.gurux_session import GuruxSession, SERVER_SYSTEM_TITLE
    print('== suites 0, 1 and 2: secured GET round trips (virtual meter, thin client, '
          'overlapped; median of %d x %d) ==' % (RUNS, ROUND_TRIPS))
    rates = {}
    with VirtualMeter() as vm, contextlib.redirect_stdout(io.StringIO()):
        certs = {}
        m = GuruxSession('127.0.0.1', vm.port, 1, authentication='hls-gmac', ciphered=True,
                         invocation_counter=next(_IC))
        m.connect()
        m.associate()
        for ln in ('0.0.43.0.1.255', '0.0.43.0.2.255'):
            certs[ln] = x509.load_der_x509_certificate(
                m.export_certificate(ln, 0, 0, SERVER_SYSTEM_TITLE)).public_key()
        m.release()
        m.close()
        for suite in (0, 1, 2):
            loop = _SuiteLoop(vm.port, suite, certs.get('0.0.43.0.%d.255' % suite))
            times = sorted(loop.run(ROUND_TRIPS) for _ in range(RUNS))
            loop.c.close()
            rates[suite] = ROUND_TRIPS / times[len(times) // 2]
        signed = _signed_get_ms(vm.port, certs['0.0.43.0.1.255'])
        agree = _key_agreement_ms(vm.port, certs['0.0.43.0.1.255'])
    for suite in (0, 1, 2):
        print('suite %d  %8.0f GET/s   %5.0f %% of suite 0%s' % (
            suite, rates[suite], 100.0 * rates[suite] / rates[0],
            '   (target >= 80 %)' if suite == 2 else ''))
    print('signed GET (general-signing both ways, suite 1, P-256)   %7.2f ms a round trip'
          % signed)
    print('key agreement (method 3, one key, suite 1, P-256)        %7.2f ms' % agree)


def _associated_ecdsa(port, server_sign):
    from interop.raw_client import RawClient
    loop = _SuiteLoop.__new__(_SuiteLoop)
    _SuiteLoop.__init__(loop, port, 1, server_sign)
    return loop.c


def _signed_get_ms(port, server_sign, n=21):
    from cryptography.hazmat.primitives import serialization
    from interop.raw_client import sign_raw, verify_raw
    from interop.gurux_session import DEMO_PKI, CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE
    from dlms import axdr
    import dlms_client as dc
    with open(os.path.join(DEMO_PKI, 'client-sign.key.pem'), 'rb') as fh:
        key = serialization.load_pem_private_key(fh.read(), None)
    c = _associated_ecdsa(port, server_sign)
    tid = int(time.time() * 1000) << 16

    def lv(b):
        out = bytearray()
        axdr.encode_length(len(b), out)
        return bytes(out) + b
    out = []
    try:
        for _ in range(n):
            tid += 1
            t0 = time.perf_counter()
            glo = c.seal(dc.GLO_GET_REQUEST, _GET_CLOCK)
            signed = (lv(tid.to_bytes(8, 'big')) + lv(CLIENT_SYSTEM_TITLE) +
                      lv(SERVER_SYSTEM_TITLE) + b'\x00\x00' + lv(glo))
            reply = c.exchange(b'\xDF' + signed + lv(sign_raw(key, signed)))
            assert reply[0] == 0xDF, reply.hex()
            sig = reply[-64:]
            verify_raw(server_sign, bytes(reply[1:-65]), bytes(sig))
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        c.close()
    out.sort()
    return out[len(out) // 2]


def _key_agreement_ms(port, server_sign, n=11):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from interop.raw_client import sign_raw, raw_point
    from interop.gurux_session import DEMO_PKI
    from dlms import axdr
    with open(os.path.join(DEMO_PKI, 'client-sign.key.pem'), 'rb') as fh:
        key = serialization.load_pem_private_key(fh.read(), None)
    out = []
    # agree the broadcast key (key_id 1): the unicast key, which this loop rides on, stays
    c = _associated_ecdsa(port, server_sign)
    try:
        for _ in range(n):
            e = ec.generate_private_key(ec.SECP256R1())
            q = raw_point(e.public_key())
            items = axdr.array([axdr.structure(axdr.enum(1),
                                               axdr.octets(q + sign_raw(key, b'\x01' + q)))])
            t0 = time.perf_counter()
            result, value = c.action(64, '0.0.43.0.1.255', 3, items)
            out.append((time.perf_counter() - t0) * 1000)
            assert result == 0, result
    finally:
        c.close()
    out.sort()
    return out[len(out) // 2]


def association_figures():
    """A whole HLS association (AARQ to pass 4) against the virtual meter: HLS-ECDSA (SAP 2,
    suite 1) beside HLS-GMAC (SAP 1), the median of 21."""
    import dlms_client as dc
    from cryptography import x509
    from interop.gurux_session import GuruxSession, SERVER_SYSTEM_TITLE
    print('== a whole HLS association, AARQ to pass 4 (virtual meter, thin client on '
          'cryptography; median of 21) ==')
    import contextlib
    import io
    with VirtualMeter() as vm, contextlib.redirect_stdout(io.StringIO()):
        m = GuruxSession('127.0.0.1', vm.port, 1, authentication='hls-gmac', ciphered=True,
                         invocation_counter=1 << 20)
        m.connect()
        m.associate()
        der = m.export_certificate('0.0.43.0.1.255', 0, 0, SERVER_SYSTEM_TITLE)
        m.release()
        m.close()
        server_public = x509.load_der_x509_certificate(der).public_key()
        gmac = _association_times(vm.port, dc.HLS_GMAC, 21)
        ecdsa = _association_times(vm.port, dc.HLS_ECDSA, 21, server_public, 1 << 22)
    print('HLS-GMAC  (SAP 1, suite 0)               %8.2f ms' % gmac)
    print('HLS-ECDSA (SAP 2, suite 1, P-256)        %8.2f ms   (%.1fx HLS-GMAC: the meter '
          'verifies pass 3 (and the client certificate once), signs pass 4)'
          % (ecdsa, ecdsa / gmac))


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
        for sap, label, target in ((2, 'HLS-ECDSA (SAP 2, suite 1)', 48),
                                   (4, 'HLS-ECDSA P-384 (SAP 4, suite 2; the thin client: Gurux '
                                       'has no P-384)', 56)):
            print('-- %s instead, .mpy files with the public-key part (WITH=pk)' % label)
            out = os.path.join(tmp, 'pk%d' % sap)
            launcher = meter_memory.build_tree(out, False, ('pk',), sap=sap)
            state = meter_memory.enrolled_state(launcher, os.path.join(tmp, 'pk-state%d' % sap))
            code = meter_memory.code_footprint(launcher, public_key=True)
            least = meter_memory.smallest_heap(launcher, code, code + 256 * KIB, 512, sap=sap,
                                               state=state)
            print('smallest heap for the session        %7d bytes (%5.1f KiB, -X heapsize)'
                  % (least, least / KIB))
            print('  code: in use after the imports     %7d bytes (%5.1f KiB, dlms_pk included)'
                  % (code, code / KIB))
            print('  needed beyond the code             %7d bytes (%5.1f KiB; target %d KiB)'
                  % (least - code, (least - code) / KIB, target))


def size_figures():
    import mpy_build
    print('== .mpy a board gets (make deploy: lib/, firmware/, the board profile; WITH=pk adds '
          'the public-key part: suites 1 and 2, HLS-ECDSA, certificates, key agreement, '
          'general-ciphering and -signing) ==')
    with tempfile.TemporaryDirectory(prefix='bench-mpy-') as tmp:
        for board in mpy_build.BOARDS:
            for with_, target in (((), 96), (('pk',), 160)):
                for opt in (0, 3):
                    out = os.path.join(tmp, '%s%d%s' % (board, opt, ''.join(with_)))
                    _, sizes = mpy_build.build_board(board, out, opt=opt, with_=with_)
                    total = sum(n for _, n in sizes)
                    print('%-7s %-10s %-8s %-27s %3d files %7d bytes (%5.1f KiB; target %d KiB'
                          '%s)' % (board, mpy_build.ARCH[board], 'WITH=pk' if with_ else '',
                                   'with -O3 (no line numbers)' if opt else 'as deployed',
                                   len(sizes), total, total / KIB, target,
                                   '' if board == 'esp32' or with_ == () else ', ESP32'))


if __name__ == '__main__':
    main()
