"""Faults, made real: the database or Redis taken away from running desk processes, and the same
message arriving several ways at once. Each test checks that nothing is lost and nothing is
stored twice.

The database is taken away in two ways: a process started with DATABASE_URL at a port where
nothing listens (down from the start, on any test database), and, on PostgreSQL, a TCP relay
between the desk's processes and the server that the test cuts (open connections reset, new ones
refused) and restores, or cuts at one chosen statement in the middle of a transaction.
"""

import html
import os
import re
import secrets
import smtplib
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.bench_burst import http_request, start_gunicorn, start_smtp_listener
from letters import tasks
from letters.intake import imap, process
from letters.models import (
    InboundEmail,
    InboundStatus,
    Letter,
    LetterChecks,
    LetterEvent,
    Status,
)

from . import dovecot_intake
from .factories import LETTER_TEXT, form_data, make_article, make_message
from .test_intake_imap import config as imap_config
from .test_intake_imap import dovecot, mailbox  # noqa: F401 (fixtures)
from .test_intake_smtp import listener  # noqa: F401 (a fixture)
from .test_intake_webhooks import SECRET, SIGNING_KEY, basic, mailgun_fields, postmark_payload
from .test_production import Browser, form_with_id
from .test_worker import worker, worker_env  # noqa: F401 (fixtures)

ROOT = Path(settings.BASE_DIR)
WEBHOOKS = {"LETTERS_WEBHOOK_SECRET": SECRET, "LETTERS_MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
SORRY = "We could not store your letter just now, please send it again in a minute."
only_on_postgres = pytest.mark.postgres


def closed_port():
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(port=None):
    """The URL of the test database, for a desk process to use; on PostgreSQL, through `port`
    (a relay) when given."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = (s.get("USER") or "postgres") + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@127.0.0.1:{port or s.get('PORT') or 5432}/{s['NAME']}"


def desk_env(**overrides):
    """The test run's environment (its key, its broker, DEBUG off) with `overrides`."""
    return {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1", **overrides}


UNREACHABLE_DATABASE = f"postgres://postgres@127.0.0.1:{closed_port()}/letters_faults_gone"


@pytest.fixture
def servers(tmp_path):
    """Start desk processes with start(kind, **environment); all are stopped at the end, and
    their logs printed (pytest shows them when a test fails)."""
    started = []

    def start(kind, workers=2, **overrides):
        log = tmp_path / f"{kind}-{len(started)}.log"
        if kind == "web":
            process = start_gunicorn(desk_env(**overrides), log, workers=workers)
        else:
            process = start_smtp_listener(desk_env(**overrides), log)
        started.append(process)
        return process

    yield start
    for desk_process in started:
        desk_process.stop()
        print(f"--- {desk_process.log_path.name}\n{desk_process.log()[-3000:]}")


class Relay:
    """A TCP relay on 127.0.0.1 to the database server. cut() takes the database away from
    every process connected through it (connections reset, new ones refused), restore() gives
    it back; cut_at(b"...") cuts the one connection that sends those bytes, before they reach
    the server."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.port = closed_port()
        self.pattern = None
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = None
        self.restore()

    def restore(self):
        listening = socket.socket()
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(("127.0.0.1", self.port))
        listening.listen(64)
        self._listener = listening
        threading.Thread(target=self._accept, args=(listening,), daemon=True).start()

    def cut(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the port
        # completing handshakes that nobody answers, a hang rather than a refusal.
        _close(self._listener)
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def cut_at(self, pattern):
        self.pattern = pattern

    def _accept(self, listening):
        while True:
            try:
                client, _ = listening.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source, destination, from_client):
        try:
            while data := source.recv(65536):
                if from_client and self.pattern and self.pattern in data:
                    self.pattern = None
                    self.cuts += 1
                    break
                destination.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(destination)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def relay():
    s = connection.settings_dict
    relay = Relay(s.get("HOST") or "127.0.0.1", int(s.get("PORT") or 5432))
    yield relay
    relay.cut()


# --- Helpers: what a reader, a provider, an MTA and a sending server do ------------------------


def reader_letter(browser, article_path, **overrides):
    """Open the article page and fill in its letter form: (page, form, fields)."""
    page = browser.get(article_path)
    assert page.status == 200, page.text
    fields = {k: v for k, v in form_data(**overrides).items() if k not in {"client_token"}}
    # The form's timestamp as if the reader took a minute to write (same key as the desk).
    fields["started"] = form_data()["started"]
    return page, form_with_id(page, "letter-form"), fields


def shown_back_text(page):
    """The text in the page's letter box, as the reader's browser shows it."""
    box = re.search(r'<textarea[^>]*name="body"[^>]*>\n?(.*?)</textarea>', page.text, re.S)
    assert box, page.text
    return html.unescape(box.group(1))


def run_pipe(raw, database, broker=None):
    env = desk_env(DATABASE_URL=database, CELERY_BROKER_URL=broker or settings.CELERY_BROKER_URL)
    command = [sys.executable, "manage.py", "receive_email", "--sender", "ann@example.org"]
    return subprocess.run(command, input=raw, capture_output=True, cwd=ROOT, env=env, timeout=60)


def send_by_smtp(port, raw):
    """Send one message; the reply code (250, or the 4xx/5xx the listener answered)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            client.sendmail("ann@example.org", ["letters@reaction.life"], raw)
        except smtplib.SMTPResponseException as exc:
            return exc.smtp_code, exc.smtp_error.decode()
    return 250, ""


def post_mailgun(port, fields):
    browser = Browser(port, "127.0.0.1", proto="http")
    authorization = {"Authorization": basic()["HTTP_AUTHORIZATION"]}
    return browser.request("POST", "/inbound/mailgun/inbound_mime/", fields, authorization)


def post_postmark(port, raw):
    headers = {
        "Content-Type": "application/json",
        "Authorization": basic()["HTTP_AUTHORIZATION"],
    }
    status, headers, _ = http_request(
        port, "POST", "/inbound/postmark/inbound/", postmark_payload(raw), headers
    )
    return status, headers


# --- The database down from the start: every door asks to retry --------------------------------


def test_with_the_database_unreachable_the_form_answers_503_and_shows_the_letter_back(servers):
    web = servers("web", DATABASE_URL=UNREACHABLE_DATABASE)
    reader = Browser(web.port, "127.0.0.1", proto="http")
    # The page cannot be shown either: a 503 that asks to come back, not a 500.
    page = reader.get("/articles/any-article/")
    assert page.status == 503
    assert page.headers["Retry-After"] == "60"
    assert "Unavailable just now" in page.text
    # A reader who had the form open posts it (the CSRF cookie from their earlier visit).
    reader.cookies["csrftoken"] = secrets.token_hex(16)
    fields = {**form_data(), "csrfmiddlewaretoken": reader.cookies["csrftoken"]}
    response = reader.request("POST", "/articles/any-article/", fields, {})

    assert response.status == 503, response.text
    assert response.headers["Retry-After"] == "60"
    assert SORRY in response.text
    assert shown_back_text(response) == LETTER_TEXT
    form = form_with_id(response, "letter-form")
    for name in ("name", "email", "town", "client_token", "started", "exclusive", "consent"):
        assert form.values[name] == fields[name], name
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    web.stop()
    assert "Database unavailable for POST /articles/any-article/" in web.log()
    assert "Traceback" not in web.log()


@pytest.mark.parametrize("provider", ["mailgun", "postmark"])
def test_with_the_database_unreachable_a_webhook_answers_503_so_the_provider_retries(
    servers, provider
):
    web = servers("web", DATABASE_URL=UNREACHABLE_DATABASE, **WEBHOOKS)
    raw = make_message(message_id="<webhook-down@example.org>")
    if provider == "mailgun":
        response = post_mailgun(web.port, mailgun_fields(raw))
        status, headers = response.status, response.headers
    else:
        status, headers = post_postmark(web.port, raw)
    assert status == 503
    assert headers["Retry-After"] == "60"


def test_with_the_database_unreachable_the_smtp_listener_answers_451(servers):
    smtp = servers("smtp", DATABASE_URL=UNREACHABLE_DATABASE)
    code, text = send_by_smtp(smtp.port, make_message())
    assert code == 451
    assert text.startswith("4.3.0 database unavailable")


def test_with_the_database_unreachable_the_pipe_exits_75():
    result = run_pipe(make_message(), UNREACHABLE_DATABASE)
    assert result.returncode == 75
    assert result.stdout.startswith(b"4.3.0 database unavailable")


# --- The database cut from running processes, then back: each retry stored once ---------------


@only_on_postgres
@pytest.mark.django_db(transaction=True)
def test_while_the_database_is_cut_every_door_asks_to_retry_and_each_retry_is_stored_once(
    servers, relay
):
    article = make_article(slug="cut-article")
    through_relay = database_url(relay.port)
    web = servers("web", DATABASE_URL=through_relay, **WEBHOOKS)
    smtp = servers("smtp", DATABASE_URL=through_relay)
    reader = Browser(web.port, "127.0.0.1", proto="http")
    page, form, fields = reader_letter(reader, article.get_absolute_url())
    by_smtp = make_message(message_id="<cut-smtp@example.org>")
    by_pipe = make_message(message_id="<cut-pipe@example.org>")
    by_webhook = mailgun_fields(make_message(message_id="<cut-webhook@example.org>"))
    assert send_by_smtp(smtp.port, make_message(message_id="<before@example.org>"))[0] == 250

    relay.cut()
    shown_back = reader.submit(page, form, fields)
    assert shown_back.status == 503, shown_back.text
    assert SORRY in shown_back.text
    assert shown_back_text(shown_back) == fields["body"]
    assert send_by_smtp(smtp.port, by_smtp)[0] == 451
    assert run_pipe(by_pipe, through_relay).returncode == 75
    assert post_mailgun(web.port, by_webhook).status == 503
    relay.restore()

    # Nothing half-written while it was cut.
    assert Letter.objects.count() == 0
    assert InboundEmail.objects.count() == 1
    # The reader sends the form shown back, as it is; the others retry as they do.
    again = form_with_id(shown_back, "letter-form")
    thanks = reader.submit(shown_back, again, {"body": shown_back_text(shown_back)})
    assert thanks.status == 302, thanks.text
    assert reader.submit(shown_back, again, {"body": shown_back_text(shown_back)}).status == 302
    assert send_by_smtp(smtp.port, by_smtp)[0] == 250
    assert run_pipe(by_pipe, through_relay).returncode == 0
    assert post_mailgun(web.port, by_webhook).status == 200

    letter = Letter.objects.get()
    assert letter.body == fields["body"]
    assert letter.status == Status.UNCONFIRMED
    assert LetterEvent.objects.filter(letter=letter, action="submitted").count() == 1
    ids = sorted(InboundEmail.objects.values_list("message_id", flat=True))
    assert ids == [
        "before@example.org",
        "cut-pipe@example.org",
        "cut-smtp@example.org",
        "cut-webhook@example.org",
    ]


@only_on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_the_letter_and_its_event_leaves_nothing_half_written(
    servers, relay
):
    article = make_article(slug="half-written")
    web = servers("web", DATABASE_URL=database_url(relay.port))
    reader = Browser(web.port, "127.0.0.1", proto="http")
    page, form, fields = reader_letter(reader, article.get_absolute_url())
    # The letter's row is written; the connection drops as its "submitted" event is sent.
    relay.cut_at(b'INSERT INTO "letters_letterevent"')

    response = reader.submit(page, form, fields)

    assert relay.cuts == 1
    assert response.status == 503, response.text
    assert shown_back_text(response) == fields["body"]
    assert Letter.objects.count() == 0
    assert LetterEvent.objects.count() == 0
    again = reader.submit(response, form_with_id(response, "letter-form"), {"body": fields["body"]})
    assert again.status == 302
    assert Letter.objects.get().body == fields["body"]


# --- Redis down: stored, thanked, enqueued by the sweeper later --------------------------------


def redis_down():
    """A broker and a cache where nothing listens (Redis, as production names them)."""
    return {
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "CACHE_URL": f"redis://127.0.0.1:{closed_port()}/1",
    }


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_a_posted_letter_is_stored_and_thanked_and_confirmed_and_analysed_later(
    servers,
    worker,  # noqa: F811 (the fixture)
):
    article = make_article(slug="redis-down")
    web = servers("web", **redis_down())
    reader = Browser(web.port, "127.0.0.1", proto="http")
    page, form, fields = reader_letter(reader, article.get_absolute_url())

    response = reader.submit(page, form, fields)
    assert response.status == 302, response.text
    thanks = reader.get(response.headers["Location"])
    assert thanks.status == 200
    assert "Thank you, Jane Smith" in thanks.text
    letter = Letter.objects.get()
    assert letter.body == fields["body"]
    assert letter.confirmation_sent_at is None

    # Redis is back (the test run's broker) and beat's sweeper runs later.
    Letter.objects.update(created_at=timezone.now() - timedelta(minutes=15))
    tasks.enqueue_lost_work()
    mail_dir = worker
    assert wait_for(lambda: mail_dir.exists() and any(mail_dir.iterdir()))
    assert "jane@example.com" in next(mail_dir.iterdir()).read_text()
    assert wait_for(lambda: Letter.objects.get().confirmation_sent_at is not None)
    # Its analysis (near-duplicates, exclusivity, quotes) was lost with the message too.
    assert wait_for(lambda: LetterChecks.objects.filter(letter=letter).exists())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_mailed_letters_are_stored_and_the_sweeper_enqueues_them_later(
    servers,
    worker,  # noqa: F811 (the fixture)
):
    down = redis_down()
    smtp = servers("smtp", **down)
    by_smtp = make_message(message_id="<redis-smtp@example.org>", subject="By SMTP")
    by_pipe = make_message(message_id="<redis-pipe@example.org>", subject="By the pipe")

    assert send_by_smtp(smtp.port, by_smtp)[0] == 250
    result = run_pipe(by_pipe, database_url(), broker=down["CELERY_BROKER_URL"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(b"stored as inbound email")
    rows = InboundEmail.objects.all()
    assert [row.status for row in rows] == [InboundStatus.PENDING] * 2
    assert Letter.objects.count() == 0

    InboundEmail.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    tasks.enqueue_stuck_inbound_email()

    assert wait_for(lambda: Letter.objects.count() == 2), list(
        InboundEmail.objects.values_list("status", "reason")
    )
    assert sorted(Letter.objects.values_list("subject", flat=True)) == ["By SMTP", "By the pipe"]
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {InboundStatus.ACCEPTED}


# --- The same message at once, several times or several ways ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_delivered_three_times_at_once_makes_one_message_and_one_letter(
    servers,
):
    make_article(slug="trains", headline="Your article on trains")
    web = servers("web", workers=3, **WEBHOOKS)
    fields = mailgun_fields(make_message(message_id="<three-times@example.org>"))
    start = threading.Barrier(3)

    def deliver(_):
        start.wait()
        return post_mailgun(web.port, fields).status

    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(deliver, range(3)))

    assert statuses == [200, 200, 200]
    row = InboundEmail.objects.get()
    # Three workers take the stored message at once, as a redelivered task would.
    run_at_once(process.process_inbound_email, [row.pk] * 3)
    letter = Letter.objects.get()
    assert letter.channel == "email"
    assert InboundEmail.objects.get().letter == letter


def run_at_once(function, arguments):
    start = threading.Barrier(len(arguments))

    def call(argument):
        start.wait()
        try:
            return function(argument)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(call, arguments))


@pytest.mark.imap
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not dovecot_intake.available(), reason="needs Dovecot: dovecot-imapd")
def test_the_same_email_by_smtp_and_by_imap_at_once_makes_one_letter(
    dovecot,  # noqa: F811 (the fixtures)
    mailbox,  # noqa: F811
    listener,  # noqa: F811
):
    raw = make_message(message_id="<both-ways@example.org>")
    mailbox(raw)
    start = threading.Barrier(2)

    def by_smtp():
        start.wait()
        return send_by_smtp(listener, raw)[0]

    def by_imap():
        start.wait()
        try:
            return imap.poll_imap(imap_config(dovecot)).error
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        smtp_code, imap_error = pool.submit(by_smtp), pool.submit(by_imap)
        assert (smtp_code.result(), imap_error.result()) == (250, "")

    rows = list(InboundEmail.objects.all())
    assert {row.message_id for row in rows} == {"both-ways@example.org"}
    assert {row.raw_bytes for row in rows} == {raw}
    run_at_once(process.process_inbound_email, [row.pk for row in rows])
    assert Letter.objects.count() == 1
