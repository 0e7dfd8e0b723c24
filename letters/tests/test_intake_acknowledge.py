"""Acknowledgements: one per letter, RFC 3834 headers, never to automatic mail, one a day."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from letters import notifications, tasks
from letters.intake.acknowledge import send_acknowledgement
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import EmailAcknowledgement, InboundEmail, WayIn

from .factories import eml, make_message

pytestmark = pytest.mark.django_db


def accepted(raw, **envelope):
    row, _ = receive_email(raw, way_in=WayIn.PIPE, **envelope)
    process_inbound_email(row.pk)
    return InboundEmail.objects.get(pk=row.pk)


def test_an_accepted_letter_is_acknowledged_once_as_an_auto_reply_in_the_thread(mailoutbox):
    row = accepted(
        make_message(headers=["References: <earlier@example.org>"]),
    )
    assert send_acknowledgement(row.pk) is True
    assert send_acknowledgement(row.pk) is False
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["ann@example.org"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert sent.extra_headers["In-Reply-To"] == "<letter-1@example.org>"
    assert sent.extra_headers["References"] == "<earlier@example.org> <letter-1@example.org>"
    assert "Ann Reader" in sent.body


def test_the_acknowledgement_is_enqueued_after_an_accepted_letter(
    django_capture_on_commit_callbacks, settings
):
    settings.LETTERS_EMAIL_ACKNOWLEDGE = True
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    with mock.patch.object(tasks.send_email_acknowledgement, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            process_inbound_email(row.pk)
    apply_async.assert_called_once_with(args=(row.pk,))


def test_no_acknowledgement_is_enqueued_when_switched_off(
    django_capture_on_commit_callbacks, settings
):
    settings.LETTERS_EMAIL_ACKNOWLEDGE = False
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)
    with mock.patch.object(tasks.send_email_acknowledgement, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            process_inbound_email(row.pk)
    apply_async.assert_not_called()
    assert send_acknowledgement(row.pk) is False


@pytest.mark.parametrize("name", ["auto_reply.eml", "bounce.eml", "list_mail.eml", "bulk.eml"])
def test_automatic_mail_is_never_acknowledged(mailoutbox, name):
    row = accepted(eml(name))
    assert send_acknowledgement(row.pk) is False
    assert mailoutbox == []


def test_a_suspect_letter_is_not_acknowledged(mailoutbox):
    row = accepted(eml("spam_flagged.eml"))
    assert row.letter.suspect
    assert send_acknowledgement(row.pk) is False
    assert mailoutbox == []


def test_a_writer_gets_at_most_one_acknowledgement_a_day(mailoutbox):
    first = accepted(make_message(message_id="<a@example.org>"))
    second = accepted(
        make_message(message_id="<b@example.org>", body="Another letter, on buses.\n")
    )
    assert send_acknowledgement(first.pk) is True
    assert send_acknowledgement(second.pk) is False
    assert len(mailoutbox) == 1
    # A day later the same writer is acknowledged again.
    EmailAcknowledgement.objects.update(
        claimed_at=timezone.now() - timedelta(days=1, minutes=1),
        sent_on=(timezone.now() - timedelta(days=1, minutes=1)).date(),
    )
    third = accepted(make_message(message_id="<c@example.org>", body="A third, on trams.\n"))
    assert send_acknowledgement(third.pk) is True


def test_a_failed_send_releases_the_claim_so_the_retry_sends(mailoutbox):
    row = accepted(make_message())
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("smtp down")):
        with pytest.raises(OSError):
            send_acknowledgement(row.pk)
    assert send_acknowledgement(row.pk) is True
    assert len(mailoutbox) == 1


def test_the_acknowledgement_goes_to_the_envelope_sender_not_a_forged_from(mailoutbox):
    forged = make_message(sender="A Stranger <victim@example.net>")
    row = accepted(forged, envelope_from="real-sender@example.org")
    assert send_acknowledgement(row.pk) is True
    assert mailoutbox[0].to == ["real-sender@example.org"]


def test_without_an_envelope_the_return_path_is_used(mailoutbox):
    raw = make_message(sender="A Stranger <victim@example.net>")
    row = accepted(b"Return-Path: <bounces@lists.example.org>\r\n" + raw)
    assert send_acknowledgement(row.pk) is True
    assert mailoutbox[0].to == ["bounces@lists.example.org"]


def test_a_null_return_path_gets_no_acknowledgement(mailoutbox):
    row = accepted(b"Return-Path: <>\r\n" + make_message())
    assert send_acknowledgement(row.pk) is False
    assert mailoutbox == []


# --- What the acknowledgement promises follows the desk's settings ---------------------------


@pytest.mark.parametrize(
    ("ask_first", "notify_only", "said", "not_said"),
    [
        (False, False, "If we publish yours, we will email you a link", "in touch first"),
        (True, False, "If we choose yours for publication we will be in touch first", "a link to"),
        (False, True, "we write only to the writers of the letters we publish", "in touch first"),
    ],
)
def test_the_acknowledgement_promises_only_what_the_settings_do(
    mailoutbox, settings, ask_first, notify_only, said, not_said
):
    settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING = ask_first
    settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED = notify_only
    send_acknowledgement(accepted(make_message()).pk)
    body = " ".join(mailoutbox[0].body.split())
    assert said in body
    assert not_said not in body


def test_the_acknowledgement_links_to_the_writers_status_page(mailoutbox, settings):
    settings.SITE_URL = "https://letters.reaction.life"
    row = accepted(make_message())
    send_acknowledgement(row.pk)
    [link] = re.findall(
        r"https://letters\.reaction\.life/letters/status/(\S+)/", mailoutbox[0].body
    )
    assert notifications.letter_id_from_status_token(link) == row.letter_id
