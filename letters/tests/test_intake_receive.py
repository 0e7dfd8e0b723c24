"""Storing raw first and turning stored messages into letters, exactly once."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import DataError, OperationalError
from django.test.utils import override_settings
from django.utils import timezone

from letters import tasks
from letters.intake import process, store
from letters.intake.identify import identify
from letters.intake.process import process_again, process_inbound_email
from letters.intake.store import StorageUnavailable, receive_email
from letters.models import (
    Channel,
    InboundEmail,
    InboundStatus,
    Letter,
    LetterEvent,
    Status,
    WayIn,
)
from letters.retention import purge_raw_email

from .factories import eml, make_article, make_four_day_week_article, make_message

pytestmark = pytest.mark.django_db


def receive_and_process(raw, way_in=WayIn.PIPE, **envelope):
    row, _ = receive_email(raw, way_in=way_in, **envelope)
    process_inbound_email(row.pk)
    row.refresh_from_db()
    return row


def test_the_raw_message_is_stored_exactly_before_any_parsing():
    raw = make_message() + b"\x00\xff binary tail\r\n"
    with mock.patch.object(process, "parse_email", side_effect=AssertionError("parsed")):
        row, _ = receive_email(raw, way_in=WayIn.PIPE, envelope_to=["letters@reaction.life"])
    row = InboundEmail.objects.get(pk=row.pk)
    assert row.raw_bytes == raw
    assert row.status == InboundStatus.PENDING
    assert row.message_id == "letter-1@example.org"
    assert row.checksum == identify(raw).checksum
    assert row.envelope_to == ["letters@reaction.life"]


def test_processing_is_enqueued_only_after_the_message_is_committed(
    django_capture_on_commit_callbacks,
):
    with mock.patch.object(tasks.process_inbound_email, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
        apply_async.assert_not_called()
        for callback in callbacks:
            callback()
    apply_async.assert_called_once_with(args=(row.pk,))


def test_a_message_becomes_a_received_email_letter_with_an_event():
    row = receive_and_process(eml("plain.eml"))
    assert row.status == InboundStatus.ACCEPTED
    letter = row.letter
    assert letter.status == Status.RECEIVED
    assert letter.channel == Channel.EMAIL
    assert letter.email
    assert letter.body.strip()
    assert letter.subject
    event = LetterEvent.objects.get(letter=letter)
    assert event.to_status == Status.RECEIVED
    assert event.action == "received by email"


def test_the_sign_off_fills_the_writer_fields_and_leaves_the_text():
    row = receive_and_process(eml("signoff.eml"))
    letter = row.letter
    assert letter.name and letter.town
    assert letter.town not in letter.body.splitlines()[-1]


def test_the_same_message_twice_by_two_ways_in_makes_one_row_and_one_letter():
    raw = eml("plain.eml")
    first = receive_and_process(raw, WayIn.PIPE)
    second = receive_and_process(raw, WayIn.SMTP)
    assert first.pk == second.pk
    assert InboundEmail.objects.count() == 1
    assert Letter.objects.count() == 1
    assert InboundEmail.objects.get().deliveries == 2


def test_a_message_without_message_id_gets_one_derived_from_its_checksum_and_dedupes():
    raw = eml("no_message_id.eml")
    first, _ = receive_email(raw, way_in=WayIn.PIPE)
    again, _ = receive_email(raw, way_in=WayIn.IMAP)
    assert first.pk == again.pk
    assert first.message_id_derived
    assert first.message_id.startswith("derived-" + first.checksum[:32])


def test_the_same_message_id_with_other_bytes_is_kept_flagged_and_makes_no_second_letter():
    first = receive_and_process(make_message())
    # The same letter through another relay: an extra trace header, the same text.
    relayed = b"Received: from relay.example.net by mx.reaction.life\r\n" + make_message()
    second = receive_and_process(relayed, WayIn.IMAP)
    assert second.pk != first.pk
    assert second.message_id_reused
    assert InboundEmail.objects.get(pk=first.pk).message_id_reused
    assert second.status == InboundStatus.REJECTED
    assert "duplicate" in second.reason
    assert Letter.objects.count() == 1


def test_a_rejected_duplicate_names_the_earlier_letter_but_is_not_linked_to_it():
    first = receive_and_process(make_message())
    relayed = b"Received: from relay.example.net by mx.reaction.life\r\n" + make_message()
    second = receive_and_process(relayed, WayIn.IMAP)
    assert second.letter_id is None  # it made no letter: only the first copy did
    assert f"inbound email #{first.pk}, which made letter #{first.letter_id}" in second.reason
    assert list(Letter.objects.get(pk=first.letter_id).inbound_emails.all()) == [first]


def test_the_same_message_id_with_a_different_text_makes_a_suspect_letter():
    receive_and_process(make_message())
    other = receive_and_process(make_message(body="Something else entirely, about buses.\n"))
    assert other.status == InboundStatus.ACCEPTED
    assert other.letter.suspect
    assert "Message-ID reused" in other.letter.suspect_reason
    assert Letter.objects.count() == 2


def test_processing_twice_makes_one_letter_and_the_second_run_does_nothing():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED
    assert process_inbound_email(row.pk) is None
    assert Letter.objects.count() == 1


def test_a_worker_that_dies_midway_leaves_no_letter_and_the_retry_makes_one():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    real = process.moderation.receive_by_email

    def create_then_die(letter, **kwargs):
        real(letter, **kwargs)
        raise SystemExit("worker killed")

    with mock.patch.object(process.moderation, "receive_by_email", side_effect=create_then_die):
        with pytest.raises(SystemExit):
            process_inbound_email(row.pk)
    assert Letter.objects.count() == 0
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSING
    # A retry straight away finds it claimed; once the claim is stale it is taken over.
    assert process_inbound_email(row.pk) is None
    InboundEmail.objects.filter(pk=row.pk).update(
        claimed_at=timezone.now() - process.PROCESSING_TIMEOUT - timedelta(seconds=1)
    )
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED
    assert Letter.objects.count() == 1


def test_a_worker_presumed_dead_that_finishes_late_makes_no_second_letter():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    late = timezone.now() - process.PROCESSING_TIMEOUT - timedelta(seconds=1)
    real_claim = process.claim

    def claim_then_lose_it(inbound_id):
        claimed_at = real_claim(inbound_id)
        # Meanwhile the sweeper decided this worker was dead and another claimed the message.
        InboundEmail.objects.filter(pk=inbound_id).update(claimed_at=late)
        assert real_claim(inbound_id) is not None
        return claimed_at

    with mock.patch.object(process, "claim", side_effect=claim_then_lose_it):
        assert process_inbound_email(row.pk) is None
    assert Letter.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "auto-reply"),
        ("bounce.eml", "bounce"),
        ("list_mail.eml", "mailing-list"),
        ("bulk.eml", "bulk"),
        ("loop.eml", "loop"),
    ],
)
def test_automatic_mail_is_rejected_with_its_reason_and_makes_no_letter(name, reason):
    row = receive_and_process(eml(name))
    assert row.status == InboundStatus.REJECTED
    assert row.reason == reason
    assert row.letter is None
    assert Letter.objects.count() == 0


def test_a_null_envelope_sender_is_a_bounce():
    row = receive_and_process(make_message(), envelope_from="<>")
    assert row.status == InboundStatus.REJECTED
    assert "bounce" in row.reason


@pytest.mark.parametrize(
    "name",
    [
        "plain.eml",
        "html_only.eml",
        "multipart_alternative.eml",
        "quoted_printable.eml",
        "base64.eml",
        "iso_8859_1.eml",
        "windows_1252_mislabelled.eml",
        "no_charset.eml",
        "no_message_id.eml",
        "docx_attachment.eml",
        "odt_attachment.eml",
        "txt_attachment.eml",
        "with_pdf_attachment.eml",
        "reply_with_quote.eml",
        "outlook_reply.eml",
    ],
)
def test_each_kind_of_real_letter_becomes_a_letter_with_text(name):
    row = receive_and_process(eml(name))
    assert row.status == InboundStatus.ACCEPTED, row.reason
    assert len(row.letter.body.split()) >= 5
    assert "<" not in row.letter.body or name != "html_only.eml"


def test_attachments_are_listed_on_the_inbound_email():
    row = receive_and_process(eml("with_pdf_attachment.eml"))
    assert any(a["content_type"] == "application/pdf" for a in row.attachments)


def test_spam_verdicts_and_failed_dmarc_mark_the_letter_suspect():
    assert receive_and_process(eml("spam_flagged.eml")).letter.suspect
    Letter.objects.all().delete()
    assert receive_and_process(eml("dmarc_fail.eml")).letter.suspect


@override_settings(LETTERS_INBOUND_MAX_BYTES=2048)
def test_an_oversize_message_is_rejected_and_only_its_headers_are_kept():
    raw = make_message(body="word " * 2000)
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    row.refresh_from_db()
    assert row.status == InboundStatus.REJECTED
    assert "too large" in row.reason
    assert row.raw_truncated
    assert row.raw_bytes.startswith(b"From: Ann Reader")
    assert b"word word" not in row.raw_bytes
    assert row.size == len(raw)


def test_a_message_with_no_text_is_rejected_with_a_reason():
    row = receive_and_process(make_message(body="\n\n"))
    assert row.status == InboundStatus.REJECTED
    assert "no letter text" in row.reason


def test_a_crash_while_parsing_marks_that_message_failed():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    with mock.patch.object(process, "parse_email", side_effect=ValueError("boom")):
        assert process_inbound_email(row.pk) == InboundStatus.FAILED
    row.refresh_from_db()
    assert "ValueError: boom" in row.reason


def test_a_crash_while_saving_the_letter_marks_that_message_failed_not_processing():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    with mock.patch.object(
        process.moderation, "receive_by_email", side_effect=ValueError("cannot store")
    ):
        assert process_inbound_email(row.pk) == InboundStatus.FAILED
    row.refresh_from_db()
    assert row.status == InboundStatus.FAILED
    assert "ValueError: cannot store" in row.reason
    assert Letter.objects.count() == 0
    # The editor can send it through again once the cause is fixed.
    assert process_again([row.pk]) == 1


def test_a_nul_character_in_the_headers_does_not_stop_the_letter():
    # PostgreSQL refuses NUL in text columns; an encoded word can smuggle one in.
    raw = make_message(
        subject="=?utf-8?q?Trains=00_late?=", sender="=?utf-8?q?Ann=00?= <ann@example.org>"
    )
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED
    letter = Letter.objects.get()
    assert "\x00" not in letter.subject + letter.name
    row.refresh_from_db()
    assert "\x00" not in row.subject


def test_a_database_failure_while_storing_raises_storage_unavailable():
    with mock.patch.object(InboundEmail, "save", side_effect=OperationalError("server gone")):
        with pytest.raises(StorageUnavailable):
            receive_email(make_message(), way_in=WayIn.PIPE)


def test_process_again_requeues_a_failed_message_and_it_then_makes_a_letter():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    with mock.patch.object(process, "parse_email", side_effect=ValueError("boom")):
        process_inbound_email(row.pk)
    assert process_again([row.pk]) == 1
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED
    assert process_again([row.pk]) == 0


# --- Article matching ------------------------------------------------------------------------


def test_the_per_article_address_matches_with_full_confidence():
    article = make_four_day_week_article()
    row = receive_and_process(make_message(to=f"letters+{article.slug}@reaction.life"))
    assert row.letter.article == article
    assert row.letter.article_match_method == "address"
    assert row.letter.article_match_confidence == 1.0


def test_the_letters_trail_says_how_its_article_was_found_and_how_sure_the_match_is():
    article = make_four_day_week_article()
    row = receive_and_process(make_message(to=f"letters+{article.slug}@reaction.life"))
    event = row.letter.events.get(action="received by email")
    assert event.note == f"Inbound email #{row.pk}; article matched by address (confidence 1.00)"


def test_the_envelope_recipient_matches_a_letter_sent_by_bcc():
    article = make_four_day_week_article()
    row = receive_and_process(
        make_message(to="undisclosed-recipients:;"),
        envelope_to=[f"letters+{article.slug}@reaction.life"],
    )
    assert row.letter.article == article


def test_the_article_url_in_the_body_matches():
    article = make_four_day_week_article()
    body = f"Dear Editor,\n\nAbout http://127.0.0.1:8000/articles/{article.slug}/ - I disagree.\n"
    row = receive_and_process(make_message(body=body, subject="A thought"))
    assert row.letter.article == article
    assert row.letter.article_match_method == "url"


def test_the_headline_in_the_subject_matches():
    article = make_four_day_week_article()
    row = receive_and_process(make_message(subject=f"Re: {article.headline}"))
    assert row.letter.article == article
    assert row.letter.article_match_method == "subject"


def test_the_readme_example_matches_the_article_whose_headline_its_subject_starts():
    make_four_day_week_article()
    article = make_article(
        headline="Putin warns the West as Starmer and Biden weigh long-range strikes",
        slug="putin-warns-the-west",
    )
    row = receive_and_process(
        make_message(
            subject="Re: Putin warns the West",
            body="Sir, the help is too little, too late.\n\nJane Smith\nHexham\n",
        )
    )
    assert row.letter.article == article
    assert (row.letter.article_match_method, row.letter.article_match_confidence) == (
        "subject",
        0.75,
    )


def test_an_article_url_in_the_subject_matches():
    article = make_four_day_week_article()
    subject = f"Re: https://reaction.life/articles/{article.slug}/?utm_source=newsletter"
    row = receive_and_process(make_message(subject=subject))
    assert row.letter.article == article
    assert row.letter.article_match_method == "url"


def test_similar_text_matches_with_a_recorded_confidence():
    make_four_day_week_article()
    article = make_article(
        headline="Badgers and the bovine tuberculosis cull",
        slug="badger-cull",
        body="The badger cull has failed to cut bovine tuberculosis in cattle herds.",
    )
    body = (
        "Dear Editor,\n\nThe badger cull and bovine tuberculosis: culling badgers has not "
        "protected cattle herds from tuberculosis at all.\n"
    )
    row = receive_and_process(make_message(body=body, subject="Culling"))
    assert row.letter.article == article
    assert row.letter.article_match_method == "similarity"
    assert 0 < row.letter.article_match_confidence <= 1


def test_a_letter_about_nothing_known_is_left_unmatched_for_an_editor():
    make_four_day_week_article()
    row = receive_and_process(make_message(subject="Hello", body="Dear Editor, pigeons.\n"))
    assert row.letter.article is None
    assert row.letter.article_match_method == ""


# --- Retention -------------------------------------------------------------------------------


@override_settings(LETTERS_RAW_EMAIL_RETENTION_DAYS=30)
def test_raw_messages_are_emptied_after_the_retention_period_and_the_letter_keeps_its_text():
    row = receive_and_process(make_message())
    assert purge_raw_email(now=timezone.now() + timedelta(days=29)) == 0
    assert purge_raw_email(now=timezone.now() + timedelta(days=31)) == 1
    row.refresh_from_db()
    assert row.raw_bytes == b""
    assert row.raw_purged_at
    assert "trains are late" in row.letter.body
    # A late redelivery of the same message is still recognised.
    assert receive_email(make_message(), way_in=WayIn.IMAP)[0].pk == row.pk


def test_a_pending_message_whose_task_was_lost_is_enqueued_by_the_sweeper():
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    InboundEmail.objects.filter(pk=row.pk).update(received_at=timezone.now() - timedelta(hours=1))
    with mock.patch.object(tasks.process_inbound_email, "apply_async") as apply_async:
        assert process.enqueue_stuck() == 1
    apply_async.assert_called_once_with(args=(row.pk,))


def test_a_nul_in_the_message_id_and_envelope_is_stored_without_it_and_processed():
    raw = make_message(message_id="<abc\x00def@example.org>")
    row, created = receive_email(
        raw, way_in=WayIn.PIPE, envelope_from="ann\x00@example.org", envelope_to=["letters\x00@x"]
    )
    assert created
    row.refresh_from_db()
    assert (row.message_id, row.envelope_from, row.envelope_to) == (
        "abcdef@example.org",
        "ann@example.org",
        ["letters@x"],
    )
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED


def test_an_attachment_type_with_a_nul_does_not_fail_the_letter():
    raw = (
        b"From: Ann Reader <ann@example.org>\r\nTo: letters@reaction.life\r\n"
        b"Subject: Trains\r\nMessage-ID: <nul-type@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nDear Editor, the trains are late.\r\n"
        b'--b\r\nContent-Type: application/x-\x00odd\r\nContent-Disposition: attachment; filename="a\x00.bin"\r\n\r\n'
        b"xx\r\n--b--\r\n"
    )
    row = receive_and_process(raw)
    assert row.status == InboundStatus.ACCEPTED
    assert "\x00" not in str(row.attachments)


def test_a_message_the_database_refuses_is_kept_raw_and_failed_not_retried_for_ever():
    raw = make_message()
    real = store._insert_once
    calls = []

    def refuse_first(row, ident):
        calls.append(ident.message_id)
        if len(calls) == 1:
            raise DataError("value refused")
        return real(row, ident)

    with mock.patch.object(store, "_insert_once", side_effect=refuse_first):
        row, created = receive_email(raw, way_in=WayIn.PIPE)
    assert created
    row.refresh_from_db()
    assert row.status == InboundStatus.FAILED
    assert "value refused" in row.reason
    assert row.raw_bytes == raw
    assert row.message_id.startswith("refused-")


def abandon(row, attempts):
    """As if `attempts` workers claimed the message and each was killed midway."""
    InboundEmail.objects.filter(pk=row.pk).update(
        status=InboundStatus.PROCESSING,
        attempts=attempts,
        claimed_at=timezone.now() - process.PROCESSING_TIMEOUT - timedelta(seconds=1),
    )


def test_a_message_whose_worker_keeps_dying_ends_failed_after_the_set_attempts(settings):
    settings.LETTERS_INBOUND_MAX_ATTEMPTS = 3
    poison, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    other, _ = receive_email(make_message(message_id="<other@example.org>"), way_in=WayIn.PIPE)
    abandon(poison, 3)
    abandon(other, 2)
    with mock.patch.object(tasks.process_inbound_email, "apply_async") as apply_async:
        assert process.enqueue_stuck() == 1  # the other one, still worth a try
    apply_async.assert_called_once_with(args=(other.pk,))
    poison.refresh_from_db()
    assert poison.status == InboundStatus.FAILED
    assert "did not finish in 3 attempts" in poison.reason
    assert process_inbound_email(poison.pk) is None  # a late task for it changes nothing
    assert process_inbound_email(other.pk) == InboundStatus.ACCEPTED


def test_a_task_reclaiming_a_message_abandoned_too_often_fails_it(settings):
    settings.LETTERS_INBOUND_MAX_ATTEMPTS = 2
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    abandon(row, 2)
    assert process_inbound_email(row.pk) is None
    row.refresh_from_db()
    assert row.status == InboundStatus.FAILED
    assert Letter.objects.count() == 0


def test_processing_a_failed_poison_message_again_gives_it_fresh_attempts(settings, enqueued):
    settings.LETTERS_INBOUND_MAX_ATTEMPTS = 2
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    abandon(row, 2)
    process.enqueue_stuck()
    assert process_again([row.pk]) == 1
    assert process_inbound_email(row.pk) == InboundStatus.ACCEPTED
