import re
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from letters import notifications, tasks
from letters.models import Letter, LetterEvent, Status

from .factories import form_data, make_letter

pytestmark = pytest.mark.django_db


def links_in(message):
    return re.findall(r"https?://\S+", message.body)


def post_letter(client, article, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(article.get_absolute_url(), form_data())
    letter = Letter.objects.get()
    notifications.send_confirmation(letter.pk)  # what the task does
    return letter, callbacks


def test_submitting_enqueues_the_confirmation_task_on_commit(
    client, article, django_capture_on_commit_callbacks
):
    """One message after commit (letter_submitted); the worker running it enqueues the
    confirmation."""
    with (
        mock.patch("letters.tasks.letter_submitted.apply_async") as submitted,
        mock.patch("letters.tasks.send_confirmation_email.apply_async") as confirmation,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(article.get_absolute_url(), form_data())
    letter = Letter.objects.get()
    submitted.assert_called_once_with(args=(letter.pk,))
    confirmation.assert_not_called()
    with mock.patch("letters.tasks.send_confirmation_email.apply_async") as confirmation:
        tasks.letter_submitted(letter.pk)
    confirmation.assert_called_once_with(args=(letter.pk,))


def test_confirmation_email_goes_to_the_writer_with_the_confirm_link_then_the_status_link(
    client, article, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://letters.reaction.life"
    letter, _ = post_letter(client, article, django_capture_on_commit_callbacks)
    [message] = mailoutbox
    assert message.to == ["jane@example.com"]
    assert message.subject == "Please confirm your letter to Reaction"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    confirm_link, status_link = [u for u in links_in(message) if u.startswith(settings.SITE_URL)]
    assert confirm_link == notifications.confirmation_url(letter)
    status_token = status_link.removesuffix("/").rpartition("/")[2]
    assert notifications.letter_id_from_status_token(status_token) == letter.pk
    assert letter.body.replace("\r\n", "\n") in message.body.replace("\r\n", "\n")


def test_the_confirmation_is_sent_once_however_often_the_task_runs(article, mailoutbox):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    assert notifications.send_confirmation(letter.pk) is True
    assert notifications.send_confirmation(letter.pk) is False
    assert len(mailoutbox) == 1


def test_a_failed_send_is_released_for_the_retry(article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("no route")):
        with pytest.raises(OSError):
            notifications.send_confirmation(letter.pk)
    letter.refresh_from_db()
    assert letter.confirmation_sent_at is None


def test_opening_the_link_shows_the_letter_and_a_button_and_changes_nothing(client, article):
    letter = make_letter(
        article=article, status=Status.UNCONFIRMED, body="Sir, the bridge is falling down."
    )
    response = client.get(notifications.confirmation_url(letter))
    assert response.status_code == 200
    assert "Sir, the bridge is falling down." in response.text
    assert re.search(r'<form method="post">.*csrfmiddlewaretoken', response.text, re.S)
    assert "Confirm my letter</button>" in response.text
    letter.refresh_from_db()
    assert letter.status == Status.UNCONFIRMED
    assert letter.confirmed_at is None
    assert not letter.events.exists()


def test_a_link_scanner_fetching_the_link_twice_confirms_nothing(client, article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    url = notifications.confirmation_url(letter)
    client.get(url)
    client.head(url)
    letter.refresh_from_db()
    assert letter.status == Status.UNCONFIRMED


def test_the_confirm_page_shows_only_the_first_lines_of_a_long_letter(client, article):
    words = [f"word{i}" for i in range(200)]
    letter = make_letter(article=article, status=Status.UNCONFIRMED, body=" ".join(words))
    response = client.get(notifications.confirmation_url(letter))
    assert "word59" in response.text
    assert "word60" not in response.text


def test_pressing_the_button_moves_the_letter_to_received(client, article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    response = client.post(notifications.confirmation_url(letter))
    letter.refresh_from_db()
    assert response.status_code == 200
    assert "your letter is confirmed" in response.text
    assert letter.status == Status.RECEIVED
    assert letter.confirmed_at is not None
    event = letter.events.get()
    assert (event.action, event.from_status, event.to_status) == (
        "confirmed",
        "unconfirmed",
        "received",
    )


def test_the_button_needs_the_csrf_token(article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    client = Client(enforce_csrf_checks=True)
    url = notifications.confirmation_url(letter)
    assert client.post(url).status_code == 403
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 200
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED


def test_a_second_press_is_harmless(client, article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    client.post(notifications.confirmation_url(letter))
    response = client.post(notifications.confirmation_url(letter))
    assert response.status_code == 200
    assert "already confirmed" in response.text
    assert LetterEvent.objects.filter(letter=letter).count() == 1


def test_opening_the_link_after_confirming_says_it_is_already_confirmed(client, article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    client.post(notifications.confirmation_url(letter))
    response = client.get(notifications.confirmation_url(letter))
    assert "already confirmed" in response.text
    assert "Confirm my letter</button>" not in response.text


def test_a_press_after_the_editor_decided_changes_nothing(client, article):
    letter = make_letter(article=article, status=Status.REJECTED)
    client.post(notifications.confirmation_url(letter))
    letter.refresh_from_db()
    assert letter.status == Status.REJECTED
    assert not letter.events.exists()


def test_the_confirmation_email_asks_the_writer_to_press_the_button(article, mailoutbox):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    notifications.send_confirmation(letter.pk)
    [message] = mailoutbox
    assert 'press "Confirm my letter"' in message.body
    assert "following this link" not in message.body


def test_an_expired_link_gets_a_clear_page(client, article, settings):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    url = notifications.confirmation_url(letter)
    with mock.patch("django.core.signing.time.time", return_value=10**10):
        response = client.get(url)
        pressed = client.post(url)
    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert pressed.status_code == 410
    letter.refresh_from_db()
    assert letter.status == Status.UNCONFIRMED


@pytest.mark.parametrize("tamper", ["swap-id", "change-signature", "garbage"])
def test_a_tampered_link_gets_a_clear_page(client, article, tamper):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    other = make_letter(article=article, status=Status.UNCONFIRMED)
    token = notifications.confirmation_token(letter)
    if tamper == "swap-id":
        token = str(other.pk) + token[len(str(letter.pk)) :]
    elif tamper == "change-signature":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        token = "not-a-token"
    response = client.get(f"/letters/confirm/{token}/")
    assert response.status_code == 404
    assert "This link does not work" in response.text
    assert client.post(f"/letters/confirm/{token}/").status_code == 404
    assert not Letter.objects.filter(status=Status.RECEIVED).exists()


def test_tokens_from_other_parts_of_the_site_do_not_confirm(client, article):
    letter = make_letter(article=article, status=Status.UNCONFIRMED)
    token = signing.TimestampSigner(salt="something.else").sign(str(letter.pk))
    assert client.get(f"/letters/confirm/{token}/").status_code == 404
    assert client.post(f"/letters/confirm/{token}/").status_code == 404


def test_a_bot_caught_by_the_trap_is_sent_no_confirmation_email(
    client, article, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        client.post(article.get_absolute_url(), form_data(website="http://spam.example"))
    letter = Letter.objects.get()
    assert letter.status == Status.SPAM
    assert notifications.send_confirmation(letter.pk) is False  # what the task does
    assert mailoutbox == []


def test_a_letter_withdrawn_before_the_task_ran_is_sent_no_confirmation_email(article, mailoutbox):
    letter = make_letter(article=article, status=Status.WITHDRAWN)
    assert notifications.send_confirmation(letter.pk) is False
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("ask_first", "said", "not_said"),
    [
        (False, "If we publish yours, we will email you a link", "in touch first"),
        (True, "If we choose yours for publication we will be in touch first", "a link to it"),
    ],
)
def test_the_confirmation_and_thank_you_promise_only_what_the_settings_do(
    client,
    article,
    mailoutbox,
    settings,
    django_capture_on_commit_callbacks,
    ask_first,
    said,
    not_said,
):
    settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING = ask_first
    post_letter(client, article, django_capture_on_commit_callbacks)
    body = " ".join(mailoutbox[0].body.split())
    assert said in body
    assert not_said not in body
    thanks = client.post(article.get_absolute_url(), form_data(), follow=True).text
    assert ("we will be in touch before it runs" in thanks) is ask_first
    letter = Letter.objects.get()
    confirmed = client.post(notifications.confirmation_url(letter).removeprefix(settings.SITE_URL))
    page = " ".join(confirmed.text.split())
    assert said in page
    assert not_said not in page
    assert "/letters/status/" in page
