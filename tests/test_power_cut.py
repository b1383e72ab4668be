"""Power cuts: the virtual meter (firmware/ under MicroPython) is killed with SIGKILL at random
moments, at least twenty times: while it boots, during ciphered traffic, and right after a
key_transfer was sent. It is restarted on the same --state directory each time. From the bytes
on the wire (replies opened with the harness's own GCM check, not the meter's code) the test
checks that

  - no server invocation counter value is ever used twice under one key (and under one key the
    counter only goes up, across restarts too);
  - the meter always comes back, and answers with exactly one complete key set: the old one or
    the transferred one, never a mix (the state directory agrees);
  - a request accepted before a cut is rejected as a replay after the restart.

The random schedule is seeded (POWER_CUT_SEED overrides); the whole test takes well under a
minute.
"""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from dlms import axdr, security  # noqa: E402
from dlms import suite0  # noqa: E402
import dlms_client as client  # noqa: E402
from dlms.keystore import RECORD  # noqa: E402
from dlms.store import Store  # noqa: E402
from interop.gurux_session import (unprotect_reply, wrapper_frame, DEMO_EK, DEMO_AK,  # noqa
                                   SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)
from test_server import hls_aarq, field, aare_result, get_request, LDN  # noqa: E402

DEMO_KEK = bytes.fromhex('000102030405060708090A0B0C0D0E0F')
SS_LN = bytes((0, 0, 43, 0, 0, 255))
CLIENT_STEP = 7
KILLS = 40


class Dead(Exception):
    """The connection broke: the meter was killed."""


class Client:
    """A bare management client (SAP 1, HLS-GMAC, glo-ciphering) over the TCP wrapper."""

    def __init__(self, port, ek, ak, ic, seen):
        self.ek, self.ak = ek, ak
        self.keys = suite0.Keys(ek, ak)
        self.ic = ic                    # the next client invocation counter
        self.seen = seen                # ek -> list of server ICs read off the wire, in order
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=3)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.last_request = None        # (ek, ak, apdu) of the last request that got a reply
        self.aarq = None                # (ek, ak, apdu) of the last accepted AARQ

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self, n):
        buf = b''
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except OSError:
                raise Dead()
            if not chunk:
                raise Dead()
            buf += chunk
        return buf

    def exchange(self, apdu):
        try:
            self.sock.sendall(wrapper_frame(1, 1, apdu))
        except OSError:
            raise Dead()
        head = self._recv(8)
        return self._recv(int.from_bytes(head[6:8], 'big'))

    def _saw(self, ic, ek=None):
        ek = ek or self.ek
        self.seen.setdefault(ek, []).append(ic)

    def _open(self, apdu, record=True):
        tag, sc, ic, plain = unprotect_reply(apdu, SERVER_SYSTEM_TITLE, self.ek, self.ak)
        if record:
            self._saw(ic)
        return plain if record else (ic, plain)

    def _next_ic(self):
        ic = self.ic
        self.ic += 1
        return ic

    def associate(self):
        """True when the meter accepted these keys (AARQ + HLS pass 3/4)."""
        ctos = os.urandom(16)
        aarq = hls_aarq(client_ic=self._next_ic(), ctos=ctos, keys=self.keys)
        aare = self.exchange(aarq)
        if aare_result(aare) != (0, 14):
            return False
        self.aarq = (self.ek, self.ak, aarq)
        stoc = field(aare, 0xAA)[2:]
        ui = field(aare, 0xBE)[2:]
        assert self._open(ui)[0] == 0x08
        ic = self._next_ic()
        fstoc = suite0.gmac(self.keys, CLIENT_SYSTEM_TITLE, ic, stoc)
        act = bytes.fromhex('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
        resp_ic, plain = self._open(self.exchange(self._glo(act, ic)), False)
        assert plain[:8] == bytes.fromhex('C701C10001000911'), plain.hex()
        fctos = plain[8:]
        tag = AESGCM(self.ek).encrypt(SERVER_SYSTEM_TITLE + fctos[1:5], b'',
                                      bytes((fctos[0],)) + self.ak + ctos)[:12]
        assert tag == fctos[5:], 'f(CtoS) does not verify'
        self._saw(int.from_bytes(fctos[1:5], 'big'))     # f(CtoS) took its value first
        self._saw(resp_ic)
        return True

    def _glo(self, apdu, ic):
        return security.wrap(security.KIND_GLO, None,
                             suite0.protect(self.keys, 0x30, CLIENT_SYSTEM_TITLE, ic, apdu),
                             apdu[0])

    def get_ldn(self):
        req = self._glo(get_request(1, LDN, 2), self._next_ic())
        plain = self._open(self.exchange(req))
        assert plain[:4] == bytes.fromhex('C401C100'), plain.hex()
        self.last_request = (self.ek, self.ak, req)

    def key_transfer(self, kek, new_ek, new_ak):
        items = [axdr.structure(axdr.enum(0), axdr.octets(aes_key_wrap(kek, new_ek)))]
        if new_ak != self.ak:
            items.append(axdr.structure(axdr.enum(2), axdr.octets(aes_key_wrap(kek, new_ak))))
        act = client.build_action_request_normal(0xC1, 64, SS_LN, 2, axdr.array(items))
        self.sock.sendall(wrapper_frame(1, 1, self._glo(act, self._next_ic())))

    def key_transfer_reply(self):
        head = self._recv(8)
        plain = self._open(self._recv(int.from_bytes(head[6:8], 'big')))   # old keys
        assert plain == bytes.fromhex('C701C10000'), plain.hex()


def _stored_keys(state):
    rec = Store(state).load(RECORD, True)        # never raises: there is always a good copy
    if rec is None:
        return None
    return bytes.fromhex(rec['keys']['ek']), bytes.fromhex(rec['keys']['ak'])


def _spawn_and_kill_during_boot(vm, delay):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env['MICROPYPATH'] = os.pathsep.join(
        ['.frozen'] + [os.path.join(root, d) for d in ('lib', 'firmware', 'boards/host')])
    proc = subprocess.Popen(vm.command(), cwd=root, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()
    proc.wait(5)


def test_power_cuts_never_repeat_a_server_counter_nor_tear_keys(tmp_path):
    seed = int(os.environ.get('POWER_CUT_SEED', '20261123'))
    rnd = random.Random(seed)
    state = str(tmp_path / 'state')
    cfg = tmp_path / 'config.json'
    cfg.write_text(json.dumps({'counter_step': 5, 'client_counter_step': CLIENT_STEP}))
    port = None
    seen = {}                             # ek -> server ICs in the order they were seen
    keys = (DEMO_EK, DEMO_AK)
    pending = None                        # a key set sent in a key_transfer not answered yet
    client_ic = 1
    replay = None                         # (ek, ak, request) accepted before the last cut
    replay_aarq = None
    kills = transfers = ambiguous = replays = 0
    started = time.time()
    for n in range(KILLS):
        vm = VirtualMeter(port=port, state_dir=state, config=str(cfg))
        port = vm.port
        mode = ('boot', 'traffic', 'transfer', 'traffic')[n % 4] if n else 'traffic'
        if mode == 'boot':
            _spawn_and_kill_during_boot(vm, rnd.uniform(0.0, 0.12))
            kills += 1
            continue
        vm.start(timeout=15)              # the meter always comes back
        try:
            # which complete key set does it answer to? (exactly one, never a mix)
            candidates = [keys] if pending is None else [pending, keys]
            c = None
            for ek, ak in candidates:
                c = Client(port, ek, ak, client_ic, seen)
                if replay_aarq is not None and replay_aarq[:2] == (ek, ak) and pending is None:
                    # an AARQ accepted before the cut is a replay after it: the client counter
                    # floor was persisted before it was accepted
                    assert aare_result(c.exchange(replay_aarq[2])) == (1, 1)
                    replays += 1
                ok = c.associate()
                client_ic = c.ic
                if ok:
                    break
                c.close()
                c = None
            assert c is not None, 'the meter answers to no known key set:\n' + vm.output()
            if pending is not None:
                assert _stored_keys(state) == (c.ek, c.ak)
            keys, pending = (c.ek, c.ak), None
            # a request accepted before the cut is still a replay after it
            if replay is not None and replay[:2] == keys:
                assert c.exchange(replay[2])[:3] == bytes.fromhex('D80106')
                replays += 1
            replay = None
            replay_aarq = c.aarq
            kt_at = rnd.randint(0, 3)
            killer = threading.Timer(rnd.uniform(0.0, 0.25), vm.proc.kill)
            if mode == 'traffic':
                killer.start()
            try:
                for i in range(400):
                    if mode == 'transfer' and i == kt_at:
                        new = (os.urandom(16), os.urandom(16) if rnd.random() < 0.5 else keys[1])
                        pending = new
                        c.key_transfer(DEMO_KEK, new[0], new[1])
                        time.sleep(rnd.uniform(0.0, 0.004))
                        vm.proc.kill()
                        transfers += 1
                        c.key_transfer_reply()    # if it got out before the cut
                        keys, pending = new, None
                        c.ek, c.ak = new
                        c.keys = suite0.Keys(*new)
                        break
                    c.get_ldn()
                    if c.last_request[:2] == keys:
                        replay = c.last_request
                    if mode == 'transfer' and i > 6:
                        break
            except Dead:
                pass
            client_ic = c.ic + CLIENT_STEP + 1    # what a restart may have reserved
            c.close()
            killer.cancel()
            vm.proc.kill()
            vm.proc.wait(5)
            kills += 1
            if pending is not None:
                ambiguous += 1
            stored = _stored_keys(state)
            assert stored in ([keys] if pending is None else [keys, pending])
        finally:
            vm.stop()
            assert 'Traceback' not in vm.output(), vm.output()
    # after the last cut the meter comes back once more, with the last key set
    vm = VirtualMeter(port=port, state_dir=state, config=str(cfg)).start(timeout=15)
    try:
        for ek, ak in ([keys] if pending is None else [pending, keys]):
            c = Client(port, ek, ak, client_ic, seen)
            if c.associate():
                c.get_ldn()
                c.close()
                break
            client_ic = c.ic
            c.close()
        else:
            assert False, 'the meter does not come back with any known key set'
    finally:
        vm.stop()
    print('power cuts: %d kills, %d key transfers (%d cut before the answer), %d replays '
          'rejected, %d server ICs under %d keys, %.1f s' % (
              kills, transfers, ambiguous, replays, sum(len(v) for v in seen.values()),
              len(seen), time.time() - started))
    for ek, ics in seen.items():
        assert len(ics) == len(set(ics)), 'a server IC was used twice under one key'
        assert ics == sorted(ics), 'a server IC went backwards under one key'
    assert kills >= 20 and transfers >= 3 and replays >= 3, (kills, transfers, replays)
    assert sum(len(v) for v in seen.values()) > 100
    assert time.time() - started < 60
