"""The MTA pipe command: exit 0 once stored, 75 (EX_TEMPFAIL) otherwise, never anything else."""

import io
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection

from letters.intake import pipe
from letters.intake.store import StorageUnavailable
from letters.models import InboundEmail, WayIn

from .factories import eml

ROOT = Path(__file__).resolve().parents[2]


def database_url():
    """The URL of the database the tests use, for a subprocess to write into."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def run_pipe(raw, *args, database=None):
    env = {
        **os.environ,
        "DATABASE_URL": database or database_url(),
        "CELERY_BROKER_URL": "memory://",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "receive_email", *args],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_the_pipe_command_stores_the_message_and_exits_0():
    result = run_pipe(
        eml("plain.eml"), "--sender", "reader@example.org", "--recipient", "letters@reaction.life"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.PIPE
    assert row.raw_bytes == eml("plain.eml")
    assert row.envelope_from == "reader@example.org"
    assert row.envelope_to == ["letters@reaction.life"]


@pytest.mark.django_db(transaction=True)
def test_the_pipe_command_exits_0_for_a_message_that_will_not_parse():
    result = run_pipe(b"\x00\xff\xfe this is not an email at all \x00")
    assert result.returncode == 0, result.stdout + result.stderr
    assert InboundEmail.objects.get().raw_bytes.startswith(b"\x00\xff\xfe")


def test_the_pipe_command_exits_75_with_a_status_line_when_the_database_is_unreachable():
    result = run_pipe(eml("plain.eml"), database="postgres://postgres@127.0.0.1:1/x")
    assert result.returncode == 75
    assert result.stdout.startswith(b"4.3.0 database unavailable")


def test_the_pipe_command_exits_75_not_2_for_bad_arguments():
    result = run_pipe(eml("plain.eml"), "--no-such-option", database="sqlite:///:memory:")
    assert result.returncode == 75
    assert result.stdout.startswith(b"4.3.5")


def test_an_empty_sender_argument_means_the_null_sender():
    with mock.patch("letters.intake.store.receive_email") as store:
        store.return_value = (mock.Mock(pk=1), True)
        code = pipe.deliver(io.BytesIO(b"Subject: x\r\n\r\nhi\r\n"), io.StringIO(), sender="")
    assert code == 0
    assert store.call_args.kwargs["envelope_from"] == "<>"


def test_any_unexpected_error_is_a_temporary_failure_not_a_bounce():
    out = io.StringIO()
    with mock.patch("letters.intake.store.receive_email", side_effect=RuntimeError("bug")):
        assert pipe.deliver(io.BytesIO(b"Subject: x\r\n\r\nhi\r\n"), out) == 75
    assert out.getvalue().startswith("4.3.0")
    with mock.patch(
        "letters.intake.store.receive_email", side_effect=StorageUnavailable("disk full")
    ):
        assert pipe.deliver(io.BytesIO(b"Subject: x\r\n\r\nhi\r\n"), io.StringIO()) == 75


def test_reading_stops_keeping_bytes_past_the_limit_but_counts_them():
    kept, total = pipe.read_message(io.BytesIO(b"x" * 5000), limit=1000)
    assert len(kept) == 1001
    assert total == 5000


@pytest.mark.parametrize(
    "environment",
    [
        {"SECRET_KEY": None, "DEBUG": "0"},  # a pipe started without the desk's environment
        {"DATABASE_URL": "nosuchdb://x"},  # a malformed one
        {"LETTERS_INBOUND_MAX_BYTES": "lots"},
    ],
    ids=["no secret key", "bad database url", "bad number"],
)
def test_the_pipe_command_exits_75_when_the_settings_cannot_load(environment):
    env = {**os.environ, "CELERY_BROKER_URL": "memory://", "DEBUG": "0"}
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "receive_email", "--sender", "r@example.org"],
        input=eml("plain.eml"),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 75, result.stdout + result.stderr
    assert result.stdout.startswith(b"4.3.0 temporary failure")
