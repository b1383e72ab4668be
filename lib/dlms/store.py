# The persistent store: named records (small dicts of str/int/hex-string values) in one directory:
# littlefs on a board, the virtual meter's --state directory on the host.
# Every save writes a temporary file, renames it over the old record (atomic on littlefs and
# POSIX) and reads it back; every record carries a CRC-32, and a record that fails it is treated as
# absent, never as defaults. Knows nothing about what the records mean.
import os
import json
try:
    from binascii import crc32
except ImportError:  # pragma: no cover
    from zlib import crc32


class StoreError(Exception):
    pass


def _encode(record):
    body = json.dumps(record)
    return '%s\n%08x\n' % (body, crc32(body.encode()) & 0xFFFFFFFF)


def _decode(text):
    parts = text.split('\n')
    if len(parts) < 2:
        return None
    body, crc = parts[0], parts[1]
    try:
        if int(crc, 16) != crc32(body.encode()) & 0xFFFFFFFF:
            return None
        rec = json.loads(body)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


class Store:
    def __init__(self, root):
        self.root = root.rstrip('/') if root != '/' else ''
        try:
            os.mkdir(root)
        except OSError:
            pass

    def _path(self, name):
        return self.root + '/' + name + '.rec'

    def load(self, name):
        """The record, or None when absent or corrupt."""
        try:
            with open(self._path(name)) as f:
                text = f.read()
        except OSError:
            return None
        return _decode(text)

    def save(self, name, record):
        path = self._path(name)
        tmp = path + '.tmp'
        data = _encode(record)
        try:
            with open(tmp, 'w') as f:
                f.write(data)
            os.rename(tmp, path)
            with open(path) as f:
                back = f.read()
        except OSError as e:
            raise StoreError('cannot write %s (%s)' % (name, e.__class__.__name__))
        if back != data:
            raise StoreError('read-back mismatch for %s' % name)
