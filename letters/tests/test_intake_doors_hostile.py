"""Hostile input against every door: the SMTP listener, the webhooks, the pipe and the form.

Whatever comes in is stored raw and ends in a final state (accepted, rejected or failed), or
is refused with an error that names the problem and keeps the writer's text; in bounded time;
and every page that shows it (the admin's letter and inbound email pages, the article once the
letter is published, the feeds) escapes it. The parser's own worst cases are timed in
test_intake_hostile.py; this file sends some of the same payloads (and more) through the doors.
"""

import os
import smtplib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from letters import moderation
from letters.intake.process import process_inbound_email
from letters.models import InboundEmail, InboundStatus, Letter, WayIn

from .factories import form_data, make_article, make_message
from .test_intake_hostile import PAYLOADS, document, with_docx
from .test_intake_pipe import database_url
from .test_intake_webhooks import ANYMAIL, post_ses

ROOT = Path(__file__).resolve().parents[2]
FINAL = {InboundStatus.ACCEPTED, InboundStatus.REJECTED, InboundStatus.FAILED}
# Bounds on a shared two-core machine: generous, and still far below what a pathological
# step takes (seconds to minutes for one message).
DOOR_SECONDS = 3.0
PIPE_SECONDS = 20.0  # a new Python process, Django and all, as the MTA starts it
PROCESS_SECONDS = 3.0

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
RLO = "\u202e"
# What must never appear in a page: the payload as live markup.
ATOM = "{http://www.w3.org/2005/Atom}"
LIVE_MARKUP = ('<script>alert("xss")', "<img src=x onerror", "<script>alert(&quot;xss")


def deep_mime(depth):
    """A message whose parts nest `depth` multipart levels deep, a letter at the bottom."""
    head = b"From: Ann Reader <ann@example.org>\r\nTo: letters@reaction.life\r\nSubject: Deep\r\n"
    head += b"Message-ID: <deep@example.org>\r\nMIME-Version: 1.0\r\n"
    opening, closing = b"", b""
    for level in range(depth):
        boundary = f"b{level}".encode()
        opening += b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        opening += b"--" + boundary + b"\r\n"
        closing = b"\r\n--" + boundary + b"--\r\n" + closing
    letter = b"Content-Type: text/plain\r\n\r\nDear Editor, the trains are late.\r\n"
    return head + opening + letter + closing


HOSTILE_MAIL = {
    "XSS in the headers and the text": lambda: make_message(
        message_id="<xss@example.org>",
        sender=f'"Ann {XSS}" <ann@example.org>',
        subject=f"Trains {XSS}",
        body=f"Dear Editor, {XSS} the trains are late.\n\nAnn Reader\nLeeds\n",
    ),
    "header injection in encoded words": lambda: make_message(
        message_id="<injection@example.org>",
        sender="=?utf-8?q?Ann=0D=0ABcc=3A_victim=40example=2Eorg?= <ann@example.org>",
        subject="=?utf-8?q?Trains=0D=0ABcc=3A_victim=40example=2Eorg?=",
        headers=["Reply-To: ann@example.org\tBcc: victim@example.org"],
    ),
    "an oversized subject and sender name": lambda: make_message(
        message_id="<oversized@example.org>",
        sender=f'"{"Ann " * 20_000}" <ann@example.org>',
        subject="Trains " * 20_000,
    ),
    "invalid UTF-8": lambda: make_message(message_id="<utf8@example.org>").replace(
        b"The trains are late", b"The trains \xff\xfe\xc3\x28 are \xed\xa0\x80 late"
    ),
    "NUL bytes in the Message-ID, headers and text": lambda: make_message(
        message_id="<nul\x00@example.org>",
        subject="Trains\x00",
        body="Dear Editor,\x00 the trains are late.\n\nAnn Reader\nLeeds\n",
        headers=["Content-Language: en\x00"],
    ),
    "bidi overrides": lambda: make_message(
        message_id="<rlo@example.org>",
        sender=f"Ann {RLO}redaeR <ann@example.org>",
        subject=f"Trains {RLO}etal",
        body=f"Dear Editor, {RLO}the trains are late.\n\nAnn {RLO}Reader\nLeeds\n",
    ),
    "a 1 MB single line": PAYLOADS["a 1 MB single line"],
    "10,000 header lines": PAYLOADS["10,000 header lines"],
    "deep MIME nesting": lambda: deep_mime(300),
    "a .docx zip bomb": lambda: with_docx(
        document(b"<w:document>" + b" " * 50_000_000 + b"</w:document>")
    ),
}


def by_smtp(raw, *, port, client):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as session:
        refused = session.sendmail("reader@example.org", ["letters@reaction.life"], raw)
    assert refused == {}


@override_settings(ANYMAIL=ANYMAIL)
def by_webhook(raw, *, port, client):
    response = post_ses(client, raw)
    assert response.status_code == 200, response.content[:300]


def by_pipe(raw, *, port, client):
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": "memory://"}
    env.pop("LETTERS_PIPE_RELAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "letters.intake.pipe"]
        + ["--sender", "reader@example.org", "--recipient", "letters@reaction.life"],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(b"stored as inbound email"), result.stdout
    assert result.stderr == b""


DOORS = {"smtp": (by_smtp, DOOR_SECONDS), "webhook": (by_webhook, DOOR_SECONDS)}
DOORS["pipe"] = (by_pipe, PIPE_SECONDS)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    for markup in LIVE_MARKUP:
        assert markup not in html, f"{url} shows {markup!r} unescaped"
    return html


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", HOSTILE_MAIL)
@pytest.mark.parametrize("door", DOORS)
def test_hostile_mail_at_every_door_is_stored_raw_and_ends_in_a_final_state(
    door, name, listener, admin_client
):
    raw = HOSTILE_MAIL[name]()
    deliver, bound = DOORS[door]

    started = time.perf_counter()
    deliver(raw, port=listener, client=admin_client)
    delivered_in = time.perf_counter() - started
    assert delivered_in < bound, f"{door} took {delivered_in:.1f} s to store {name}"

    row = InboundEmail.objects.get()
    # The bytes as sent; on the SMTP wire the message ends in a line break, whatever it was.
    assert row.raw_bytes.rstrip(b"\r\n") == raw.rstrip(b"\r\n")
    assert row.way_in == {"smtp": WayIn.SMTP, "webhook": WayIn.WEBHOOK, "pipe": WayIn.PIPE}[door]

    started = time.perf_counter()
    process_inbound_email(row.pk, acknowledge=False)
    processed_in = time.perf_counter() - started
    assert processed_in < PROCESS_SECONDS, f"{name} took {processed_in:.1f} s to process"
    row.refresh_from_db()
    assert row.status in FINAL, (row.status, row.reason)
    assert row.status != InboundStatus.FAILED or row.reason

    html = page(admin_client, reverse("admin:letters_inboundemail_change", args=[row.pk]))
    if row.letter_id:
        page(admin_client, reverse("admin:letters_letter_change", args=[row.letter_id]))
    if name.startswith("XSS"):
        assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in html


@pytest.mark.django_db(transaction=True)
def test_a_second_delivery_of_a_hostile_message_by_another_door_is_the_same_row(listener, client):
    raw = HOSTILE_MAIL["NUL bytes in the Message-ID, headers and text"]()
    by_smtp(raw, port=listener, client=client)
    by_webhook(raw, port=listener, client=client)
    row = InboundEmail.objects.get()
    assert row.deliveries == 2


@pytest.mark.django_db(transaction=True)
def test_a_line_longer_than_the_listener_takes_is_refused_with_a_reason_and_it_keeps_serving(
    listener,
):
    with smtplib.SMTP("127.0.0.1", listener, timeout=30) as session:
        with pytest.raises(smtplib.SMTPException) as refused:
            session.sendmail("r@example.org", ["letters@reaction.life"], b"x" * 2_000_000)
    assert b"too long" in str(refused.value).encode().lower()
    by_smtp(make_message(), port=listener, client=None)
    assert InboundEmail.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hostile_envelope_on_the_pipe_is_stored_cleaned_and_not_relayed_as_smtp(listener):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "memory://",
        "LETTERS_PIPE_RELAY": f"127.0.0.1:{listener}",
    }
    injected = "reader@example.org\r\nRCPT TO:<victim@example.org>"
    result = subprocess.run(
        [sys.executable, "-m", "letters.intake.pipe", "--sender", injected]
        + ["--recipient", f"letters@reaction.life{RLO}", "--recipient", "x" * 10_000],
        input=make_message(),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.PIPE
    assert "\r" not in row.envelope_from and "\n" not in row.envelope_from
    assert "victim@example.org" in row.envelope_from  # kept, as text, for the editor to see
    assert all(RLO not in address and len(address) <= 320 for address in row.envelope_to)


# --- A published hostile letter, on the public pages and in the feeds ------------------------


@pytest.mark.django_db(transaction=True)
def test_a_published_hostile_letter_is_escaped_on_the_article_page_and_in_the_feeds(
    listener, client, enqueued
):
    article = make_article(slug="trains")
    raw = make_message(
        to="letters+trains@reaction.life",
        sender=f'"Ann {XSS}" <ann@example.org>',
        body=f"Dear Editor, {XSS} the {RLO}trains are late.\n\nAnn Reader\nLeeds\n",
    )
    by_smtp(raw, port=listener, client=client)
    row = InboundEmail.objects.get()
    process_inbound_email(row.pk, acknowledge=False)
    letter = Letter.objects.get()
    assert letter.article == article
    moderation.approve(letter.pk)
    moderation.publish(letter.pk)

    html = page(client, article.get_absolute_url())
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in html
    assert RLO not in html
    page(client, reverse("letters:letters_page"))
    for url in ("/letters/feed/", f"/articles/{article.slug}/letters/feed/"):
        feed = client.get(url).content.decode()
        assert "<script>" not in feed
        assert RLO not in feed
        # An entry's summary is HTML carried as text: once read from the XML, the letter's
        # words are still escaped, so a feed reader shows them and runs nothing.
        (summary,) = ET.fromstring(feed).iter(f"{ATOM}summary")
        assert summary.get("type") == "html"
        assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in summary.text
        assert "<script" not in summary.text and "<img" not in summary.text


# --- The form ---------------------------------------------------------------------------------

WORDS = "Sir, the trains are late again and nobody says why."

HOSTILE_FORMS = {
    # name: (fields, the problem the page must name, or None when the letter is stored)
    "XSS in every field": (
        {"name": f"Ann {XSS}", "town": f"Leeds {XSS}", "body": f"{WORDS} {XSS}"},
        None,
    ),
    "header injection in the email": (
        {"email": "ann@example.org\r\nBcc: victim@example.org"},
        "Enter a valid email address.",
    ),
    "header injection in the name": (
        {"name": "Ann\r\nBcc: victim@example.org"},
        "Please write this on one line.",
    ),
    "an oversized name": ({"name": "Ann " * 2_500}, "at most 200 characters"),
    "NUL bytes in the text": ({"body": f"{WORDS}\x00 More."}, "Null characters are not allowed"),
    "a bidi override in the name": ({"name": f"Ann {RLO}redaeR"}, "invisible"),
    "a bidi override in the text": ({"body": f"{WORDS} {RLO}etal"}, None),
    "a 1 MB single line": ({"body": "x" * 1_000_000}, None),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE_FORMS)
def test_hostile_form_input_is_stored_clean_or_shown_back_with_the_problem_named(
    name, client, admin_client
):
    article = make_article()
    fields, problem = HOSTILE_FORMS[name]
    data = form_data(**fields)

    started = time.perf_counter()
    response = client.post(article.get_absolute_url(), data)
    assert time.perf_counter() - started < DOOR_SECONDS

    if problem is None:
        assert response.status_code == 302, response.content.decode()[:2000]
        letter = Letter.objects.get()
        assert RLO not in letter.body
        html = page(admin_client, reverse("admin:letters_letter_change", args=[letter.pk]))
        if name.startswith("XSS"):
            assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in html
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert problem.lower() in html.lower()
    assert WORDS in html or fields.get("body", data["body"])[:200] in html  # the text kept
    assert not Letter.objects.exists()
    for markup in LIVE_MARKUP:
        assert markup not in html


@pytest.mark.django_db
def test_a_form_post_with_invalid_utf8_is_stored_or_refused_never_a_server_error(client):
    article = make_article()
    encoded = "&".join(f"{k}={v}" for k, v in form_data(body="placeholder").items() if k != "body")
    body = encoded.encode() + b"&body=" + b"Sir%2C+the+trains+%FF%FE+are+late."
    response = client.post(
        article.get_absolute_url(), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert "trains" in Letter.objects.get().body


@pytest.mark.django_db
def test_a_form_post_with_ten_thousand_fields_is_refused_as_a_bad_request(client):
    article = make_article()
    data = {**form_data(), **{f"field{i}": "x" for i in range(10_000)}}
    started = time.perf_counter()
    response = client.post(article.get_absolute_url(), data)
    assert time.perf_counter() - started < DOOR_SECONDS
    assert response.status_code == 400
    assert not Letter.objects.exists()


def test_the_mail_payloads_are_as_hostile_as_their_names_say():
    assert len(HOSTILE_MAIL["a 1 MB single line"]().splitlines()[-1]) >= 1_000_000
    assert HOSTILE_MAIL["10,000 header lines"]().count(b"\r\nX-Spam: yes") == 10_000
    assert HOSTILE_MAIL["deep MIME nesting"]().count(b"multipart/mixed") == 300
    bomb = HOSTILE_MAIL["a .docx zip bomb"]()
    assert len(bomb) < 200_000
    assert b"\x00" in HOSTILE_MAIL["NUL bytes in the Message-ID, headers and text"]()
