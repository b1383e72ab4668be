"""Security suite 2 (AES-GCM-256, ECDSA P-384, SHA-384) and key agreement against the virtual
meter: SAP 4 (HLS-ECDSA, Security setup 0.0.43.0.2.255 with its own 32-byte key set) through a
whole session byte by byte with a client on `cryptography` (tests/interop/raw_client.py);
key_transfer of 256-bit keys under the 256-bit KEK, and the refusals of a key of the other size;
key_agreement (C(2e,0s)) on both public-key setups, every derived key computed by
`cryptography`; and the Gurux client where its paths exist, each broken one named by a test:

- HLS-ECDSA with P-384 (suite 2): GXEcdsa.sign tests for P-256 twice, so a P-384 key never gets
  SHA-384 ("Invalid private key scheme"; dlms-public-key.md 6.3 bug 1);
- key_agreement: GXDLMSSecuritySetup.keyAgreement calls .public on a tuple and sends no
  signature (bug 8);
- key_transfer with a 32-byte KEK: GXDLMSSecureClient.encrypt refuses the KEK (bug 9).
"""
import contextlib
import io
import json
import os
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

import dlms_client as dc  # noqa: E402
from dlms import axdr  # noqa: E402
from interop.gurux_session import (  # noqa: E402
    GuruxSession, make_object, DataType, DEMO_PKI, SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)
from interop.raw_client import (  # noqa: E402
    RawClient, sign_raw, verify_raw, raw_point, DEMO_EK2, DEMO_AK2, DEMO_KEK2, _IC)

SS1 = '0.0.43.0.1.255'
SS2 = '0.0.43.0.2.255'
ALG_GCM = {16: bytes.fromhex('60857405080300'), 32: bytes.fromhex('60857405080301')}
EV_KEY_CHANGED = 5
EV_KEY_AGREEMENT_FAILED = 23


def _key(name):
    with open(os.path.join(DEMO_PKI, name), 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


@pytest.fixture(scope='module')
def meter():
    vm = VirtualMeter()
    vm.start()
    yield vm
    vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()


def _server_cert(meter, ss):
    s = GuruxSession('127.0.0.1', meter.port, 1, authentication='hls-gmac', ciphered=True,
                     invocation_counter=next(_IC))
    with contextlib.redirect_stdout(io.StringIO()):
        s.connect()
        try:
            s.associate()
            der = s.export_certificate(ss, 0, 0, SERVER_SYSTEM_TITLE)
            s.release()
        finally:
            s.close()
    return x509.load_der_x509_certificate(der)


@pytest.fixture(scope='module')
def cert2(meter):
    """The meter's P-384 signing certificate (suite 2 setup), issued by the demo P-384 CA."""
    cert = _server_cert(meter, SS2)
    assert isinstance(cert.public_key().curve, ec.SECP384R1)
    ca = x509.load_pem_x509_certificate(open(os.path.join(DEMO_PKI, 'ca-p384.pem'), 'rb').read())
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           ec.ECDSA(cert.signature_hash_algorithm))
    return cert


@pytest.fixture(scope='module')
def cert1(meter):
    return _server_cert(meter, SS1)


class Keys:
    """The client's view of a key set (what it has agreed or transferred so far)."""

    def __init__(self, ek, ak, kek):
        self.ek, self.ak, self.kek = ek, ak, kek


@pytest.fixture(scope='module')
def keys2():
    return Keys(DEMO_EK2, DEMO_AK2, DEMO_KEK2)


def session(meter, cert, keys, sap=4, suite=2, sign_key='client-sign-p384.key.pem'):
    """An associated RawClient on SAP 4 (or 2): HLS-ECDSA, pass 4 verified with `cert`."""
    c = RawClient(meter, sap, suite, ek=keys.ek, ak=keys.ak)
    a = c.aarq(dc.HLS_ECDSA, os.urandom(48))
    assert (a.result, a.diagnostic) == (0, dc.DIAG_AUTHENTICATION_REQUIRED), a
    result, f = c.pass3(sign_raw(_key(sign_key), c.ecdsa_pass3_message()))
    assert result == dc.SUCCESS
    verify_raw(cert.public_key(), c.ecdsa_pass4_message(), f)
    return c


def test_sap4_hls_ecdsa_p384_session_on_suite2(meter, cert2, keys2):
    with session(meter, cert2, keys2) as c:
        assert c.sc == 0x32
        objects = {'.'.join(str(b) for b in bytes(o[1][2][1]))
                   for o in c.get(15, '0.0.40.0.0.255', 2)[1]}
        assert SS2 in objects and SS1 not in objects and '0.0.43.0.0.255' not in objects
        assert c.get(64, SS2, 3) == (axdr.ENUM, 2)                 # security_suite 2
        assert bytes(c.get(1, '0.0.42.0.0.255', 2)[1]) == b'MMM0000012345678'
        assert len(c.server_ics) >= 4 and c.server_ics == sorted(set(c.server_ics))
        assert c.release() == 0


def test_sap4_refuses_a_suite1_sc_and_16_byte_keys(meter, cert2, keys2):
    # an AARQ whose SC carries suite 1 on the suite 2 association is rejected
    c = RawClient(meter, 4, 1, ek=keys2.ek, ak=keys2.ak)
    try:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(48))
        assert a.result != 0
    finally:
        c.close()
    # suite 2 with the 16-byte demo keys of suite 0/1 does not decipher
    c = RawClient(meter, 4, 2, ek=bytes(range(16)), ak=bytes(range(16)))
    try:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(48))
        assert a.result != 0
    finally:
        c.close()


def test_key_transfer_of_256_bit_keys_under_the_256_bit_kek(meter, cert2, keys2):
    new_ek = os.urandom(32)
    with session(meter, cert2, keys2) as c:
        # a 128-bit key sent to the suite 2 setup: refused, nothing changes
        bad = axdr.array([axdr.structure(axdr.enum(0),
                                         axdr.octets(aes_key_wrap(keys2.kek, os.urandom(16))))])
        assert c.action(64, SS2, 2, bad) == (dc.OTHER_REASON, None)
        good = axdr.array([axdr.structure(axdr.enum(0),
                                          axdr.octets(aes_key_wrap(keys2.kek, new_ek)))])
        assert c.action(64, SS2, 2, good) == (dc.SUCCESS, None)   # answered under the old EK
    keys2.ek = new_ek
    with session(meter, cert2, keys2) as c:                     # the new key, fresh counters
        assert c.server_ics[0] <= 3
        assert c.get(64, SS2, 3) == (axdr.ENUM, 2)


def test_a_256_bit_key_sent_to_the_suite1_setup_is_refused(meter, cert1):
    c = RawClient(meter, 2, 1)
    try:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
        assert a.result == 0
        result, f = c.pass3(sign_raw(_key('client-sign.key.pem'), c.ecdsa_pass3_message()))
        assert result == dc.SUCCESS
        kek = bytes.fromhex('000102030405060708090A0B0C0D0E0F')
        bad = axdr.array([axdr.structure(axdr.enum(0),
                                         axdr.octets(aes_key_wrap(kek, os.urandom(32))))])
        assert c.action(64, SS1, 2, bad) == (dc.OTHER_REASON, None)
        assert c.get(64, SS1, 3) == (axdr.ENUM, 1)             # still served, old key
    finally:
        c.close()


def _agree_items(curve, sign_key, key_ids):
    ephemerals = {}
    items = []
    for k in key_ids:
        e = ec.generate_private_key(curve)
        q = raw_point(e.public_key())
        ephemerals[k] = e
        items.append(axdr.structure(axdr.enum(k), axdr.octets(
            q + sign_raw(sign_key, bytes((k,)) + q))))
    return ephemerals, axdr.array(items)


def _derive(curve, size, eph, data, server_pub, k):
    n = (curve.key_size + 7) // 8
    q_ev, sig = bytes(data[:2 * n]), bytes(data[2 * n:])
    verify_raw(server_pub, bytes((k,)) + q_ev, sig)            # the meter signed its key
    peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, b'\x04' + q_ev)
    alg = bytes.fromhex('60857405080302' if size == 16 else '60857405080303') if k == 3 \
        else ALG_GCM[size]
    h = hashes.SHA256() if size == 16 else hashes.SHA384()
    return ConcatKDFHash(h, size, alg + CLIENT_SYSTEM_TITLE + SERVER_SYSTEM_TITLE).derive(
        eph.exchange(ec.ECDH(), peer))


def test_key_agreement_on_the_suite2_setup(meter, cert2, keys2):
    sign_key = _key('client-sign-p384.key.pem')
    with session(meter, cert2, keys2) as c:
        eph, items = _agree_items(ec.SECP384R1(), sign_key, [0, 2])
        result, value = c.action(64, SS2, 3, items)
        assert result == dc.SUCCESS
        got = {}
        for entry in value[1]:
            k = entry[1][0][1]
            got[k] = _derive(ec.SECP384R1(), 32, eph[k], entry[1][1][1], cert2.public_key(), k)
    keys2.ek, keys2.ak = got[0], got[2]
    with session(meter, cert2, keys2) as c:                     # the agreed keys
        assert c.get(64, SS2, 3) == (axdr.ENUM, 2)
        assert c.server_ics[0] <= 3                            # fresh counters


def test_key_agreement_refused_with_a_p256_signature_on_the_suite2_setup(meter, cert2, keys2):
    with session(meter, cert2, keys2) as c:
        eph, items = _agree_items(ec.SECP384R1(), _key('client-sign.key.pem'), [0])
        assert c.action(64, SS2, 3, items) == (dc.OTHER_REASON, None)
        assert c.get(64, SS2, 3) == (axdr.ENUM, 2)              # old keys still serve


def test_key_agreement_on_the_suite1_setup_changes_the_primary_keys_for_everyone(meter, cert1):
    """Last in this module: the primary key set (SAP 1, 2, 3) changes; the other tests of this
    module are done with it."""
    sign_key = _key('client-sign.key.pem')
    c = RawClient(meter, 2, 1)
    try:
        a = c.aarq(dc.HLS_ECDSA, os.urandom(32))
        assert c.pass3(sign_raw(sign_key, c.ecdsa_pass3_message()))[0] == dc.SUCCESS
        eph, items = _agree_items(ec.SECP256R1(), sign_key, [0])
        result, value = c.action(64, SS1, 3, items)
        assert result == dc.SUCCESS
        entry = value[1][0]
        new_ek = _derive(ec.SECP256R1(), 16, eph[0], entry[1][1][1], cert1.public_key(), 0)
    finally:
        c.close()
    # the management association (suite 0, the same primary keys) now needs the agreed EK
    s = GuruxSession('127.0.0.1', meter.port, 1, authentication='hls-gmac', ciphered=True,
                     block_cipher_key=new_ek, invocation_counter=next(_IC))
    with contextlib.redirect_stdout(io.StringIO()):
        s.connect()
        try:
            s.associate()
            assert s.read_raw_value(make_object(64, '0.0.43.0.0.255'), 3) == 0
            s.release()
        finally:
            s.close()


# --- the Gurux client's broken paths -------------------------------------------------------------

def test_gurux_hls_ecdsa_with_p384_is_broken(meter, cert2, keys2):
    from interop.gurux_session import demo_client_signing_key
    s = GuruxSession('127.0.0.1', meter.port, 4, authentication='hls-ecdsa', ciphered=True,
                     security_suite=2, block_cipher_key=keys2.ek, authentication_key=keys2.ak,
                     signing_key=demo_client_signing_key(2), server_public_key=cert2,
                     ctos_challenge=os.urandom(48), invocation_counter=next(_IC))
    with contextlib.redirect_stdout(io.StringIO()):
        s.connect()
        try:
            with pytest.raises(Exception) as e:
                s.associate()
            assert 'Invalid private key scheme' in str(e.value), repr(e.value)
        finally:
            s.close()


def test_gurux_key_agreement_is_broken():
    """GXDLMSSecuritySetup.keyAgreement reads ephemeralKeyPair.public of what is a tuple
    everywhere else (and would send no signature: that code is commented out)."""
    from gurux_dlms.objects import GXDLMSSecuritySetup
    from gurux_dlms.secure import GXDLMSSecureClient
    from gurux_dlms.ecdsa import GXPrivateKey
    c = GXDLMSSecureClient(True)
    pk = GXPrivateKey.fromRawBytes(b'\xe1' * 32)
    c.ciphering.ephemeralKeyPair = (pk.getPublicKey(), pk)
    with pytest.raises(AttributeError) as e:
        GXDLMSSecuritySetup(SS1).keyAgreement(c, 0)
    assert 'public' in str(e.value)


def test_gurux_key_transfer_with_a_32_byte_kek_is_broken():
    """Its key wrap refuses any KEK but 16 bytes, so no suite 2 key_transfer; the test above
    wraps with `cryptography` instead."""
    from gurux_dlms.secure import GXDLMSSecureClient
    with pytest.raises(ValueError) as e:
        GXDLMSSecureClient.encrypt(DEMO_KEK2, bytes(32))
    assert 'Key Encrypting Key' in str(e.value)
