# The persistent store under power cuts: a simulated file system cuts a save at every step
# (create, each chunk of bytes, close, rename, read-back), with and without garbage left in the
# torn file, with an atomic rename (littlefs, POSIX) and a remove-then-rename one (FAT). After
# every cut a fresh store (the next boot) loads either the old or the new record, never anything
# else, and can be written again. Also: damaged copies fall back to the older good one; no good
# copy at all is reported, never turned into defaults. Runs under CPython and MicroPython.
from dlms.store import Store, StoreError, StoreCorrupt, encode, decode

_CHUNK = 7


class PowerCut(Exception):
    """Not an OSError: nothing in the store may catch it, as nothing survives a power cut."""


class FakeFs:
    """A file system in a dict. Every primitive step (create, each chunk written, close, rename,
    remove, read) costs one unit of `budget`; when it runs out the power is cut (PowerCut)."""

    def __init__(self, files=None, budget=None, atomic_rename=True, garbage=b'',
                 bad_flash=False):
        self.files = dict(files or {})
        self.budget = budget
        self.atomic_rename = atomic_rename
        self.garbage = garbage
        self.bad_flash = bad_flash     # what is written comes back with one bit flipped
        self.steps = 0

    def _step(self):
        self.steps += 1
        if self.budget is not None and self.steps > self.budget:
            raise PowerCut()

    def read(self, path):
        self._step()
        return self.files.get(path)

    def write(self, path, data):
        self._step()
        self.files[path] = b''                    # created / truncated
        for i in range(0, len(data), _CHUNK):
            try:
                self._step()
            except PowerCut:
                self.files[path] = self.files[path] + self.garbage   # a torn page
                raise
            self.files[path] = self.files[path] + data[i:i + _CHUNK]
        if self.bad_flash:
            b = bytearray(self.files[path])
            b[len(b) // 2] ^= 0x10
            self.files[path] = bytes(b)
        self._step()                              # close / sync

    def rename(self, src, dst):
        if not self.atomic_rename:                # FAT: the old file goes first
            self._step()
            self.files.pop(dst, None)
        self._step()
        self.files[dst] = self.files.pop(src)

    def remove(self, path):
        self._step()
        self.files.pop(path, None)

    def mkdir(self, path):
        pass


def reboot(files):
    return Store('/s', FakeFs(files))


OLD = {'n': 1, 'key': '00112233445566778899AABBCCDDEEFF', 'ic': 4096}
NEW = {'n': 2, 'key': 'FFEEDDCCBBAA99887766554433221100', 'ic': 8192}


def _prepared(saves):
    fs = FakeFs()
    st = Store('/s', fs)
    for i in range(saves):
        st.save('rec', {'n': 0, 'i': i})
    if saves:
        st.save('rec', OLD)
    return fs.files


def _cut_everywhere(saves, atomic, garbage):
    base = _prepared(saves)
    old = OLD if saves else None
    probe = FakeFs(base)
    Store('/s', probe).save('rec', NEW)
    total = probe.steps
    assert total > 8
    outcomes = set()
    for cut in range(total + 1):
        fs = FakeFs(base, budget=cut, atomic_rename=atomic, garbage=garbage)
        completed = True
        try:
            Store('/s', fs).save('rec', NEW)
        except PowerCut:
            completed = False
        st = reboot(fs.files)
        got = st.load('rec', True)
        assert got == NEW or got == old, (cut, got)
        if completed:
            assert got == NEW
        outcomes.add('new' if got == NEW else 'old')
        # the next boot can write again, and what it writes is what the boot after reads
        st.save('rec', {'n': 3})
        assert reboot(st.fs.files).load('rec', True) == {'n': 3}
    assert outcomes == set(['old', 'new'])


def test_first_save_cut_at_every_step_leaves_nothing_or_the_new_record():
    _cut_everywhere(0, True, b'')
    _cut_everywhere(0, False, b'\xff\x00garbage')


def test_second_save_cut_at_every_step_leaves_old_or_new_record():
    _cut_everywhere(1, True, b'')
    _cut_everywhere(1, True, b'\xff' * 40)


def test_save_into_the_older_slot_cut_at_every_step_leaves_old_or_new_record():
    _cut_everywhere(2, True, b'')
    _cut_everywhere(3, True, b'\x00' * 9)


def test_non_atomic_rename_fat_style_cut_at_every_step_leaves_old_or_new_record():
    _cut_everywhere(1, False, b'')
    _cut_everywhere(2, False, b'\xa5' * 13)


def test_two_slots_alternate_and_the_highest_sequence_wins():
    fs = FakeFs()
    st = Store('/s', fs)
    st.save('rec', {'n': 1})
    st.save('rec', {'n': 2})
    st.save('rec', {'n': 3})
    assert decode('rec', fs.files['/s/rec.0'])[0] == 3
    assert decode('rec', fs.files['/s/rec.1'])[0] == 2
    assert reboot(fs.files).load('rec') == {'n': 3}


def test_damaged_newest_copy_falls_back_to_the_older_and_says_so():
    files = _prepared(1)                       # slot 0: seq 1, slot 1: OLD (seq 2)
    newest = '/s/rec.1'
    good = files[newest]
    for n in range(len(good)):                 # truncated at every length
        files[newest] = good[:n]
        st = reboot(files)
        assert st.load('rec', True) == {'n': 0, 'i': 0}
        assert st.damaged['rec'] == ['rec.1']
    for n in range(0, len(good), 5):           # one bit flipped anywhere
        b = bytearray(good)
        b[n] ^= 0x04
        files[newest] = bytes(b)
        st = reboot(files)
        assert st.load('rec', True) == {'n': 0, 'i': 0}, n
        assert st.damaged['rec'] == ['rec.1']


def test_no_good_copy_is_reported_never_defaults():
    files = _prepared(1)
    files['/s/rec.0'] = b'garbage'
    files['/s/rec.1'] = files['/s/rec.1'][:-3]
    st = reboot(files)
    try:
        st.load('rec', True)
        assert False, 'a strict load must raise'
    except StoreCorrupt as e:
        assert 'rec.0' in str(e) and 'rec.1' in str(e)
    assert st.load('rec') is None               # lenient callers see "nothing"
    st.save('rec', {'n': 9})                    # the store can still be written
    assert reboot(st.fs.files).load('rec', True) == {'n': 9}


def test_absent_record_is_none():
    assert reboot({}).load('nothing', True) is None


def test_a_copy_of_another_record_is_not_accepted():
    files = _prepared(1)
    files['/s/other.0'] = files['/s/rec.1']
    st = reboot(files)
    try:
        st.load('other', True)
        assert False
    except StoreCorrupt:
        pass


def test_read_back_mismatch_raises_and_the_old_copy_still_counts():
    files = _prepared(1)
    fs = FakeFs(files, bad_flash=True)
    st = Store('/s', fs)
    try:
        st.save('rec', NEW)
        assert False, 'a save that does not read back must raise'
    except StoreError:
        pass
    assert reboot(fs.files).load('rec', True) == OLD
    fs.bad_flash = False
    st.save('rec', NEW)                         # retried into the same slot
    assert reboot(fs.files).load('rec', True) == NEW
    assert decode('rec', fs.files['/s/rec.1'])[1] == OLD


def test_os_error_while_writing_is_a_store_error():
    class Full(FakeFs):
        def write(self, path, data):
            raise OSError(28)
    st = Store('/s', Full(_prepared(1)))
    try:
        st.save('rec', NEW)
        assert False
    except StoreError:
        pass
    assert st.load('rec') == OLD


def test_records_of_the_first_store_format_are_still_read():
    from binascii import crc32
    body = '{"reserved": 5000}'
    legacy = ('%s\n%08x\n' % (body, crc32(body.encode()) & 0xFFFFFFFF)).encode()
    files = {'/s/server_ic.rec': legacy}
    st = reboot(files)
    assert st.load('server_ic', True) == {'reserved': 5000}
    st.save('server_ic', {'reserved': 6000})
    assert '/s/server_ic.rec' not in st.fs.files
    assert reboot(st.fs.files).load('server_ic', True) == {'reserved': 6000}
    files = {'/s/server_ic.rec': legacy[:-4] + b'00\n'}
    try:
        reboot(files).load('server_ic', True)
        assert False
    except StoreCorrupt:
        pass


def test_slot_layout_has_magic_name_sequence_and_crc():
    data = encode('keystore', 7, {'a': 1})
    assert data.startswith(b'DLMSREC1 keystore 7\n{')
    assert decode('keystore', data) == (7, {'a': 1})
    assert decode('keystore', data[:-2] + b'0\n') is None
    assert decode('other', data) is None


# ---- the real thing: littlefs (MicroPython's VfsLfs2) on a RAM block device ----

class _RamFlash:
    """Block device whose block operations (program, erase) cost one unit of `budget`; the one
    that runs out programs only half of its bytes (a torn page) and cuts the power: nothing
    written after that lands (even from finalisers, which run with the heap locked, so the
    cut allocates nothing)."""

    def __init__(self, image, block_size=512):
        self.bs = block_size
        self.data = bytearray(image)
        self.budget = None
        self.ops = 0
        self.dead = False
        self._cut = PowerCut()

    def _op(self):
        self.ops += 1
        return self.budget is not None and self.ops > self.budget

    def readblocks(self, block, buf, off=0):
        s = block * self.bs + off
        buf[:] = self.data[s:s + len(buf)]

    def writeblocks(self, block, buf, off=None):
        if off is None:
            self.ioctl(6, block)
            off = 0
        if self.dead:
            return
        s = block * self.bs + off
        if self._op():
            self.dead = True
            for i in range(len(buf) // 2):
                self.data[s + i] = buf[i]
            raise self._cut
        self.data[s:s + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.bs
        if op == 5:
            return self.bs
        if op == 6 and not self.dead:
            if self._op():
                self.dead = True
                raise self._cut
            s = arg * self.bs
            for i in range(s, s + self.bs):
                self.data[i] = 0xFF
        return 0


def _lfs():
    import os
    return getattr(os, 'VfsLfs2', None) is not None and getattr(os, 'mount', None) is not None


def _mounted(flash, fn):
    import os
    os.mount(os.VfsLfs2(flash), '/lfs-test')
    try:
        return fn(Store('/lfs-test/state'))
    finally:
        try:
            os.umount('/lfs-test')
        except OSError:
            pass


def test_littlefs_power_cut_at_every_block_operation_leaves_old_or_new_record():
    if not _lfs():
        return                     # CPython: littlefs is MicroPython's
    import os
    blank = _RamFlash(b'\xff' * (512 * 40))
    os.VfsLfs2.mkfs(blank)

    def prepare(st):
        st.save('keystore', {'n': 0})
        st.save('keystore', OLD)
    _mounted(blank, prepare)
    image = bytes(blank.data)
    probe = _RamFlash(image)
    _mounted(probe, lambda st: st.save('keystore', NEW))
    total = probe.ops
    assert total >= 2
    seen = set()
    for cut in range(total + 1):
        flash = _RamFlash(image)
        flash.budget = cut
        try:
            _mounted(flash, lambda st: st.save('keystore', NEW))
        except (PowerCut, StoreError):     # littlefs may report the cut as an OSError
            assert flash.dead
        after = _RamFlash(flash.data)
        got = _mounted(after, lambda st: st.load('keystore', True))
        assert got == OLD or got == NEW, (cut, got)
        seen.add(got['n'])
        _mounted(after, lambda st: st.save('keystore', {'n': 5}))
        assert _mounted(_RamFlash(after.data), lambda st: st.load('keystore', True)) == {'n': 5}
    assert seen == set([OLD['n'], NEW['n']])
