"""A DLMS client of our own, byte by byte, for the ciphered associations of the virtual meter
(tests/interop/test_public_key_associations.py, tools/bench.py): one TCP wrapper connection,
every xDLMS APDU glo-ciphered (AES-GCM-128 from `cryptography`, 12-byte tag, suite nibble as
asked), every reply opened and its tag and rising server counter checked here; the request
builders of tests/vectors/dlms_client.py; ECDSA P-256 raw r || s from `cryptography`. It makes
what gurux cannot: wrong signatures, challenges out of range, another suite nibble."""
import hashlib
import itertools
import os
import socket
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (os.path.join(_HERE, '..', 'vectors'), os.path.join(_HERE, '..', '..', 'lib')):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import dlms_client as dc  # noqa: E402
from dlms import axdr  # noqa: E402
from interop.gurux_session import (  # noqa: E402
    wrapper_frame, split_wrapper_frame, DEMO_EK, DEMO_AK, CLIENT_SYSTEM_TITLE)

HOST = '127.0.0.1'
CURRENT = b'\x00\x00\x28\x00\x00\xff'   # Association LN, the current association
# the meter remembers the last invocation counter of a client title, whatever the SAP
_IC = itertools.count(1000, 1000)
# the suite 2 Security setup's demo key set (firmware/config.py DEMO_EK2, DEMO_AK2, DEMO_KEK2)
DEMO_EK2 = bytes.fromhex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F')
DEMO_AK2 = bytes.fromhex('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF')
DEMO_KEK2 = DEMO_EK2


def ln(obis):
    return bytes(int(x) for x in obis.split('.'))


def obis(ln_bytes):
    return '.'.join(str(b) for b in ln_bytes)


# --- a client of our own, byte by byte -----------------------------------------------------------

CONFORMANCE = (dc.CONF_GET | dc.CONF_SET | dc.CONF_ACTION | dc.CONF_SELECTIVE_ACCESS
               | dc.CONF_BLOCK_TRANSFER_WITH_GET_OR_READ)
INVOKE = 0xC1


def _size(key):
    return (key.curve.key_size + 7) // 8


def _hash(size):
    return hashes.SHA256() if size == 32 else hashes.SHA384()


def sign_raw(key, message):
    """ECDSA, raw r || s (DLMS), with `cryptography`: P-256/SHA-256 or P-384/SHA-384 by the
    key's curve."""
    n = _size(key)
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(_hash(n))))
    return r.to_bytes(n, 'big') + s.to_bytes(n, 'big')


def verify_raw(public_key, message, signature):
    """Raises InvalidSignature unless `signature` (raw r || s) verifies."""
    n = _size(public_key)
    if len(signature) != 2 * n:
        raise InvalidSignature('signature of %d bytes' % len(signature))
    der = encode_dss_signature(int.from_bytes(signature[:n], 'big'),
                               int.from_bytes(signature[n:], 'big'))
    public_key.verify(der, message, ec.ECDSA(_hash(n)))


def raw_point(public_key):
    """X || Y of a `cryptography` EC public key."""
    n = _size(public_key)
    nums = public_key.public_numbers()
    return nums.x.to_bytes(n, 'big') + nums.y.to_bytes(n, 'big')


class RawClient:
    """One TCP wrapper connection to client SAP `sap`; every xDLMS APDU glo-ciphered with SC
    0x30 | suite (AES-GCM-128, IV = title || IC, AAD = SC || AK, 12-byte tag), every reply
    opened and its tag and server IC checked here."""

    def __init__(self, meter, sap, suite, ic=None, title=CLIENT_SYSTEM_TITLE, ek=None, ak=None):
        # meter: a VirtualMeter (its .port) or a port number
        self.sap = sap
        self.sc = 0x30 | suite
        self.ek = ek or (DEMO_EK2 if suite == 2 else DEMO_EK)     # 32-byte keys for suite 2
        self.ak = ak or (DEMO_AK2 if suite == 2 else DEMO_AK)
        self.ic = next(_IC) if ic is None else ic
        self.title = title
        self.server_title = None
        self.server_ics = []
        self.stoc = self.ctos = None
        self.sock = socket.create_connection((HOST, getattr(meter, 'port', meter)), timeout=5)
        self._rx = b''

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exchange(self, apdu):
        self.sock.sendall(wrapper_frame(self.sap, 1, apdu))
        return self.exchange_reply()

    def exchange_reply(self):
        """The reply APDU to a request already sent."""
        while len(self._rx) < 8 or len(self._rx) < 8 + int.from_bytes(self._rx[6:8], 'big'):
            chunk = self.sock.recv(4096)
            assert chunk, 'the meter closed the connection'
            self._rx += chunk
        n = 8 + int.from_bytes(self._rx[6:8], 'big')
        frame, self._rx = self._rx[:n], self._rx[n:]
        version, source, dest, reply = split_wrapper_frame(frame)
        assert (version, source, dest) == (1, 1, self.sap)
        return reply

    def seal(self, tag, plain, sc=None):
        sc = self.sc if sc is None else sc
        ic = self.ic.to_bytes(4, 'big')
        self.ic += 1
        sealed = AESGCM(self.ek).encrypt(self.title + ic, bytes(plain), bytes([sc]) + self.ak)
        content = bytes([sc]) + ic + sealed[:-16] + sealed[-16:-4]   # 12-byte tag
        out = bytearray([tag])
        axdr.encode_length(len(content), out)
        return bytes(out) + content

    def open(self, apdu, tag):
        """The plaintext of a glo-ciphered reply: its tag byte, SC, a rising server IC and the
        GCM tag all checked (AssertionError / InvalidTag otherwise)."""
        assert apdu[0] == tag, 'expected a %02X reply, got %s' % (tag, apdu.hex())
        pos, n = 1, apdu[1]
        if n & 0x80:
            k = n & 0x7F
            pos, n = 2 + k, int.from_bytes(apdu[2:2 + k], 'big')
        else:
            pos = 2
        content = apdu[pos:pos + n]
        assert len(content) == n >= 17
        sc, ic = content[0], content[1:5]
        assert sc == self.sc, 'reply SC %02X, expected %02X' % (sc, self.sc)
        value = int.from_bytes(ic, 'big')
        assert not self.server_ics or value > self.server_ics[-1]
        self.server_ics.append(value)
        dec = Cipher(algorithms.AES(self.ek),
                     modes.GCM(self.server_title + ic, content[-12:], min_tag_length=12)
                     ).decryptor()
        dec.authenticate_additional_data(bytes([sc]) + self.ak)
        return dec.update(content[5:-12]) + dec.finalize()

    def aarq(self, mechanism, ctos, sc=None, calling_title=None, max_pdu=0xFFFF):
        """Pass 1/2: the parsed AARE (dlms_client.Aare); StoC, the server title and the opened
        InitiateResponse (`initiate`) are kept when it is accepted."""
        init = dc.build_initiate_request(CONFORMANCE, max_pdu)
        self.ctos = bytes(ctos)
        req = dc.build_aarq(context_id=dc.LN_CIPHERING,
                            calling_ap_title=calling_title or self.title, mechanism=mechanism,
                            auth_value=self.ctos,
                            user_information=self.seal(dc.GLO_INITIATE_REQUEST, init, sc))
        self.aare_raw = self.exchange(req)
        a = dc.parse_aare(self.aare_raw)
        if a.result == dc.ACCEPTED:
            self.server_title = a.responding_ap_title
            self.stoc = a.auth_value
            a.initiate = dc.parse_initiate_response(
                self.open(a.user_information, dc.GLO_INITIATE_RESPONSE))
        return a

    def pass3(self, f):
        """reply_to_HLS_authentication(f): (action-result, returned octet-string or None)."""
        req = dc.build_action_request_normal(INVOKE, 15, CURRENT, 1, axdr.octets(f))
        plain = self.open(self.exchange(self.seal(dc.GLO_ACTION_REQUEST, req)),
                          dc.GLO_ACTION_RESPONSE)
        assert plain[:3] == bytes([dc.ACTION_RESPONSE, 1, INVOKE])
        result = plain[3]
        if plain[4] == 0:
            assert len(plain) == 5
            return result, None
        assert plain[4:6] == b'\x01\x00'
        value = axdr.decode_all(plain[6:])
        assert value[0] == axdr.OCTET_STRING
        return result, bytes(value[1])

    def get(self, class_id, obis_code, attribute):
        """GET (with block transfer): the typed A-XDR value, or ('error', data-access-result)."""
        req = dc.build_get_request_normal(INVOKE, class_id, ln(obis_code), attribute)
        plain = self.open(self.exchange(self.seal(dc.GLO_GET_REQUEST, req)), dc.GLO_GET_RESPONSE)
        assert plain[1:3] == bytes([dc.NORMAL, INVOKE]) or plain[1:3] == bytes([2, INVOKE])
        if plain[1] == dc.NORMAL:
            if plain[3] == 1:
                return 'error', plain[4]
            return axdr.decode_all(plain[4:])
        raw = b''
        while True:                                  # get-response-with-datablock
            last, block = plain[3], int.from_bytes(plain[4:8], 'big')
            assert plain[8] == 0, 'data block error %r' % plain[8:].hex()
            n, pos = axdr.decode_length(plain, 9)
            raw += plain[pos:pos + n]
            if last:
                return axdr.decode_all(raw)
            req = dc.build_get_request_next(INVOKE, block)
            plain = self.open(self.exchange(self.seal(dc.GLO_GET_REQUEST, req)),
                              dc.GLO_GET_RESPONSE)

    def action(self, class_id, obis_code, method, param=None):
        """ACTION (param a typed A-XDR value or None): (action-result, the typed return value or
        None)."""
        req = dc.build_action_request_normal(INVOKE, class_id, ln(obis_code), method, param)
        plain = self.open(self.exchange(self.seal(dc.GLO_ACTION_REQUEST, req)),
                          dc.GLO_ACTION_RESPONSE)
        assert plain[:3] == bytes([dc.ACTION_RESPONSE, 1, INVOKE]), plain.hex()
        if plain[4] == 0:
            return plain[3], None
        assert plain[4:6] == b'\x01\x00', plain.hex()
        return plain[3], axdr.decode_all(plain[6:])

    def release(self):
        reason, _ = dc.parse_rlre(self.exchange(dc.build_rlrq()))
        return reason

    # the two mechanisms' pass 3 / pass 4 (dlms-public-key.md 2.1)
    def sha256_f(self, secret, first, second, c1, c2):
        return hashlib.sha256(secret + first + second + c1 + c2).digest()

    def ecdsa_pass3_message(self):
        return self.title + self.server_title + self.stoc + self.ctos

    def ecdsa_pass4_message(self):
        return self.server_title + self.title + self.ctos + self.stoc
