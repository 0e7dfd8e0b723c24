"""A burst: 1,000 letters posted to the form and 1,000 emails sent to the SMTP listener at once.

Sets up a fresh desk in a temporary LETTERS_VAR_DIR (SQLite in WAL mode and the embedded
filesystem broker, the defaults; or --database-url postgres://... for a database of your own,
which is emptied first), loads the seed article, and starts gunicorn (2 sync workers) and the
SMTP listener (`manage.py run_smtpd`), both as production runs them (DEBUG off, rate limits and
the form's signed timestamp on; the limits raised for the benchmark's one client address and
one writer, as an MTA in front of the listener would need). No Celery worker runs: the work
each arrival enqueues waits in the broker's queue, where the script counts it.

Then, all at once:
  - 1,000 form posts from 64 concurrent clients, each a complete letter (~150 words) with its
    own client_token written into its last line, the reader's CSRF cookie and token, and a
    form timestamp signed an hour ago (no proof-of-work solution: each is stored held as
    suspect, the same work as any other);
  - 1,000 emails from 32 concurrent SMTP connections (each sends its share of messages over
    one connection, as an MTA does), each with its own Message-ID; a 4xx answer is retried
    after a second, as a sending server would;
  - a reader opening the article page every 200 ms throughout.

Afterwards it checks that every accepted letter (302) is stored exactly once with its exact
text, a "submitted" event and one queued letter_submitted task (which starts its confirmation);
every accepted email (250) is stored exactly once with its exact bytes and one queued
processing task; and that nothing else was stored. It prints messages per second, errors and latency percentiles for each, and the page's.

Usage: .venv/bin/python bench/bench_burst.py [--forms 1000] [--emails 1000] [--keep]
       [--database-url postgres://postgres@127.0.0.1:5432/letters_faults_bench]

The test suite runs the same burst, smaller (letters/tests/test_burst.py).
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM_CLIENTS = 64
SMTP_CLIENTS = 32
PAGE_EVERY_SECONDS = 0.2
SMTP_RETRIES = 5

# Settings a developer may have exported that would point the benchmark elsewhere.
INHERITED_SETTINGS_DROPPED = (
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_BACKEND",
    "LETTERS_CLOSE_AFTER_DAYS",
    "LETTERS_WORD_LIMIT",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
)

# Limits raised for one client address and one writer: every post and message still counted.
RAISED_LIMITS = {
    "LETTERS_RATE_LIMIT_FORM_IP": "1000000000/m",
    "LETTERS_RATE_LIMIT_FORM_EMAIL": "1000000000/m",
    "LETTERS_RATE_LIMIT_SMTP_CLIENT": "1000000000/m",
}

LETTER_TEXT = (
    "Sir, your correspondent is right that the West has been slow to decide, but wrong to "
    "think that speed alone would have changed the outcome on the ground. What matters far "
    "more is whether our allies, and our adversaries, believe that we will stay the course "
    "once the headlines have moved on to something else.\r\n\r\n"
    "Long-range weapons are useful only if the targets are still within reach when permission "
    "finally arrives. Your own report notes that many of Russia's key assets have already been "
    "moved back out of range, which rather suggests that the debate itself has done some of "
    "the enemy's work for him.\r\n\r\n"
    "Ref. TOKEN"
)
SENT_AT = "Mon, 04 May 2026 09:00:00 +0000"
EMAIL_BODY = (
    "Dear Editor,\r\n\r\nThe trains are late again, and your article on the railways was right "
    "about why: nobody is in charge of the whole line.\r\n\r\nRef. TOKEN\r\n\r\nAnn Reader\r\nLeeds\r\n"
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The desk's processes ---------------------------------------------------------------------


class Process:
    """A desk process (gunicorn, the SMTP listener) on a free port of 127.0.0.1, its output in
    a log file; `env` is the whole environment. Stop it with stop(), which also ends a hung one."""

    def __init__(self, command, env, log_path, port):
        self.port = port
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_listening(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log_path.name} exited:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.log_path.name} did not listen within {timeout} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def start_gunicorn(env, log_path, workers=2):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "reaction_letters.wsgi",
        f"--workers={workers}",
        "--worker-class=sync",
        "--no-control-socket",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        f"--chdir={ROOT}",
    ]
    return Process(command, env, log_path, port).wait_until_listening()


def start_smtp_listener(env, log_path):
    port = free_port()
    command = [sys.executable, "manage.py", "run_smtpd", "--port", str(port)]
    return Process(command, env, log_path, port).wait_until_listening()


# --- A reader and a sending server ------------------------------------------------------------


@dataclass
class Result:
    """One request: what was sent, the answer, how long it took (s), how many tries."""

    token: str
    status: int  # HTTP status or SMTP reply code; 0 for a connection error
    seconds: float
    tries: int = 1
    detail: str = ""
    finished_at: float = field(default_factory=time.monotonic)


def http_request(port, method, path, body=None, headers=None, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def reader_session(port, page_path):
    """What a reader's browser holds after opening the article: the csrftoken cookie and the
    form's csrfmiddlewaretoken."""
    status, headers, body = http_request(port, "GET", page_path)
    if status != 200:
        raise RuntimeError(f"GET {page_path} answered {status}")
    cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
    marker = b'name="csrfmiddlewaretoken" value="'
    start = body.index(marker) + len(marker)
    return cookie.split(";", 1)[0], body[start : body.index(b'"', start)].decode()


def letter_text(token):
    return LETTER_TEXT.replace("TOKEN", token)


def letter_fields(csrf_token, token, started):
    return {
        "csrfmiddlewaretoken": csrf_token,
        "name": "Colonel Jane Smith",
        "town": "Hexham",
        "email": "jane.smith@example.com",
        "body": letter_text(token),
        "phone": "",
        "exclusive": "on",
        "consent": "on",
        "client_token": token,
        "website": "",
        "started": started,
    }


def post_letter(port, page_path, cookie, csrf_token, started, token):
    body = urllib.parse.urlencode(letter_fields(csrf_token, token, started))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    began = time.monotonic()
    try:
        status, _, _ = http_request(port, "POST", page_path, body, headers)
    except OSError as exc:
        return Result(token, 0, time.monotonic() - began, detail=repr(exc))
    return Result(token, status, time.monotonic() - began)


def message(token):
    """One email as bytes, CRLF line ends (as on the wire), its Message-ID made of `token`: the
    same bytes each time, so that what was stored can be compared with what was sent."""
    headers = [
        "From: Ann Reader <ann@example.org>",
        "To: letters@reaction.life",
        "Subject: Your article on trains",
        f"Date: {SENT_AT}",
        f"Message-ID: <{token}@burst.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + EMAIL_BODY.replace("TOKEN", token)).encode()


def send_messages(port, tokens):
    """Send each token's message over one SMTP connection (reopened after a failure), retrying
    a 4xx answer up to SMTP_RETRIES times a second apart, as a sending server does."""
    results, client = [], None
    for token in tokens:
        raw, began, tries, status, detail = message(token), time.monotonic(), 0, 0, ""
        while tries <= SMTP_RETRIES:
            tries += 1
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", port, timeout=60)
                client.sendmail("ann@example.org", ["letters@reaction.life"], raw)
                status, detail = 250, ""
                break
            except smtplib.SMTPResponseException as exc:
                status, detail = exc.smtp_code, exc.smtp_error.decode(errors="replace")
            except smtplib.SMTPRecipientsRefused as exc:
                status, detail = 550, repr(exc.recipients)
            except (OSError, smtplib.SMTPException) as exc:
                status, detail = 0, repr(exc)
                client = None
            if status and status >= 500:
                break
            try:
                if client is not None:
                    client.rset()
            except (OSError, smtplib.SMTPException):
                client = None
            time.sleep(1)
        results.append(Result(token, status, time.monotonic() - began, tries, detail))
    if client is not None:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return results


def watch_page(port, path, stop):
    """GET the page every PAGE_EVERY_SECONDS until `stop` is set: [(status, seconds)]."""
    seen = []
    while not stop.is_set():
        began = time.monotonic()
        try:
            status, _, _ = http_request(port, "GET", path)
        except OSError:
            status = 0
        seen.append((status, time.monotonic() - began))
        stop.wait(PAGE_EVERY_SECONDS)
    return seen


@dataclass
class Burst:
    letters: list = field(default_factory=list)
    emails: list = field(default_factory=list)
    pages: list = field(default_factory=list)
    seconds: float = 0.0
    letters_seconds: float = 0.0
    emails_seconds: float = 0.0


def run_burst(*, web_port, smtp_port, page_path, forms, emails, started):
    """Post `forms` letters and send `emails` messages at once while a reader opens the page.
    `started` is the form's signed timestamp (bot_defence.started_token, with the desk's key)."""
    cookie, csrf_token = reader_session(web_port, page_path)
    run = uuid.uuid4().hex[:8]
    letter_tokens = [str(uuid.uuid4()) for _ in range(forms)]
    email_tokens = [f"burst-{run}-{i}" for i in range(emails)]
    shares = [email_tokens[i::SMTP_CLIENTS] for i in range(SMTP_CLIENTS)]
    burst, stop = Burst(), threading.Event()
    with ThreadPoolExecutor(1 + FORM_CLIENTS + SMTP_CLIENTS) as pool:
        watcher = pool.submit(watch_page, web_port, page_path, stop)
        began = time.monotonic()
        letters = [
            pool.submit(post_letter, web_port, page_path, cookie, csrf_token, started, token)
            for token in letter_tokens
        ]
        mail = [pool.submit(send_messages, smtp_port, share) for share in shares if share]

        burst.letters = [f.result() for f in letters]
        burst.emails = [r for f in mail for r in f.result()]
        burst.seconds = time.monotonic() - began
        stop.set()
        burst.pages = watcher.result()
    burst.letters_seconds = max((r.finished_at for r in burst.letters), default=began) - began
    burst.emails_seconds = max((r.finished_at for r in burst.emails), default=began) - began
    return burst


# --- What the desk stored -----------------------------------------------------------------------


def check_stored(burst, *, queue_dir=None):
    """Problems found, as sentences (none when every accepted arrival is stored exactly once,
    nothing else is, and, with `queue_dir` (the filesystem broker's), each has its one task
    queued). Reads the desk's database through Django, set up by the caller."""
    from django.db import connections

    from letters.models import InboundEmail, Letter, LetterEvent

    connections.close_all()
    problems = []
    accepted = {r.token for r in burst.letters if r.status == 302}
    sent = {r.token for r in burst.letters}
    rows = list(Letter.objects.values_list("pk", "client_token", "body"))
    stored = [str(token) for _, token, _ in rows if token is not None and str(token) in sent]
    if sorted(stored) != sorted(set(stored)):
        problems.append(f"{len(stored) - len(set(stored))} letters stored more than once")
    if missing := accepted - set(stored):
        problems.append(f"{len(missing)} accepted letters not stored")
    if extra := set(stored) - accepted:
        problems.append(f"{len(extra)} letters stored though not accepted (refused answers?)")
    wrong = [
        pk for pk, token, body in rows if str(token) in sent and body != letter_text(str(token))
    ]
    if wrong:
        problems.append(f"{len(wrong)} letters stored with other text than was sent")
    events = LetterEvent.objects.filter(letter__client_token__in=stored, action="submitted")
    if events.count() != len(stored):
        problems.append(f"{len(stored)} letters but {events.count()} 'submitted' events")

    accepted_mail = {r.token for r in burst.emails if r.status == 250}
    by_token = {}
    for pk, message_id, raw in InboundEmail.objects.values_list("pk", "message_id", "raw"):
        token = message_id.removesuffix("@burst.example.org").strip("<>")
        by_token.setdefault(token, []).append((pk, bytes(raw)))
    if doubles := [t for t in accepted_mail if len(by_token.get(t, [])) > 1]:
        problems.append(f"{len(doubles)} emails stored more than once")
    if missing := [t for t in accepted_mail if t not in by_token]:
        problems.append(f"{len(missing)} accepted emails not stored")
    sent_mail = {r.token for r in burst.emails}
    if extra := [t for t in by_token if t in sent_mail and t not in accepted_mail]:
        problems.append(f"{len(extra)} emails stored though not accepted")
    if wrong := [t for t in accepted_mail if t in by_token and by_token[t][0][1] != message(t)]:
        problems.append(f"{len(wrong)} emails stored with other bytes than were sent")

    if queue_dir is not None:
        queued = queued_tasks(queue_dir)
        letter_ids = sorted(pk for pk, token, _ in rows if str(token) in accepted)
        # One message per letter, from which the worker starts its confirmation and analysis.
        if sorted(queued.get("letters.tasks.letter_submitted", [])) != letter_ids:
            problems.append("not exactly one letter_submitted task queued per stored letter")
        email_ids = sorted(by_token[t][0][0] for t in accepted_mail if t in by_token)
        if sorted(queued.get("letters.tasks.process_inbound_email", [])) != email_ids:
            problems.append("not exactly one processing task queued per stored email")
    return problems


def queued_tasks(queue_dir):
    """{task name: [first argument, ...]} of the messages waiting in the filesystem broker."""
    queued = {}
    for path in Path(queue_dir).glob("*.msg"):
        envelope = json.loads(path.read_text())
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        queued.setdefault(envelope["headers"]["task"], []).append(args[0])
    return queued


# --- The report -----------------------------------------------------------------------------


def percentile(values, p):
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def describe(label, results, ok, seconds):
    answers = {}
    for r in results:
        answers[r.status] = answers.get(r.status, 0) + 1
    latencies = [r.seconds * 1000 for r in results]
    accepted = answers.get(ok, 0)
    retried = sum(1 for r in results if r.tries > 1)
    return (
        f"{label:<8} {accepted}/{len(results)} accepted in {seconds:.1f} s = "
        f"{accepted / seconds:.0f}/s; errors {len(results) - accepted} "
        f"(answers {dict(sorted(answers.items()))}, retried {retried}); "
        f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
        f"max {max(latencies, default=0):.0f} ms"
    )


def describe_pages(pages):
    latencies = [seconds * 1000 for _, seconds in pages]
    bad = sum(1 for status, _ in pages if status != 200)
    return (
        f"page     {len(pages)} GETs during the burst, {bad} not 200; "
        f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
        f"max {max(latencies, default=0):.0f} ms"
    )


# --- Setting up the desk --------------------------------------------------------------------


def desk_env(var_dir, database_url=None):
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS_DROPPED}
    env.update(
        DJANGO_SETTINGS_MODULE="reaction_letters.settings",
        LETTERS_VAR_DIR=str(var_dir),
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-" + "b" * 48,
        SECURE_SSL_REDIRECT="0",
        STATIC_MANIFEST="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **RAISED_LIMITS,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def prepare_desk(env):
    """Set this process up as the desk (Django, the same settings), migrate, load the seeds;
    returns the seed article's path."""
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from letters.models import Article

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)
    call_command("load_seeds", verbosity=0)
    path = Article.objects.published().first().get_absolute_url()
    connections.close_all()
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database-url", help="a PostgreSQL database of your own (emptied)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="letters-bench-burst-"))
    print(f"Desk in {var_dir}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    env = desk_env(var_dir, options.database_url)
    page_path = prepare_desk(env)
    from letters import bot_defence

    web = start_gunicorn(env, var_dir / "gunicorn.log", workers=options.workers)
    smtp = start_smtp_listener(env, var_dir / "smtpd.log")
    try:
        burst = run_burst(
            web_port=web.port,
            smtp_port=smtp.port,
            page_path=page_path,
            forms=options.forms,
            emails=options.emails,
            started=bot_defence.started_token(at=time.time() - 3600),
        )
    finally:
        web.stop()
        smtp.stop()
    queue_dir = None if options.database_url else var_dir / "celery" / "queue"
    problems = check_stored(burst, queue_dir=queue_dir)
    for process in (web, smtp):
        problems += [
            f"{process.log_path.name}: {line}"
            for line in process.log().splitlines()
            if "ERROR" in line or "Traceback" in line
        ][:5]

    database = "PostgreSQL" if options.database_url else "SQLite WAL"
    print(
        f"\n{options.forms} form posts ({FORM_CLIENTS} clients) and {options.emails} emails "
        f"({SMTP_CLIENTS} SMTP connections) at once; gunicorn {options.workers} sync workers, "
        f"one SMTP listener, {database}; {burst.seconds:.1f} s in all"
    )
    print(describe("form", burst.letters, 302, burst.letters_seconds))
    print(describe("email", burst.emails, 250, burst.emails_seconds))
    print(describe_pages(burst.pages))
    stored = sum(1 for r in burst.letters if r.status == 302)
    mailed = sum(1 for r in burst.emails if r.status == 250)
    print(f"Checked: {stored} letters and {mailed} emails stored exactly once, with their text")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    ok = not problems and all(status == 200 for status, _ in burst.pages)
    print(f"\n{'PASS' if ok else 'FAIL'}  every accepted arrival stored once, pages answered")
    if options.keep:
        print(f"Kept {var_dir}")
    else:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
