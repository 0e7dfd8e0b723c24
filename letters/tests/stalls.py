"""A publisher's spam service that never answers (LETTERS_SPAM_CHECK), importable by a worker.

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
