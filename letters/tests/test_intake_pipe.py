"""The MTA pipe command: exit 0 once stored, 75 (EX_TEMPFAIL) otherwise, never anything else."""

import io
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from letters.intake import pipe
from letters.intake.store import StorageUnavailable
from letters.models import InboundEmail, WayIn

from .factories import eml, free_port

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


# --- The fast way: `python -m letters.intake.pipe` hands the message to the running listener --


def run_fast_pipe(raw, *args, relay, database=None, python_options=(), environment=None):
    env = {
        **os.environ,
        "DATABASE_URL": database or database_url(),
        "CELERY_BROKER_URL": "memory://",
        "LETTERS_PIPE_RELAY": relay,
        **(environment or {}),
    }
    return subprocess.run(
        [sys.executable, *python_options, "-m", "letters.intake.pipe", *args],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


UNREACHABLE_DATABASE = "postgres://postgres@127.0.0.1:1/x"
ENVELOPE = ("--sender", "reader@example.org", "--recipient", "letters+some-article@reaction.life")


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_hands_the_message_to_the_listener_and_exits_0_once_stored(listener):
    # The pipe's own database is unreachable: exit 0 proves the listener stored it.
    raw = eml("plain.eml").replace(b"\r\n", b"\n")
    result = run_fast_pipe(
        raw, *ENVELOPE, relay=f"127.0.0.1:{listener}", database=UNREACHABLE_DATABASE
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert result.stdout == f"stored as inbound email {row.pk}\n".encode()
    assert result.stderr == b""
    assert row.way_in == WayIn.SMTP
    assert row.raw_bytes == raw.replace(b"\n", b"\r\n")  # lines end in CRLF on the wire
    assert row.envelope_from == "reader@example.org"
    assert row.envelope_to == ["letters+some-article@reaction.life"]


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_loads_no_django_database_driver_or_broker_when_it_relays(listener):
    result = run_fast_pipe(
        eml("plain.eml"),
        *ENVELOPE,
        relay=f"127.0.0.1:{listener}",
        python_options=["-X", "importtime"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()}
    assert "letters.intake" in imported  # the pipe itself runs as __main__
    heavy = {"django", "psycopg", "sqlite3", "redis", "kombu", "celery"}
    assert not {name.split(".")[0] for name in imported} & heavy


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_costs_under_150_ms_of_cpu_a_message_as_a_whole_process(listener):
    costs = []
    for n in range(5):
        raw = eml("plain.eml").replace(b"<", f"<cpu{n}.".encode(), 1)  # a new Message-ID each
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = run_fast_pipe(raw, *ENVELOPE, relay=f"127.0.0.1:{listener}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert result.returncode == 0, result.stdout + result.stderr
        costs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    assert statistics.median(costs) < 0.150, costs
    assert InboundEmail.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_stores_the_message_itself_when_no_listener_answers():
    result = run_fast_pipe(eml("plain.eml"), *ENVELOPE, relay=f"127.0.0.1:{free_port()}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == b""
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.PIPE
    assert row.raw_bytes == eml("plain.eml")


@pytest.mark.django_db(transaction=True)
def test_the_pipe_storing_in_process_boots_django_without_the_similarity_maths():
    # datasketch (with numpy and scipy) is the worker's analysis only: loaded at start-up, it
    # doubled the CPU of every process that boots the desk (1.3 s, now 0.6 s).
    result = run_fast_pipe(
        eml("plain.eml"),
        *ENVELOPE,
        relay=f"127.0.0.1:{free_port()}",
        python_options=["-X", "importtime"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(b"stored as inbound email")
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()}
    top_level = {name.split(".")[0] for name in imported}
    assert {"django", "letters"} <= top_level
    assert not top_level & {"datasketch", "numpy", "scipy"}


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_hands_nothing_to_a_server_that_is_not_the_desks_listener():
    handler = mock.Mock(spec=["handle_DATA"])
    handler.handle_DATA = mock.AsyncMock(return_value="250 OK")
    port = free_port()
    stranger = Controller(handler, hostname="127.0.0.1", port=port)
    stranger.start()
    try:
        result = run_fast_pipe(eml("plain.eml"), *ENVELOPE, relay=f"127.0.0.1:{port}")
    finally:
        stranger.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    handler.handle_DATA.assert_not_called()
    assert InboundEmail.objects.get().way_in == WayIn.PIPE


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_stores_itself_what_the_listener_refuses_for_good(listener):
    # The listener takes only the desk's addresses (550); the pipe never bounces a letter.
    result = run_fast_pipe(
        eml("plain.eml"),
        "--sender",
        "reader@example.org",
        "--recipient",
        "editor@reaction.life",
        relay=f"127.0.0.1:{listener}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert row.way_in == WayIn.PIPE
    assert row.envelope_to == ["editor@reaction.life"]


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_exits_75_with_the_listeners_line_when_it_cannot_store(listener):
    with mock.patch(
        "letters.intake.smtp.receive_email",
        side_effect=StorageUnavailable("database unavailable: OperationalError"),
    ):
        result = run_fast_pipe(eml("plain.eml"), *ENVELOPE, relay=f"127.0.0.1:{listener}")
    assert result.returncode == 75
    assert result.stdout.startswith(b"4.3.0 database unavailable: OperationalError")
    assert not InboundEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_fast_pipe_without_an_envelope_sender_stores_in_process_not_as_a_bounce(listener):
    # Relayed, an unknown sender would become the null sender <> (a bounce, rejected).
    result = run_fast_pipe(
        eml("plain.eml"), "--recipient", "letters@reaction.life", relay=f"127.0.0.1:{listener}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert (row.way_in, row.envelope_from) == (WayIn.PIPE, "")


def test_a_malformed_relay_address_is_a_temporary_failure_naming_no_secret():
    result = run_fast_pipe(
        eml("plain.eml"), *ENVELOPE, relay="nonsense", database="sqlite:///:memory:"
    )
    assert result.returncode == 75
    assert result.stdout == b"4.3.5 desk misconfigured: ValueError\n"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "command",
    [["manage.py", "receive_email"], ["-m", "letters.intake.pipe"]],
    ids=["manage.py", "python -m"],
)
def test_the_pipe_prints_nothing_but_its_status_line(command, tmp_path):
    # The embedded broker (as bin/run and a fresh install have it) is the one that warned.
    env = {**os.environ, "DATABASE_URL": database_url(), "LETTERS_VAR_DIR": str(tmp_path)}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("LETTERS_PIPE_RELAY", None)
    result = subprocess.run(
        [
            sys.executable,
            *command,
            "--sender",
            "r@example.org",
            "--recipient",
            "letters@reaction.life",
        ],
        input=eml("plain.eml"),
        capture_output=True,
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "INFO"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = InboundEmail.objects.get()
    assert result.stdout == f"stored as inbound email {row.pk}\n".encode()
    assert result.stderr == b""
    assert list((tmp_path / "celery" / "queue").iterdir()), "its processing was enqueued"


def test_an_unexpected_error_while_relaying_is_a_temporary_failure_not_a_bounce():
    out = io.StringIO()
    with mock.patch.object(pipe, "relay", side_effect=RuntimeError("bug")):
        code = pipe.run(
            ["--sender", "r@example.org", "--recipient", "letters@reaction.life"],
            io.BytesIO(b"Subject: x\r\n\r\nhi\r\n"),
            out,
            {"LETTERS_PIPE_RELAY": "127.0.0.1:2525"},
        )
    assert code == 75
    assert out.getvalue() == "4.3.0 temporary failure: RuntimeError\n"
