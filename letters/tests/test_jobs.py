"""letters.jobs: work started by task name, after commit, without importing letters.tasks."""

import base64
import json
import logging
import os
import subprocess
import sys

import pytest

from letters import jobs, tasks

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", jobs.NAMES)
def test_every_job_name_is_a_task_of_letters_tasks(name):
    assert jobs.task(name).name == getattr(tasks, name.rpartition(".")[2]).name == name


def test_a_job_is_sent_only_when_the_transaction_commits(
    enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        jobs.enqueue(jobs.SEND_REPLY, 7)
        assert enqueued == []
    assert len(callbacks) == 1
    assert enqueued == [("letters.tasks.send_reply", (7,))]


def test_an_unknown_name_is_logged_not_raised(caplog):
    with caplog.at_level(logging.ERROR, logger="letters.jobs"):
        jobs.send_now("letters.tasks.no_such_task", 1)
    assert "No task named letters.tasks.no_such_task" in caplog.text


def test_a_process_that_never_imported_the_tasks_finds_them_by_name():
    code = (
        "import django; django.setup();"
        "import sys; from letters import jobs;"
        "assert 'letters.tasks' not in sys.modules;"
        "print(jobs.task(jobs.PROCESS_INBOUND_EMAIL).name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "reaction_letters.settings"},
    )
    assert result.stdout.strip() == "letters.tasks.process_inbound_email", result.stderr


def test_a_process_that_never_imported_the_tasks_sends_a_job_by_name_without_loading_them(
    tmp_path,
):
    code = (
        "import django; django.setup();"
        "import sys; from letters import jobs;"
        "jobs.send_now(jobs.PROCESS_INBOUND_EMAIL, 42);"
        "print(sorted({'letters.tasks', 'letters.checks.signatures', 'datasketch'} & set(sys.modules)))"
    )
    environment = {
        key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"
    }  # the embedded broker: its queue is a folder of files
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "reaction_letters.settings",
            "LETTERS_VAR_DIR": str(tmp_path),
        },
    )
    assert result.stdout.strip() == "[]", result.stderr
    (queued,) = (tmp_path / "celery" / "queue").iterdir()
    message = json.loads(queued.read_text())
    assert message["headers"]["task"] == jobs.PROCESS_INBOUND_EMAIL
    assert json.loads(base64.b64decode(message["body"]))[0] == [42]
