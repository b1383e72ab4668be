# AARQ / AARE / RLRQ / RLRE: the public dumps of shared/reference/dlms-security.md §7.3 and §7.5
# (parsed, and AARE/RLRE rebuilt byte for byte), the DLMS OID rules, and malformed BER.

from dlms import acse
import dlms_client as client
from vector_rng import Rng
from vector_util import h as _h, raised


def _raises(fn, *args):
    return raised(acse.AcseError, fn, *args) is not None


_INITIATE_REQ = _h('01000000065F1F0400007E1F04B0')
_GLO_INITIATE_REQ = _h('21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211'
                       'BE6841DB204D39EE6FDB8E356855')
_INITIATE_RESP = _h('0800065F1F040000501F01F40007')
_GLO_INITIATE_RESP = _h('281F3001234567891214A0845E475714383F65BC19745CA235906525E4F3E1C893')

# §7.5
AARQ_LN = _h('601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0')
AARQ_LN_FFFF = _h('601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF')
AARQ_LLS = _h('6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738'
              'BE10040E01000000065F1F0400007E1F04B0')
AARQ_CIPHERED_LLS = _h(
    '6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A8008313233'
    '3435363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211'
    'BE6841DB204D39EE6FDB8E356855')
# §7.3
AARQ_HLS_GMAC = _h('6036A1090607608574050801018A0207808B0760857405080205AC0A80084B35366956616759'
                   'BE10040E01000000065F1F0400007E1F04B0')

AARE_ACCEPTED = _h('6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F'
                   '01F40007')
AARE_DIAG_2 = _h('6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F'
                 '01F40007')
AARE_VERSION_TOO_LOW = _h('611FA109060760857405080101A203020101A305A103020101BE0604040E010601')
AARE_HLS_GMAC = _h('6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205'
                   'AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007')
AARE_METER = _h(
    '6169A109060760857405080103A203020100A305A10302010EA40A040848584501353EC60988020780890760857405'
    '080205AA12801044373643423333313732393343413931BE230421281F300000174BF456A0744EE1A6A451CB7E807A'
    '50FC94D9B04D93BBB1D388528C')
AARE_CIPHERED_GMAC = _h(
    '6161A109060760857405080103A203020100A305A10302010EA40A04084D4D4D0000BC614E8802078089076085'
    '7405080205AA0A8008503677524A323146BE230421281F3001234567891214A0845E475714383F65BC19745CA2'
    '35906525E4F3E1C893')

RLRQ_NORMAL = _h('6203800100')
RLRQ_CIPHERED = _h('6239800100BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB004772060'
                   '6B175BD52211BE6841DB204D39EE6FDB8E356855')
RLRE_PLAIN = _h('6316800100BE11040F080100065F1F0400001E1D04C80007')
RLRE_CIPHERED = _h('6328800100BE230421281F3001234567891214A0845E475714383F65BC19745CA235906525E4F3'
                   'E1C893')


def test_aarq_ln_without_security_parses():
    for buf, ui in ((AARQ_LN, _INITIATE_REQ), (AARQ_LN_FFFF, _h('01000000065F1F0400001E1DFFFF'))):
        a = acse.parse_aarq(buf)
        assert a.context_id == client.LN
        assert a.protocol_version_ok
        assert a.calling_ap_title is None
        assert a.calling_ae_invocation_id is None
        assert a.acse_requirements is False
        assert a.mechanism is None
        assert a.auth_value is None
        assert a.user_information == ui


def test_aarq_lls_parses_password():
    a = acse.parse_aarq(AARQ_LLS)
    assert a.context_id == client.LN
    assert a.acse_requirements is True
    assert a.mechanism == client.LLS
    assert a.auth_value == b'12345678'
    assert a.user_information == _INITIATE_REQ


def test_aarq_ciphered_lls_parses_calling_ap_title_and_glo_initiate():
    a = acse.parse_aarq(AARQ_CIPHERED_LLS)
    assert a.context_id == client.LN_CIPHERING
    assert a.calling_ap_title == _h('4D4D4D0000BC614E')
    assert a.acse_requirements is True
    assert a.mechanism == client.LLS
    assert a.auth_value == b'12345678'
    assert a.user_information == _GLO_INITIATE_REQ


def test_aarq_hls_gmac_parses_ctos():
    a = acse.parse_aarq(AARQ_HLS_GMAC)
    assert a.context_id == client.LN
    assert a.mechanism == client.HLS_GMAC
    assert a.auth_value == _h('4B35366956616759')
    assert a.user_information == _INITIATE_REQ


def test_build_aarq_reproduces_the_published_aarqs():
    assert client.build_aarq(client.LN, user_information=_INITIATE_REQ) == AARQ_LN
    assert client.build_aarq(client.LN, mechanism=client.LLS, auth_value=b'12345678',
                           user_information=_INITIATE_REQ) == AARQ_LLS
    assert client.build_aarq(client.LN_CIPHERING, calling_ap_title=_h('4D4D4D0000BC614E'),
                           mechanism=client.LLS, auth_value=b'12345678',
                           user_information=_GLO_INITIATE_REQ) == AARQ_CIPHERED_LLS
    assert client.build_aarq(client.LN, mechanism=client.HLS_GMAC, auth_value=_h('4B35366956616759'),
                           user_information=_INITIATE_REQ) == AARQ_HLS_GMAC


def test_aarq_calling_ae_invocation_id_parses():
    buf = client.build_aarq(client.LN_CIPHERING, calling_ap_title=_h('4D4D4D0000000001'),
                          calling_ae_invocation_id=5, mechanism=client.HLS_GMAC,
                          auth_value=b'K56iVagY', user_information=_GLO_INITIATE_REQ)
    assert _h('A903020105') in buf
    a = acse.parse_aarq(buf)
    assert a.calling_ae_invocation_id == 5
    assert a.calling_ap_title == _h('4D4D4D0000000001')


def _aare_round_trip(buf):
    a = client.parse_aare(buf)
    return acse.build_aare(a.context_id, a.result, a.diag_source, a.diagnostic,
                           a.responding_ap_title, a.mechanism, a.auth_value, a.user_information)


def test_every_published_aare_rebuilds_byte_exact():
    for buf in (AARE_ACCEPTED, AARE_DIAG_2, AARE_VERSION_TOO_LOW, AARE_HLS_GMAC, AARE_METER,
                AARE_CIPHERED_GMAC):
        assert _aare_round_trip(buf) == buf


def test_build_aare_from_explicit_arguments():
    assert acse.build_aare(client.LN, client.ACCEPTED, client.SOURCE_USER, client.DIAG_NULL,
                           user_information=_INITIATE_RESP) == AARE_ACCEPTED
    assert acse.build_aare(client.LN, client.REJECTED_PERMANENT, client.SOURCE_USER,
                           client.DIAG_APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
                           user_information=_INITIATE_RESP) == AARE_DIAG_2
    assert acse.build_aare(client.LN, client.REJECTED_PERMANENT, client.SOURCE_USER,
                           client.DIAG_NO_REASON_GIVEN,
                           user_information=_h('0E010601')) == AARE_VERSION_TOO_LOW
    assert acse.build_aare(client.LN, client.ACCEPTED, client.SOURCE_USER,
                           client.DIAG_AUTHENTICATION_REQUIRED, mechanism=client.HLS_GMAC,
                           auth_value=b'P6wRJ21F',
                           user_information=_INITIATE_RESP) == AARE_HLS_GMAC
    assert acse.build_aare(client.LN_CIPHERING, client.ACCEPTED, client.SOURCE_USER,
                           client.DIAG_AUTHENTICATION_REQUIRED,
                           responding_ap_title=_h('4D4D4D0000BC614E'), mechanism=client.HLS_GMAC,
                           auth_value=b'P6wRJ21F',
                           user_information=_GLO_INITIATE_RESP) == AARE_CIPHERED_GMAC


def test_parse_aare_fields_of_the_meter_capture():
    a = client.parse_aare(AARE_METER)
    assert a.context_id == client.LN_CIPHERING
    assert a.result == client.ACCEPTED
    assert a.diag_source == client.SOURCE_USER
    assert a.diagnostic == client.DIAG_AUTHENTICATION_REQUIRED
    assert a.responding_ap_title == _h('48584501353EC609')
    assert a.mechanism == client.HLS_GMAC
    assert len(a.auth_value) == 16
    assert a.user_information[0] == 0x28


def test_aare_with_provider_diagnostic_uses_a2_choice():
    buf = acse.build_aare(client.LN, client.REJECTED_PERMANENT, client.SOURCE_PROVIDER,
                          client.PROVIDER_NO_COMMON_ACSE_VERSION)
    assert buf == _h('6117A109060760857405080101A203020101A305A203020102')
    a = client.parse_aare(buf)
    assert (a.diag_source, a.diagnostic) == (client.SOURCE_PROVIDER, 2)


def test_rlrq_normal_parses():
    assert acse.parse_rlrq(RLRQ_NORMAL) == (client.RELEASE_NORMAL, None)


def test_rlrq_with_ciphered_initiate_parses():
    assert acse.parse_rlrq(RLRQ_CIPHERED) == (0, _GLO_INITIATE_REQ)
    assert client.build_rlrq(0, _GLO_INITIATE_REQ) == RLRQ_CIPHERED


def test_empty_rlrq_parses_without_reason():
    assert acse.parse_rlrq(_h('6200')) == (None, None)


def test_rlre_vectors_rebuild_byte_exact():
    assert acse.build_rlre(0, _h('080100065F1F0400001E1D04C80007')) == RLRE_PLAIN
    assert acse.build_rlre(0, _GLO_INITIATE_RESP) == RLRE_CIPHERED
    assert acse.build_rlre() == _h('6303800100')
    assert client.parse_rlre(RLRE_CIPHERED) == (0, _GLO_INITIATE_RESP)


def test_rlre_without_reason_omits_the_reason_field():
    assert acse.build_rlre(None) == _h('6300')
    assert acse.build_rlre(None, _h('0800')) == _h('6306BE0404020800')


def test_context_outside_the_dlms_prefix_gives_no_context_id():
    # 2.16.756.5.8.3.1 (wrong arc), a foreign OID, an OID of the wrong size, not an OID at all
    for a1 in ('A109060760857405080301', 'A1050603550401', 'A10806066085740508 01',
               'A10302010 1', 'A100'):
        buf = client.build_aarq(client.LN, user_information=_INITIATE_REQ)
        body = _h(a1) + buf[13:]
        a = acse.parse_aarq(bytes((0x60, len(body))) + body)
        assert a.context_id is None, a1
        assert a.user_information == _INITIATE_REQ


def test_missing_application_context_gives_no_context_id():
    a = acse.parse_aarq(_h('6012BE10040E01000000065F1F0400007E1F04B0'))
    assert a.context_id is None
    assert a.user_information == _INITIATE_REQ


def test_unknown_mechanism_oid_gives_minus_one():
    buf = bytearray(AARQ_HLS_GMAC)
    i = buf.find(_h('8B07'))
    buf[i + 7] = 0x09   # 2.16.756.5.8.9.5
    assert acse.parse_aarq(bytes(buf)).mechanism == client.MECHANISM_UNKNOWN
    body = AARQ_LN[2:] + _h('8B03550401')
    assert acse.parse_aarq(bytes((0x60, len(body))) + body).mechanism == -1


def test_unknown_optional_fields_are_skipped():
    extra = (_h('A203A10100') + _h('A703020101') + _h('BD0480020780') + _h('A8020100')
             + _h('9F2001AA'))  # multi-byte tag
    body = AARQ_LLS[2:13] + extra + AARQ_LLS[13:]
    a = acse.parse_aarq(bytes((0x60, len(body))) + body)
    assert a.context_id == client.LN
    assert a.mechanism == client.LLS
    assert a.auth_value == b'12345678'
    assert a.user_information == _INITIATE_REQ


def test_protocol_version_field_is_checked():
    for field, ok in (('80020780', True), ('80020700', False), ('800100', False)):
        body = _h(field) + AARQ_LN[2:]
        assert acse.parse_aarq(bytes((0x60, len(body))) + body).protocol_version_ok is ok


def test_bitstring_authentication_value_is_accepted():
    body = AARQ_LN[2:13] + _h('AC0481024142') + AARQ_LN[13:]
    assert acse.parse_aarq(bytes((0x60, len(body))) + body).auth_value == b'AB'


def test_long_form_lengths_parse():
    ui = bytes(200)
    buf = client.build_aarq(client.LN, user_information=ui)
    assert buf[0:3] == _h('6081D9')
    assert acse.parse_aarq(buf).user_information == ui
    ui = bytes(300)
    buf = client.build_aarq(client.LN, user_information=ui)
    assert buf[0:4] == _h('6082013F')
    assert acse.parse_aarq(buf).user_information == ui
    aare = acse.build_aare(client.LN, 0, 1, 0, user_information=ui)
    assert client.parse_aare(aare).user_information == ui


def test_wrong_apdu_tag_is_an_error():
    assert _raises(acse.parse_aarq, AARE_ACCEPTED)
    assert _raises(client.parse_aare, AARQ_LN)
    assert _raises(acse.parse_rlrq, RLRE_PLAIN)
    assert _raises(acse.parse_aarq, b'')


def test_trailing_bytes_after_the_apdu_are_an_error():
    assert _raises(acse.parse_aarq, AARQ_LN + b'\x00')
    assert _raises(acse.parse_rlrq, RLRQ_NORMAL + b'\x00')


def test_unsupported_length_forms_are_errors():
    assert _raises(acse.parse_aarq, _h('6080') + AARQ_LN[2:] + _h('0000'))
    assert _raises(acse.parse_aarq, _h('6083000020') + AARQ_LN[2:])


def test_nested_length_overrunning_its_field_is_an_error():
    # A6 says 10 bytes, its OCTET STRING says 9
    bad = bytearray(AARQ_CIPHERED_LLS)
    i = bad.find(_h('A60A0408'))
    bad[i + 3] = 0x09
    assert _raises(acse.parse_aarq, bytes(bad))
    # BE 10 04 0F: inner longer than the field
    bad = bytearray(AARQ_LN)
    bad[bad.find(_h('BE10040E')) + 3] = 0x0F
    assert _raises(acse.parse_aarq, bytes(bad))
    # field longer than the APDU
    bad = bytearray(AARQ_LN)
    bad[bad.find(_h('BE10')) + 1] = 0x11
    assert _raises(acse.parse_aarq, bytes(bad))
    # user-information not an OCTET STRING
    bad = bytearray(AARQ_LN)
    bad[bad.find(_h('BE10040E')) + 2] = 0x28
    assert _raises(acse.parse_aarq, bytes(bad))


def test_every_strict_prefix_raises_acse_error():
    for buf, fn in ((AARQ_CIPHERED_LLS, acse.parse_aarq), (AARQ_HLS_GMAC, acse.parse_aarq),
                    (AARQ_LN, acse.parse_aarq), (AARE_METER, client.parse_aare),
                    (AARE_CIPHERED_GMAC, client.parse_aare), (RLRQ_CIPHERED, acse.parse_rlrq),
                    (RLRQ_NORMAL, acse.parse_rlrq), (RLRE_PLAIN, client.parse_rlre)):
        fn(buf)
        for n in range(len(buf)):
            assert _raises(fn, buf[0:n]), n


def test_bodies_cut_anywhere_raise_only_acse_error_or_parse():
    # the outer length is patched to match, so the cut lands inside the fields
    for buf in (AARQ_CIPHERED_LLS, AARQ_HLS_GMAC):
        body = buf[2:]
        for n in range(len(body)):
            cut = body[0:n]
            try:
                acse.parse_aarq(bytes((0x60, len(cut))) + cut)
            except acse.AcseError:
                pass



def test_mutated_and_random_inputs_raise_only_acse_error():
    rng = Rng(0xACE5)
    for base in (AARQ_CIPHERED_LLS, AARQ_HLS_GMAC, AARQ_LLS):
        for _ in range(300):
            b = bytearray(base)
            for _ in range(1 + rng.byte() % 3):
                b[rng.byte() % len(b)] = rng.byte()
            try:
                acse.parse_aarq(bytes(b))
            except acse.AcseError:
                pass
    for _ in range(500):
        n = rng.byte() % 40
        b = bytes([0x60, n] + [rng.byte() for _ in range(n)])
        for fn in (acse.parse_aarq, acse.parse_rlrq, client.parse_aare):
            try:
                fn(b)
            except acse.AcseError:
                pass


def test_constants_have_the_reference_values():
    assert (client.ACCEPTED, client.REJECTED_PERMANENT, client.REJECTED_TRANSIENT) == (0, 1, 2)
    assert (client.LOWEST, client.LLS, client.HLS, client.HLS_MD5, client.HLS_SHA1, client.HLS_GMAC,
            client.HLS_SHA256, client.HLS_ECDSA) == (0, 1, 2, 3, 4, 5, 6, 7)
    assert (client.LN, client.SN, client.LN_CIPHERING, client.SN_CIPHERING) == (1, 2, 3, 4)
    assert client.DIAG_CALLING_AP_TITLE_NOT_RECOGNIZED == 3
    assert client.DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED == 11
    assert client.DIAG_AUTHENTICATION_FAILURE == 13
    assert client.DIAG_AUTHENTICATION_REQUIRED == 14
