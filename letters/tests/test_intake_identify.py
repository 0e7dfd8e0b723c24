import hashlib

from letters.intake.identify import DERIVED_DOMAIN, identify, references_of, return_path_of

from .factories import eml


def test_the_message_id_is_read_without_its_angle_brackets():
    ident = identify(eml("plain.eml"))
    assert ident.message_id == "20250303091422.GA1234@example.org"
    assert ident.derived is False


def test_the_checksum_is_the_sha256_of_the_raw_bytes():
    raw = eml("plain.eml")
    assert identify(raw).checksum == hashlib.sha256(raw).hexdigest()


def test_a_missing_message_id_is_derived_from_the_checksum_the_same_way_every_time():
    raw = eml("no_message_id.eml")
    ident = identify(raw)
    assert ident.derived is True
    assert ident.message_id == f"derived-{ident.checksum[:32]}@{DERIVED_DOMAIN}"
    assert identify(bytes(raw)) == ident


def test_references_are_read_from_the_header_block_only():
    raw = (
        b"References: <a@example.org>\r\n <b@example.org>\r\nSubject: x\r\n\r\n"
        b"References: <not-a-header@example.org>\r\n"
    )
    assert references_of(raw) == ["a@example.org", "b@example.org"]


def test_the_return_path_is_read_without_brackets_and_the_null_sender_kept():
    assert return_path_of(b"Return-Path: <b@example.org>\r\nFrom: x\r\n\r\nbody") == "b@example.org"
    assert return_path_of(b"Return-Path: < >\r\n\r\n") == "<>"
    assert return_path_of(b"From: x\r\n\r\nReturn-Path: <late@example.org>\r\n") == ""
