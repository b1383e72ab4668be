"""ECDSA sign, ECDSA verify and ECDH (dlms_pk.ec) for P-256 and P-384. Printed, never asserted.

    .venv/bin/python tools/bench_ec.py          # the table (runs MicroPython in a subprocess)
    MICROPYPATH=.frozen:lib .venv/bin/micropython tools/bench_ec.py    # MicroPython lines only

dlms_pk.ec under the MicroPython unix port (what the meter runs), beside `cryptography` (OpenSSL)
under CPython and beside Gurux's pure-Python ECDSA (gurux_dlms.ecdsa.GXEcdsa, gurux-dlms 1.0.203)
under CPython; also dlms_pk.ec under CPython. Milliseconds, the median of RUNS runs after a warm-up,
each run started on a collected heap (gc.collect() before it, not timed).
Gurux: P-256 only; its P-384 branch is broken (GXEcdsa.sign tests `scheme == Ecc.P256` twice, so
P-384 never gets SHA-384), and GXEcdsa.generateSecret fails (int() of the key bytes), so its
ECDH figure is the scalar multiplication that method would do (_GXShamirs.pointMulti). Sign
includes hashing the message, verify too; ECDH is the shared secret from a private key and the
peer's public key (validated).

Targets printed beside the figures: P-256 sign and verify under MicroPython each no slower than
Gurux's under CPython (measured on this machine earlier: about 7.6 ms sign, 6.6 ms verify; the
run's own Gurux figures are printed too), and each P-384 operation within 3x of P-256.
"""
import gc
import sys

RUNS = 15
_MSG = b'\x4d\x4d\x4d\x00\x00\x00\x00\x01\x4d\x4d\x4d\x00\x00\xbc\x61\x4e' + bytes(range(64))
_GURUX_BEFORE = {'sign': 7.6, 'verify': 6.6}
_MICRO = sys.implementation.name == 'micropython'

if _MICRO:
    import time

    def _now():
        return time.ticks_us()

    def _ms(t0):
        return time.ticks_diff(time.ticks_us(), t0) / 1000
else:
    import time

    def _now():
        return time.perf_counter()

    def _ms(t0):
        return (time.perf_counter() - t0) * 1000


def _medians(ops, runs=RUNS):
    """{name: median ms} for ops {name: fn}. The runs go round the ops (each op once per round),
    so a slow spell of the host lands on one round of every op rather than on all runs of one;
    each run starts from a collected heap (gc.collect() before it, not timed: the unix port's
    2 MiB heap makes a collection, and where it falls, a large and random part of a figure)."""
    names = sorted(ops)
    ts = {}
    for name in names:
        ops[name]()             # warm: first-use work (tables) out of the figures
        ts[name] = []
    for _ in range(runs):
        for name in names:
            gc.collect()
            t0 = _now()
            ops[name]()
            ts[name].append(_ms(t0))
    out = {}
    for name in names:
        t = sorted(ts[name])
        out[name] = t[len(t) // 2]
    return out


def _warm_up(ms=800):
    t0 = _now()
    x = 0
    while _ms(t0) < ms:
        x += 1


def _dlms_ec():
    """{(curve, op): ms} for dlms_pk.ec on this runtime."""
    from dlms_pk import ec
    ops = {}
    for c in ec.CURVES:
        ec.prepare(c)               # the fixed-base table, made once per curve
        d = bytes(range(1, c.size + 1))
        q = ec.public_key(c, d)
        q2 = ec.public_key(c, bytes(range(2, c.size + 2)))
        sig = ec.sign(c, d, _MSG)
        extra = bytes(32)
        ops[(c.name, 'sign')] = lambda c=c, d=d: ec.sign(c, d, _MSG, extra)
        ops[(c.name, 'verify')] = lambda c=c, q=q, sig=sig: ec.verify(c, q, _MSG, sig)
        ops[(c.name, 'ecdh')] = lambda c=c, d=d, q2=q2: ec.shared_secret(c, d, q2)
    return _medians(ops)


def _micropython_main():
    from dlms_pk import ec, sha2
    _warm_up()
    print('info', ec.ACCEL, sha2.BACKEND384)
    for (curve, op), ms in sorted(_dlms_ec().items()):
        print('ec', curve, op, '%.3f' % ms)


# ---------------------------------------------------------------------------
# CPython side

def _cryptography():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec as cec
    ops = {}
    for name, curve, h in (('P-256', cec.SECP256R1(), hashes.SHA256),
                           ('P-384', cec.SECP384R1(), hashes.SHA384)):
        key = cec.generate_private_key(curve)
        peer = cec.generate_private_key(curve).public_key()
        pub = key.public_key()
        sig = key.sign(_MSG, cec.ECDSA(h()))
        ops[(name, 'sign')] = lambda key=key, h=h: key.sign(_MSG, cec.ECDSA(h()))
        ops[(name, 'verify')] = lambda pub=pub, sig=sig, h=h: pub.verify(sig, _MSG, cec.ECDSA(h()))
        ops[(name, 'ecdh')] = lambda key=key, peer=peer: key.exchange(cec.ECDH(), peer)
    return _medians(ops)


def _gurux():
    """P-256 only (the P-384 branch of GXEcdsa is broken)."""
    from gurux_dlms.ecdsa import GXEcdsa, GXPrivateKey
    pk = GXPrivateKey.fromRawBytes(bytes(range(1, 33)))
    peer = GXPrivateKey.fromRawBytes(bytes(range(2, 34))).getPublicKey()
    signer = GXEcdsa(pk)
    verifier = GXEcdsa(pk.getPublicKey())
    sig = signer.sign(_MSG)
    ops = {('P-256', 'sign'): lambda: signer.sign(_MSG)}
    if verifier.verify(sig, _MSG):
        ops[('P-256', 'verify')] = lambda: verifier.verify(sig, _MSG)
    # GXEcdsa.generateSecret is broken too (int() of the key bytes): time the scalar
    # multiplication it would do, _GXShamirs.pointMulti, with the integers it meant
    from gurux_dlms.ecdsa import GXCurve, GXEccPoint
    from gurux_dlms.ecdsa._GXShamirs import _GXShamirs
    raw = bytes(peer.rawValue)
    point = GXEccPoint(int.from_bytes(raw[1:33], 'big'), int.from_bytes(raw[33:65], 'big'))
    d = int.from_bytes(bytes(range(1, 33)), 'big')
    curve = GXCurve(pk.scheme)

    def ecdh():
        ret = GXEccPoint()
        _GXShamirs.pointMulti(curve, ret, point, d)
        return int(ret.x).to_bytes(32, 'big')
    ops[('P-256', 'ecdh')] = ecdh
    return _medians(ops)


def _run_micropython(root):
    import os
    import subprocess
    mp = os.path.join(os.path.dirname(sys.executable), 'micropython')
    if not os.access(mp, os.X_OK):
        mp = os.path.join(root, '.venv', 'bin', 'micropython')
    env = dict(os.environ, MICROPYPATH='.frozen:' + os.path.join(root, 'lib'))
    proc = subprocess.run([mp, os.path.abspath(__file__)], cwd=root, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600)
    out = {}
    info = None
    for line in proc.stdout.decode('utf-8', 'replace').splitlines():
        p = line.split()
        if p[:1] == ['ec']:
            out[(p[1], p[2])] = float(p[3])
        elif p[:1] == ['info']:
            info = p[1:]
        else:
            print('micropython:', line)
    return out, info


def _cell(v):
    return '%9.2f' % v if v is not None else '%9s' % '-'


def _ratio(a, b):
    return '%8.1fx' % (a / b) if a is not None and b else '%9s' % '-'


def _cpython_main():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, 'lib'))
    mp, info = _run_micropython(root)
    _warm_up()
    ours_cpy = _dlms_ec()
    try:
        crypto = _cryptography()
    except ImportError:
        crypto = {}
    try:
        gurux = _gurux()
    except ImportError:
        gurux = {}
    print('dlms_pk.ec on MicroPython: lookups %s, SHA-384 %s; milliseconds, median of %d runs'
          % (info[0] if info else '?', info[1] if info else '?', RUNS))
    print('%-6s %-7s %9s %9s %9s %9s %9s %9s' % (
        'curve', 'op', 'MP dlms', 'CPy dlms', 'openssl', 'gurux', 'MP/gurux', 'MP/ossl'))
    for curve in ('P-256', 'P-384'):
        for op in ('sign', 'verify', 'ecdh'):
            k = (curve, op)
            print('%-6s %-7s %s %s %s %s %s %s' % (
                curve, op, _cell(mp.get(k)), _cell(ours_cpy.get(k)), _cell(crypto.get(k)),
                _cell(gurux.get(k)), _ratio(mp.get(k), gurux.get(k)),
                _ratio(mp.get(k), crypto.get(k))))
    print('(gurux: P-256 only, its P-384 branch is broken; its ECDH is _GXShamirs.pointMulti, as'
          ' GXEcdsa.generateSecret fails)')
    print('targets:')
    for op in ('sign', 'verify'):
        v = mp.get(('P-256', op))
        g = gurux.get(('P-256', op))
        ref = _GURUX_BEFORE[op]
        print('  P-256 %-6s on MicroPython %s ms <= Gurux on CPython: %s ms this run (%s), '
              '%.1f ms measured before (%s)'
              % (op, _cell(v).strip(), _cell(g).strip(),
                 'met' if v is not None and g is not None and v <= g else 'NOT met',
                 ref, 'met' if v is not None and v <= ref else 'NOT met'))
    for op in ('sign', 'verify', 'ecdh'):
        a = mp.get(('P-256', op))
        b = mp.get(('P-384', op))
        r = b / a if a and b else None
        print('  P-384 %-6s within 3x of P-256 on MicroPython: %s (%s)'
              % (op, '%.2fx' % r if r else '-', 'met' if r is not None and r <= 3 else 'NOT met'))


if __name__ == '__main__':
    if _MICRO:
        _micropython_main()
    else:
        _cpython_main()
