"""Key management on the virtual meter driven by the Gurux client (its own RFC 3394 key wrap and
security setup method builders): key_transfer of new unicast and authentication keys, answered
under the old keys and in force from the next request on, kept across a restart; a transfer
wrapped under the wrong master key; security_activate raising the policy and refusing to lower
it; and both methods out of reach of the reader association."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
from sim_process import VirtualMeter  # noqa: E402

from gurux_dlms.objects.enums.GlobalKeyType import GlobalKeyType  # noqa: E402
from interop.gurux_session import (  # noqa: E402
    GuruxSession, make_object, AssociationRejected, DataAccessError, HlsFailed, DEMO_EK,
    DEMO_AK, SERVER_SYSTEM_TITLE)

HOST = '127.0.0.1'
DEMO_KEK = bytes.fromhex('000102030405060708090A0B0C0D0E0F')
NEW_EK = bytes.fromhex('00112233445566778899AABBCCDDEEFF')
NEW_AK = bytes.fromhex('C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF')


class Counter:
    """Client invocation counters that always move forward (the meter keeps its floors)."""

    def __init__(self):
        self.ic = 1000

    def take(self):
        self.ic += 1000
        return self.ic


def management(vm, ic, ek=DEMO_EK, ak=DEMO_AK):
    s = GuruxSession(HOST, vm.port, 1, authentication='hls-gmac', ciphered=True,
                     block_cipher_key=ek, authentication_key=ak, invocation_counter=ic.take())
    s.connect()
    s.associate()
    return s


def security_setup():
    return make_object(64, '0.0.43.0.0.255')


def invoke(s, frames):
    """Send gurux-made ACTION frames; DataAccessError carries a failed action-result."""
    reply = s._exchange(frames)
    if reply.error:
        raise DataAccessError('action', int(reply.error))
    return reply


def switch_keys(s, ek, ak):
    s.client.ciphering.blockCipherKey = ek
    s.client.ciphering.authenticationKey = ak
    s._keys = (ek, ak)
    s.server_invocation_counters = []       # a new key counts from 0


def test_key_transfer_and_security_activate_with_gurux(tmp_path):
    state = str(tmp_path / 'state')
    ic = Counter()
    vm = VirtualMeter(state_dir=state).start()
    try:
        s = management(vm, ic)
        ss = security_setup()
        # wrapped under the wrong master key: action failure, nothing changes
        with pytest.raises(DataAccessError) as e:
            invoke(s, ss.globalKeyTransfer(s.client, bytes(16),
                                             [(GlobalKeyType.UNICAST_ENCRYPTION, NEW_EK)]))
        assert e.value.code == 250
        assert bytes(s.read_raw_value(make_object(1, '0.0.42.0.0.255'), 2)) == \
            b'MMM0000012345678'
        # the policy can only be raised
        with pytest.raises(DataAccessError) as e:
            invoke(s, ss.activate(s.client, 0x04))
        assert e.value.code == 9
        invoke(s, ss.activate(s.client, 0x6C))
        assert s.read_raw_value(ss, 2) == 0x6C
        # new unicast and authentication keys: the answer comes under the old keys ...
        invoke(s, ss.globalKeyTransfer(s.client, DEMO_KEK, [
            (GlobalKeyType.UNICAST_ENCRYPTION, NEW_EK), (GlobalKeyType.AUTHENTICATION, NEW_AK)]))
        # ... and the next request of the same association already needs the new ones
        switch_keys(s, NEW_EK, NEW_AK)
        assert bytes(s.read_raw_value(ss, 5)) == SERVER_SYSTEM_TITLE
        assert s.server_invocation_counters[0] < 10     # the new key's counter starts anew
        s.release()
        s.close()
        with pytest.raises((AssociationRejected, HlsFailed)):
            management(vm, ic)                           # the demo keys are gone
    finally:
        vm.stop()
    assert 'key-changed' in vm.output()
    assert NEW_EK.hex().upper() not in vm.output() and NEW_AK.hex().upper() not in vm.output()
    vm = VirtualMeter(state_dir=state).start()           # and they stay gone after a restart
    try:
        assert 'EK (global unicast encryption key)' not in vm.output()
        assert 'AK (authentication key)' not in vm.output()
        s = management(vm, ic, NEW_EK, NEW_AK)
        assert s.read_raw_value(security_setup(), 2) == 0x6C
        s.release()
        s.close()
        # the reader may not invoke key management at all
        r = GuruxSession(HOST, vm.port, 17, authentication='low', password=b'12345678')
        r.connect()
        r.associate()
        with pytest.raises(DataAccessError) as e:
            invoke(r, security_setup().activate(r.client, 0x6C))
        assert e.value.code == 4                         # not in its object list
        r.release()
        r.close()
    finally:
        vm.stop()
    assert 'Traceback' not in vm.output(), vm.output()
