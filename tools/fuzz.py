"""Fuzz the server core with random and mutated APDUs and wrapper frames.

    python tools/fuzz.py [seconds] [seed]        (make fuzz FUZZ_SECONDS=600)

Runs in-process against the sans-IO server (the same code the boards run), with sessions in
every association state: not associated, public, LLS reader, HLS-GMAC pending and associated
management. Fails (exit 1) on any unhandled exception inside the server, a changed key, a client
invocation counter moved by a forged request, or a valid session that no longer works afterwards.
"""
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lib'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'vectors'))

import test_server as fx  # noqa: E402
from dlms import security, wrapper, axdr  # noqa: E402
from dlms import suite0  # noqa: E402


def corpus():
    keys = suite0.Keys(fx.EK, fx.AK)
    g = fx.get_request
    c = [
        fx.PUBLIC_AARQ, fx.LLS_AARQ, fx.hls_aarq(1), fx.RLRQ,
        g(1, fx.LDN, 2), g(8, fx.CLOCK, 2), g(15, fx.CURRENT, 2), g(3, fx.ENERGY, 3),
        bytes.fromhex('C002C100000001'),
        bytes.fromhex('C003C102000100002A0000FF020000080000010000FF0200'),
        bytes.fromhex('C101C100080000010000FF0200090C07E5010101000000000080000000'),
        bytes.fromhex('C301C1000F0000280000FF0101091110000000011A52FE7DD3E72748973C1E28'),
        bytes.fromhex('C301C100080000010000FF06011000000A'),
        fx.glo(g(1, fx.LDN, 2), 7, keys=keys),
        security.wrap(security.KIND_GENERAL_GLO, fx.CLIENT_ST,
                      suite0.protect(keys, 0x30, fx.CLIENT_ST, 8, g(8, fx.CLOCK, 2)), 0xC0),
        bytes.fromhex('D80106000000FF'),
    ]
    return c


def mutate(rnd, b):
    """b changed by one to four random edits; never b itself (an unchanged valid ciphered
    request would be a genuine one, and would rightly move the client's counter)."""
    orig = bytes(b)
    b = _edit(rnd, bytearray(b))
    if bytes(b) == orig:
        if b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        else:
            b.append(rnd.randrange(256))
    return bytes(b)


def _edit(rnd, b):
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(7)
        if op == 0 and b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 1 and b:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        elif op == 2 and b:
            del b[rnd.randrange(len(b)):]
        elif op == 3:
            i = rnd.randrange(len(b) + 1)
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        elif op == 4 and len(b) > 2:
            i = rnd.randrange(1, len(b))
            b[i] = rnd.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF))
        elif op == 5 and len(b) > 4:
            i = rnd.randrange(len(b))
            j = rnd.randrange(len(b))
            b[i], b[j] = b[j], b[i]
        elif op == 6:
            b += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
    return b


def sessions(srv):
    fresh = srv.session(16)
    public = srv.session(16)
    public.handle(fx.PUBLIC_AARQ)
    reader = srv.session(17)
    reader.handle(fx.LLS_AARQ)
    pending = srv.session(1)
    pending.handle(fx.hls_aarq(client_ic=1, st=b'FUZZPEND'))
    mgmt = fx.associated_management(srv)
    return [fresh, public, reader, pending, mgmt, srv.session(99)]


def run(seconds=10.0, seed=1):
    rnd = random.Random(seed)
    internal = []
    srv, _ = fx.make_server()
    srv.on_event = lambda name, sap, detail: internal.append(detail) \
        if name == 'internal-error' else None
    key_before = (srv.keys.ak, srv.keys.gcm.encrypt(bytes(12), b'x' * 16, b''))
    all_sessions = sessions(srv)
    ic_before = srv.client_counters.expected(fx.CLIENT_ST)
    base = corpus()
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        for _ in range(200):
            s = rnd.choice(all_sessions)
            r = rnd.random()
            if r < 0.15:
                apdu = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64)))
            else:
                apdu = mutate(rnd, rnd.choice(base))
            reply = s.handle(apdu)
            if reply is not None and not isinstance(reply, (bytes, bytearray)):
                raise AssertionError('reply of type %r' % type(reply))
            if r < 0.5:
                s.idle()                # what a transport does once the reply is out
            n += 1
            if r > 0.97:
                dec = wrapper.WrapperDecoder(max_apdu=256)
                try:
                    dec.feed(mutate(rnd, wrapper.encode(16, 1, apdu)))
                    while dec.next() is not None:
                        pass
                except wrapper.WrapperError:
                    pass
            if r > 0.995:
                try:
                    axdr.decode(apdu)
                except axdr.AxdrError:
                    pass
        if len(all_sessions) < 30:
            all_sessions.append(srv.session(rnd.choice((1, 16, 17))))
    if internal:
        raise AssertionError('unhandled exceptions inside the server: %r' % internal[:10])
    if (srv.keys.ak, srv.keys.gcm.encrypt(bytes(12), b'x' * 16, b'')) != key_before:
        raise AssertionError('a key changed')
    if srv.client_counters.expected(fx.CLIENT_ST) != ic_before:
        raise AssertionError('a forged request moved the client invocation counter')
    # a valid session still works afterwards
    s = srv.session(16)
    assert fx.aare_result(s.handle(fx.PUBLIC_AARQ)) == (0, 0)
    assert s.handle(fx.get_request(1, fx.LDN, 2))[:4] == bytes.fromhex('C401C100')
    s = srv.session(1)
    st = b'FUZZDONE'
    aare = s.handle(fx.hls_aarq(client_ic=1, st=st))
    assert fx.aare_result(aare) == (0, 14), aare
    fstoc = suite0.gmac(suite0.Keys(fx.EK, fx.AK), st, 2, fx.STOC)
    act = bytes.fromhex('C301C1000F0000280000FF010109') + bytes((len(fstoc),)) + fstoc
    assert fx.unglo(s.handle(fx.glo(act, 2, st=st)))[:5] == bytes.fromhex('C701C10001')
    return n


if __name__ == '__main__':
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
    print('fuzzing for %.0f s, seed %d' % (secs, seed))
    count = run(secs, seed)
    print('%d inputs, no failure' % count)
