"""Cross-check dlms.gcm / dlms.aes against the `cryptography` package.

CPython runs the pure-Python AES backend; the MicroPython unix port (when
present in the venv) is driven as a subprocess to cover the cryptolib backend
and the viper loops as well.
"""
import binascii
import os
import random
import subprocess

import pytest

AESGCM = pytest.importorskip('cryptography.hazmat.primitives.ciphers.aead').AESGCM
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

from dlms import aes, gcm  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MICROPYTHON = os.path.join(_ROOT, '.venv', 'bin', 'micropython')
_EDGE_LENGTHS = (0, 1, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 1024, 1099, 1100)


def _cases(seed, count):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        if i < len(_EDGE_LENGTHS):
            n = _EDGE_LENGTHS[i]
        else:
            n = rnd.randint(0, 1100)
        key = rnd.randbytes(rnd.choice((16, 32)))
        iv = rnd.randbytes(12)
        aad = rnd.randbytes(rnd.choice((0, 1, 16, 17, 33, rnd.randint(0, 300))))
        pt = rnd.randbytes(n)
        out.append((key, iv, aad, pt))
    return out


def _reference(key, iv, aad, pt):
    out = AESGCM(key).encrypt(iv, pt, aad)
    return out[:-16], out[-16:]


@pytest.mark.parametrize('accel', [True, False])
def test_gcm_matches_cryptography_for_random_inputs(accel):
    for key, iv, aad, pt in _cases(1, 60):
        ct, tag = _reference(key, iv, aad, pt)
        g = gcm.Gcm(key, 'python', accel)
        assert g.encrypt(iv, pt, aad) == (ct, tag), (len(key), len(aad), len(pt))
        assert g.decrypt(iv, ct, aad, tag[:12]) == pt
        bad = bytes([tag[0] ^ 0x40]) + tag[1:]
        assert g.decrypt(iv, ct, aad, bad) is None
        if not pt:
            assert g.gmac(iv, aad) == tag


def test_pure_aes_matches_cryptography_ecb():
    rnd = random.Random(2)
    for _ in range(40):
        key = rnd.randbytes(rnd.choice((16, 32)))
        data = rnd.randbytes(16 * rnd.randint(1, 8))
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        expected = enc.update(data) + enc.finalize()
        a = aes.new(key, 'python')
        out = bytearray(len(data))
        a.encrypt_into(data, out)
        assert bytes(out) == expected
        back = bytearray(out)
        a.decrypt_into(back, back)
        assert bytes(back) == data


_MP_SCRIPT = r'''
import sys
from binascii import hexlify, unhexlify
from dlms import aes, gcm
bes = ['python'] + (['cryptolib'] if aes.BACKEND == 'cryptolib' else [])
print('info', aes.BACKEND, gcm.ACCEL)
f = open(sys.argv[1])
for line in f:
    key, iv, aad, pt = [unhexlify(x) for x in line.split(',')]
    for be in bes:
        for accel in (True, False):
            g = gcm.Gcm(key, be, accel)
            ct, tag = g.encrypt(iv, pt, aad)
            ok = g.decrypt(iv, ct, aad, tag[0:12]) == pt
            print('|'.join((be, str(accel), hexlify(ct).decode(), hexlify(tag).decode(), str(ok))))
f.close()
'''


@pytest.mark.skipif(not os.path.exists(_MICROPYTHON), reason='MicroPython unix port not installed')
def test_micropython_backends_match_cryptography(tmp_path):
    cases = _cases(3, 50)
    data = tmp_path / 'cases.txt'
    data.write_text(''.join(
        ','.join(binascii.hexlify(x).decode() for x in c) + '\n' for c in cases))
    script = tmp_path / 'check.py'
    script.write_text(_MP_SCRIPT)
    env = dict(os.environ, MICROPYPATH=os.path.join(_ROOT, 'lib'))
    res = subprocess.run([_MICROPYTHON, str(script), str(data)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    info = lines.pop(0).split()
    assert info[1] == 'cryptolib' and info[2] == 'viper', info
    per_case = 4  # two AES backends, each with and without viper
    assert len(lines) == per_case * len(cases)
    for i, (key, iv, aad, pt) in enumerate(cases):
        ct, tag = _reference(key, iv, aad, pt)
        for line in lines[per_case * i:per_case * (i + 1)]:
            be, accel, c, t, ok = line.split('|')
            assert c == ct.hex(), (be, accel, len(pt))
            assert t == tag.hex(), (be, accel, len(pt))
            assert ok == 'True', (be, accel, len(pt))
