"""Mail to writers about publication: enqueued on commit, sent once, RFC 3834 marked."""

import datetime

import pytest
from django.utils import timezone

from letters import moderation, notifications, tasks
from letters.models import (
    Letter,
    Notification,
    NotificationKind,
    ReplyKind,
    ReplyTemplate,
    Status,
)

from .factories import make_approved_letter, make_article, make_edition, make_letter

pytestmark = pytest.mark.django_db


def test_publishing_enqueues_the_publication_notice_only_after_commit(
    enqueued, django_capture_on_commit_callbacks
):
    letter = make_approved_letter()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        moderation.publish(letter.pk)
        assert enqueued == []

    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [("letters.tasks.send_publication_notice", (letter.pk,))]


def test_publishing_an_edition_enqueues_one_notice_per_newly_published_letter(
    enqueued, django_capture_on_commit_callbacks
):
    fresh = make_approved_letter()
    already = make_letter(status=Status.PUBLISHED)
    edition = make_edition([fresh, already])

    with django_capture_on_commit_callbacks(execute=True):
        moderation.publish_edition(edition.pk)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.publish_edition(edition.pk)

    assert enqueued == [("letters.tasks.send_publication_notice", (fresh.pk,))]


def test_the_publication_notice_links_to_the_letter_and_is_marked_auto_generated(
    mailoutbox, settings
):
    settings.SITE_URL = "https://letters.example"
    article = make_article(slug="on-missiles")
    letter = make_letter(article=article, status=Status.PUBLISHED, edited_body="The cut version.")

    assert notifications.notify_publication(letter.pk)

    (mail,) = mailoutbox
    assert mail.to == [letter.email]
    assert f"https://letters.example/articles/on-missiles/#letter-{letter.pk}" in mail.body
    assert "The cut version." in mail.body
    assert mail.extra_headers["Auto-Submitted"] == "auto-generated"


def test_a_letter_with_no_article_is_linked_to_its_edition(mailoutbox, settings, enqueued):
    settings.SITE_URL = "https://letters.example"
    letter = make_approved_letter(article=None)
    edition = make_edition([letter], date=datetime.date(2026, 6, 1))
    moderation.publish_edition(edition.pk)

    notifications.notify_publication(letter.pk)

    assert "https://letters.example/letters/2026-06-01/" in mailoutbox[0].body


def test_the_publication_notice_is_sent_once_however_often_the_task_runs(mailoutbox):
    letter = make_letter(status=Status.PUBLISHED)

    results = [notifications.notify_publication(letter.pk) for _ in range(3)]
    tasks.send_publication_notice.run(letter.pk)

    assert results == [True, False, False]
    assert len(mailoutbox) == 1
    assert Notification.objects.get(letter=letter).kind == NotificationKind.PUBLISHED


def test_a_failed_send_is_released_so_the_retry_sends_it(mailoutbox, monkeypatch):
    letter = make_letter(status=Status.PUBLISHED)
    monkeypatch.setattr(
        "django.core.mail.EmailMessage.send", lambda self: (_ for _ in ()).throw(OSError("down"))
    )
    with pytest.raises(OSError):
        notifications.notify_publication(letter.pk)
    monkeypatch.undo()

    assert notifications.notify_publication(letter.pk)
    assert len(mailoutbox) == 1


def test_a_letter_withdrawn_before_the_task_ran_gets_no_notice(mailoutbox):
    letter = make_letter(status=Status.WITHDRAWN)

    assert not notifications.notify_publication(letter.pk)
    assert mailoutbox == []


def test_writers_are_sent_the_edited_version_when_an_edition_is_scheduled_if_the_desk_asks(
    settings, enqueued, django_capture_on_commit_callbacks, mailoutbox
):
    settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING = True
    edited = make_approved_letter(body="A long letter with many words.", edited_body="A letter.")
    untouched = make_approved_letter()
    edition = make_edition([edited, untouched])
    at = timezone.now() + datetime.timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        moderation.schedule_edition(edition.pk, at=at)

    assert enqueued == [("letters.tasks.send_edited_version", (edited.pk,))]
    assert notifications.notify_edited_version(edited.pk)
    assert not notifications.notify_edited_version(edited.pk)
    (mail,) = mailoutbox
    assert "A letter." in mail.body and "reply" in mail.body
    assert mail.extra_headers["Auto-Submitted"] == "auto-generated"


def test_no_edited_version_is_sent_when_the_desk_does_not_ask(
    settings, enqueued, django_capture_on_commit_callbacks, mailoutbox
):
    settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING = False
    letter = make_approved_letter(edited_body="Cut.")

    with django_capture_on_commit_callbacks(execute=True):
        moderation.schedule(letter.pk, at=timezone.now() + datetime.timedelta(days=1))

    assert enqueued == []
    assert not notifications.notify_edited_version(letter.pk)
    assert mailoutbox == []


def test_the_publication_notice_uses_the_template_editors_keep_in_the_admin(mailoutbox, settings):
    settings.SITE_URL = "https://letters.reaction.life"
    ReplyTemplate.objects.filter(kind=ReplyKind.PUBLICATION).update(active=False)
    ReplyTemplate.objects.create(
        kind=ReplyKind.PUBLICATION,
        name="Publication notice (house)",
        subject="{{ name }}, you are in {{ publication }}",
        body="Read it here: {{ letter_url }}",
    )
    letter = make_letter(status=Status.PUBLISHED)

    notifications.notify_publication(letter.pk)

    [message] = mailoutbox
    assert message.subject == f"{letter.name}, you are in Reaction"
    assert message.body == "Read it here: " + settings.SITE_URL + letter.get_absolute_url()


def test_a_letter_with_no_article_published_on_its_own_is_linked_to_its_day(
    mailoutbox, settings, enqueued, client
):
    settings.SITE_URL = "https://letters.example"
    letter = make_approved_letter(article=None)
    moderation.publish(letter.pk)
    day = timezone.localdate(Letter.objects.get(pk=letter.pk).published_at).isoformat()

    notifications.notify_publication(letter.pk)

    assert f"https://letters.example/letters/{day}/#letter-{letter.pk}" in mailoutbox[0].body
    assert f'id="letter-{letter.pk}"' in client.get(f"/letters/{day}/").content.decode()
