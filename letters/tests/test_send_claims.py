"""Claims on sends expire: a mail whose worker died mid-send is sent again, and only then.

Each mail to a writer (confirmation, publication notice, edited version, reply,
acknowledgement) is claimed before the SMTP call and recorded as sent after it. These tests
leave claims as a dead worker leaves them (claimed, unsent) and check what the next worker and
the sweeper do; letters/tests/test_worker_kills.py kills a real worker mid-send.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from letters import jobs, notifications, tasks
from letters.intake.acknowledge import send_acknowledgement
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import (
    EmailAcknowledgement,
    Letter,
    Notification,
    NotificationKind,
    Reply,
    ReplyKind,
    Status,
    WayIn,
)
from letters.notifications import letter_id_from_message_id

from .factories import make_letter, make_message
from .test_settings import start_with

pytestmark = pytest.mark.django_db


def dead_claim(settings):
    """When a worker that has since died claimed a send: longer ago than a claim lives."""
    return timezone.now() - timedelta(seconds=settings.LETTERS_SEND_CLAIM_SECONDS + 1)


def live_claim(settings):
    """When a worker still within its time claimed a send."""
    return timezone.now() - timedelta(seconds=settings.LETTERS_SEND_CLAIM_SECONDS - 30)


@dataclass
class Send:
    """One mail to a writer, set up with its claim at `claimed_at` (None: unclaimed)."""

    send: Callable[[], bool]
    sent_at: Callable[[], object]
    claimed_at: Callable[[], object]
    job: tuple


def confirmation(claimed_at):
    letter = make_letter(
        status=Status.UNCONFIRMED,
        created_at=timezone.now() - timedelta(hours=1),
        confirmation_claimed_at=claimed_at,
    )
    row = Letter.objects.filter(pk=letter.pk)
    return Send(
        send=lambda: notifications.send_confirmation(letter.pk),
        sent_at=lambda: row.get().confirmation_sent_at,
        claimed_at=lambda: row.get().confirmation_claimed_at,
        job=(jobs.SEND_CONFIRMATION, (letter.pk,)),
    )


def publication_notice(claimed_at):
    letter = make_letter(status=Status.PUBLISHED, published_at=timezone.now())
    notice = Notification.objects.create(
        letter=letter, kind=NotificationKind.PUBLISHED, claimed_at=claimed_at
    )
    row = Notification.objects.filter(pk=notice.pk)
    return Send(
        send=lambda: notifications.notify_publication(letter.pk),
        sent_at=lambda: row.get().sent_at,
        claimed_at=lambda: row.get().claimed_at,
        job=(jobs.SEND_PUBLICATION_NOTICE, (letter.pk,)),
    )


def edited_version(claimed_at):
    letter = make_letter(status=Status.APPROVED, edited_body="Sir, shorter.")
    notice = Notification.objects.create(
        letter=letter, kind=NotificationKind.EDITED_VERSION, claimed_at=claimed_at
    )
    row = Notification.objects.filter(pk=notice.pk)
    return Send(
        send=lambda: notifications.notify_edited_version(letter.pk),
        sent_at=lambda: row.get().sent_at,
        claimed_at=lambda: row.get().claimed_at,
        job=(jobs.SEND_EDITED_VERSION, (letter.pk,)),
    )


def reply(claimed_at):
    letter = make_letter(status=Status.REJECTED)
    made = Reply.objects.create(
        letter=letter,
        kind=ReplyKind.REJECTION,
        to=letter.email,
        subject="Your letter",
        body="Thank you, but no.",
        claimed_at=claimed_at,
    )
    row = Reply.objects.filter(pk=made.pk)
    return Send(
        send=lambda: notifications.send_reply(made.pk),
        sent_at=lambda: row.get().sent_at,
        claimed_at=lambda: row.get().claimed_at,
        job=(jobs.SEND_REPLY, (made.pk,)),
    )


def acknowledgement(claimed_at, message_id="<claims@example.org>"):
    stored, _ = receive_email(make_message(message_id=message_id), way_in=WayIn.PIPE)
    process_inbound_email(stored.pk, acknowledge=False)
    if claimed_at is not None:
        EmailAcknowledgement.objects.create(
            address="ann@example.org",
            sent_on=claimed_at.date(),
            claimed_at=claimed_at,
            inbound=stored,
        )
    rows = EmailAcknowledgement.objects.filter(inbound=stored)
    return Send(
        send=lambda: send_acknowledgement(stored.pk),
        # A failed send deletes the row (the day's acknowledgement is free again): None.
        sent_at=lambda: rows.values_list("sent_at", flat=True).first(),
        claimed_at=lambda: rows.values_list("claimed_at", flat=True).first(),
        job=(jobs.SEND_EMAIL_ACKNOWLEDGEMENT, (stored.pk,)),
    )


SENDS = [confirmation, publication_notice, edited_version, reply, acknowledgement]


@pytest.fixture(autouse=True)
def ask_before_publishing(settings):
    settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING = True
    settings.LETTERS_EMAIL_ACKNOWLEDGE = True


@pytest.mark.parametrize("make", SENDS)
def test_a_send_is_recorded_as_sent_only_after_the_smtp_server_took_it(make, mailoutbox):
    mail = make(None)
    seen = {}

    def smtp_call(message):
        seen["claimed"], seen["sent"] = mail.claimed_at(), mail.sent_at()
        return 1

    with mock.patch("django.core.mail.EmailMessage.send", autospec=True, side_effect=smtp_call):
        assert mail.send() is True
    assert seen["claimed"] is not None
    assert seen["sent"] is None
    assert mail.sent_at() is not None


@pytest.mark.parametrize("make", SENDS)
def test_a_claim_left_by_a_dead_worker_is_taken_again_and_sent_once(make, mailoutbox, settings):
    mail = make(dead_claim(settings))
    assert mail.send() is True
    assert mail.send() is False
    assert len(mailoutbox) == 1
    assert mail.sent_at() is not None


@pytest.mark.parametrize("make", SENDS)
def test_a_claim_still_within_its_time_keeps_a_second_worker_from_sending(
    make, mailoutbox, settings
):
    mail = make(live_claim(settings))
    assert mail.send() is False
    assert mailoutbox == []
    assert mail.sent_at() is None


@pytest.mark.parametrize("make", SENDS)
def test_a_failed_send_releases_the_claim_so_the_tasks_retry_sends(make, mailoutbox):
    mail = make(None)
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("smtp down")):
        with pytest.raises(OSError):
            mail.send()
    assert mail.sent_at() is None
    assert mail.send() is True
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("make", SENDS)
def test_every_attempt_at_one_mail_carries_the_same_message_id(make, mailoutbox, settings):
    mail = make(None)
    ids = []

    def smtp_call(message):
        ids.append(message.extra_headers["Message-ID"])
        raise OSError("the server hung up")

    with mock.patch("django.core.mail.EmailMessage.send", autospec=True, side_effect=smtp_call):
        with pytest.raises(OSError):
            mail.send()
    assert mail.send() is True
    ids.append(mailoutbox[0].extra_headers["Message-ID"])
    assert ids[0] == ids[1]
    assert letter_id_from_message_id(ids[0]) is not None


# The mail to writers among the jobs the sweeper enqueued (it also enqueues the analysis of
# letters left without it, as these tests' letters are).
MAIL_JOBS = {
    jobs.SEND_CONFIRMATION,
    jobs.SEND_PUBLICATION_NOTICE,
    jobs.SEND_EDITED_VERSION,
    jobs.SEND_REPLY,
    jobs.SEND_EMAIL_ACKNOWLEDGEMENT,
}


def sends(enqueued):
    return [job for job in enqueued if job[0] in MAIL_JOBS]


def test_the_sweeper_enqueues_each_send_whose_claim_expired_unsent(settings, enqueued):
    dead = [make(dead_claim(settings)) for make in SENDS[:-1]]
    dead.append(acknowledgement(dead_claim(settings), message_id="<dead@example.org>"))
    live = publication_notice(live_claim(settings))
    done = reply(dead_claim(settings))
    Reply.objects.filter(pk=done.job[1][0]).update(sent_at=timezone.now())
    tasks.enqueue_lost_work()
    assert sorted(sends(enqueued)) == sorted(mail.job for mail in dead)
    assert live.job not in enqueued


def test_the_sweeper_enqueues_replies_and_publication_notices_that_never_reached_the_broker(
    enqueued,
):
    long_ago = timezone.now() - timedelta(minutes=5)
    lost_reply = reply(None)
    Reply.objects.update(created_at=long_ago)
    just_written = reply(None)
    unannounced = make_letter(status=Status.PUBLISHED, published_at=long_ago)
    make_letter(status=Status.PUBLISHED, published_at=timezone.now())  # its notice on its way
    make_letter(status=Status.PUBLISHED, published_at=long_ago - timedelta(days=30))  # an import
    announced = publication_notice(None)
    Letter.objects.filter(pk=announced.job[1][0]).update(published_at=long_ago)
    Notification.objects.update(sent_at=timezone.now())

    tasks.enqueue_lost_work()

    assert sorted(sends(enqueued)) == sorted(
        [lost_reply.job, (jobs.SEND_PUBLICATION_NOTICE, (unannounced.pk,))]
    )
    assert just_written.job not in enqueued


def test_a_dead_workers_acknowledgement_still_holds_the_writers_one_a_day(mailoutbox, settings):
    first = acknowledgement(dead_claim(settings), message_id="<first@example.org>")
    second = acknowledgement(None, message_id="<second@example.org>")
    assert second.send() is False  # today's acknowledgement belongs to the first letter
    assert first.send() is True
    assert len(mailoutbox) == 1
    assert EmailAcknowledgement.objects.count() == 1


def test_a_notice_no_longer_due_gives_up_its_dead_claim(settings, enqueued, mailoutbox):
    mail = publication_notice(dead_claim(settings))
    Letter.objects.update(status=Status.APPROVED)  # taken down before the retry ran
    assert mail.send() is False
    assert mail.claimed_at() is None
    tasks.enqueue_lost_work()
    assert sends(enqueued) == []
    assert mailoutbox == []


def test_an_acknowledgement_no_longer_due_gives_up_its_dead_claim(settings, enqueued):
    mail = acknowledgement(dead_claim(settings))
    settings.LETTERS_EMAIL_ACKNOWLEDGE = False
    assert mail.send() is False
    assert not EmailAcknowledgement.objects.exists()
    tasks.enqueue_lost_work()
    assert sends(enqueued) == []


def test_a_confirmation_for_a_letter_no_longer_awaiting_it_is_not_enqueued(settings, enqueued):
    confirmation(dead_claim(settings))
    Letter.objects.update(status=Status.SPAM)
    tasks.enqueue_lost_work()
    assert sends(enqueued) == []


@pytest.mark.usefixtures("latest_migrations_afterwards")
def test_the_migration_keeps_every_sent_mail_sent():
    executor = MigrationExecutor(connection)
    before, after = (
        [("letters", "0006_writer_erasure")],
        [("letters", "0007_send_claims")],
    )
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    sent = timezone.now() - timedelta(days=1)
    article = old.get_model("letters", "Article").objects.create(
        headline="On trains", slug="on-trains", published_at=sent
    )
    letter = old.get_model("letters", "Letter").objects.create(
        article=article, body="Sir", name="Ann", email="ann@example.org", confirmation_sent_at=sent
    )
    unsent = old.get_model("letters", "Letter").objects.create(
        article=article, body="Sir", name="Bob", email="bob@example.org"
    )
    old.get_model("letters", "Notification").objects.create(
        letter=letter, kind="published", sent_at=sent
    )
    old.get_model("letters", "Reply").objects.create(
        letter=letter, kind="rejection", to="ann@example.org", subject="s", body="b", sent_at=sent
    )
    old.get_model("letters", "EmailAcknowledgement").objects.create(
        address="ann@example.org", sent_on=sent.date(), sent_at=sent
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    migrated = new.get_model("letters", "Letter").objects.get(pk=letter.pk)
    assert migrated.confirmation_sent_at == sent
    assert migrated.confirmation_claimed_at == sent
    untouched = new.get_model("letters", "Letter").objects.get(pk=unsent.pk)
    assert untouched.confirmation_claimed_at is None
    for name in ("Notification", "Reply", "EmailAcknowledgement"):
        row = new.get_model("letters", name).objects.get()
        assert (row.claimed_at, row.sent_at) == (sent, sent), name


@pytest.mark.parametrize("name", ["LETTERS_SEND_CLAIM_SECONDS", "LETTERS_INBOUND_CLAIM_SECONDS"])
def test_a_claim_outlives_the_task_time_limit_unless_set(name):
    probe = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    assert start_with({"CELERY_TASK_TIME_LIMIT": "100"}, "-c", probe).stdout.split() == ["160"]
    assert start_with({name: "5"}, "-c", probe).stdout.split() == ["5"]
    refused = start_with({name: "0"}, "-c", probe)
    assert f"{name} must be at least 1" in refused.stderr
