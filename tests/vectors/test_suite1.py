# Security suite 1 ciphering (dlms_pk/suite1.py): suite 0's AES-GCM-128 with the suite nibble 1.
# Vector: dlms-public-key.md 7.3.4 (a glo-initiateRequest made by the Gurux client, its tag
# checked with an independent GCM). Runs under CPython and MicroPython.
from dlms import security, suite0
from vector_util import h, raised

EK = h('000102030405060708090A0B0C0D0E0F')
AK = h('D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF')
CLIENT_ST = h('4D4D4D0000000001')
INITIATE = h('01000000065F1F0400401E5DFFFF')
GLO_INITIATE_SUITE1 = h('21 1F 31 01234567 A9E5B8F765E8FF5A9C93E45C2544 043071C9BF5637E3E6B0FEBD')


def keys():
    return suite0.Keys(EK, AK).of_suite(security.suite(1).Keys)


def test_suite1_seals_the_published_glo_initiate_request():
    s1 = security.suite(1)
    assert s1.ID == 1 and s1.KEY_LEN == 16
    assert s1.seal(keys(), security.KIND_GLO, 0x31, CLIENT_ST, 0x01234567, INITIATE) == \
        GLO_INITIATE_SUITE1
    assert s1.unprotect(keys(), CLIENT_ST, security.unwrap(GLO_INITIATE_SUITE1)[3]) == \
        (0x31, 0x01234567, INITIATE)


def test_the_suite_nibble_is_checked_both_ways():
    s1 = security.suite(1)
    content = security.unwrap(GLO_INITIATE_SUITE1)[3]
    assert raised(security.SecurityError, security.split, content, 0) is not None
    k0 = suite0.Keys(EK, AK)
    sealed0 = suite0.seal(k0, security.KIND_GLO, 0x30, CLIENT_ST, 0x01234567, INITIATE)
    assert raised(security.SecurityError, s1.unprotect, keys(), CLIENT_ST,
                  security.unwrap(sealed0)[3]) is not None
    assert raised(security.SecurityError, s1.protect, keys(), 0x30, CLIENT_ST, 1,
                  INITIATE) is not None


def test_suite1_keys_share_the_key_tables_of_suite0_and_differ_in_the_aad():
    k0 = suite0.Keys(EK, AK)
    k1 = k0.of_suite(security.suite(1).Keys)
    assert k1.gcm is k0.gcm and k1.pre != k0.pre and k0.of_suite(suite0.Keys) is k0
