"""The embedded broker (kombu's filesystem transport) keeps all its files under LETTERS_VAR_DIR.

Kombu writes its exchange tables to a relative "control" folder unless told otherwise, so a
worker or a producer leaves control/ in whatever directory it was started from: one such
folder, written by a real worker, was once committed to the repository. These tests start real
processes from an empty directory and look at what they leave there.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.worker

WORKER_NAME = "letters-probe@test"

# Publishes a task to the default queue, then asks the worker for a reply over its remote-control
# mailbox: the producer's side of both the task queue and the pidbox.
PRODUCER = """
import sys, time
from reaction_letters.celery import app

app.send_task("celery.accumulate", args=(1,))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if app.control.ping(destination=[sys.argv[1]], timeout=1, limit=1):
        sys.exit(0)
sys.exit("the worker never answered a ping")
"""


@pytest.fixture
def embedded_broker(tmp_path):
    """An empty working directory, a fresh var folder, and an environment using both."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    var_dir = tmp_path / "var"
    env = {
        **os.environ,
        "PYTHONPATH": str(settings.BASE_DIR),
        "LETTERS_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": "filesystem://",
    }
    env.pop("DATABASE_URL", None)  # SQLite under var_dir, even when CI runs on PostgreSQL
    return cwd, var_dir, env


def test_a_worker_and_a_producer_write_nothing_into_the_directory_they_run_in(embedded_broker):
    cwd, var_dir, env = embedded_broker
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "reaction_letters", "worker"),
            *("--pool=solo", "--without-heartbeat", "--without-mingle", "--without-gossip"),
            f"--hostname={WORKER_NAME}",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        producer = subprocess.run(
            [sys.executable, "-c", PRODUCER, WORKER_NAME],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        worker.terminate()
        try:
            worker_output, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker_output, _ = worker.communicate()
    assert producer.returncode == 0, producer.stderr + worker_output

    assert sorted(path.name for path in cwd.iterdir()) == []
    control = {path.name for path in (var_dir / "celery" / "control").iterdir()}
    assert {"celery.exchange", "celery.pidbox.exchange"} <= control, control
