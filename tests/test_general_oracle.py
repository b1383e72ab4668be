"""Cross-check dlms_pk.general against the `cryptography` package (OpenSSL), suites 1 and 2.

Requests built here with cryptography alone (an encoder of this file, AES-GCM through
Cipher/GCM with 12-byte tags and min_tag_length=12, ECDH, ECDSA, ConcatKDFHash, AES key wrap),
for every key-info kind (identified unicast/broadcast, wrapped, C(1e,1s), C(0e,2s)) and every
protection level (0x1s, 0x2s, 0x3s), with random keys, titles, transaction-ids, date-time,
other-information and APDUs, are parsed, keyed and opened by ours; some are spoiled on the way
(the Gurux SC || AK AAD, a tag, a C(1e,1s) signature by another key, the wrong KEK) and must be
refused with the right reason. Responses built by ours (the meter as U) are taken apart,
keyed, signature-checked and deciphered by cryptography. general-signing both ways, tampered
APDUs refused. The same cases run in-process under CPython and through the MicroPython unix
port (one driver script, run by both: exec'd here, a subprocess there).
"""
import os
import random
import subprocess

import pytest

pytest.importorskip('cryptography')
from cryptography.exceptions import InvalidSignature, InvalidTag  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec as cec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature, encode_dss_signature)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash  # noqa: E402
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MICROPYTHON = os.path.join(_ROOT, '.venv', 'bin', 'micropython')
_PER_COMBINATION = 2

# suite id -> (curve, hash, key length, coordinate size, AlgorithmID, ECDSA curve name)
_SUITES = {
    1: (cec.SECP256R1(), hashes.SHA256, 16, 32, bytes.fromhex('60857405080300'), 'P-256'),
    2: (cec.SECP384R1(), hashes.SHA384, 32, 48, bytes.fromhex('60857405080301'), 'P-384'),
}
_KINDS = ('id0', 'id1', 'wrapped', 'c1e1s', 'c0e2s')
_LEVELS = (0x10, 0x20, 0x30)

_DRIVER = r'''
import os
from binascii import hexlify, unhexlify
from dlms import gcm, security
from dlms_pk import ec, general, sha2


def hx(b):
    return hexlify(b).decode() if len(b) else '.'


def arg(a):
    if a == '-':
        return None
    if a == '.':
        return b''
    return unhexlify(a)


def rng(n):
    return os.urandom(n)


def op_open(p):
    suite = security.suite(int(p[1]))
    apdu, ak, gk0, gk1, kek, own, spub, apub = [arg(a) for a in p[2:10]]
    try:
        msg = general.parse_ciphering(apdu)
        key = general.content_key(suite, msg, global_key=lambda k: gk1 if k else gk0, kek=kek,
                                  own_agree_private=own, sign_public=spub, agree_public=apub)
        sc, ic, pt = general.open_content(suite, key, ak, msg.originator, msg.fields,
                                          msg.content)
    except general.GeneralError as e:
        return 'err ' + str(e).replace(' ', '_')
    return 'ok %d %d %s' % (sc, ic, hx(pt))


def op_seal(p):
    suite = security.suite(int(p[1]))
    kind = p[2]
    sc = int(p[3])
    ic = int(p[4])
    tid, orig, recip, dt, oi, ak, apdu, a1, a2 = [arg(a) for a in p[5:14]]
    if kind == 'id0' or kind == 'id1':
        key = a1
        ki = general.key_info_identified(int(kind[2:]))
    elif kind == 'wrapped':
        key, ki = general.wrapped_key(suite, a1, rng)
    elif kind == 'c1e1s':
        key, ki = general.agreed_key_c1e1s(suite, a1, a2, orig, recip, rng)
    else:
        key, ki = general.agreed_key_c0e2s(suite, a1, a2, orig, recip, tid)
    f = general.encode_fields(tid, orig, recip, dt, oi)
    content = general.seal_content(suite, key, ak, orig, f, sc, ic, apdu)
    return hx(general.build_ciphering(tid, orig, recip, dt, oi, ki, content))


def op_sign(p):
    c = ec.curve_by_name(p[1])
    d, tid, orig, recip, dt, oi, content = [arg(a) for a in p[2:9]]
    return hx(general.sign_signing(c, d, tid, orig, recip, dt, oi, content, rng))


def op_verify(p):
    c = ec.curve_by_name(p[1])
    pub, apdu = [arg(a) for a in p[2:4]]
    try:
        return '1' if general.verify_signing(c, pub, general.parse_signing(apdu)) else '0'
    except general.GeneralError as e:
        return 'err ' + str(e).replace(' ', '_')


OPS = {'open': op_open, 'seal': op_seal, 'sign': op_sign, 'verify': op_verify}


def handle(line):
    p = line.split()
    return OPS[p[0]](p)


if __name__ == '__main__':
    import sys
    print('info', gcm.ACCEL, ec.ACCEL, sha2.BACKEND384)
    f = open(sys.argv[1])
    for line in f:
        if line.strip():
            print(handle(line))
    f.close()
'''


# ---------------------------------------------------------------------------
# cryptography's side: an encoder and a decoder of its own

def _len(n):
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    return bytes((0x82, n >> 8, n & 0xFF))


def _ostr(v):
    return _len(len(v)) + v


def _hx(b):
    if b is None:
        return '-'
    return b.hex() if b else '.'


def _raw_pub(key, size):
    n = key.public_key().public_numbers()
    return n.x.to_bytes(size, 'big') + n.y.to_bytes(size, 'big')


def _pub_from_raw(curve, raw):
    return cec.EllipticCurvePublicKey.from_encoded_point(curve, b'\x04' + raw)


def _priv(key, size):
    return key.private_numbers().private_value.to_bytes(size, 'big')


def _sign_raw(key, msg, hash_cls, size):
    r, s = decode_dss_signature(key.sign(msg, cec.ECDSA(hash_cls())))
    return r.to_bytes(size, 'big') + s.to_bytes(size, 'big')


def _verify_raw(pub, msg, sig, hash_cls, size):
    der = encode_dss_signature(int.from_bytes(sig[:size], 'big'),
                               int.from_bytes(sig[size:], 'big'))
    pub.verify(der, msg, cec.ECDSA(hash_cls()))     # raises InvalidSignature


def _concat_kdf(hash_cls, key_len, z, other_info):
    return ConcatKDFHash(algorithm=hash_cls(), length=key_len, otherinfo=other_info).derive(z)


def _seal(key, sc, ic, iv_title, ak, f, apdu, gurux=False):
    level = sc & 0x30
    iv = iv_title + ic.to_bytes(4, 'big')
    enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    aad = bytes((sc,)) + ak + (b'' if gurux else f)
    head = bytes((sc,)) + ic.to_bytes(4, 'big')
    if level == 0x20:
        return head + enc.update(apdu) + enc.finalize()
    if level == 0x10:
        enc.authenticate_additional_data(aad + apdu)
        enc.finalize()
        return head + apdu + enc.tag[:12]
    enc.authenticate_additional_data(aad)
    ct = enc.update(apdu) + enc.finalize()
    return head + ct + enc.tag[:12]


def _open(key, iv_title, ak, f, content):
    sc = content[0]
    level = sc & 0x30
    iv = iv_title + content[1:5]
    if level == 0x20:
        dec = Cipher(algorithms.AES(key), modes.CTR(iv + b'\x00\x00\x00\x02')).decryptor()
        return dec.update(content[5:]) + dec.finalize()
    tag = content[-12:]
    dec = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
    if level == 0x10:
        dec.authenticate_additional_data(bytes((sc,)) + ak + f + content[5:-12])
        dec.finalize()
        return content[5:-12]
    dec.authenticate_additional_data(bytes((sc,)) + ak + f)
    return dec.update(content[5:-12]) + dec.finalize()


def _read(buf, pos):
    # an A-XDR octet-string (lengths 0..0xFFFF) -> (value, position after it)
    n = buf[pos]
    pos += 1
    if n == 0x81:
        n = buf[pos]
        pos += 1
    elif n == 0x82:
        n = (buf[pos] << 8) | buf[pos + 1]
        pos += 2
    else:
        assert n < 0x80
    assert pos + n <= len(buf)
    return buf[pos:pos + n], pos + n


def _their_parse(apdu, tag):
    assert apdu[0] == tag
    pos = 1
    fields = []
    for _ in range(5):
        v, pos = _read(apdu, pos)
        fields.append(v)
    return fields, apdu[1:pos], pos


class _Party:
    def __init__(self, curve, size):
        self.sign = cec.generate_private_key(curve)
        self.agree = cec.generate_private_key(curve)
        self.sign_d = _priv(self.sign, size)
        self.agree_d = _priv(self.agree, size)
        self.sign_q = _raw_pub(self.sign, size)
        self.agree_q = _raw_pub(self.agree, size)


# ---------------------------------------------------------------------------
# The cases: (driver line, check of its output line)

def _case_open(rnd, sid, kind, level, client, meter, other):
    # a request built by cryptography (the client U), opened by ours (the meter V)
    curve, hash_cls, key_len, size, alg, _ = _SUITES[sid]
    ct_title = rnd.randbytes(8)
    mt_title = rnd.randbytes(8)
    tid = rnd.randbytes(rnd.choice((1, 8, 16, 64)))
    dt = rnd.choice((b'', rnd.randbytes(12)))
    oi = rnd.choice((b'', rnd.randbytes(rnd.choice((1, 5, 130)))))
    apdu = rnd.randbytes(rnd.choice((1, 13, 16, 17, 100, 300)))
    ak = rnd.randbytes(key_len)
    gk0 = rnd.randbytes(key_len)
    gk1 = rnd.randbytes(key_len)
    kek = rnd.randbytes(key_len)
    ic = rnd.randrange(1 << 32)
    sc = level | sid
    spoil = rnd.random() < 0.25
    want = 'ok'
    if kind in ('id0', 'id1'):
        key = gk1 if kind == 'id1' else gk0
        ki = bytes((0, int(kind[2])))
    elif kind == 'wrapped':
        key = rnd.randbytes(key_len)
        ki = b'\x01\x00' + _ostr(aes_key_wrap(kek, key))
        if spoil:
            kek = bytes((kek[0] ^ 1,)) + kek[1:]
            want = 'err key_unwrap'
    elif kind == 'c1e1s':
        eph = cec.generate_private_key(curve)
        q = _raw_pub(eph, size)
        signer = other.sign if spoil else client.sign
        ki = b'\x02\x01\x01' + _ostr(q + _sign_raw(signer, b'\x01' + q, hash_cls, size))
        z = eph.exchange(cec.ECDH(), meter.agree.public_key())
        key = _concat_kdf(hash_cls, key_len, z, alg + ct_title + mt_title)
        if spoil:
            want = 'err signature'
    else:
        ki = b'\x02\x01\x02\x00'
        z = client.agree.exchange(cec.ECDH(), meter.agree.public_key())
        key = _concat_kdf(hash_cls, key_len, z, alg + ct_title + bytes((len(tid),)) + tid
                          + mt_title)
    f = b''.join(_ostr(v) for v in (tid, ct_title, mt_title, dt, oi))
    # spoiled: the Gurux AAD SC || AK (a tag is refused); encryption only has no tag, so the
    # other key id is named and the meter deciphers under the other global key
    gurux = spoil and kind in ('id0', 'id1', 'c0e2s') and level != 0x20
    content = _seal(key, sc, ic, ct_title, ak, f, apdu, gurux)
    text = apdu
    if gurux:
        want = 'err tag'
    elif spoil and kind in ('id0', 'id1'):
        ki = bytes((0, 1 - ki[1]))
        text = _open(gk0 if ki[1] == 0 else gk1, ct_title, ak, f, content)
    whole = b'\xDD' + f + b'\x01' + ki + _ostr(content)
    line = ' '.join(('open', str(sid), _hx(whole), _hx(ak), _hx(gk0), _hx(gk1), _hx(kek),
                     _hx(meter.agree_d), _hx(client.sign_q), _hx(client.agree_q)))

    def check(out):
        if want == 'ok':
            assert out == 'ok %d %d %s' % (sc, ic, _hx(text)), line
        else:
            assert out == want, (line, out)
    return line, check


def _case_seal(rnd, sid, kind, level, client, meter):
    # a response built by ours (the meter U), checked by cryptography (the client V)
    curve, hash_cls, key_len, size, alg, _ = _SUITES[sid]
    mt_title = rnd.randbytes(8)
    ct_title = rnd.randbytes(8)
    tid = rnd.randbytes(rnd.choice((1, 8, 64)))
    dt = rnd.choice((b'', rnd.randbytes(12)))
    oi = rnd.choice((b'', rnd.randbytes(rnd.choice((2, 200)))))
    apdu = rnd.randbytes(rnd.choice((1, 12, 16, 33, 250)))
    ak = rnd.randbytes(key_len)
    ic = rnd.randrange(1 << 32)
    sc = level | sid
    a1 = a2 = None
    if kind in ('id0', 'id1', 'wrapped'):
        a1 = rnd.randbytes(key_len)
    elif kind == 'c1e1s':
        a1, a2 = meter.sign_d, client.agree_q
    else:
        a1, a2 = meter.agree_d, client.agree_q
    line = ' '.join(('seal', str(sid), kind, str(sc), str(ic), _hx(tid), _hx(mt_title),
                     _hx(ct_title), _hx(dt), _hx(oi), _hx(ak), _hx(apdu), _hx(a1), _hx(a2)))

    def check(out):
        whole = bytes.fromhex(out)
        fields, f, pos = _their_parse(whole, 0xDD)
        assert fields == [tid, mt_title, ct_title, dt, oi], line
        assert whole[pos] == 1
        pos += 1
        if kind in ('id0', 'id1'):
            assert whole[pos:pos + 2] == bytes((0, int(kind[2]))), line
            key = a1
            pos += 2
        elif kind == 'wrapped':
            assert whole[pos:pos + 2] == b'\x01\x00', line
            wrapped, pos = _read(whole, pos + 2)
            key = aes_key_unwrap(a1, wrapped)
            assert len(key) == key_len
        else:
            assert whole[pos:pos + 3] == bytes((2, 1, 1 if kind == 'c1e1s' else 2)), line
            data, pos = _read(whole, pos + 3)
            if kind == 'c1e1s':
                assert len(data) == 4 * size, line
                q = data[:2 * size]
                _verify_raw(meter.sign.public_key(), b'\x01' + q, data[2 * size:], hash_cls,
                            size)
                z = client.agree.exchange(cec.ECDH(), _pub_from_raw(curve, q))
                oi_kdf = alg + mt_title + ct_title
            else:
                assert data == b'', line
                z = client.agree.exchange(cec.ECDH(), meter.agree.public_key())
                oi_kdf = alg + mt_title + bytes((len(tid),)) + tid + ct_title
            key = _concat_kdf(hash_cls, key_len, z, oi_kdf)
        content, pos = _read(whole, pos)
        assert pos == len(whole), line
        assert content[0] == sc and content[1:5] == ic.to_bytes(4, 'big'), line
        assert len(content) == 5 + len(apdu) + (12 if level & 0x10 else 0), line
        assert _open(key, mt_title, ak, f, content) == apdu, line
    return line, check


def _case_signing(rnd, sid, signer, other):
    curve, hash_cls, _, size, _, name = _SUITES[sid]
    tid = rnd.randbytes(rnd.choice((1, 8, 64)))
    orig = rnd.randbytes(8)
    recip = rnd.randbytes(8)
    dt = rnd.choice((b'', rnd.randbytes(12)))
    oi = rnd.choice((b'', rnd.randbytes(3)))
    content = rnd.randbytes(rnd.choice((1, 13, 127, 128, 300)))
    f = b''.join(_ostr(v) for v in (tid, orig, recip, dt, oi))
    signed = f + _ostr(content)
    cases = []
    # ours signs, cryptography verifies
    line = ' '.join(('sign', name, _hx(signer.sign_d), _hx(tid), _hx(orig), _hx(recip), _hx(dt),
                     _hx(oi), _hx(content)))

    def check_sign(out):
        whole = bytes.fromhex(out)
        fields, _, pos = _their_parse(whole, 0xDF)
        assert fields == [tid, orig, recip, dt, oi], line
        c, pos = _read(whole, pos)
        assert c == content, line
        sig, end = _read(whole, pos)
        assert end == len(whole) and len(sig) == 2 * size, line
        assert whole[1:pos] == signed
        _verify_raw(signer.sign.public_key(), signed, sig, hash_cls, size)
        with pytest.raises(InvalidSignature):
            _verify_raw(signer.sign.public_key(), signed + b'\x00', sig, hash_cls, size)
    cases.append((line, check_sign))
    # cryptography signs, ours verifies; tampered, another key: refused
    sig = _sign_raw(signer.sign, signed, hash_cls, size)
    whole = b'\xDF' + signed + _ostr(sig)
    i = rnd.randrange(1, len(whole))
    bad = bytearray(whole)
    bad[i] ^= 1 << rnd.randrange(8)
    for apdu, pub, want in ((whole, signer.sign_q, ('1',)), (whole, other.sign_q, ('0',)),
                            (bytes(bad), signer.sign_q, ('0', 'err'))):
        line_v = ' '.join(('verify', name, _hx(pub), _hx(apdu)))

        def check_verify(out, want=want, line_v=line_v):
            assert out.split()[0] in want, (line_v, out)
        cases.append((line_v, check_verify))
    return cases


def _cases(seed):
    rnd = random.Random(seed)
    out = []
    for sid in (1, 2):
        curve, _, _, size, _, _ = _SUITES[sid]
        client = _Party(curve, size)
        meter = _Party(curve, size)
        other = _Party(curve, size)
        for kind in _KINDS:
            for level in _LEVELS:
                for _ in range(_PER_COMBINATION):
                    out.append(_case_open(rnd, sid, kind, level, client, meter, other))
                    out.append(_case_seal(rnd, sid, kind, level, client, meter))
        for _ in range(4):
            out.extend(_case_signing(rnd, sid, client, other))
    return out


def test_cryptography_side_round_trips():
    # the encoder and decoder of this file agree with each other (and so with OpenSSL)
    rnd = random.Random(5)
    for level in _LEVELS:
        key = rnd.randbytes(16)
        ak = rnd.randbytes(16)
        content = _seal(key, level | 1, 9, b'T' * 8, ak, b'F', b'apdu')
        assert _open(key, b'T' * 8, ak, b'F', content) == b'apdu'
        if level & 0x10:
            with pytest.raises(InvalidTag):
                _open(key, b'T' * 8, ak, b'G', content)


def test_cpython_against_cryptography():
    ns = {'__name__': 'general_driver'}
    exec(compile(_DRIVER, 'general_driver', 'exec'), ns)
    cases = _cases(31)
    assert len(cases) > 150
    for line, check in cases:
        check(ns['handle'](line))


@pytest.mark.skipif(not os.path.exists(_MICROPYTHON), reason='MicroPython unix port not installed')
def test_micropython_against_cryptography(tmp_path):
    cases = _cases(47)
    data = tmp_path / 'cases.txt'
    data.write_text('\n'.join(line for line, _ in cases) + '\n')
    script = tmp_path / 'general_driver.py'
    script.write_text(_DRIVER)
    env = dict(os.environ, MICROPYPATH='.frozen:' + os.path.join(_ROOT, 'lib'))
    res = subprocess.run([_MICROPYTHON, str(script), str(data)], env=env, cwd=_ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.splitlines()
    info = out.pop(0).split()
    assert info[1:] == ['viper', 'viper', 'viper'], info    # the MicroPython paths ran
    assert len(out) == len(cases), res.stdout[-2000:] + res.stderr
    for (line, check), result in zip(cases, out):
        check(result)
