# The persistent store: named records (small JSON dicts) in one directory: littlefs on a board,
# the virtual meter's --state directory on the host. Knows nothing about what the records mean.
#
# Each record lives in two alternating slots, <name>.0 and <name>.1. A slot holds
#     DLMSREC1 <name> <seq>\n<json>\n<crc32 of the bytes before it, 8 hex digits>\n
# A save writes the slot that does NOT hold the newest good copy: first to <name>.tmp, then
# renames it over that slot (atomic on littlefs and POSIX; on FAT the rename may remove the slot
# first, but the other slot still holds the last good copy), then reads the slot back and compares
# it byte for byte. Only then does the new copy count. A load takes the valid slot with the highest
# sequence number; a slot that exists but fails its check is reported in `damaged`, and when no
# slot is valid but one exists, a strict load raises StoreCorrupt: never defaults.
# Records of the first store format (<name>.rec: json, crc) are still read when no slot exists.
import os
import json
from dlms._compat import const
try:
    from binascii import crc32
except ImportError:  # pragma: no cover
    from zlib import crc32

_MAGIC = b'DLMSREC1'
_ENOENT = const(2)


class StoreError(Exception):
    pass


class StoreCorrupt(StoreError):
    """A record exists but no copy of it passes its check."""


def _crc(data):
    return b'%08x' % (crc32(data) & 0xFFFFFFFF)


def encode(name, seq, record):
    # one growing buffer: on a small heap a chain of + would hold several copies of the record
    out = bytearray(_MAGIC)
    out.extend(b' ')
    out.extend(name.encode())
    out.extend(b' %d\n' % seq)
    out.extend(json.dumps(record).encode())
    out.extend(b'\n')
    out.extend(_crc(out))
    out.extend(b'\n')
    return out


def decode(name, data):
    """(seq, record) of a slot's bytes, or None when they fail any check."""
    if data is None or len(data) < 12 or data[-1:] != b'\n' or data[-10:-9] != b'\n':
        return None
    payload = data[:-9]
    try:
        if data[-9:-1] != _crc(payload):
            return None
        nl = payload.index(b'\n')
        head = payload[:nl].split(b' ')
        if len(head) != 3 or head[0] != _MAGIC or head[1] != name.encode():
            return None
        seq = int(head[2])
        rec = json.loads(payload[nl + 1:-1].decode())
    except (ValueError, UnicodeError):
        return None
    if not isinstance(rec, dict) or seq < 1:
        return None
    return seq, rec


def _decode_legacy(data):
    try:
        parts = data.decode().split('\n')
        if len(parts) < 2:
            return None
        body = parts[0]
        if int(parts[1], 16) != crc32(body.encode()) & 0xFFFFFFFF:
            return None
        rec = json.loads(body)
    except (ValueError, UnicodeError):
        return None
    return rec if isinstance(rec, dict) else None


class PosixFs:
    """The files under the store: MicroPython's VFS (littlefs, FAT) or a POSIX directory."""

    def read(self, path):
        """The file's bytes; None when it does not exist; b'' when it exists but cannot be read."""
        try:
            with open(path, 'rb') as f:
                return f.read()
        except OSError as e:
            if e.args and e.args[0] == _ENOENT:
                return None
            return b''

    def write(self, path, data):
        with open(path, 'wb') as f:
            f.write(data)
            f.flush()
            try:
                os.fsync(f.fileno())
            except (AttributeError, OSError):
                pass

    def rename(self, src, dst):
        os.rename(src, dst)
        sync_dir = getattr(os, 'O_DIRECTORY', None)
        if sync_dir is not None:      # CPython on POSIX: make the rename itself durable
            i = dst.rfind('/')
            try:
                fd = os.open(dst[:i] if i > 0 else '.', os.O_RDONLY | sync_dir)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass

    def remove(self, path):
        try:
            os.remove(path)
        except OSError:
            pass

    def mkdir(self, path):
        try:
            os.mkdir(path)
        except OSError:
            pass


class Store:
    def __init__(self, root, fs=None):
        self.fs = fs if fs is not None else PosixFs()
        self.root = root.rstrip('/') if root != '/' else ''
        self.fs.mkdir(root)
        self._newest = {}     # name -> (seq, slot) of the newest good copy (slot -1: legacy file)
        self.damaged = {}     # name -> slots found damaged by the last load, e.g. ['keystore.1']

    def _path(self, name, suffix):
        return self.root + '/' + name + suffix

    def load(self, name, strict=False):
        """The newest good copy of the record; None when the record does not exist. When copies
        exist but none is good: None, or StoreCorrupt with strict=True (records whose loss must
        never turn into defaults, such as keys and counters, load strictly)."""
        try:
            return self._load(name)
        except StoreCorrupt:
            if strict:
                raise
            return None

    def _load(self, name):
        best = None
        present = False
        damaged = []
        for slot in (0, 1):
            data = self.fs.read(self._path(name, '.%d' % slot))
            if data is None:
                continue
            present = True
            got = decode(name, data)
            if got is None:
                damaged.append('%s.%d' % (name, slot))
            elif best is None or got[0] > best[0]:
                best = (got[0], slot, got[1])
        self.damaged[name] = damaged
        if best is not None:
            self._newest[name] = (best[0], best[1])
            return best[2]
        if present:
            self._newest.pop(name, None)
            raise StoreCorrupt('no good copy of %s (%s)' % (name, ', '.join(damaged)))
        data = self.fs.read(self._path(name, '.rec'))
        if data is None:
            self._newest.pop(name, None)
            return None
        rec = _decode_legacy(data)
        if rec is None:
            self.damaged[name] = [name + '.rec']
            raise StoreCorrupt('no good copy of %s (%s.rec)' % (name, name))
        self._newest[name] = (0, -1)
        return rec

    def save(self, name, record):
        """Write the record atomically and read it back; raises StoreError when it did not stick
        (the previous good copy then still counts)."""
        if name not in self._newest:
            try:
                self._load(name)
            except StoreCorrupt:
                pass
        seq, slot = self._newest.get(name, (0, None))
        target = 0 if slot != 0 else 1
        data = encode(name, seq + 1, record)
        tmp = self._path(name, '.tmp')
        dst = self._path(name, '.%d' % target)
        try:
            self.fs.write(tmp, data)
            self.fs.rename(tmp, dst)
            back = self.fs.read(dst)
        except OSError as e:
            raise StoreError('cannot write %s (%s)' % (name, e.__class__.__name__))
        if back != data:
            raise StoreError('read-back mismatch for %s' % name)
        self._newest[name] = (seq + 1, target)
        if slot == -1:
            self.fs.remove(self._path(name, '.rec'))
        elif slot is None:       # there was no good copy: what is left in the other slot is not
            self.fs.remove(self._path(name, '.%d' % (1 - target)))     # a newer one, drop it
        self.damaged[name] = []
