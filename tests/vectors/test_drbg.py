# HMAC_DRBG (SP 800-90A) over SHA-256 and the HMAC under it. Vectors: NIST CAVP HMAC_DRBG.rsp
# [SHA-256] no prediction resistance, no reseed, COUNT 0 (with its internal state after
# instantiate and after the first generate), RFC 4231 test cases 2 and 6. CPython and MicroPython.
from binascii import unhexlify
from dlms import drbg

ENTROPY = unhexlify('ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488')
NONCE = unhexlify('659ba96c601dc69fc902940805ec0ca8')
RETURNED = unhexlify(
    'e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89'
    'd54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1'
    '07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668'
    '961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8')


def test_hmac_sha256_matches_rfc4231():
    assert drbg.hmac_sha256(b'Jefe', b'what do ya want for nothing?') == unhexlify(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
    assert drbg.hmac_sha256(b'\xaa' * 131,
                            b'Test Using Larger Than Block-Size Key - Hash Key First') == \
        unhexlify('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54')


def test_hmac_drbg_matches_nist_cavp_sha256_count_0():
    d = drbg.HmacDrbg(ENTROPY, NONCE)
    assert d._v == unhexlify('e75855f93b971ac468d200992e211960202d53cf08852ef86772d6490bfb53f9')
    assert d._k == unhexlify('302a4aba78412ab36940f4be7b940a0c728542b8b81d95b801a57b3797f9dd6e')
    d.generate(128)
    assert d._v == unhexlify('bfbdcf455d5c82acafc59f339ce57126ff70b67aef910fa25db7617818faeafe')
    assert d._k == unhexlify('911bf7cbda4387a172a1a3daf6c9fa8e17c4bfef69cc7eff1341e7eef88d2811')
    assert d.generate(128) == RETURNED


def test_outputs_do_not_repeat_and_reseed_changes_the_stream():
    a = drbg.HmacDrbg(ENTROPY, NONCE)
    b = drbg.HmacDrbg(ENTROPY, NONCE)
    seen = set()
    for i in range(50):
        x = a.generate(16)
        assert x not in seen
        seen.add(x)
    b.reseed(ENTROPY)
    for i in range(50):
        assert b.generate(16) not in seen


def test_personalization_and_nonce_separate_instances():
    x = drbg.HmacDrbg(ENTROPY, NONCE, b'meter A').generate(32)
    y = drbg.HmacDrbg(ENTROPY, NONCE, b'meter B').generate(32)
    z = drbg.HmacDrbg(ENTROPY, NONCE + b'1', b'meter A').generate(32)
    assert len(set([x, y, z])) == 3


def test_short_entropy_and_oversized_requests_are_refused():
    for fn in (lambda: drbg.HmacDrbg(ENTROPY[:16]),
               lambda: drbg.HmacDrbg(ENTROPY).generate(65537),
               lambda: drbg.HmacDrbg(ENTROPY).reseed(b'short')):
        try:
            fn()
            assert False
        except drbg.DrbgError:
            pass
