"""Start background work by task name, once the current transaction commits.

Code below letters.tasks (moderation, intake, notifications) starts work here, so nothing
imports tasks but the outer layers: the arrows point one way. Each name is a task defined in
letters.tasks (a test checks every name is registered). If the broker cannot be reached at
commit, nothing is lost: the database row is the source of truth and beat's sweepers enqueue
the work again.
"""

import logging

from celery import current_app
from celery.exceptions import NotRegistered
from django.db import transaction

log = logging.getLogger(__name__)

LETTER_SUBMITTED = "letters.tasks.letter_submitted"
SEND_CONFIRMATION = "letters.tasks.send_confirmation_email"
SEND_PUBLICATION_NOTICE = "letters.tasks.send_publication_notice"
SEND_EDITED_VERSION = "letters.tasks.send_edited_version"
SEND_REPLY = "letters.tasks.send_reply"
SEND_EMAIL_ACKNOWLEDGEMENT = "letters.tasks.send_email_acknowledgement"
PROCESS_INBOUND_EMAIL = "letters.tasks.process_inbound_email"
CHECK_WITH_SPAM_SERVICE = "letters.tasks.check_with_spam_service"
ANALYSE_LETTER = "letters.tasks.analyse_letter"
ANALYSE_LETTERS = "letters.tasks.analyse_letters"
# Letters per ANALYSE_LETTERS message: a mailbox import of 5,000 sends 50 messages, not 5,000.
ANALYSIS_BATCH = 100

NAMES = (
    LETTER_SUBMITTED,
    SEND_CONFIRMATION,
    SEND_PUBLICATION_NOTICE,
    SEND_EDITED_VERSION,
    SEND_REPLY,
    SEND_EMAIL_ACKNOWLEDGEMENT,
    PROCESS_INBOUND_EMAIL,
    CHECK_WITH_SPAM_SERVICE,
    ANALYSE_LETTER,
    ANALYSE_LETTERS,
)


def task(name):
    """The registered task called `name` (importing letters.tasks if this process has not)."""
    if name not in current_app.tasks:
        # Celery finds letters.tasks by autodiscovery, which a worker runs at start-up.
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[name]


def send_now(name, *args):
    """Send task `name` with `args` to the broker now; never raise. An unreachable broker is
    logged as a warning (the sweepers retry), a name not in NAMES as an error (a bug).

    A process that has not loaded letters.tasks (the web, the pipe, the SMTP listener) sends
    by name and never loads it: the tasks import the worker's dependencies (the analysis'
    numpy and datasketch, half a second of CPU), which those processes never need. One that
    has them loaded, or runs tasks itself (task_always_eager), sends through the task."""
    if name not in NAMES:
        log.error("No task named %s: %r not enqueued", name, args)
        return
    try:
        if name in current_app.tasks or current_app.conf.task_always_eager:
            task(name).apply_async(args=args)
        else:
            current_app.send_task(name, args=args)
    except NotRegistered:
        log.exception("No task named %s: %r not enqueued", name, args)
    except Exception:
        log.warning("Broker unreachable: %s%r left for the sweeper", name, args)


def enqueue(name, *args):
    """Send task `name` with `args` once the current transaction commits; never raise."""
    transaction.on_commit(lambda: send_now(name, *args))
