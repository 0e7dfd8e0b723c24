"""Publishers' spam services that never answer (LETTERS_SPAM_CHECK), importable by a worker.

The worker asks it while it processes an emailed letter: after the message is claimed, before
its letter is stored. letters/tests/test_worker_kills.py points a worker at it to hold that
worker there, then kills it. The file named by LETTERS_TEST_STALLED_MARKER is written on the
way in, so the test knows the worker is held.
"""

import os
import time
from pathlib import Path


def never_answers(text, sender):
    marker = os.environ.get("LETTERS_TEST_STALLED_MARKER")
    if marker:
        Path(marker).write_text(sender)
    time.sleep(600)
    return ""


def never_answers_nor_stops(text, sender):
    """For mail from a poison@ address: a call the soft time limit cannot end (as nh3's Rust
    code once was), so only the hard time limit's kill stops it. Others pass untouched."""
    if not sender.startswith("poison@"):
        return ""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            time.sleep(1)
        except BaseException:  # noqa: BLE001, S110 - the soft time limit, shrugged off
            pass
    return ""
