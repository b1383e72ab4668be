# Profile generic, class_id 7, version 1: a buffer of captured rows with capture objects, capture
# period 0 (event-driven captures), FIFO sorting and selective access by range (selector 1) and by
# entry (selector 2). Rows live in a ring of `capacity` entries, each kept as its A-XDR encoding
# (a structure: under half the memory of a list of typed values), decoded when read, and
# persisted (as A-XDR, hex) in the store under `record` when one is given, so they survive a
# restart.
from dlms import axdr
from dlms.cosem.base import (CosemObject, SUCCESS, READ_WRITE_DENIED, OBJECT_UNAVAILABLE,
                             TYPE_UNMATCHED, OTHER_REASON)
from dlms.cosem.clock import decode_datetime

try:
    from binascii import hexlify, unhexlify
except ImportError:  # pragma: no cover
    pass

_SORT_FIFO = 1


def _column_def(obj, attr, data_index):
    return axdr.structure(axdr.u16(obj.class_id), axdr.octets(obj.logical_name), axdr.i8(attr),
                          axdr.u16(data_index))


class ProfileGeneric(CosemObject):
    class_id = 7
    version = 1
    attribute_count = 8
    method_count = 2   # reset, capture

    def __init__(self, logical_name, capture_objects, capacity=100, store=None, record=None):
        CosemObject.__init__(self, logical_name)
        self.capture_objects = list(capture_objects)   # [(obj, attribute, data_index)]
        self.capacity = capacity
        self.store = store
        self.record = record
        self.autosave = True            # False: the owner calls save() (see dlms/eventlog.py)
        self.rows = []                  # each the A-XDR encoding (bytes) of a row structure
        if store is not None and record is not None:
            self._load()

    # ---- persistence ----
    def _load(self):
        rec = self.store.load(self.record)
        if rec is None:
            return
        rows = []
        for h in rec.get('rows', []):
            try:
                row = unhexlify(h)
                if axdr.decode_all(row)[0] != axdr.STRUCTURE:
                    continue
            except (ValueError, TypeError):
                continue
            rows.append(row)
        self.rows = rows[-self.capacity:]

    def save(self):
        """Persist the rows now (a failed write leaves the previous copy)."""
        if self.store is None or self.record is None:
            return
        hexrows = [hexlify(r).decode() for r in self.rows]
        try:
            self.store.save(self.record, {'rows': hexrows})
        except Exception:
            pass

    # ---- capture ----
    def capture(self, ctx=None):
        out = bytearray((axdr.STRUCTURE,))
        axdr.encode_length(len(self.capture_objects), out)
        for obj, attr, _ in self.capture_objects:
            v = obj.get(attr, ctx)
            n = len(out)
            try:
                axdr.encode(v, out)
            except axdr.AxdrError:      # a result code, or nothing A-XDR can carry: null
                out[n:] = b'\x00'      # (MicroPython has no `del` of a bytearray slice)
        self.rows.append(bytes(out))
        if len(self.rows) > self.capacity:
            self.rows.pop(0)
        if self.autosave:
            self.save()

    def reset(self):
        self.rows = []
        self.save()

    @staticmethod
    def _decoded(rows):
        # encoded rows -> lists of typed values (a row that no longer decodes reads as no columns)
        out = []
        for r in rows:
            try:
                out.append(axdr.decode_all(r)[1])
            except axdr.AxdrError:
                out.append([])
        return out

    # ---- attributes ----
    def get(self, attr, ctx, selector=None, params=None):
        if attr == 2:
            return self._buffer(selector, params)
        return CosemObject.get(self, attr, ctx, selector, params)

    def get_attribute(self, attr, ctx):
        if attr == 3:
            return axdr.array([_column_def(o, a, d) for o, a, d in self.capture_objects])
        if attr == 4:
            return axdr.u32(0)
        if attr == 5:
            return axdr.enum(_SORT_FIFO)
        if attr == 6:
            return axdr.structure(axdr.u16(0), axdr.octets(bytes(6)), axdr.i8(0), axdr.u16(0))
        if attr == 7:
            return axdr.u32(len(self.rows))
        if attr == 8:
            return axdr.u32(self.capacity)
        return CosemObject.get_attribute(self, attr, ctx)

    def _rows_value(self, rows, first_col=0, last_col=None):
        # rows: freshly decoded lists, used as they are (or sliced) without another copy
        out = []
        for r in rows:
            if first_col or last_col is not None:
                r = r[first_col:last_col] if last_col is not None else r[first_col:]
            out.append((axdr.STRUCTURE, r))
        return (axdr.ARRAY, out)

    def _buffer(self, selector, params):
        if selector is None:
            return self._rows_value(self._decoded(self.rows))
        if params is None or params[0] != axdr.STRUCTURE:
            return TYPE_UNMATCHED
        p = params[1]
        if selector == 2:
            return self._by_entry(p)
        if selector == 1:
            return self._by_range(p)
        return OBJECT_UNAVAILABLE

    def _by_entry(self, p):
        # entry_descriptor: from_entry, to_entry (0 = newest), from_value, to_value (0 = last)
        if len(p) != 4 or p[0][0] != axdr.DOUBLE_LONG_UNSIGNED or \
                p[1][0] != axdr.DOUBLE_LONG_UNSIGNED or p[2][0] != axdr.LONG_UNSIGNED or \
                p[3][0] != axdr.LONG_UNSIGNED:
            return TYPE_UNMATCHED
        n = len(self.rows)
        first, last = p[0][1], p[1][1]
        if last == 0 or last > n:
            last = n
        if first < 1:
            first = 1
        ncols = len(self.capture_objects)
        c0, c1 = p[2][1], p[3][1]
        if c0 < 1:
            c0 = 1
        if c1 == 0 or c1 > ncols:
            c1 = ncols
        if c0 > c1:
            return OTHER_REASON
        rows = self.rows[first - 1:last] if first <= last else []
        return self._rows_value(self._decoded(rows), c0 - 1, c1)

    def _by_range(self, p):
        # range_descriptor: restricting_object, from_value, to_value, selected_values
        if len(p) != 4 or p[0][0] != axdr.STRUCTURE or p[3][0] != axdr.ARRAY:
            return TYPE_UNMATCHED
        restrict = p[0][1]
        if len(restrict) != 4:
            return TYPE_UNMATCHED
        col = self._column_of(restrict[0][1], restrict[1][1], restrict[2][1])
        if col < 0:
            return OTHER_REASON
        lo, hi = self._key(p[1]), self._key(p[2])
        if lo is None or hi is None:
            return TYPE_UNMATCHED
        rows = []
        for r in self._decoded(self.rows):
            if col >= len(r):
                continue
            k = self._key(r[col])
            if k is not None and lo <= k <= hi:
                rows.append(r)
        sel = p[3][1]
        if not sel:
            return self._rows_value(rows)
        cols = []
        for d in sel:
            if d[0] != axdr.STRUCTURE or len(d[1]) != 4:
                return TYPE_UNMATCHED
            c = self._column_of(d[1][0][1], d[1][1][1], d[1][2][1])
            if c < 0:
                return OTHER_REASON
            cols.append(c)
        return axdr.array([axdr.structure(*[r[c] for c in cols]) for r in rows])

    def _column_of(self, class_id, ln, attr):
        for i, (o, a, _) in enumerate(self.capture_objects):
            if o.class_id == class_id and o.logical_name == bytes(ln) and a == attr:
                return i
        return -1

    @staticmethod
    def _key(v):
        # date-times compare as UTC seconds, numbers as numbers
        if v[0] in (axdr.OCTET_STRING, axdr.DATE_TIME) and len(v[1]) == 12:
            return decode_datetime(v[1])
        if isinstance(v[1], int) and not isinstance(v[1], bool):
            return v[1]
        return None

    def set_attribute(self, attr, value, ctx):
        return READ_WRITE_DENIED

    def invoke(self, method, param, ctx):
        if method == 1:
            self.reset()
            return SUCCESS, None
        if method == 2:
            self.capture(ctx)
            return SUCCESS, None
        return READ_WRITE_DENIED, None
