"""Real Celery workers killed with SIGKILL mid-work: nothing is lost, nothing is done twice.

Each test starts a worker (a real process, through the configured broker: the filesystem queue
by default, Redis in CI), holds it in the middle of its work, kills it with SIGKILL, then starts
a second worker and beat (the sweepers every second) and short
claim lifetimes, and checks that the work is done exactly once. The broker gives no help here:
the filesystem queue deleted the message when the dead worker took it, and Redis would hand it
back only after its visibility timeout (an hour); the database's claims and beat's sweepers
recover it.
"""

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from letters import jobs
from letters.intake.store import receive_email
from letters.models import InboundEmail, InboundStatus, Letter, Status, WayIn

from .factories import form_data, free_port, make_message
from .test_worker import database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CELERY = [sys.executable, "-m", "celery", "-A", "reaction_letters"]


def wait_until(condition, what, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


class Workers:
    """Starts real Celery worker processes; kills or stops them; prints their logs at the end."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started = []
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "LETTERS_VAR_DIR": str(settings.VAR_DIR),
        }
        # Whatever earlier tests enqueued with no worker running is not this test's work.
        subprocess.run(
            [*CELERY, "purge", "-f"],
            env=self.env,
            cwd=settings.BASE_DIR,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self, env, *, with_beat=False, pool="solo"):
        """pool="solo": the task runs in the worker's own process, so SIGKILL stops it mid-task.
        pool="prefork": one child process, which the hard time limit kills, as in production."""
        n = len(self.started) + 1
        log = (self.tmp_path / f"worker-{n}.log").open("w")
        args = [
            *CELERY,
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            f"--hostname=killable-{n}@%h",
        ]
        process = self._popen(args, env, log)
        if with_beat:
            # Beat as its own process, as the README runs it. (`worker --beat` forks beat from
            # the worker, and Python 3.13's shelve store, SQLite in WAL mode, then fails now and
            # then with "locking protocol".)
            beat = [
                *CELERY,
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.tmp_path / 'beat-schedule'}",
            ]
            self._popen(beat, env, (self.tmp_path / f"beat-{n}.log").open("w"))
        return process

    def _popen(self, args, env, log):
        process = subprocess.Popen(
            args,
            env={**self.env, **env},
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append((process, log))
        return process

    def kill(self, process):
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL

    def stop_all(self):
        for process, log in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()
            print(f"--- {log.name}\n{open(log.name).read()}")


@pytest.fixture
def workers(tmp_path):
    started = Workers(tmp_path)
    yield started
    started.stop_all()


class HoldingSMTPServer:
    """An SMTP server on 127.0.0.1 that holds the first message in DATA, the moment a sender
    waits for the server's answer, until released; it then refuses it (451). Every later
    message is accepted (250) and kept in `delivered`."""

    def __init__(self):
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held = None
        self.delivered = []

    async def handle_DATA(self, server, session, envelope):
        if self.held is None:
            self.held = envelope.content
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 The test released a held message"
        self.delivered.append(envelope.content)
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_server():
    handler = HoldingSMTPServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    handler.release.set()
    controller.stop()


def message_id(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]


def test_a_worker_killed_mid_send_leaves_the_confirmation_to_the_next_which_sends_it_once(
    client, article, workers, smtp_server
):
    server, port = smtp_server
    mail = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
    }
    first = workers.start(mail)
    response = client.post(article.get_absolute_url(), form_data())
    assert response.status_code == 302
    letter = Letter.objects.get()

    assert server.holding.wait(45), "the worker never reached the SMTP server"
    letter.refresh_from_db()
    assert letter.confirmation_claimed_at is not None
    assert letter.confirmation_sent_at is None
    workers.kill(first)
    server.release.set()

    workers.start(
        {**mail, "LETTERS_SEND_CLAIM_SECONDS": "2", "LETTERS_SWEEP_INTERVAL_SECONDS": "1"},
        with_beat=True,
    )
    wait_until(lambda: server.delivered, "the confirmation delivered by the second worker")
    wait_until(
        lambda: Letter.objects.filter(confirmation_sent_at__isnull=False).exists(),
        "the confirmation recorded as sent",
    )
    time.sleep(3)  # three more sweeps: a sent confirmation is never enqueued again

    (delivered,) = server.delivered
    assert b"To: jane@example.com" in delivered
    assert b"/letters/confirm/" in delivered
    assert message_id(server.held)
    assert message_id(delivered) == message_id(server.held)  # the same mail, sent again
    letter.refresh_from_db()
    assert letter.status == Status.UNCONFIRMED
    assert letter.confirmation_claimed_at is not None
    assert letter.confirmation_sent_at >= letter.confirmation_claimed_at
    assert Letter.objects.count() == 1


def test_a_worker_killed_mid_processing_leaves_the_email_to_the_next_which_makes_one_letter(
    workers, tmp_path
):
    mail_dir = tmp_path / "mail"
    marker = tmp_path / "held"
    mail = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    first = workers.start(
        {
            **mail,
            "LETTERS_SPAM_CHECK": "letters.tests.stalls.never_answers",
            "LETTERS_TEST_STALLED_MARKER": str(marker),
        }
    )
    row, _ = receive_email(make_message(), way_in=WayIn.PIPE)

    wait_until(marker.exists, "the first worker asking the spam service")
    row.refresh_from_db()
    assert (row.status, row.attempts) == (InboundStatus.PROCESSING, 1)
    workers.kill(first)
    assert not Letter.objects.exists()

    workers.start(
        {
            **mail,
            "LETTERS_INBOUND_CLAIM_SECONDS": "2",
            "LETTERS_SWEEP_INTERVAL_SECONDS": "1",
            "LETTERS_EMAIL_ACKNOWLEDGE": "1",
        },
        with_beat=True,
    )
    wait_until(
        lambda: InboundEmail.objects.filter(pk=row.pk, status=InboundStatus.ACCEPTED).exists(),
        "the message processed by the second worker",
    )
    wait_until(lambda: mail_dir.exists() and any(mail_dir.iterdir()), "the acknowledgement")
    time.sleep(3)  # three more sweeps: an accepted message is never processed again

    row.refresh_from_db()
    letter = Letter.objects.get()
    assert row.letter == letter
    assert row.attempts == 2
    assert letter.email == "ann@example.org"
    assert "The trains are late again" in letter.body
    assert not letter.suspect
    (acknowledgement,) = mail_dir.iterdir()
    assert "To: ann@example.org" in acknowledgement.read_text()


def test_a_message_whose_processing_the_hard_time_limit_keeps_killing_ends_failed_and_blocks_none(
    workers, monkeypatch
):
    """A poison message, for real: its processing ignores the soft time limit, the pool's hard
    time limit kills the child each time, the sweeper hands it out again; after
    LETTERS_INBOUND_MAX_ATTEMPTS it ends failed with the reason, and the mail behind it is
    processed meanwhile."""
    # Celery writes the sender's time limits into each message (the worker obeys those): this
    # process sends as the worker and beat, started with the short limits, do.
    processing = jobs.task(jobs.PROCESS_INBOUND_EMAIL)
    monkeypatch.setattr(processing, "time_limit", 3)
    monkeypatch.setattr(processing, "soft_time_limit", 1)
    monkeypatch.setattr(processing, "_exec_options", None)  # Celery's cache of the above
    poison, _ = receive_email(
        make_message(sender="poison@example.org", message_id="<poison@example.org>"),
        way_in=WayIn.PIPE,
    )
    workers.start(
        {
            "CELERY_TASK_TIME_LIMIT": "3",
            "CELERY_TASK_SOFT_TIME_LIMIT": "1",
            "LETTERS_SPAM_CHECK": "letters.tests.stalls.never_answers_nor_stops",
            "LETTERS_INBOUND_CLAIM_SECONDS": "4",
            "LETTERS_INBOUND_MAX_ATTEMPTS": "2",
            "LETTERS_SWEEP_INTERVAL_SECONDS": "1",
        },
        with_beat=True,
        pool="prefork",
    )
    plain, _ = receive_email(make_message(), way_in=WayIn.PIPE)

    wait_until(
        lambda: InboundEmail.objects.filter(pk=plain.pk, status=InboundStatus.ACCEPTED).exists(),
        "the plain message processed while the poison one was stuck",
    )
    wait_until(
        lambda: InboundEmail.objects.filter(pk=poison.pk, status=InboundStatus.FAILED).exists(),
        "the poison message failed after its attempts",
        timeout=90,
    )
    time.sleep(3)  # three more sweeps: a failed message is not handed out again

    poison.refresh_from_db()
    assert poison.attempts == 2
    assert "did not finish in 2 attempts" in poison.reason
    assert poison.letter is None and poison.raw_bytes  # kept raw, for an editor to see
    assert Letter.objects.get().email == "ann@example.org"
