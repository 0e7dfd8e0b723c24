"""Rate limits at every door: the letter form (per address and per writer), the provider
webhooks and the SMTP listener (a real smtplib client against the real listener)."""

import html
import smtplib
import time

import pytest
from django.test import RequestFactory

from letters import limits
from letters.models import InboundEmail, Letter

from .factories import form_data, make_message


def test_twenty_quick_letters_from_one_client_meet_429_after_the_limit_with_the_text_kept(
    client, article, settings
):
    allowed, _ = settings.LETTERS_RATE_LIMIT_FORM_IP
    statuses = []
    for n in range(20):
        text = f"Sir, letter number {n} & more."
        response = client.post(
            article.get_absolute_url(), form_data(body=text, email=f"writer{n}@example.com")
        )
        statuses.append(response.status_code)
    assert statuses == [302] * allowed + [429] * (20 - allowed)
    assert Letter.objects.count() == allowed
    # The last refusal shows the writer's own text back and says when to try again.
    assert html.escape(text) in response.text
    assert "Please send this one again in" in response.text
    assert 0 < int(response["Retry-After"]) <= 600


def test_one_writer_is_limited_by_email_whatever_address_they_post_from(client, article, settings):
    allowed, _ = settings.LETTERS_RATE_LIMIT_FORM_EMAIL
    statuses = [
        client.post(
            article.get_absolute_url(), form_data(), REMOTE_ADDR=f"198.51.100.{n}"
        ).status_code
        for n in range(allowed + 1)
    ]
    assert statuses == [302] * allowed + [429]


def test_a_refused_post_is_not_stored_and_a_later_one_goes_through(client, article, settings):
    settings.LETTERS_RATE_LIMIT_FORM_IP = (1, 1)
    limits_window_start = int(time.time()) + 1
    while time.time() < limits_window_start:  # start at the top of a one-second window
        time.sleep(0.01)
    assert client.post(article.get_absolute_url(), form_data()).status_code == 302
    assert client.post(article.get_absolute_url(), form_data()).status_code == 429
    time.sleep(1.05)
    # Another letter (the same text again would join the first: test_resubmission).
    later = form_data(body="Sir, a second letter on another point.")
    assert client.post(article.get_absolute_url(), later).status_code == 302
    assert Letter.objects.count() == 2


def test_rate_limits_off_for_load_tests_lets_every_post_through(client, article, settings):
    settings.LETTERS_RATE_LIMITS = False
    settings.LETTERS_RATE_LIMIT_FORM_IP = (1, 600)
    for _ in range(3):
        assert client.post(article.get_absolute_url(), form_data()).status_code == 302


def test_x_forwarded_for_is_ignored_unless_the_desk_is_behind_a_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    assert limits.client_ip(request) == "10.0.0.2"
    settings.LETTERS_TRUSTED_PROXY_COUNT = 1
    # The entry the proxy appended, not the one the client wrote.
    assert limits.client_ip(request) == "203.0.113.7"
    settings.LETTERS_TRUSTED_PROXY_COUNT = 3
    assert limits.client_ip(request) == "10.0.0.2"


def test_an_ipv6_client_is_counted_by_its_64():
    assert limits.client_key("2001:db8:1:2:aaaa::1") == limits.client_key("2001:db8:1:2:bbbb::9")
    assert limits.client_key("2001:db8:1:3::1") != limits.client_key("2001:db8:1:2::1")
    assert limits.client_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_a_webhook_flood_from_one_address_gets_429_with_retry_after(client, db, settings):
    settings.LETTERS_RATE_LIMIT_WEBHOOK_IP = (2, 60)
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ["desk:a-long-webhook-secret"]}
    statuses = [client.post("/inbound/postmark/inbound/", {}).status_code for _ in range(3)]
    # Refused as unauthenticated (400) until the limit, then told to come back later.
    assert statuses == [400, 400, 429]
    response = client.post("/inbound/postmark/inbound/", {})
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_an_smtp_client_over_its_limit_gets_a_temporary_error_and_its_retry_is_stored(
    listener, settings
):
    settings.LETTERS_RATE_LIMIT_SMTP_CLIENT = (2, 2)
    window_start = (int(time.time()) // 2 + 1) * 2
    while time.time() < window_start:
        time.sleep(0.01)
    messages = [
        make_message(message_id=f"<limit-{n}@example.org>", subject=f"Letter {n}") for n in range(3)
    ]
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        for message in messages[:2]:
            client.sendmail("r@example.org", ["letters@reaction.life"], message)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("r@example.org", ["letters@reaction.life"], messages[2])
    assert refused.value.smtp_code == 451
    assert b"try again in" in refused.value.smtp_error
    assert InboundEmail.objects.count() == 2
    # The sending server keeps the message and retries; in the next window it is stored.
    time.sleep(2.05)
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        assert client.sendmail("r@example.org", ["letters@reaction.life"], messages[2]) == {}
    assert InboundEmail.objects.count() == 3
