"""The SMTP listener, driven by smtplib against a real aiosmtpd server on 127.0.0.1."""

import smtplib
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from letters.intake import smtp
from letters.intake.store import StorageUnavailable
from letters.models import InboundEmail, WayIn

from .factories import eml, free_port, make_message

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener():
    port = free_port()
    controller = smtp.make_controller("127.0.0.1", port, max_bytes=100_000)
    controller.start()
    yield port
    controller.stop()


def test_a_letter_sent_by_smtp_is_stored_before_250(listener):
    # On the wire every line ends in CRLF; what arrives is stored byte for byte.
    raw = eml("plain.eml").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        refused = client.sendmail("reader@example.org", ["letters@reaction.life"], raw)
    assert refused == {}
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.SMTP
    assert row.raw_bytes == raw
    assert row.envelope_from == "reader@example.org"
    assert row.envelope_to == ["letters@reaction.life"]


def test_a_per_article_address_is_accepted(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.sendmail("r@example.org", ["Letters+some-article@Reaction.Life"], make_message())
    assert InboundEmail.objects.count() == 1


def test_mail_for_any_other_address_gets_550(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.ehlo()
        client.mail("r@example.org")
        code, _ = client.rcpt("editor@reaction.life")
    assert code == 550
    assert InboundEmail.objects.count() == 0


def test_a_message_over_the_size_limit_gets_552(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        # smtplib announces the size, so the server refuses at MAIL FROM already.
        with pytest.raises(smtplib.SMTPSenderRefused) as error:
            client.sendmail(
                "r@example.org", ["letters@reaction.life"], make_message(body="x" * 200_000)
            )
    assert error.value.smtp_code == 552
    assert InboundEmail.objects.count() == 0


def test_a_message_over_the_size_limit_without_a_declared_size_gets_552_after_data(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.helo()  # HELO, not EHLO: no SIZE extension, the limit is found during DATA.
        client.mail("r@example.org")
        client.rcpt("letters@reaction.life")
        code, _ = client.data(make_message(body="x" * 200_000))
    assert code == 552
    assert InboundEmail.objects.count() == 0


def test_a_storage_failure_gets_451_so_the_sender_retries(listener):
    with mock.patch.object(
        smtp, "receive_email", side_effect=StorageUnavailable("database unavailable")
    ):
        with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
            with pytest.raises(smtplib.SMTPDataError) as error:
                client.sendmail("r@example.org", ["letters@reaction.life"], make_message())
    assert error.value.smtp_code == 451
    assert b"4.3.0" in error.value.smtp_error


def test_the_null_sender_is_recorded_as_such(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.sendmail("<>", ["letters@reaction.life"], make_message())
    assert InboundEmail.objects.get().envelope_from == "<>"


def test_the_run_smtpd_command_listens_on_the_given_port(tmp_path):
    port = free_port()
    env = {
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'smtpd.sqlite3'}",
        "LETTERS_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_smtpd", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("run_smtpd did not start listening")
        with client:
            assert client.sendmail("r@example.org", ["letters@reaction.life"], make_message()) == {}
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert f"127.0.0.1:{port}" in output
    assert process.returncode == 0
    check = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from letters.models import InboundEmail; print(InboundEmail.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    assert check.stdout.strip().endswith(b"1")
