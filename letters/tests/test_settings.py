"""Settings are read once per process, so each case starts a fresh Python with its environment."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

PROBE = "import django; django.setup(); from django.conf import settings; print('ok')"


def start_with(env, *args):
    full_env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "reaction_letters.settings",
        "DEBUG": "1",
        "LETTERS_VAR_DIR": str(settings.VAR_DIR / "settings-probe"),
    }
    full_env.update(env)
    command = args or ("-c", PROBE)
    return subprocess.run(
        [sys.executable, *command],
        cwd=settings.BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults_start():
    result = start_with({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("LETTERS_WORD_LIMIT", "three hundred", "LETTERS_WORD_LIMIT must be a whole number"),
        ("LETTERS_WORD_LIMIT", "0", "LETTERS_WORD_LIMIT must be at least 1"),
        (
            "LETTERS_INBOUND_ADDRESS",
            "letters-at-reaction",
            "LETTERS_INBOUND_ADDRESS must be an email",
        ),
        ("DATABASE_URL", "nonsense://x", "DATABASE_URL"),
        ("CELERY_BROKER_URL", "localhost:6379", "CELERY_BROKER_URL must be a URL"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT must be a whole number"),
        ("SITE_URL", "letters.reaction.life", "SITE_URL must be a URL"),
        ("CACHE_URL", "localhost:6379", "CACHE_URL must be a URL"),
        ("LETTERS_RATE_LIMIT_FORM_IP", "ten a minute", "LETTERS_RATE_LIMIT_FORM_IP must be a rate"),
        ("LETTERS_RATE_LIMIT_FORM_EMAIL", "0/h", "LETTERS_RATE_LIMIT_FORM_EMAIL must be a rate"),
        ("LETTERS_RATE_LIMIT_SMTP_CLIENT", "5/0m", "LETTERS_RATE_LIMIT_SMTP_CLIENT must be a rate"),
        ("LETTERS_ADMIN_PATH", "/", "LETTERS_ADMIN_PATH must not be empty"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(variable, value, message):
    env = {variable: value}
    if variable == "EMAIL_PORT":
        env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    result = start_with(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = start_with({"DEBUG": "0", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = start_with(
        {
            "DEBUG": "0",
            "SECRET_KEY": "a-long-random-production-secret-key-" + "q8Zr" * 12,
            "ALLOWED_HOSTS": "letters.reaction.life",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/letters",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
        },
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_rate_limits_are_counted_per_process():
    result = start_with(
        {"DEBUG": "0", "SECRET_KEY": "a-long-random-production-secret-key-" + "q8Zr" * 12},
        "manage.py",
        "check",
        "--deploy",
    )
    assert "letters.W001" in result.stderr + result.stdout
    assert "Set CACHE_URL=redis://" in result.stderr + result.stdout


def test_check_deploy_warns_when_mailgun_tokens_are_remembered_per_process():
    # Even with rate limits and the challenge off, the Mailgun webhook's replay memory needs
    # a cache every worker shares.
    result = start_with(
        {
            "DEBUG": "0",
            "SECRET_KEY": "a-long-random-production-secret-key-" + "q8Zr" * 12,
            "LETTERS_RATE_LIMITS": "off",
            "LETTERS_BOT_CHALLENGE": "off",
            "LETTERS_MAILGUN_WEBHOOK_SIGNING_KEY": "key-mailgun-signing",
        },
        "manage.py",
        "check",
        "--deploy",
    )
    assert "letters.W001" in result.stderr + result.stdout
    assert "Mailgun webhook's used tokens" in result.stderr + result.stdout


def test_rates_read_as_count_per_period():
    result = start_with(
        {"LETTERS_RATE_LIMIT_FORM_IP": "30/h", "LETTERS_RATE_LIMIT_FORM_EMAIL": "5 / 10m"},
        "-c",
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.LETTERS_RATE_LIMIT_FORM_IP, s.LETTERS_RATE_LIMIT_FORM_EMAIL)",
    )
    assert result.stdout.strip() == "(30, 3600) (5, 600)", result.stderr


def test_the_default_database_is_sqlite_in_wal_mode():
    probe = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    result = start_with({}, "-c", probe)
    assert result.stdout.strip() == "wal", result.stderr


def test_postgresql_connections_run_without_jit_unless_the_url_asks_for_it():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])"
    )
    url = "postgres://desk@db.example/letters"
    assert start_with({"DATABASE_URL": url}, "-c", probe).stdout.strip() == "-c jit=off"
    asked = start_with({"DATABASE_URL": url + "?options=-c%20jit%3Don"}, "-c", probe)
    assert asked.stdout.strip() == "-c jit=off -c jit=on", asked.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_desks_postgresql_sessions_have_jit_off():

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
