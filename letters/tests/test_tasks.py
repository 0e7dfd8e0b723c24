from datetime import timedelta
from unittest import mock

import pytest
from celery import current_app
from django.utils import timezone

from letters import jobs, tasks
from letters.checks import analysis
from letters.models import Letter, LetterChecks, Status

from .factories import form_data, make_letter

pytestmark = pytest.mark.django_db


def reset_broker_pools(app):
    # Drop references only: kombu keeps pools per URL, and a closed one would be handed back.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def unreachable_broker():
    """Point Celery at a port where nothing listens, then restore it."""
    app = current_app
    keys = ("broker_url", "broker_write_url", "broker_read_url")
    saved = {key: app.conf[key] for key in keys}
    reset_broker_pools(app)
    app.conf.update(dict.fromkeys(keys, "redis://127.0.0.1:1/0"))
    yield
    reset_broker_pools(app)
    app.conf.update(saved)


def test_a_letter_is_stored_and_the_reader_thanked_when_the_broker_is_down(
    client, article, unreachable_broker, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(article.get_absolute_url(), form_data(), follow=True)
    assert response.status_code == 200
    assert "Thank you, Jane Smith" in response.text
    letter = Letter.objects.get()
    assert letter.status == Status.UNCONFIRMED
    assert letter.confirmation_sent_at is None
    assert "Broker unreachable" in caplog.text


def test_the_sweeper_enqueues_confirmations_that_never_reached_the_broker(article):
    lost = make_letter(
        article=article,
        status=Status.UNCONFIRMED,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    make_letter(article=article, status=Status.UNCONFIRMED)  # just written: still on its way
    make_letter(
        article=article,
        status=Status.UNCONFIRMED,
        created_at=timezone.now() - timedelta(minutes=5),
        confirmation_sent_at=timezone.now(),
    )
    make_letter(article=article, status=Status.RECEIVED, channel="email")
    with mock.patch.object(tasks.send_confirmation_email, "apply_async") as apply_async:
        tasks.enqueue_lost_work()
    apply_async.assert_called_once_with(args=(lost.pk,))


def test_the_confirmation_task_sends_through_the_plain_function(article, mailoutbox):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    tasks.send_confirmation_email.apply(args=(letter.pk,))
    tasks.send_confirmation_email.apply(args=(letter.pk,))
    assert len(mailoutbox) == 1


def test_the_sweeper_enqueues_the_analysis_of_letters_whose_message_was_lost(
    article, enqueued, settings
):
    settings.LETTERS_SPAM_CHECK = "publisher.spam.check"
    minutes_ago = timezone.now() - timedelta(minutes=15)
    lost_web = make_letter(article=article, status=Status.UNCONFIRMED, created_at=minutes_ago)
    lost_email = make_letter(article=article, channel="email", created_at=minutes_ago)
    analysed = make_letter(article=article, created_at=minutes_ago)
    LetterChecks.objects.create(letter=analysed)
    make_letter(article=article, created_at=timezone.now() - timedelta(minutes=5))  # queued
    make_letter(article=article, created_at=timezone.now() - timedelta(days=2))  # given up
    tasks.enqueue_lost_work()
    assert (jobs.ANALYSE_LETTERS, ([lost_web.pk, lost_email.pk],)) in enqueued
    spam_checks = [args for name, args in enqueued if name == jobs.CHECK_WITH_SPAM_SERVICE]
    assert spam_checks == [(lost_web.pk,)]


def test_the_sweeper_finds_no_analysis_lost_when_every_letter_has_its_checks(article, enqueued):
    letter = make_letter(article=article, created_at=timezone.now() - timedelta(minutes=15))
    LetterChecks.objects.create(letter=letter)
    tasks.enqueue_lost_work()
    assert [name for name, _ in enqueued if name == jobs.ANALYSE_LETTERS] == []


def test_a_letter_whose_analysis_fails_does_not_stop_the_others(article, monkeypatch, caplog):
    first, poison, last = (make_letter(article=article) for _ in range(3))
    real = analysis.analyse_letter

    def analyse(letter_id):
        if letter_id == poison.pk:
            raise ValueError("a letter the analysis cannot read")
        return real(letter_id)

    monkeypatch.setattr(analysis, "analyse_letter", analyse)
    tasks.analyse_letters.apply(args=([first.pk, poison.pk, last.pk],))
    assert set(LetterChecks.objects.values_list("letter_id", flat=True)) == {first.pk, last.pk}
    assert f"Analysis of letter {poison.pk} failed" in caplog.text


def test_a_database_error_in_a_batch_of_analyses_retries_the_whole_batch(article, monkeypatch):
    letter = make_letter(article=article)
    monkeypatch.setattr(
        analysis, "analyse_letter", mock.Mock(side_effect=ConnectionResetError("reset"))
    )
    with mock.patch.object(tasks.analyse_letters, "retry", side_effect=RuntimeError) as retry:
        with pytest.raises(RuntimeError):
            tasks.analyse_letters.apply(args=([letter.pk],), throw=True)
    retry.assert_called_once()
