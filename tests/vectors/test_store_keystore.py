# The keystore on the simulated file system of test_store: counters that never repeat across
# restarts and power cuts, client counter floors, what happens to torn/corrupt/invalid records,
# migration from the first store format, and the DRBG's seeding across boots.
# Runs under CPython and MicroPython.
from binascii import unhexlify
from dlms import keystore, security
from dlms.store import Store
from test_store import FakeFs, PowerCut

ST = unhexlify('4D4D4D0000BC614E')
EK = unhexlify('000102030405060708090A0B0C0D0E0F')
AK = unhexlify('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
KEK = unhexlify('101112131415161718191A1B1C1D1E1F')
CLIENT = unhexlify('4D4D4D0000000001')
SS_LN = unhexlify('00002B0000FF')


def initial():
    return keystore.new_record(ST, EK, AK, KEK, lls={17: b'12345678'}, seed=b'S' * 32,
                               policies={SS_LN: (0x0C, 0)})


def boot(files, step=8, client_step=5, budget=None, init=True):
    fs = FakeFs(files, budget=budget)
    ks = keystore.KeyStore(Store('/s', fs), step, client_step)
    ks.open(initial() if init else None)
    return ks, fs


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def __call__(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x % n


def test_server_counter_never_repeats_across_restarts_and_power_cuts():
    rnd = Lcg(7)
    files = boot({})[1].files
    used = set()
    top = -1
    cuts = 0
    for restart in range(40):
        ks, fs = boot(files)
        assert ks.ok, ks.failure
        c = ks.server_counter()
        assert c.value > top            # resumes above every value ever handed out
        fs.budget = fs.steps + rnd(500)  # the power goes at a random step from now on
        try:
            for i in range(rnd(40)):
                v = c.next()
                assert v not in used
                used.add(v)
                top = max(top, v)
        except PowerCut:
            cuts += 1
        files = fs.files
    assert cuts > 5 and len(used) > 100


def test_reservation_is_persisted_before_a_value_beyond_it_is_used():
    ks, fs = boot({})
    c = ks.server_counter()
    for i in range(20):
        v = c.next()
        back, _ = boot(fs.files)
        assert back.rec['ic']['server'] > v


def test_client_counter_replay_is_rejected_across_a_restart():
    ks, fs = boot({})
    t = ks.client_counters()
    assert t.fresh(CLIENT, 1)
    t.accept(CLIENT, 1)
    t.accept(CLIENT, 2)
    assert not t.fresh(CLIENT, 2) and t.fresh(CLIENT, 3) and t.expected(CLIENT) == 3
    ks2, _ = boot(fs.files)
    t2 = ks2.client_counters()
    for ic in (1, 2, 3, 5):             # floor = 1 + client step 5 = 6
        assert not t2.fresh(CLIENT, ic)
    assert t2.expected(CLIENT) == 6 and t2.fresh(CLIENT, 6)
    assert t2.fresh(unhexlify('4D4D4D0000000002'), 0)     # another title is not affected


def saves(ks):
    return ks.store._newest[keystore.RECORD][0]      # the record's sequence number


def test_client_floor_write_carries_a_server_reservation_that_is_due_soon():
    ks, fs = boot({})                   # step 8, client step 5
    c = ks.server_counter()
    t = ks.client_counters()
    for i in range(5):
        c.next()                        # 1..5 (a key's first value is 1): value 6, reserved 9:
    n = saves(ks)                       # 3 left, within half a step
    t.accept(CLIENT, 1)                 # a floor write: the server reservation goes along
    assert saves(ks) == n + 1 and c.reserved == 14
    assert [c.next() for i in range(8)] == list(range(6, 14))
    assert saves(ks) == n + 1           # no write of its own for these
    back, _ = boot(fs.files)
    assert back.rec['ic']['server'] == 14 and back.client_counters().fresh(CLIENT, 6)
    assert not back.client_counters().fresh(CLIENT, 5)


def test_server_reservation_write_carries_client_floors_that_are_due_soon():
    ks, fs = boot({})
    c = ks.server_counter()
    t = ks.client_counters()
    t.accept(CLIENT, 1)                 # floor 6
    t.accept(CLIENT, 4)                 # 2 below the floor: due soon
    other = unhexlify('4D4D4D0000000002')
    t.accept(other, 10)                 # floor 15, 5 above: not due
    n = saves(ks)
    for i in range(9):
        c.next()                        # crosses the reservation once
    assert saves(ks) == n + 1
    rec = boot(fs.files)[0].rec['ic']['clients']
    assert rec['4D4D4D0000000001'] == 9 and rec['4D4D4D0000000002'] == 15
    t.accept(CLIENT, 5)
    t.accept(CLIENT, 8)                 # below the raised floor: no write
    assert saves(ks) == n + 1
    t.accept(CLIENT, 9)
    assert saves(ks) == n + 2


def test_old_key_counter_never_rides_along_after_a_key_change():
    ks, fs = boot({})
    c = ks.server_counter()
    c.next()
    ks.primary._gen += 1                # what a unicast key change does
    for i in range(6):
        c.value += 1                    # (the old counter, as if still used)
    r = c.reserved
    ks.client_counters().accept(CLIENT, 1)
    assert c.reserved == r


def test_client_floor_that_cannot_be_persisted_refuses_the_request():
    ks, fs = boot({})
    t = ks.client_counters()

    def broken(path, data):
        raise OSError(5)
    fs.write = broken
    try:
        t.accept(CLIENT, 1)
        assert False
    except security.SecurityError:
        pass
    assert t.fresh(CLIENT, 1)           # not recorded as accepted either


def test_many_client_titles_share_a_raised_floor_when_evicted():
    ks, fs = boot({})
    t = ks.client_counters()
    titles = [unhexlify('4D4D4D00000000%02X' % i) for i in range(40)]
    for i, st in enumerate(titles):
        t.accept(st, 100 + i)
    assert len(ks.rec['ic']['clients']) <= 16
    ks2, _ = boot(fs.files)
    t2 = ks2.client_counters()
    for i, st in enumerate(titles):     # no title can replay its last counter after a restart
        assert not t2.fresh(st, 100 + i)


def test_corrupt_keystore_refuses_ciphered_service_and_says_why():
    ks, fs = boot({})
    ks.server_counter().next()
    files = dict(fs.files)
    files['/s/keystore.0'] = b'DLMSREC1 keystore 1\n{}\n00000000\n'
    files['/s/keystore.1'] = files['/s/keystore.1'][:40]
    bad, _ = boot(files)
    assert not bad.ok
    assert 'corrupt' in bad.failure and 'keystore.0' in bad.failure
    assert bad.events[-1][0] == 'keystore-failure'


def test_missing_keystore_without_initial_values_is_refused():
    ks, _ = boot({}, init=False)
    assert not ks.ok and 'not provisioned' in ks.failure


def test_record_with_a_wrong_layout_is_refused_not_repaired():
    store = Store('/s', FakeFs())
    rec = initial()
    rec['keys']['ek'] = '0011'
    store.save('keystore', rec)
    ks, _ = boot(store.fs.files)
    assert not ks.ok and 'invalid' in ks.failure


def test_damaged_newest_copy_falls_back_and_skips_a_step_of_counters():
    ks, fs = boot({}, step=8)
    c = ks.server_counter()
    for i in range(30):
        c.next()                         # reservations 8, 16, 24, 32 written
    top = c.value - 1
    newest = '/s/keystore.%d' % ks.store._newest['keystore'][1]
    files = dict(fs.files)
    files[newest] = files[newest][:-5] + b'zzzz\n'
    back, _ = boot(files, step=8)
    assert back.ok
    assert back.events[0][0] == 'store-fallback'
    assert back.server_counter().next() > top


def test_first_store_format_identity_and_counter_are_migrated():
    from binascii import crc32

    def legacy(body):
        return ('%s\n%08x\n' % (body, crc32(body.encode()) & 0xFFFFFFFF)).encode()
    files = {'/s/identity.rec': legacy('{"system_title": "4D4D4D0000000042", '
                                       '"ek": "000102030405060708090A0B0C0D0E0F", '
                                       '"ak": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"}'),
             '/s/server_ic.rec': legacy('{"reserved": 5000}')}
    ks, _ = boot(files)
    assert ks.ok and ks.origin == 'migrated'
    assert ks.system_title == unhexlify('4D4D4D0000000042')
    assert ks.server_counter().next() == 5000
    files['/s/server_ic.rec'] = b'torn'
    bad, _ = boot(files)
    assert not bad.ok                     # never a restarted counter


def test_drbg_never_repeats_across_boots_even_with_constant_entropy():
    files = boot({})[1].files
    seen = set()
    for n in range(6):
        ks, fs = boot(files)
        d = ks.rng(lambda k: bytes(k))     # an entropy source that always says zero
        for i in range(5):
            x = d.generate(16)
            assert x not in seen
            seen.add(x)
        files = fs.files
    assert ks.rec['boots'] == 6


def test_drbg_boot_cut_before_its_state_is_saved_gives_no_output_and_no_repeat():
    files = boot({})[1].files
    ks, fs = boot(files)
    first = ks.rng(lambda k: bytes(k)).generate(16)
    files = fs.files
    ks, fs = boot(files, budget=None)
    fs.budget = fs.steps + 3              # cut inside the forward-seed write
    try:
        ks.rng(lambda k: bytes(k))
        assert False
    except PowerCut:
        pass
    ks, fs = boot(fs.files)
    again = ks.rng(lambda k: bytes(k)).generate(16)
    assert again != first


def test_drbg_refuses_when_its_state_cannot_be_persisted():
    ks, fs = boot({})

    def broken(path, data):
        raise OSError(28)
    fs.write = broken
    try:
        ks.rng(lambda k: bytes(k))
        assert False
    except keystore.KeyStoreError:
        pass


def test_lls_secret_and_policy_changes_persist():
    ks, fs = boot({})
    assert ks.secret(17) == b'12345678' and ks.policy(SS_LN) == (0x0C, 0)
    assert ks.set_secret(17, b'n3w-s3cret')
    assert ks.set_policy(SS_LN, 0x6C)
    ks2, _ = boot(fs.files)
    assert ks2.secret(17) == b'n3w-s3cret' and ks2.policy(SS_LN) == (0x6C, 0)


def test_keys_are_never_shown():
    ks, _ = boot({})
    assert 'D0D1' not in repr(ks.keys()) and '0001' not in repr(ks.keys())
