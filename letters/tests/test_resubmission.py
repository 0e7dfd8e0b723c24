"""A form sent again (Back, then Send; or a double click) joins the first letter
(moderation.arrivals.submit and its resubmission_key)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from letters import jobs, moderation
from letters.models import Letter, LetterEvent, Status

from .factories import form_data, run_submitted_work
from .test_moderation_desk import needs_postgres, race

pytestmark = pytest.mark.django_db


def send(client, article, **overrides):
    """Post the form as a page freshly rendered after Back: a new client_token each time."""
    return client.post(article.get_absolute_url(), form_data(**overrides))


def confirmations(enqueued):
    return [args for name, args in run_submitted_work(enqueued) if name == jobs.SEND_CONFIRMATION]


def test_the_same_text_sent_again_after_back_joins_the_first_letter(
    client, article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(client, article)
        second = send(client, article, body=form_data()["body"].replace("\r\n", "\n") + "  ")
    letter = Letter.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # the same thank-you page
    assert confirmations(enqueued) == [(letter.pk,)]
    assert list(letter.events.values_list("action", flat=True)) == ["submitted", "sent again"]


def test_the_address_joins_whatever_its_case_and_the_writer_is_thanked_again(client, article):
    send(client, article)
    response = client.post(
        article.get_absolute_url(), form_data(email="JANE@Example.com"), follow=True
    )
    assert Letter.objects.count() == 1
    assert "Thank you, Jane Smith" in response.text


def test_a_different_text_from_the_same_writer_makes_a_new_letter(client, article):
    send(client, article)
    send(client, article, body="Sir, on reflection I have something else to say entirely.")
    assert Letter.objects.count() == 2


def test_the_same_text_from_another_address_makes_a_new_letter(client, article):
    send(client, article)
    send(client, article, email="john@example.com")
    assert Letter.objects.count() == 2


@pytest.mark.parametrize(("hours_ago", "letters"), [(23, 1), (25, 2)])
def test_the_same_text_joins_within_a_day_and_is_a_new_letter_after_it(
    client, article, hours_ago, letters
):
    send(client, article)
    Letter.objects.update(created_at=timezone.now() - timedelta(hours=hours_ago))
    send(client, article)
    assert Letter.objects.count() == letters


def test_a_day_later_the_old_letter_gives_up_its_key_and_a_third_post_joins_the_second(
    client, article
):
    send(client, article)
    first = Letter.objects.get()
    Letter.objects.update(created_at=timezone.now() - timedelta(days=2))
    send(client, article)
    send(client, article)
    second = Letter.objects.exclude(pk=first.pk).get()
    first.refresh_from_db()
    assert first.resubmission_key is None
    assert second.resubmission_key
    assert Letter.objects.count() == 2


def test_the_same_text_after_the_writer_withdrew_it_makes_a_new_letter(client, article):
    send(client, article)
    moderation.withdraw_by_writer(Letter.objects.get().pk)
    send(client, article)
    assert list(Letter.objects.order_by("id").values_list("status", flat=True)) == [
        Status.WITHDRAWN,
        Status.UNCONFIRMED,
    ]


def test_a_trapped_post_that_repeats_a_letter_does_not_mark_it_spam(client, article):
    send(client, article)
    send(client, article, website="http://spam.example")
    assert Letter.objects.get().status == Status.UNCONFIRMED


def test_submit_twice_with_new_tokens_returns_the_first_letter(article):
    fields = {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "town": "Hexham",
        "body": "Sir, once is enough.",
        "exclusive": True,
        "consent": True,
    }
    first = moderation.submit(article=article, client_token=None, **fields)
    again = moderation.submit(article=article, client_token=None, **fields)
    assert again.pk == first.pk
    assert again.joined_earlier is True
    assert not getattr(first, "joined_earlier", False)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_the_same_text_at_once_make_one_letter(article):
    fields = {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "town": "Hexham",
        "body": "Sir, a double click.",
        "exclusive": True,
        "consent": True,
    }
    errors_a, errors_b, second_waited = race(
        lambda: moderation.submit(article=article, **fields),
        lambda: moderation.submit(article=article, **fields),
    )
    assert errors_a == errors_b == []
    assert second_waited, "the second insert waits on the first's unique key"
    assert Letter.objects.count() == 1
    assert LetterEvent.objects.filter(action="submitted").count() == 1


def test_sent_again_after_confirming_the_writer_is_told_it_is_already_confirmed(
    client, article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(client, article)
        moderation.confirm(Letter.objects.get().pk)
        response = client.post(article.get_absolute_url(), form_data(), follow=True)
    assert "You have already confirmed this letter" in response.text
    assert len(confirmations(enqueued)) == 1
    assert Letter.objects.get().status == Status.RECEIVED
