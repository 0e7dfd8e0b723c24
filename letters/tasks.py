"""Celery tasks: thin wrappers that take ids and call one plain function.

Work is enqueued only after the transaction that created it commits (`enqueue`). If the broker
cannot be reached at that moment nothing is lost: the database row is the source of truth and
`enqueue_lost_work`, run by Celery beat, enqueues whatever never reached the broker.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import moderation, notifications
from .models import Letter

log = logging.getLogger(__name__)

# A letter whose confirmation email has not gone out this long after it was written is
# assumed lost on the way to the broker and is enqueued again (sending is claimed, so a
# letter still sitting in the queue is not mailed twice).
LOST_AFTER = timedelta(minutes=2)


def enqueue(task, *args):
    """Enqueue `task` with `args` once the current transaction commits; never raise."""

    def send():
        try:
            task.apply_async(args=args)
        except Exception:
            log.warning("Broker unreachable: %s%r left for the sweeper", task.name, args)

    transaction.on_commit(send)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_confirmation_email(letter_id):
    notifications.send_confirmation(letter_id)


@shared_task
def enqueue_lost_work():
    """Enqueue confirmation emails that never reached the broker. Safe to run at any time."""
    older_than = timezone.now() - LOST_AFTER
    ids = Letter.objects.needing_confirmation_email(older_than).values_list("pk", flat=True)
    for letter_id in ids[:1000]:
        send_confirmation_email.apply_async(args=(letter_id,))


# --- Publication ------------------------------------------------------------------------------
# Notices are sent at most once per letter and kind (see notifications._send_once), so these
# tasks are safe to run twice and may ack late.


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_publication_notice(letter_id):
    notifications.notify_publication(letter_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_edited_version(letter_id):
    notifications.notify_edited_version(letter_id)


@shared_task(acks_late=True)
def publish_due():
    """Publish scheduled editions and letters whose time has come. Safe to run at any time."""
    moderation.publish_due()


# --- Moderation ------------------------------------------------------------------------------
@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reply(reply_id):
    notifications.send_reply(reply_id)


@shared_task
def expire_undecided_letters():
    moderation.expire_undecided()


# --- Retention -------------------------------------------------------------------------------
@shared_task(acks_late=True)
def purge_contact_details():
    """Idempotent: a letter already purged is not matched again."""
    from .retention import purge_contact_details

    purge_contact_details()


# --- Email intake ------------------------------------------------------------------------------


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def process_inbound_email(inbound_id):
    """At-least-once: the claim inside makes a repeat harmless."""
    from .intake.receive import process_inbound_email

    process_inbound_email(inbound_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_acknowledgement(inbound_id):
    from .intake.acknowledge import send_acknowledgement

    send_acknowledgement(inbound_id)


@shared_task
def enqueue_stuck_inbound_email():
    from .intake.receive import enqueue_stuck

    enqueue_stuck()


@shared_task
def purge_raw_email():
    from .intake.receive import purge_raw

    purge_raw()


@shared_task
def poll_imap():
    """Never raises: a failed poll is logged and the next beat tick tries again."""
    from .intake.imap import poll_imap

    poll_imap()
