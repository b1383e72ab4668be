from dlms import wrapper


def test_encode_header_is_version_source_dest_length():
    assert wrapper.encode(16, 1, b'\x60\x00') == bytes.fromhex('0001001000010002') + b'\x60\x00'


def test_decoder_reassembles_split_and_joined_frames():
    d = wrapper.WrapperDecoder()
    f1 = wrapper.encode(16, 1, b'abc')
    f2 = wrapper.encode(17, 1, b'defg')
    stream = f1 + f2
    for i in range(len(stream)):
        d.feed(stream[i:i + 1])
    assert d.next() == (16, 1, b'abc')
    assert d.next() == (17, 1, b'defg')
    assert d.next() is None


def test_oversized_frame_is_skipped_and_reported():
    d = wrapper.WrapperDecoder(max_apdu=8)
    big = wrapper.encode(16, 1, bytes(20))
    d.feed(big[:12])
    assert d.next() is None
    d.feed(big[12:] + wrapper.encode(16, 1, b'ok'))
    assert d.next() == (16, 1, None)
    assert d.next() == (16, 1, b'ok')


def test_oversized_frame_in_one_piece():
    d = wrapper.WrapperDecoder(max_apdu=8)
    d.feed(wrapper.encode(16, 1, bytes(9)) + wrapper.encode(16, 1, b'x'))
    assert d.next() == (16, 1, None)
    assert d.next() == (16, 1, b'x')


def test_wrong_version_is_an_error():
    d = wrapper.WrapperDecoder()
    d.feed(bytes.fromhex('0002001000010001') + b'x')
    try:
        d.next()
    except wrapper.WrapperError:
        return
    assert False
