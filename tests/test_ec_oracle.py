"""Cross-check dlms_pk.ec against the `cryptography` package (OpenSSL) with random keys and messages,
P-256 and P-384: public keys derived alike; our signatures (hedged with random extra bytes)
verify under cryptography; cryptography's signatures verify under ours, and a changed message or
signature does not; our extra=b'' signatures equal cryptography's RFC 6979 deterministic ones;
ECDH shared secrets are equal. 20 cases per curve, run in-process under CPython and again through
the MicroPython unix port (a driver script in a subprocess: the viper lookups, the native point
formulas and the viper SHA-384 on MicroPython).
"""
import os
import random
import subprocess

import pytest

pytest.importorskip('cryptography')
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec as cec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature, encode_dss_signature)

from dlms_pk import ec  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MICROPYTHON = os.path.join(_ROOT, '.venv', 'bin', 'micropython')
_CASES = 20
_CURVES = (
    (ec.P256, cec.SECP256R1(), hashes.SHA256),
    (ec.P384, cec.SECP384R1(), hashes.SHA384),
)


def _raw_pub(key, c):
    n = key.public_key().public_numbers()
    return n.x.to_bytes(c.size, 'big') + n.y.to_bytes(c.size, 'big')


def _cases(seed, c, curve):
    # (d, Q, msg, extra, peer private key) with keys from cryptography, the rest from a seeded
    # generator (the keys differ per run; a failure prints what is needed to repeat it)
    rnd = random.Random(seed)
    out = []
    for i in range(_CASES):
        key = cec.generate_private_key(curve)
        d = key.private_numbers().private_value.to_bytes(c.size, 'big')
        msg = rnd.randbytes(rnd.choice((0, 1, 32, 64, 65, 200, rnd.randint(0, 300))))
        extra = rnd.randbytes(rnd.choice((0, 16, 32, 48))) if i % 4 else b''
        out.append((d, key, msg, extra, cec.generate_private_key(curve)))
    return out


def _check(c, curve, hash_cls, case, ours):
    """ours: (public key, signature, verify results, shared secret) from one runtime."""
    d, key, msg, extra, peer = case
    pub, sig, verdicts, z = ours
    assert pub == _raw_pub(key, c), d.hex()
    assert len(sig) == 2 * c.size
    r = int.from_bytes(sig[0:c.size], 'big')
    s = int.from_bytes(sig[c.size:], 'big')
    key.public_key().verify(encode_dss_signature(r, s), msg, cec.ECDSA(hash_cls()))
    if not extra:
        det = key.sign(msg, cec.ECDSA(hash_cls(), deterministic_signing=True))
        assert decode_dss_signature(det) == (r, s), (d.hex(), msg.hex())
    assert verdicts == [True, False, False], (d.hex(), msg.hex())
    assert z == peer.exchange(cec.ECDH(), key.public_key()), d.hex()


def _theirs(c, key, msg, hash_cls):
    r, s = decode_dss_signature(key.sign(msg, cec.ECDSA(hash_cls())))
    return r.to_bytes(c.size, 'big') + s.to_bytes(c.size, 'big')


def _ours_in_process(c, case, their_sig):
    d, key, msg, extra, peer = case
    pub = ec.public_key(c, d)
    sig = ec.sign(c, d, msg, extra)
    q = _raw_pub(key, c)
    bad = bytes([their_sig[0] ^ 1]) + their_sig[1:]
    verdicts = [ec.verify(c, q, msg, their_sig), ec.verify(c, q, msg + b'x', their_sig),
                ec.verify(c, q, msg, bad)]
    z = ec.shared_secret(c, d, b'\x04' + _raw_pub(peer, c))
    return pub, sig, verdicts, z


@pytest.mark.parametrize('which', [0, 1], ids=['P-256', 'P-384'])
def test_cpython_against_cryptography(which):
    c, curve, hash_cls = _CURVES[which]
    for case in _cases(10 + which, c, curve):
        their = _theirs(c, case[1], case[2], hash_cls)
        _check(c, curve, hash_cls, case, _ours_in_process(c, case, their))
        try:    # and the other way round: cryptography verifies nothing we reject
            case[1].public_key().verify(
                encode_dss_signature(int.from_bytes(their[0:c.size], 'big'),
                                     int.from_bytes(their[c.size:], 'big')),
                case[2], cec.ECDSA(hash_cls()))
        except InvalidSignature:
            raise AssertionError('cryptography rejects its own signature')


_MP_DRIVER = r'''
import sys
from binascii import hexlify, unhexlify
from dlms_pk import ec, sha2


def hx(b):
    return hexlify(b).decode()


def arg(a):
    return b'' if a == '-' else unhexlify(a)


print('info', ec.ACCEL, sha2.BACKEND384)
f = open(sys.argv[1])
for line in f:
    p = line.split()
    c = ec.curve_by_name(p[0])
    d, q, msg, extra, their, peer = [arg(a) for a in p[1:]]
    bad = bytes([their[0] ^ 1]) + their[1:]
    v = [ec.verify(c, q, msg, their), ec.verify(c, q, msg + b'x', their), ec.verify(c, q, msg, bad)]
    print(' '.join((hx(ec.public_key(c, d)), hx(ec.sign(c, d, msg, extra)),
                    ''.join('1' if x else '0' for x in v), hx(ec.shared_secret(c, d, peer)))))
f.close()
'''


def _hx(b):
    return b.hex() if b else '-'


@pytest.mark.skipif(not os.path.exists(_MICROPYTHON), reason='MicroPython unix port not installed')
def test_micropython_against_cryptography(tmp_path):
    lines = []
    todo = []
    for which, (c, curve, hash_cls) in enumerate(_CURVES):
        for case in _cases(20 + which, c, curve):
            d, key, msg, extra, peer = case
            their = _theirs(c, key, msg, hash_cls)
            lines.append(' '.join((c.name, _hx(d), _hx(_raw_pub(key, c)), _hx(msg), _hx(extra),
                                   _hx(their), _hx(_raw_pub(peer, c)))))
            todo.append((c, curve, hash_cls, case))
    data = tmp_path / 'cases.txt'
    data.write_text('\n'.join(lines) + '\n')
    script = tmp_path / 'ec_driver.py'
    script.write_text(_MP_DRIVER)
    env = dict(os.environ, MICROPYPATH='.frozen:' + os.path.join(_ROOT, 'lib'))
    res = subprocess.run([_MICROPYTHON, str(script), str(data)], env=env, cwd=_ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.splitlines()
    info = out.pop(0).split()
    assert info[1:] == ['viper', 'viper'], info     # the MicroPython paths were exercised
    assert len(out) == len(todo)
    for (c, curve, hash_cls, case), line in zip(todo, out):
        pub, sig, v, z = line.split()
        ours = (bytes.fromhex(pub), bytes.fromhex(sig), [x == '1' for x in v], bytes.fromhex(z))
        _check(c, curve, hash_cls, case, ours)
