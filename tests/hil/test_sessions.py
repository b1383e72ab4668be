"""The session tests of the hardware-in-the-loop suite: whole client sessions, each association,
against the target chosen with --target (default: the virtual meter; see conftest.py and
README.md, "Hardware in the loop"). The same scripts (hil/sessions.py) run in the board
emulation and memory tests."""
from hil import sessions


def test_management_session_hls_gmac_ten_gets_and_object_list_in_blocks(hil_target,
                                                                       hil_credentials):
    summary = sessions.management_session(hil_target, hil_credentials)
    assert summary['gets'] == 10
    assert summary['object_list_blocks'] >= 2          # GET-with-datablock under a 128 PDU
    assert summary['objects'] >= 5
    assert summary['server_ics'] >= 10                 # every reply protected, fresh counter


def test_public_client_reads_name_clock_and_its_objects(hil_target, hil_credentials):
    summary = sessions.public_session(hil_target, hil_credentials)
    assert summary['name'] and summary['objects'] >= 3


def test_reader_with_lls_reads_the_energy_register(hil_target, hil_credentials):
    assert sessions.reader_session(hil_target, hil_credentials)['energy'] >= 0


def test_wrong_lls_password_is_rejected(hil_target, hil_credentials):
    assert sessions.wrong_password_is_rejected(hil_target, hil_credentials) == (1, 13)
    # and the meter keeps serving (a success also clears the failure count of SAP 17)
    assert sessions.reader_session(hil_target, hil_credentials)['energy'] >= 0
