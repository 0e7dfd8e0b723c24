"""Threading: a writer's reply joins their letter instead of opening a new one."""

from email.utils import format_datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from letters import notifications
from letters.intake.acknowledge import send_acknowledgement
from letters.intake.archive import import_messages
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import Channel, InboundEmail, InboundStatus, Letter, LetterEvent, Status, WayIn

pytestmark = pytest.mark.django_db

FOLLOW_UP = "follow-up received"


def message(
    message_id,
    *,
    sender="Ann Reader <ann@example.org>",
    subject="The trains",
    body="Dear Editor,\n\nThe trains are late again, and your article was right.\n\nAnn Reader\nLeeds\n",
    headers=(),
):
    lines = [
        f"From: {sender}",
        "To: letters@reaction.life",
        f"Subject: {subject}",
        f"Date: {format_datetime(timezone.now())}",
        f"Message-ID: <{message_id}>",
        *headers,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
    ]
    return ("\r\n".join(lines) + "\r\n" + body.replace("\n", "\r\n")).encode()


def reply(message_id, to_id, *, references=None, in_reply_to=True, **kwargs):
    headers = []
    if in_reply_to:
        headers.append(f"In-Reply-To: <{to_id}>")
    headers.append(f"References: {references or f'<{to_id}>'}")
    kwargs.setdefault("subject", "Re: The trains")
    kwargs.setdefault(
        "body",
        "Sorry, one more thing: the 8.12 was cancelled too.\n\n"
        "> Dear Editor,\n> The trains are late again.\n",
    )
    return message(message_id, headers=headers, **kwargs)


def arrive(raw):
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(row.pk, acknowledge=False)
    return InboundEmail.objects.get(pk=row.pk)


def follow_ups(letter):
    return list(LetterEvent.objects.filter(letter=letter, action=FOLLOW_UP))


def test_a_reply_to_the_writers_own_emailed_letter_joins_that_letter():
    letter = arrive(message("first@example.org")).letter

    row = arrive(reply("second@example.org", "first@example.org"))

    assert Letter.objects.count() == 1
    assert row.status == InboundStatus.ACCEPTED
    assert row.reason == f"follow-up to letter #{letter.pk}"
    assert row.follow_up_to == letter
    assert row.letter is None
    [event] = follow_ups(letter)
    assert event.actor_label == "writer"
    assert event.to_status == ""
    assert "the 8.12 was cancelled too" in event.note
    assert "> Dear Editor" not in event.note  # the quoted original is left out
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED


def test_a_reply_to_the_desks_acknowledgement_joins_the_letter(mailoutbox, settings):
    settings.LETTERS_EMAIL_ACKNOWLEDGE = True
    first = arrive(message("first@example.org"))
    assert send_acknowledgement(first.pk) is True
    desk_id = mailoutbox[0].message()["Message-ID"].strip("<>")
    assert desk_id.startswith(f"letter-{first.letter_id}.ack.")
    assert desk_id.endswith("@reaction.life")

    # Mail clients may change the case of the address; it is still the writer.
    row = arrive(reply("second@example.org", desk_id, sender="Ann Reader <ANN@Example.org>"))

    assert row.follow_up_to_id == first.letter_id
    assert len(follow_ups(first.letter)) == 1
    assert Letter.objects.count() == 1


def test_a_reply_to_the_confirmation_of_a_web_letter_joins_it(mailoutbox):
    letter = Letter.objects.create(
        body="A letter from the form.", name="Bob", email="bob@example.org", channel=Channel.WEB
    )
    assert notifications.send_confirmation(letter.pk) is True
    desk_id = mailoutbox[0].message()["Message-ID"].strip("<>")

    row = arrive(reply("bob-reply@example.org", desk_id, sender="Bob <bob@example.org>"))

    assert row.follow_up_to == letter
    assert len(follow_ups(letter)) == 1


def test_a_reply_from_another_address_becomes_a_new_letter():
    letter = arrive(message("first@example.org")).letter

    row = arrive(reply("other@example.net", "first@example.org", sender="Cy <cy@example.net>"))

    assert row.follow_up_to is None
    assert row.letter is not None and row.letter != letter
    assert row.letter.email == "cy@example.net"
    assert follow_ups(letter) == []


def test_references_without_in_reply_to_is_enough():
    letter = arrive(message("first@example.org")).letter

    row = arrive(
        reply(
            "second@example.org",
            "first@example.org",
            in_reply_to=False,
            references="<unrelated@example.com> <first@example.org>",
        )
    )

    assert row.follow_up_to == letter
    assert Letter.objects.count() == 1


def test_a_reply_to_a_follow_up_joins_the_same_letter():
    letter = arrive(message("first@example.org")).letter
    arrive(reply("second@example.org", "first@example.org"))

    row = arrive(reply("third@example.org", "second@example.org", body="And the 9.40."))

    assert row.follow_up_to == letter
    assert len(follow_ups(letter)) == 2


def test_processing_the_same_follow_up_twice_records_one_event():
    letter = arrive(message("first@example.org")).letter
    raw = reply("second@example.org", "first@example.org")

    row = arrive(raw)
    again = arrive(raw)  # the same bytes delivered again
    assert process_inbound_email(row.pk) is None  # a retried task finds it done
    # The same message by another route (one more Received header): another row, no new event.
    copy = arrive(b"Received: from relay.example.org by mx\r\n" + raw)

    assert again.pk == row.pk
    assert copy.pk != row.pk and copy.follow_up_to == letter
    assert len(follow_ups(letter)) == 1


def test_a_follow_up_asking_to_withdraw_is_shown_to_the_editor_but_withdraws_nothing():
    letter = arrive(message("first@example.org")).letter

    arrive(
        reply(
            "second@example.org",
            "first@example.org",
            body="Please withdraw my letter, I have changed my mind.\n",
        )
    )

    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED
    [event] = follow_ups(letter)
    assert "may be asking to withdraw" in event.note
    assert "Please withdraw my letter" in event.note


def test_a_long_follow_up_is_cut_in_the_note():
    letter = arrive(message("first@example.org")).letter

    arrive(reply("second@example.org", "first@example.org", body="word " * 2000))

    [event] = follow_ups(letter)
    assert len(event.note) < 2200
    assert event.note.endswith("[…]")


def test_a_made_up_desk_message_id_names_no_letter():
    letter = arrive(message("first@example.org")).letter
    forged = f"letter-{letter.pk}.ack.0123456789ab.{'0' * 20}@reaction.life"

    row = arrive(reply("second@example.org", forged))

    assert notifications.letter_id_from_message_id(forged) is None
    assert row.follow_up_to is None
    assert Letter.objects.count() == 2


def test_a_reply_the_mta_doubted_comes_in_as_a_new_suspect_letter():
    letter = arrive(message("first@example.org")).letter
    raw = reply("second@example.org", "first@example.org")
    raw = b"Authentication-Results: mx; dmarc=fail\r\n" + raw

    row = arrive(raw)

    assert row.follow_up_to is None
    assert row.letter.suspect
    assert follow_ups(letter) == []


def test_an_out_of_office_reply_to_the_acknowledgement_is_not_a_follow_up():
    letter = arrive(message("first@example.org")).letter
    raw = reply("ooo@example.org", "first@example.org", subject="Out of office")
    raw = b"Auto-Submitted: auto-replied\r\n" + raw

    row = arrive(raw)

    assert row.status == InboundStatus.REJECTED
    assert follow_ups(letter) == []


def test_the_letter_page_shows_the_follow_up_in_the_event_log(client, settings):
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    letter = arrive(message("first@example.org")).letter
    arrive(reply("second@example.org", "first@example.org", body="<b>One more</b> thing."))
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))

    page = client.get(reverse("admin:letters_letter_change", args=[letter.pk])).content.decode()

    assert FOLLOW_UP in page
    assert "&lt;b&gt;One more&lt;/b&gt; thing." in page  # shown as text, never as HTML


def test_mailbox_import_threads_follow_ups_like_live_mail():
    archive = [
        message("first@example.org"),
        reply("second@example.org", "first@example.org"),
        reply("third@example.net", "first@example.org", sender="Cy <cy@example.net>"),
    ]

    summary = import_messages(archive)

    assert summary.stored == 3 and summary.accepted == 3
    first = InboundEmail.objects.get(message_id="first@example.org")
    assert InboundEmail.objects.get(message_id="second@example.org").follow_up_to == first.letter
    assert InboundEmail.objects.get(message_id="third@example.net").letter.email == (
        "cy@example.net"
    )
    assert Letter.objects.count() == 2
    assert len(follow_ups(first.letter)) == 1


def test_mailbox_import_threads_a_reply_to_a_letter_received_earlier():
    letter = arrive(message("first@example.org")).letter

    import_messages([reply("second@example.org", "first@example.org")])
    import_messages([reply("second@example.org", "first@example.org")])  # run again

    assert Letter.objects.count() == 1
    assert len(follow_ups(letter)) == 1


def test_the_inbound_email_list_links_a_follow_up_to_its_letter(client):
    letter = arrive(message("first@example.org")).letter
    arrive(reply("second@example.org", "first@example.org"))
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))

    page = client.get(reverse("admin:letters_inboundemail_changelist")).content.decode()

    assert f"Follow-up to #{letter.pk}" in page
