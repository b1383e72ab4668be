"""general-ciphering (0xDD) and general-signing (0xDF) against the virtual meter, on the suite 1
association (SAP 2), with a client whose every byte and key is made here with `cryptography`
(AES-GCM with 12-byte tags, ECDSA P-256, ECDH, the concatenation KDF, AES key wrap), not with the
meter's code: each key-info kind (identified, wrapped, agreed C(1e,1s) and C(0e,2s)), signed
requests, sign-then-encrypt, the responses in kind opened and verified here; the negatives, each
with its standard answer and the meter serving on; the policy bits 0x10 (signed requests) and
0x80 (signed responses), raised and never lowered. The Gurux client cannot receive either APDU
(dlms-public-key.md 6.3 bugs 6 and 7): a test shows each.

Choices of the meter these tests pin (lib/dlms_pk/general.py, general_service.py): AAD = SC ||
AK || F (Green Book Table 38); C(1e,1s) signs key-parameters || X || Y; general-signing signs
F || len||content; a transaction-id must rise per originator; responses echo the request's
transaction-id.
"""
import contextlib
import io
import os
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.exceptions import InvalidSignature, InvalidTag

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

import dlms_client as dc  # noqa: E402
from dlms import axdr  # noqa: E402
from interop.gurux_session import (  # noqa: E402
    GuruxSession, DEMO_PKI, DEMO_EK, DEMO_AK, SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)
from interop.raw_client import RawClient, sign_raw, verify_raw, raw_point, _IC  # noqa: E402

SS1 = '0.0.43.0.1.255'
KEK = bytes.fromhex('000102030405060708090A0B0C0D0E0F')
ALG = bytes.fromhex('60857405080300')          # AES-GCM-128 (suite 1)
GET_CLOCK = bytes.fromhex('C001C100080000010000FF0200')
GET_LDN = bytes.fromhex('C001C1000100002A0000FF0200')
D8 = bytes.fromhex('D801')


def _key(name):
    with open(os.path.join(DEMO_PKI, name), 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


SIGN = _key('client-sign.key.pem')
AGREE = _key('client-agree.key.pem')


def lv(b):
    b = bytes(b)
    out = bytearray()
    axdr.encode_length(len(b), out)
    return bytes(out) + b


def fields(tid, originator=CLIENT_SYSTEM_TITLE, recipient=SERVER_SYSTEM_TITLE, date_time=b''):
    return lv(tid) + lv(originator) + lv(recipient) + lv(date_time) + lv(b'')


def parse_fields(apdu):
    """(tag, [tid, originator, recipient, date-time, other], position after them)."""
    pos = 1
    out = []
    for _ in range(5):
        n, pos = axdr.decode_length(apdu, pos)
        out.append(bytes(apdu[pos:pos + n]))
        pos += n
    return apdu[0], out, pos


def seal(key, ak, originator, f, sc, ic, apdu):
    iv = originator + ic.to_bytes(4, 'big')
    ct = AESGCM(key).encrypt(iv, apdu, bytes((sc,)) + ak + f)
    return bytes((sc,)) + ic.to_bytes(4, 'big') + ct[:-16] + ct[-16:-4]


def open_(key, ak, originator, f, content):
    sc, ic = content[0], content[1:5]
    return sc, int.from_bytes(ic, 'big'), AESGCM(key).decrypt(
        originator + ic, bytes(content[5:]) + b'\0\0\0\0', bytes((sc,)) + ak + f) \
        if False else _gcm_open(key, originator + ic, content[5:], bytes((sc,)) + ak + f)


def _gcm_open(key, iv, body, aad):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    d = Cipher(algorithms.AES(key), modes.GCM(iv, bytes(body[-12:]), min_tag_length=12)).decryptor()
    d.authenticate_additional_data(aad)
    return d.update(bytes(body[:-12])) + d.finalize()


def kdf(z, u, v, nonce=None):
    oi = ALG + u + (bytes((len(nonce),)) + nonce if nonce is not None else b'') + v
    return ConcatKDFHash(hashes.SHA256(), 16, oi).derive(z)


class Tid:
    def __init__(self):
        self.n = int(time.time() * 1000) << 8

    def __call__(self):
        self.n += 1
        return self.n.to_bytes(8, 'big')


TID = Tid()


@pytest.fixture(scope='module')
def meter():
    vm = VirtualMeter()
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


def _export(meter, key_type):
    s = GuruxSession('127.0.0.1', meter.port, 1, authentication='hls-gmac', ciphered=True,
                     invocation_counter=next(_IC))
    with contextlib.redirect_stdout(io.StringIO()):
        s.connect()
        try:
            s.associate()
            der = s.export_certificate(SS1, 0, key_type, SERVER_SYSTEM_TITLE)
            s.release()
        finally:
            s.close()
    return x509.load_der_x509_certificate(der).public_key()


@pytest.fixture(scope='module')
def server_keys(meter):
    return _export(meter, 0), _export(meter, 1)       # signature, key agreement


def associated(meter, server_sign, signed_responses=False):
    c = RawClient(meter, 2, 1)
    a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
    assert a.result == 0
    if not signed_responses:
        result, f = c.pass3(sign_raw(SIGN, c.ecdsa_pass3_message()))
    else:                   # policy 0x80: even pass 4 comes in a general-signing of the meter
        req = dc.build_action_request_normal(0xC1, 15, bytes((0, 0, 40, 0, 0, 255)), 1,
                                             axdr.octets(sign_raw(SIGN, c.ecdsa_pass3_message())))
        reply = c.exchange(c.seal(dc.GLO_ACTION_REQUEST, req))
        tid = parse_fields(reply)[1][0]
        plain = c.open(open_signed_reply(reply, server_sign, tid), dc.GLO_ACTION_RESPONSE)
        result, f = plain[3], bytes(axdr.decode_all(plain[6:])[1])
    assert result == dc.SUCCESS
    verify_raw(server_sign, c.ecdsa_pass4_message(), f)
    return c


def general_ciphering(c, apdu, key_info, key, tid=None, sc=0x31, recipient=SERVER_SYSTEM_TITLE,
                      date_time=b''):
    tid = tid or TID()
    f = fields(tid, recipient=recipient, date_time=date_time)
    ic = c.ic
    c.ic += 1
    content = seal(key, DEMO_AK, CLIENT_SYSTEM_TITLE, f, sc, ic, apdu)
    return b'\xDD' + f + key_info + lv(content), tid


def general_signing(content, tid=None, key=SIGN, recipient=SERVER_SYSTEM_TITLE):
    tid = tid or TID()
    f = fields(tid, recipient=recipient)
    signed = f + lv(content)
    return b'\xDF' + signed + lv(sign_raw(key, signed)), tid


def open_signed_reply(reply, server_sign, tid):
    tag, (rtid, orig, recip, dt, other), pos = parse_fields(reply)
    assert tag == 0xDF and orig == SERVER_SYSTEM_TITLE and recip == CLIENT_SYSTEM_TITLE
    assert rtid == tid
    n, p = axdr.decode_length(reply, pos)
    content = bytes(reply[p:p + n])
    n2, p2 = axdr.decode_length(reply, p + n)
    verify_raw(server_sign, bytes(reply[1:p + n]), bytes(reply[p2:p2 + n2]))
    return content


def open_ciphered_reply(reply, key_for, tid):
    """(plaintext, key-info bytes) of the meter's general-ciphering reply; key_for(key_info)
    gives the content key."""
    tag, (rtid, orig, recip, dt, other), pos = parse_fields(reply)
    assert tag == 0xDD and orig == SERVER_SYSTEM_TITLE and recip == CLIENT_SYSTEM_TITLE
    assert rtid == tid
    f = bytes(reply[1:pos])
    start = pos
    if reply[pos] == 0:
        pos += 1
    else:
        kind = reply[pos + 1]
        if kind == 0:
            pos += 3
        elif kind == 1:
            n, p = axdr.decode_length(reply, pos + 3)
            pos = p + n
        else:
            n, p = axdr.decode_length(reply, pos + 2)
            n2, p2 = axdr.decode_length(reply, p + n)
            pos = p2 + n2
    ki = bytes(reply[start:pos])
    n, p = axdr.decode_length(reply, pos)
    content = bytes(reply[p:p + n])
    assert p + n == len(reply)
    sc, ic, plain = open_(key_for(ki), DEMO_AK, SERVER_SYSTEM_TITLE, f, content)
    assert sc & 0x0F == 1 and sc & 0x30 == 0x30
    return plain, ki


def test_identified_key_both_ways(meter, server_keys):
    with associated(meter, server_keys[0]) as c:
        apdu, tid = general_ciphering(c, GET_LDN, b'\x01\x00\x00', DEMO_EK)
        plain, ki = open_ciphered_reply(c.exchange(apdu), lambda ki: DEMO_EK, tid)
        assert ki == b'\x01\x00\x00'
        assert plain[:4] == bytes.fromhex('C401C100')
        assert bytes(axdr.decode_all(plain[4:])[1]) == b'MMM0000012345678'
        # the global key's counter is the client's glo counter: a replay of it is refused
        assert c.exchange(apdu)[:3] == bytes.fromhex('D80106')


def test_wrapped_key_both_ways(meter, server_keys):
    with associated(meter, server_keys[0]) as c:
        k = os.urandom(16)
        ki = b'\x01\x01\x00' + lv(aes_key_wrap(KEK, k))
        apdu, tid = general_ciphering(c, GET_CLOCK, ki, k)
        plain, rki = open_ciphered_reply(c.exchange(apdu), lambda x: k, tid)
        assert rki == ki and plain[:4] == bytes.fromhex('C401C100')
        assert c.exchange(apdu)[:3] == bytes.fromhex('D80106')      # a replayed transaction


def test_agreed_key_one_pass_c1e1s_both_ways(meter, server_keys):
    server_sign, server_agree = server_keys
    with associated(meter, server_sign) as c:
        e = ec.generate_private_key(ec.SECP256R1())
        q = raw_point(e.public_key())
        kcd = q + sign_raw(SIGN, b'\x01' + q)                        # key-parameters || X || Y
        ki = b'\x01\x02' + lv(b'\x01') + lv(kcd)
        k = kdf(e.exchange(ec.ECDH(), server_agree), CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE)
        apdu, tid = general_ciphering(c, GET_LDN, ki, k)

        def meters_key(rki):
            # the meter as U: its ephemeral key signed with its signature key, V = our static key
            assert rki[:2] == b'\x01\x02'
            n, p = axdr.decode_length(rki, 2)
            assert rki[p:p + n] == b'\x01'
            n2, p2 = axdr.decode_length(rki, p + n)
            data = rki[p2:p2 + n2]
            verify_raw(server_sign, b'\x01' + data[:64], data[64:])
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                               b'\x04' + data[:64])
            return kdf(AGREE.exchange(ec.ECDH(), peer), SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)
        plain, _ = open_ciphered_reply(c.exchange(apdu), meters_key, tid)
        assert plain[:4] == bytes.fromhex('C401C100')


def test_agreed_key_static_unified_c0e2s_both_ways(meter, server_keys):
    server_sign, server_agree = server_keys
    with associated(meter, server_sign) as c:
        tid = TID()
        z = AGREE.exchange(ec.ECDH(), server_agree)
        k = kdf(z, CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE, tid)
        apdu, _ = general_ciphering(c, GET_LDN, b'\x01\x02' + lv(b'\x02') + lv(b''), k, tid)
        plain, _ = open_ciphered_reply(
            c.exchange(apdu), lambda ki: kdf(z, SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE, tid),
            tid)
        assert plain[:4] == bytes.fromhex('C401C100')


def test_signed_request_gets_a_signed_response(meter, server_keys):
    with associated(meter, server_keys[0]) as c:
        glo = c.seal(dc.GLO_GET_REQUEST, GET_LDN)
        apdu, tid = general_signing(glo)
        inner = open_signed_reply(c.exchange(apdu), server_keys[0], tid)
        plain = c.open(inner, dc.GLO_GET_RESPONSE)
        assert bytes(axdr.decode_all(plain[4:])[1]) == b'MMM0000012345678'


def test_sign_then_encrypt(meter, server_keys):
    with associated(meter, server_keys[0]) as c:
        signed, _ = general_signing(GET_LDN)                      # a plain GET, signed
        apdu, tid = general_ciphering(c, signed, b'\x01\x00\x00', DEMO_EK)
        plain, _ = open_ciphered_reply(c.exchange(apdu), lambda ki: DEMO_EK, tid)
        # the answer in the same layers: the signed response inside the ciphering
        assert plain[0] == 0xDF
        inner = open_signed_reply(plain, server_keys[0], signed[2:10])
        assert inner[:4] == bytes.fromhex('C401C100')


@pytest.mark.parametrize('case', ['other meter', 'another key signed', 'old date-time',
                                  'suite nibble', 'replayed transaction', 'bad tag',
                                  'revoked certificate'])
def test_negatives_get_their_answer_and_the_meter_serves_on(meter, server_keys, case):
    with associated(meter, server_keys[0]) as c:
        if case == 'other meter':
            apdu, _ = general_ciphering(c, GET_LDN, b'\x01\x00\x00', DEMO_EK,
                                        recipient=bytes.fromhex('4D4D4D0000BC614F'))
            assert c.exchange(apdu) == bytes.fromhex('D80105')
        elif case == 'another key signed':
            apdu, _ = general_signing(c.seal(dc.GLO_GET_REQUEST, GET_LDN),
                                      key=ec.generate_private_key(ec.SECP256R1()))
            assert c.exchange(apdu) == bytes.fromhex('D80105')
        elif case == 'old date-time':
            from dlms.cosem.clock import encode_datetime
            old = encode_datetime(int(time.time()) - 3600)
            apdu, _ = general_ciphering(c, GET_LDN, b'\x01\x00\x00', DEMO_EK, date_time=old)
            assert c.exchange(apdu) == bytes.fromhex('D80106')
        elif case == 'suite nibble':
            apdu, _ = general_ciphering(c, GET_LDN, b'\x01\x00\x00', DEMO_EK, sc=0x30)
            assert c.exchange(apdu) == bytes.fromhex('D80105')
        elif case == 'replayed transaction':
            k = os.urandom(16)
            ki = b'\x01\x01\x00' + lv(aes_key_wrap(KEK, k))
            tid = TID()
            apdu, _ = general_ciphering(c, GET_LDN, ki, k, tid)
            assert c.exchange(apdu)[0] == 0xDD
            again, _ = general_ciphering(c, GET_LDN, ki, k, tid)    # new IC, the same TID
            assert c.exchange(again) == bytes.fromhex('D80106')
            older = (int.from_bytes(tid, 'big') - 5).to_bytes(8, 'big')
            assert c.exchange(general_ciphering(c, GET_LDN, ki, k, older)[0]) == \
                bytes.fromhex('D80106')
        elif case == 'bad tag':
            apdu, _ = general_ciphering(c, GET_LDN, b'\x01\x00\x00', DEMO_EK)
            apdu = apdu[:-1] + bytes((apdu[-1] ^ 1,))
            assert c.exchange(apdu) == bytes.fromhex('D80105')
        elif case == 'revoked certificate':
            sel = axdr.structure(axdr.enum(0), axdr.structure(
                axdr.enum(1), axdr.enum(0), axdr.octets(CLIENT_SYSTEM_TITLE)))
            m = RawClient(meter, 2, 1)
            # remove the client's signing certificate over this very association, then sign
            assert c.action(64, SS1, 8, sel) == (dc.SUCCESS, None)
            try:
                apdu, _ = general_signing(c.seal(dc.GLO_GET_REQUEST, GET_LDN))
                assert c.exchange(apdu) == bytes.fromhex('D80105')
            finally:
                m.close()
                der = open(os.path.join(DEMO_PKI, 'client-sign.pem'), 'rb').read()
                pem = x509.load_pem_x509_certificate(der).public_bytes(
                    serialization.Encoding.DER)
                assert c.action(64, SS1, 6, axdr.octets(pem)) == (dc.SUCCESS, None)
        # the association serves on
        assert bytes(c.get(1, '0.0.42.0.0.255', 2)[1]) == b'MMM0000012345678'
    codes = meter.output()
    assert 'Traceback' not in codes


def test_policy_signed_requests_and_responses_raised_never_lowered(tmp_path):
    """On a meter of its own: SAP 1 raises the suite 1 setup's policy to 0x9C (signed requests
    and responses too); a glo request on SAP 2 is then read-write-denied, a signed one is
    served and every answer comes signed; the policy cannot be lowered again."""
    vm = VirtualMeter(state_dir=str(tmp_path / 'state'))
    vm.start()
    try:
        server_sign = _export(vm, 0)
        s = GuruxSession('127.0.0.1', vm.port, 1, authentication='hls-gmac', ciphered=True,
                         invocation_counter=next(_IC))
        from interop.gurux_session import make_object, DataType
        with contextlib.redirect_stdout(io.StringIO()):
            s.connect()
            s.associate()
            setup = make_object(64, SS1)
            s.method(setup, 1, 0x9C, DataType.ENUM)            # security_activate
            assert s.read_raw_value(setup, 2) == 0x9C
            from interop.gurux_session import DataAccessError
            with pytest.raises(DataAccessError):
                s.method(setup, 1, 0x1C, DataType.ENUM)         # lowering 0x80: refused
            assert s.read_raw_value(setup, 2) == 0x9C
            s.release()
            s.close()
        with associated(vm, server_sign, signed_responses=True) as c:
            # unsigned: denied, and the answer is signed anyway (policy 0x80)
            reply = c.exchange(c.seal(dc.GLO_GET_REQUEST, GET_LDN))
            assert reply[0] == 0xDF
            _, (rtid, orig, recip, dt, other), pos = parse_fields(reply)
            inner = open_signed_reply(reply, server_sign, rtid)
            plain = c.open(inner, dc.GLO_GET_RESPONSE)
            assert plain == bytes.fromhex('C401C10103')          # read-write-denied
            apdu, tid = general_signing(c.seal(dc.GLO_GET_REQUEST, GET_LDN))
            inner = open_signed_reply(c.exchange(apdu), server_sign, tid)
            plain = c.open(inner, dc.GLO_GET_RESPONSE)
            assert bytes(axdr.decode_all(plain[4:])[1]) == b'MMM0000012345678'
    finally:
        vm.stop()
    assert 'Traceback' not in vm.output()


# --- Gurux cannot receive general APDUs ---------------------------------------------------------

def test_gurux_cannot_receive_general_ciphering_or_signing():
    from gurux_dlms import GXByteBuffer, GXReplyData
    from gurux_dlms.secure import GXDLMSSecureClient
    from gurux_dlms.enums import InterfaceType, Security
    cl = GXDLMSSecureClient(True, 2, 1, interfaceType=InterfaceType.WRAPPER)
    cl.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    cl.ciphering.systemTitle = CLIENT_SYSTEM_TITLE
    cl.ciphering.blockCipherKey = DEMO_EK
    cl.ciphering.authenticationKey = DEMO_AK
    k = DEMO_EK
    f = fields(TID(), SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)
    content = seal(k, DEMO_AK, SERVER_SYSTEM_TITLE, f, 0x31, 1, bytes.fromhex('C401C10000'))
    dd = b'\xDD' + f + b'\x01\x00\x00' + lv(content)
    df = b'\xDF' + f + lv(b'\xC4\x01\xC1\x00\x00') + lv(bytes(64))
    seen = {}
    for apdu, why in ((dd, 'bug 6'), (df, 'bug 7')):
        frame = bytes.fromhex('00010001000200') + bytes((len(apdu),)) + apdu
        with contextlib.redirect_stdout(io.StringIO()):
            with pytest.raises(Exception) as e:
                cl.getData(GXByteBuffer(frame), GXReplyData(), None)
        seen[why] = e.value
    # general-ciphering: GXDLMSChippering.decryptAesGcm calls setSystemTitle, which
    # AesGcmParameter has not; general-signing: GXDLMS.getPdu has no handler
    assert isinstance(seen['bug 6'], AttributeError), repr(seen['bug 6'])
    assert 'Invalid Command' in str(seen['bug 7']), repr(seen['bug 7'])
