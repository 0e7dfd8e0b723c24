"""The confirmation email sent by a real Celery worker process through the configured broker
(the filesystem queue by default; Redis when CELERY_BROKER_URL says so, as in CI)."""

import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from letters.models import Letter, Status

from .factories import browser_form_data, form_data

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def database_url():
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env():
    """More environment for the worker (a test parametrizes it to switch something on)."""
    return {}


@pytest.fixture
def worker(tmp_path, worker_env):
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "LETTERS_VAR_DIR": str(settings.VAR_DIR),
        **worker_env,
    }
    celery = [sys.executable, "-m", "celery", "-A", "reaction_letters"]
    subprocess.run(
        [*celery, "purge", "-f"],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        timeout=60,
    )
    process = subprocess.Popen(
        [
            *celery,
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield mail_dir
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


def wait_for_mail(mail_dir, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []
        if files:
            return files[0].read_text()
        time.sleep(0.2)
    raise AssertionError(f"no confirmation email within {timeout} s")


def test_a_real_worker_sends_the_confirmation_and_its_link_confirms(client, worker, article):
    response = client.post(article.get_absolute_url(), form_data())
    assert response.status_code == 302
    letter = Letter.objects.get()

    mail = wait_for_mail(worker)
    assert "To: jane@example.com" in mail
    body = re.sub(r"=\r?\n", "", mail)  # undo quoted-printable soft line breaks
    link = re.search(r"https?://\S+/letters/confirm/(\S+?)/", body)
    assert link, mail

    client.post(f"/letters/confirm/{link.group(1)}/")
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED
    assert letter.confirmation_sent_at is not None


SPAM_CHECK = "letters.tests.spam_service.says_buy_now_is_spam"


@pytest.mark.parametrize("worker_env", [{"LETTERS_SPAM_CHECK": SPAM_CHECK}])
def test_a_real_worker_asks_the_spam_service_about_a_web_letter(client, worker, article, settings):
    settings.LETTERS_SPAM_CHECK = SPAM_CHECK
    response = client.post(
        article.get_absolute_url(), browser_form_data(client, article, body="Sir, buy now!")
    )
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert not letter.suspect  # the request itself asked nothing
    deadline = time.monotonic() + 60
    while not letter.suspect and time.monotonic() < deadline:
        time.sleep(0.2)
        letter.refresh_from_db()
    assert letter.suspect_reason == "spam check: listed by the test service"
    assert letter.events.filter(action="marked suspect").count() == 1
