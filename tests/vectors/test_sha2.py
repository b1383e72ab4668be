# dlms_pk.sha2: SHA-384 (every backend this runtime has: hashlib, viper, plain Python) and SHA-256
# against the NIST CAVS byte-oriented vectors (cryptography-vectors 50.0.2, hashes/SHA2/:
# ShortMsg and LongMsg in full, the first Monte Carlo checkpoints), HMAC against RFC 4231
# (cryptography-vectors HMAC/rfc-4231-*.txt), for both hashes and both HMAC paths.
from binascii import unhexlify

from dlms_pk import sha2
from vector_util import raised
import vector_files as vf

_DIR = 'hashes/SHA2/'


def _backends():
    # (name, sha384 function) for each SHA-384 implementation available here
    out = []
    if sha2._sha384_hashlib is not None:
        out.append(('hashlib', sha2.sha384))
    if sha2._compress_v is not None:
        out.append(('viper', lambda d: sha2.Sha384(d, True).digest()))
    out.append(('python', lambda d: sha2.Sha384(d, False).digest()))
    return out


def _msg(r):
    n = int(r['Len'])
    return unhexlify(r['Msg'])[0:n // 8]


def test_sha384_backend_reported():
    assert sha2.BACKEND384 in ('hashlib', 'viper', 'python')
    assert sha2.BACKEND384 == _backends()[0][0]


def test_sha384_short_messages():
    for name, fn in _backends():
        n = 0
        for _, r in vf.records(vf.CRYPTOGRAPHY, _DIR + 'SHA384ShortMsg.rsp'):
            if 'Len' not in r:
                continue
            assert fn(_msg(r)) == unhexlify(r['MD']), (name, r['Len'])
            n += 1
        assert n == 129, (name, n)


def test_sha384_long_messages():
    for name, fn in _backends():
        n = 0
        for _, r in vf.records(vf.CRYPTOGRAPHY, _DIR + 'SHA384LongMsg.rsp'):
            if 'Len' not in r:
                continue
            assert fn(_msg(r)) == unhexlify(r['MD']), (name, r['Len'])
            n += 1
        assert n == 128, (name, n)


def test_sha384_monte_carlo_first_checkpoints():
    for name, fn in _backends():
        seed = None
        want = []
        for _, r in vf.records(vf.CRYPTOGRAPHY, _DIR + 'SHA384Monte.rsp'):
            if 'Seed' in r:
                seed = unhexlify(r['Seed'])
            elif 'MD' in r:
                want.append(unhexlify(r['MD']))
        assert len(want) == 100
        checkpoints = 1 if name == 'python' else 3      # 1000 hashes each
        for j in range(checkpoints):
            a = b = c = seed
            for _ in range(1000):
                a, b, c = b, c, fn(a + b + c)
            seed = c
            assert seed == want[j], (name, j)


def test_sha384_incremental_updates_and_copy():
    data = bytes((i * 131 + 7) & 0xFF for i in range(700))
    want = _backends()[-1][1](data)
    for viper in ((False, True) if sha2._compress_v is not None else (False,)):
        for step in (1, 5, 64, 111, 112, 127, 128, 129, 300):
            o = sha2.Sha384(b'', viper)
            for i in range(0, len(data), step):
                o.update(data[i:i + step])
            assert o.digest() == want, (viper, step)
            assert o.digest() == want           # digest() does not finalise
            c = o.copy()
            c.update(b'x')
            o.update(memoryview(b'x'))
            assert c.digest() == o.digest() == _backends()[-1][1](data + b'x')
    assert sha2.new('sha384', data).digest() == want == sha2.digest('sha384', data)


def test_sha256_short_messages():
    n = 0
    for _, r in vf.records(vf.CRYPTOGRAPHY, _DIR + 'SHA256ShortMsg.rsp'):
        if 'Len' not in r:
            continue
        assert sha2.sha256(_msg(r)) == unhexlify(r['MD'])
        assert sha2.digest('sha256', _msg(r)) == unhexlify(r['MD'])
        n += 1
    assert n == 65
    assert raised(ValueError, sha2.new, 'sha512') is not None


def _hmac_records(name):
    out = []
    for _, r in vf.records(vf.CRYPTOGRAPHY, 'HMAC/rfc-4231-%s.txt' % name):
        if 'Key' in r:
            out.append((unhexlify(r['Key']), unhexlify(r['Msg']), unhexlify(r['MD'])))
    return out


def test_hmac_rfc4231_sha256():
    recs = _hmac_records('sha256')
    assert len(recs) == 6
    for key, msg, md in recs:
        assert sha2.hmac('sha256', key, msg) == md
        k = sha2.HmacKey('sha256', key)
        assert k.mac(msg) == md and k.mac(msg[0:3], msg[3:]) == md


def test_hmac_rfc4231_sha384_every_backend():
    recs = _hmac_records('sha384')
    assert len(recs) == 6
    saved = (sha2._sha384_hashlib, sha2._compress_v)
    variants = [saved]
    if saved[0] is not None:
        variants.append((None, saved[1]))       # our own SHA-384 (copyable midstates)
    if saved[1] is not None:
        variants.append((None, None))           # and its plain-Python compression
    try:
        for v in variants:
            sha2._sha384_hashlib, sha2._compress_v = v
            for key, msg, md in recs:
                assert sha2.hmac('sha384', key, msg) == md, v
                k = sha2.HmacKey('sha384', key)
                assert k.mac(msg) == md and k.mac(msg[0:1], msg[1:], b'') == md
                assert k.mac(msg) == md                  # a key serves many messages
    finally:
        sha2._sha384_hashlib, sha2._compress_v = saved
    assert raised(ValueError, sha2.HmacKey, 'md5', b'k') is not None


def _iroot(n, k):
    # the integer k-th root of n, by bisection (no int.bit_length on MicroPython)
    lo, hi = 0, 1
    while hi ** k <= n:
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid ** k <= n:
            lo = mid
        else:
            hi = mid
    return lo


def _primes(n):
    out, c = [], 2
    while len(out) < n:
        if all(c % p for p in out):
            out.append(c)
        c += 1
    return out


def test_sha384_constants_are_those_of_fips_180_4():
    """FIPS 180-4 4.2.3 and 5.3.4, derived here: the round constants are the first 64 bits of
    the fractional parts of the cube roots of the first 80 primes, the SHA-384 initial value
    those of the square roots of the 9th to 16th primes."""
    primes = _primes(80)
    k = b''.join((_iroot(p << 192, 3) % (1 << 64)).to_bytes(8, 'big') for p in primes)
    assert bytes(sha2._K512) == k
    iv = b''.join((_iroot(p << 128, 2) % (1 << 64)).to_bytes(8, 'big') for p in primes[8:16])
    assert bytes(sha2._IV384) == iv
