from datetime import timedelta
from unittest import mock

import pytest
from celery import current_app
from django.utils import timezone

from letters import tasks
from letters.models import Letter, Status

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
