"""Provider webhooks (anymail inbound): signed or authenticated requests are stored, others refused."""

import base64
import hashlib
import hmac
import json
import secrets
import time
from unittest import mock

import pytest
from django.test import override_settings

from letters.intake import webhooks
from letters.intake.store import StorageUnavailable, receive_email
from letters.models import InboundEmail, WayIn

from .factories import eml, make_message

pytestmark = pytest.mark.django_db

SECRET = "desk:s3cret-webhook-password"
SIGNING_KEY = "key-mailgun-signing"
ANYMAIL = {"WEBHOOK_SECRET": [SECRET], "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def basic(credentials=SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def mailgun_fields(raw, key=SIGNING_KEY, timestamp=None, token=None):
    timestamp = str(int(timestamp or time.time()))
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "body-mime": raw.decode("utf-8"),
        "sender": "reader@example.org",
        "recipient": "letters@reaction.life",
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }


def postmark_payload(raw):
    return json.dumps(
        {
            "FromFull": {"Email": "reader@example.org", "Name": "A Reader"},
            "ToFull": [{"Email": "letters@reaction.life", "Name": ""}],
            "Subject": "A letter",
            "MessageID": "pm-1",
            "OriginalRecipient": "letters@reaction.life",
            "Headers": [{"Name": "Return-Path", "Value": "<reader@example.org>"}],
            "RawEmail": raw.decode("utf-8"),
        }
    )


def ses_payload(raw):
    ses_event = {
        "notificationType": "Received",
        "mail": {"source": "reader@example.org", "messageId": "ses-1"},
        "receipt": {
            "recipients": ["letters@reaction.life"],
            "action": {"type": "SNS", "encoding": "BASE64"},
            "spamVerdict": {"status": "PASS"},
        },
        "content": base64.b64encode(raw).decode(),
    }
    body = {"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(ses_event)}
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "sns-1"}
    return json.dumps(body), headers


def post_mailgun(client, raw, auth=SECRET, **extra):
    return client.post(
        "/inbound/mailgun/inbound_mime/",
        mailgun_fields(raw, **extra),
        **(basic(auth) if auth else {}),
    )


def post_postmark(client, raw, auth=SECRET):
    return client.post(
        "/inbound/postmark/inbound/",
        postmark_payload(raw),
        content_type="application/json",
        **(basic(auth) if auth else {}),
    )


def post_sendgrid(client, raw, auth=SECRET):
    data = {
        "email": raw.decode("utf-8"),
        "envelope": json.dumps({"from": "reader@example.org", "to": ["letters@reaction.life"]}),
    }
    return client.post("/inbound/sendgrid/inbound/", data, **(basic(auth) if auth else {}))


def post_ses(client, raw, auth=SECRET):
    body, headers = ses_payload(raw)
    return client.post(
        "/inbound/amazon_ses/inbound/",
        body,
        content_type="text/plain",
        **headers,
        **(basic(auth) if auth else {}),
    )


POSTERS = {
    "postmark": post_postmark,
    "sendgrid": post_sendgrid,
    "amazon_ses": post_ses,
}


@override_settings(ANYMAIL=ANYMAIL)
def test_a_signed_mailgun_post_is_stored_with_its_envelope(client):
    response = post_mailgun(client, eml("plain.eml"))
    assert response.status_code == 200
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.WEBHOOK
    assert row.envelope_from == "reader@example.org"
    assert row.envelope_to == ["letters@reaction.life"]
    assert row.raw_bytes == eml("plain.eml")


@override_settings(ANYMAIL={"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY})
def test_mailgun_needs_basic_auth_too_as_its_signature_does_not_cover_the_message(client):
    assert post_mailgun(client, eml("plain.eml"), auth=None).status_code == 400
    assert InboundEmail.objects.count() == 0


@override_settings(ANYMAIL=ANYMAIL)
def test_a_mailgun_request_signed_long_ago_is_refused_as_a_replay(client):
    old = time.time() - 2 * 3600
    assert post_mailgun(client, eml("plain.eml"), timestamp=old).status_code == 400
    assert post_mailgun(client, eml("plain.eml")).status_code == 200
    assert InboundEmail.objects.count() == 1


@override_settings(ANYMAIL=ANYMAIL)
def test_a_used_mailgun_token_is_refused_with_another_message(client):
    token = secrets.token_hex(25)
    assert post_mailgun(client, eml("plain.eml"), token=token).status_code == 200
    assert post_mailgun(client, make_message(), token=token).status_code == 400
    assert InboundEmail.objects.count() == 1


@override_settings(ANYMAIL=ANYMAIL)
def test_the_same_mailgun_request_delivered_again_is_stored_once_not_refused(client):
    fields = mailgun_fields(eml("plain.eml"))
    for _ in range(2):
        response = client.post("/inbound/mailgun/inbound_mime/", fields, **basic())
        assert response.status_code == 200
    assert InboundEmail.objects.get().deliveries == 2


@override_settings(ANYMAIL=ANYMAIL)
def test_a_mailgun_retry_after_a_storage_failure_is_not_a_replay(client):
    token = secrets.token_hex(25)
    with mock.patch.object(webhooks, "receive_email", side_effect=StorageUnavailable("down")):
        assert post_mailgun(client, eml("plain.eml"), token=token).status_code == 503
    assert post_mailgun(client, eml("plain.eml"), token=token).status_code == 200
    assert InboundEmail.objects.count() == 1


def race_mailgun(client, first, second, first_fails=False):
    """Posts the Mailgun fields `first`, and `second` while the first is inside storing (its
    receive_email paused); then the first stores, or fails to (503). Returns both statuses."""
    answers = []

    def store_after_the_second(raw, **kwargs):
        if not answers:
            answers.append(None)  # the second's own storing, if it gets that far, goes through
            answers[0] = client.post("/inbound/mailgun/inbound_mime/", second, **basic())
            if first_fails:
                raise StorageUnavailable("database unavailable")
        return receive_email(raw, **kwargs)

    with mock.patch.object(webhooks, "receive_email", side_effect=store_after_the_second):
        response = client.post("/inbound/mailgun/inbound_mime/", first, **basic())
    return response.status_code, answers[0].status_code


@override_settings(ANYMAIL=ANYMAIL)
def test_a_mailgun_token_racing_with_another_message_is_refused_while_the_first_stores(client):
    token = secrets.token_hex(25)
    first = mailgun_fields(eml("plain.eml"), token=token)
    second = mailgun_fields(make_message(), token=token)
    assert race_mailgun(client, first, second) == (200, 400)
    assert InboundEmail.objects.get().raw_bytes == eml("plain.eml")


@override_settings(ANYMAIL=ANYMAIL)
def test_the_same_mailgun_request_racing_itself_is_stored_once_not_refused(client):
    fields = mailgun_fields(eml("plain.eml"))
    assert race_mailgun(client, fields, fields) == (200, 200)
    assert InboundEmail.objects.get().deliveries == 2


@override_settings(ANYMAIL=ANYMAIL)
def test_a_storage_failure_lets_go_of_the_mailgun_token_so_any_retry_goes_through(client):
    token = secrets.token_hex(25)
    with mock.patch.object(webhooks, "receive_email", side_effect=StorageUnavailable("down")):
        assert post_mailgun(client, eml("plain.eml"), token=token).status_code == 503
    # A token is remembered only with a stored message: had the failed request kept its claim,
    # a retry not byte for byte the same would be refused as a replay.
    assert post_mailgun(client, make_message(), token=token).status_code == 200
    assert InboundEmail.objects.get().raw_bytes == make_message()


@override_settings(ANYMAIL=ANYMAIL)
def test_a_mailgun_token_stays_used_when_only_a_second_delivery_of_its_request_was_stored(
    client,
):
    token = secrets.token_hex(25)
    fields = mailgun_fields(eml("plain.eml"), token=token)
    assert race_mailgun(client, fields, fields, first_fails=True) == (503, 200)
    assert post_mailgun(client, make_message(), token=token).status_code == 400
    assert InboundEmail.objects.get().raw_bytes == eml("plain.eml")


@override_settings(ANYMAIL={"WEBHOOK_SECRET": [SECRET]})
def test_a_provider_whose_key_is_not_configured_answers_400_not_500(client):
    response = post_mailgun(client, eml("plain.eml"))
    assert response.status_code == 400
    assert b"not configured" in response.content
    assert InboundEmail.objects.count() == 0


@override_settings(ANYMAIL=ANYMAIL)
def test_a_badly_signed_mailgun_post_is_refused_and_logged(client, caplog):
    response = post_mailgun(client, eml("plain.eml"), key="not-the-key")
    assert response.status_code == 400
    assert InboundEmail.objects.count() == 0
    assert "Refused Mailgun inbound webhook" in caplog.text


@override_settings(ANYMAIL=ANYMAIL)
def test_an_unsigned_mailgun_post_is_refused(client):
    fields = mailgun_fields(eml("plain.eml"))
    del fields["signature"]
    response = client.post("/inbound/mailgun/inbound_mime/", fields, **basic())
    assert response.status_code == 400
    assert InboundEmail.objects.count() == 0


@override_settings(ANYMAIL=ANYMAIL)
@pytest.mark.parametrize("provider", sorted(POSTERS))
def test_a_provider_post_with_the_right_basic_auth_is_stored(client, provider):
    response = POSTERS[provider](client, eml("plain.eml"))
    assert response.status_code == 200, response.content
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.WEBHOOK
    assert row.envelope_to == ["letters@reaction.life"]
    assert row.raw_bytes == eml("plain.eml")


@override_settings(ANYMAIL=ANYMAIL)
@pytest.mark.parametrize("provider", sorted(POSTERS))
@pytest.mark.parametrize("auth", ["desk:wrong-password", None])
def test_a_provider_post_with_wrong_or_no_basic_auth_is_refused(client, provider, auth):
    response = POSTERS[provider](client, eml("plain.eml"), auth=auth)
    assert response.status_code in (400, 401)
    assert InboundEmail.objects.count() == 0


@override_settings(ANYMAIL={"WEBHOOK_SECRET": []})
@pytest.mark.parametrize("provider", sorted(POSTERS))
def test_without_a_configured_secret_every_post_is_refused(client, provider):
    response = POSTERS[provider](client, eml("plain.eml"), auth=None)
    assert response.status_code == 400
    assert InboundEmail.objects.count() == 0


@override_settings(ANYMAIL=ANYMAIL)
@pytest.mark.parametrize("provider", sorted(POSTERS))
def test_a_storage_failure_answers_503_so_the_provider_retries(client, provider):
    with mock.patch.object(
        webhooks, "receive_email", side_effect=StorageUnavailable("database unavailable")
    ):
        response = POSTERS[provider](client, eml("plain.eml"))
    assert response.status_code == 503


@override_settings(ANYMAIL=ANYMAIL)
def test_the_same_message_from_a_provider_and_the_pipe_is_stored_once(client):
    raw = make_message()
    receive_email(raw, way_in=WayIn.PIPE)
    assert post_sendgrid(client, raw).status_code == 200
    # SendGrid's raw field carries the exact bytes: one row, two deliveries.
    row = InboundEmail.objects.get(message_id="letter-1@example.org")
    assert row.deliveries == 2


@override_settings(ANYMAIL=ANYMAIL)
def test_a_large_message_is_accepted_not_refused_by_the_upload_limit(client):
    raw = make_message(body=("A long letter line of text. " * 30 + "\n") * 5000)
    assert len(raw) > 4 * 1024 * 1024  # over Django's 2.5 MB default
    response = post_sendgrid(client, raw)
    assert response.status_code == 200
    assert InboundEmail.objects.get().raw_bytes == raw


def test_other_pages_keep_the_ordinary_request_size_limit(client):
    response = client.post("/", b"x" * (3 * 1024 * 1024), content_type="application/octet-stream")
    assert response.status_code == 413
