"""The development path: after bin/run, manage.py works with nothing exported, and production
never notices.

bin/run writes var/development.env (DEBUG=1); manage.py reads it only when neither DEBUG nor
SECRET_KEY is in the environment. Each case runs a fresh Python with only the variables it
names, and its own LETTERS_VAR_DIR, so the real var/ is never touched.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_KEY = "a-long-random-production-secret-key-" + "q8Zr" * 12
REFUSAL = "SECRET_KEY must be set when DEBUG is off"
NOTICE = "using the development settings in"
PRINT_DEBUG = "from django.conf import settings; print(settings.DEBUG)"


@pytest.fixture
def var_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def development_env(var_dir):
    """The file bin/run writes."""
    var_dir.mkdir()
    path = var_dir / "development.env"
    path.write_text("# Written by bin/run.\nDEBUG=1\n")
    return path


def run(var_dir, *args, **env):
    """Run `python *args` in the project with only PATH, LETTERS_VAR_DIR and `env` set."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], "LETTERS_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_check_works_with_nothing_exported_after_bin_run(var_dir, development_env):
    result = run(var_dir, "manage.py", "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    notices = [line for line in result.stderr.splitlines() if NOTICE in line]
    assert notices == [
        f"manage.py: DEBUG and SECRET_KEY are not set, so {NOTICE} {development_env}"
        " (written by bin/run)"
    ]


def test_manage_py_shell_runs_in_debug_mode_from_the_development_file(var_dir, development_env):
    result = run(var_dir, "manage.py", "shell", "-v0", "-c", PRINT_DEBUG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_without_the_development_file_manage_py_still_refuses(var_dir):
    result = run(var_dir, "manage.py", "check")
    assert result.returncode != 0
    assert REFUSAL in result.stderr
    assert NOTICE not in result.stderr


def test_a_secret_key_in_the_environment_means_the_file_is_ignored(var_dir, development_env):
    result = run(var_dir, "manage.py", "shell", "-v0", "-c", PRINT_DEBUG, SECRET_KEY=PRODUCTION_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert NOTICE not in result.stderr


@pytest.mark.parametrize("debug", ["0", ""])
def test_production_without_a_secret_key_still_refuses_despite_the_file(
    var_dir, development_env, debug
):
    result = run(var_dir, "manage.py", "check", DEBUG=debug)
    assert result.returncode != 0
    assert REFUSAL in result.stderr
    assert NOTICE not in result.stderr


@pytest.mark.parametrize(
    "entry_point",
    [
        "import reaction_letters.wsgi",
        "from reaction_letters.celery import app; app.conf.broker_url",
    ],
    ids=["wsgi", "celery"],
)
def test_the_web_server_and_celery_never_read_the_development_file(
    var_dir, development_env, entry_point
):
    result = run(var_dir, "-c", entry_point)
    assert result.returncode != 0
    assert REFUSAL in result.stderr
    assert NOTICE not in result.stderr
