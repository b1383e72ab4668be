"""Power cuts during key agreement: the virtual meter is killed with SIGKILL at random moments of
many key_agreement calls in a row (Security setup 0.0.43.0.1.255 method 3, from the management
association, whose suite 0 keys are the primary key set the suite 1 setup shares), restarted on
the same --state directory each time. The client side is computed with `cryptography` (ECDH,
ECDSA, the concatenation KDF), not with the meter's code. After every restart:

  - the meter answers to exactly one key set: the old one, or the agreed one (with fresh
    counters), never a mixture; when the answer was cut off, the client cannot know the new key
    (only the meter's ephemeral key in that answer gives it): the test then reads which key the
    state directory holds, and checks that it is complete;
  - no server invocation counter is ever used twice under one key.
"""
import json
import os
import random
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec as cec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from dlms import axdr, suite0  # noqa: E402
import dlms_client as client  # noqa: E402
from dlms.keystore import RECORD  # noqa: E402
from dlms.store import Store  # noqa: E402
from interop.gurux_session import DEMO_EK, DEMO_AK, DEMO_PKI, SERVER_SYSTEM_TITLE, \
    CLIENT_SYSTEM_TITLE  # noqa: E402
from test_power_cut import Client, Dead, wrapper_frame, VirtualMeter  # noqa: E402

SS1_LN = bytes((0, 0, 43, 0, 1, 255))
CLIENT_STEP = 7
ROUNDS = 24
ALG_AES_GCM_128 = bytes.fromhex('60857405080300')


def _raw(n, size=32):
    return n.to_bytes(size, 'big')


def _signing_key():
    with open(os.path.join(DEMO_PKI, 'client-sign.key.pem'), 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


def _sign(key, msg):
    r, s = decode_dss_signature(key.sign(msg, cec.ECDSA(hashes.SHA256())))
    return _raw(r) + _raw(s)


def _point(pub):
    n = pub.public_numbers()
    return _raw(n.x) + _raw(n.y)


class AgreeingClient(Client):
    def key_agreement(self, sign_key):
        """Send key_agreement for the global unicast key; returns the ephemeral private key."""
        eph = cec.generate_private_key(cec.SECP256R1())
        q = _point(eph.public_key())
        item = axdr.structure(axdr.enum(0), axdr.octets(q + _sign(sign_key, b'\x00' + q)))
        act = client.build_action_request_normal(0xC1, 64, SS1_LN, 3, axdr.array([item]))
        self.sock.sendall(wrapper_frame(1, 1, self._glo(act, self._next_ic())))
        return eph

    def key_agreement_reply(self, eph):
        """The agreed key from the answer (under the old keys), computed by `cryptography`."""
        head = self._recv(8)
        plain = self._open(self._recv(int.from_bytes(head[6:8], 'big')))
        assert plain[:6] == bytes.fromhex('C701C1000100'), plain.hex()
        v = axdr.decode_all(plain[6:])
        data = bytes(v[1][0][1][1][1])
        q_ev = cec.EllipticCurvePublicKey.from_encoded_point(cec.SECP256R1(), b'\x04' + data[:64])
        z = eph.exchange(cec.ECDH(), q_ev)
        other = ALG_AES_GCM_128 + CLIENT_SYSTEM_TITLE + SERVER_SYSTEM_TITLE
        return ConcatKDFHash(hashes.SHA256(), 16, other).derive(z)


def _stored(state):
    rec = Store(state).load(RECORD, True)
    return bytes.fromhex(rec['keys']['ek']), bytes.fromhex(rec['keys']['ak']), rec['ic']


def test_power_cuts_during_key_agreement_leave_one_complete_key_set(tmp_path):
    seed = int(os.environ.get('POWER_CUT_SEED', '20261204'))
    rnd = random.Random(seed)
    sign_key = _signing_key()
    state = str(tmp_path / 'state')
    cfg = tmp_path / 'config.json'
    cfg.write_text(json.dumps({'counter_step': 5, 'client_counter_step': CLIENT_STEP}))
    port = None
    seen = {}
    ek, ak = DEMO_EK, DEMO_AK
    client_ic = 1
    agreed = lost = cut_before = 0
    duration = 0.03                  # of an agreement, as last measured (send to answer)
    started = time.time()
    for n in range(ROUNDS):
        vm = VirtualMeter(port=port, state_dir=state, config=str(cfg))
        port = vm.port
        vm.start(timeout=30)
        try:
            stored_ek, stored_ak, ic = _stored(state)
            assert stored_ak == ak                        # only the unicast key is agreed
            if stored_ek != ek:
                # the answer was cut off: the meter holds a new, complete key set with fresh
                # counters (the client could not know it; a head-end would re-key over KEK)
                assert ic['clients'] == {} and ic['server'] <= 5, ic
                ek = stored_ek
                lost += 1
            c = AgreeingClient(port, ek, ak, client_ic, seen)
            assert c.associate(), 'the meter does not answer to the key it holds:\n' + vm.output()
            client_ic = c.ic
            c.get_ldn()
            # every other round the cut aims at the end of the agreement (around the write of
            # the new key), the others anywhere in it
            delay = duration * (rnd.uniform(0.8, 1.0) if n % 2 else rnd.uniform(0.0, 3.0))
            t0 = time.time()
            eph = c.key_agreement(sign_key)
            killer = threading.Timer(delay, vm.proc.kill)
            killer.start()
            try:
                new = c.key_agreement_reply(eph)
            except Dead:
                cut_before += 1
            else:
                duration = time.time() - t0
                agreed += 1
                ek = new
                c.ek = new
                c.keys = suite0.Keys(new, ak)
                try:
                    c.get_ldn()                           # the new key works at once
                except Dead:
                    pass
            client_ic = c.ic + CLIENT_STEP + 1
            c.close()
            killer.join()
            vm.proc.kill()
            vm.proc.wait(5)
        finally:
            vm.stop()
            assert 'Traceback' not in vm.output(), vm.output()
    for key, ics in seen.items():
        assert len(ics) == len(set(ics)), 'a server IC was used twice under one key'
        assert ics == sorted(ics), 'a server IC went backwards under one key'
    print('key agreement power cuts: %d rounds, %d agreed, %d cut before the answer (%d of '
          'them had installed the new key), %d keys, %.1f s' % (
              ROUNDS, agreed, cut_before, lost, len(seen), time.time() - started))
    assert agreed >= 3 and cut_before >= 3, (agreed, cut_before)
    assert time.time() - started < 120
