# Pre-encoded answers: axdr.raw() values, the object_list that Association LN encodes straight to
# A-XDR (it must equal the typed tree of the Blue Book layout, byte for byte), and the Profile
# generic rows kept as their A-XDR encoding (same store record format as rows kept as typed
# values; selective access unchanged).
from binascii import hexlify

from dlms import axdr
from dlms.cosem import Data, Clock, AssociationLN, ProfileGeneric
from dlms.cosem.association_ln import attribute_mode_v1, method_mode_v1
from test_lockout import MemStore
from vector_util import h as _h, raised


def _raises(fn, *args):
    return raised(axdr.AxdrError, fn, *args) is not None


# ---- raw values

def test_raw_value_is_copied_as_it_is():
    inner = axdr.to_bytes(axdr.structure(axdr.u8(1), axdr.octets(b'ab')))
    assert axdr.to_bytes(axdr.raw(inner)) == inner
    assert axdr.to_bytes(axdr.raw(bytearray(inner))) == inner
    out = bytearray(b'\xC4')
    axdr.encode(axdr.structure(axdr.raw(inner), axdr.null()), out)
    assert bytes(out) == b'\xC4' + _h('0202') + inner + b'\x00'


def test_raw_needs_bytes():
    assert _raises(axdr.raw, [1, 2])
    assert _raises(axdr.to_bytes, (axdr.RAW, 5))
    assert _raises(axdr.to_bytes, axdr.structure((axdr.RAW, None)))


def test_to_bytes_of_raw_bytes_is_bytes():
    enc = _h('1104')
    got = axdr.to_bytes(axdr.raw(enc))
    assert isinstance(got, bytes) and got == enc


# ---- object_list

class _Obj:
    def __init__(self, class_id, version, ln):
        self.class_id = class_id
        self.version = version
        self.logical_name = ln


class _Ctx:
    def __init__(self, granted):
        self.granted = granted

    def granted_objects(self):
        return self.granted


def _tree(granted):
    # object_list as typed values, the layout of Association LN version 1
    items = []
    for obj, attr_modes, method_modes in granted:
        attrs = [axdr.structure(axdr.i8(i + 1), axdr.enum(attribute_mode_v1(m)), axdr.null())
                 for i, m in enumerate(attr_modes)]
        methods = [axdr.structure(axdr.i8(i + 1), axdr.enum(method_mode_v1(m)))
                   for i, m in enumerate(method_modes)]
        items.append(axdr.structure(
            axdr.u16(obj.class_id), axdr.u8(obj.version), axdr.octets(obj.logical_name),
            axdr.structure(axdr.array(attrs), axdr.array(methods))))
    return axdr.array(items)


_LN = _h('0102030405FF')
_GRANTS = (
    [],
    [(_Obj(1, 0, _LN), (1, 1), ())],
    [(_Obj(8, 0, _LN), (1, 3, 0x6F, 0x6D, 0x6C, 0, 2, 0x22, 0x41), (0, 1, 0x6D, 0x6C, 5, 0))],
    [(_Obj(0x1234, 255, _LN), (1,) * 127, (0x6D,) * 127)],        # long arrays: 81 7F counts
    [(_Obj(15, 1, _LN), (1,) * 9, (0,) * 4)] * 130,                # 130 objects: 81 82 count
)


def test_object_list_is_the_typed_tree_encoded():
    cur = AssociationLN('0.0.40.0.0.255')
    for granted in _GRANTS:
        v = cur.get(2, _Ctx(granted))
        assert axdr.to_bytes(v) == axdr.to_bytes(_tree(granted))
        assert axdr.decode(axdr.to_bytes(v), 0, 8, 20000)[0] == _tree(granted)


def test_object_list_with_more_than_127_attributes_is_an_axdr_error():
    cur = AssociationLN('0.0.40.0.0.255')
    assert _raises(cur.get, 2, _Ctx([(_Obj(1, 0, _LN), (1,) * 128, ())]))


# ---- Profile generic rows

class _Now:
    def __init__(self):
        self.t = 1700000000

    def __call__(self):
        return self.t


def _log(store, capacity=4):
    now = _Now()
    clock = Clock('0.0.1.0.0.255', now)
    code = Data('0.0.96.11.7.255', axdr.u16(0))
    return now, code, ProfileGeneric('0.0.99.98.7.255', [(clock, 2, 0), (code, 2, 0)], capacity,
                                     store, 'log')


def test_rows_are_stored_as_their_a_xdr_encoding_in_the_same_record_format():
    store = MemStore()
    now, code, pg = _log(store)
    code.value = axdr.u16(7)
    pg.capture()
    rec = store.load('log')
    want = axdr.to_bytes(axdr.structure(pg.capture_objects[0][0].get(2, None), axdr.u16(7)))
    assert rec == {'rows': [hexlify(want).decode()]}
    assert pg.rows == [want]


def test_rows_of_a_store_record_written_as_typed_values_load():
    store = MemStore()
    row = axdr.structure(axdr.octets(bytes(12)), axdr.u16(3))
    store.save('log', {'rows': [hexlify(axdr.to_bytes(row)).decode(), 'zz', '1101']})
    now, code, pg = _log(store)
    assert pg.get(2, None) == axdr.array([row])      # the bad and non-structure rows skipped


def test_a_column_that_cannot_be_encoded_is_captured_as_null():
    now, code, pg = _log(None)
    code.value = (axdr.UNSIGNED, 300)
    pg.capture()
    assert pg.get(2, None)[1][0][1][1] == axdr.null()
    code.value = axdr.u16(2)
    pg.capture()
    assert pg.get(2, None)[1][1][1][1] == axdr.u16(2)


def test_ring_and_selective_access_work_on_encoded_rows():
    now, code, pg = _log(None, capacity=3)
    for i in range(5):
        now.t += 60
        code.value = axdr.u16(i)
        pg.capture()
    assert len(pg.rows) == 3
    codes = [r[1][1][1] for r in pg.get(2, None)[1]]
    assert codes == [2, 3, 4]
    by_entry = pg.get(2, None, 2, axdr.structure(axdr.u32(2), axdr.u32(0), axdr.u16(2),
                                                  axdr.u16(2)))
    assert by_entry == axdr.array([axdr.structure(axdr.u16(3)), axdr.structure(axdr.u16(4))])
