"""Celery tasks: thin wrappers that take ids and call one plain function.

Nothing below this module imports it: work is started by name, after commit, through
letters.jobs. If the broker cannot be reached at that moment nothing is lost: the database row
is the source of truth and the sweepers here, run by Celery beat, enqueue what never arrived.
Tasks that send mail may ack late and retry: each send is claimed, so a repeat sends nothing
while the claim is fresh; a claim left by a worker that died mid-send expires
(LETTERS_SEND_CLAIM_SECONDS) and enqueue_lost_work sends that mail again.
"""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import moderation, notifications, retention
from .checks import analysis
from .intake import acknowledge, imap, process
from .syndication import sync as article_feeds

# A letter whose confirmation email has not gone out this long after it was written is
# assumed lost on the way to the broker and is enqueued again.
LOST_AFTER = timedelta(minutes=2)
# A letter without its analysis this long after it arrived is assumed lost on the way to the
# broker (longer than a confirmation: a big mailbox import keeps the worker busy for minutes,
# and what is still queued must not be sent twice). It is looked for a day back: beat cannot
# run while the broker is down, and catches up within a minute of its return; a letter whose
# analysis keeps failing is not tried for ever.
ANALYSIS_LOST_AFTER = timedelta(minutes=10)
LOST_ANALYSIS_WINDOW = timedelta(days=1)

RETRYING = {"acks_late": True, "autoretry_for": (OSError,), "retry_backoff": True, "max_retries": 5}


@shared_task(acks_late=True)
def letter_submitted(letter_id):
    moderation.start_submitted_work(letter_id)


@shared_task(**RETRYING)
def send_confirmation_email(letter_id):
    notifications.send_confirmation(letter_id)


@shared_task
def enqueue_lost_work():
    """Enqueue mail to writers that never reached the broker (confirmations, replies,
    publication notices), and every mail to a writer
    (confirmation, notice, reply, acknowledgement) whose claim expired unsent because its
    worker died. Safe to run at any time: each send is claimed."""
    now = timezone.now()
    notifications.enqueue_lost_sends(now - LOST_AFTER, now)
    acknowledge.enqueue_lost_acknowledgements(now)
    moderation.enqueue_lost_analyses(now - ANALYSIS_LOST_AFTER, now - LOST_ANALYSIS_WINDOW)


@shared_task(**RETRYING)
def send_publication_notice(letter_id):
    notifications.notify_publication(letter_id)


@shared_task(**RETRYING)
def send_edited_version(letter_id):
    notifications.notify_edited_version(letter_id)


@shared_task(acks_late=True)
def publish_due():
    """Publish scheduled editions and letters whose time has come. Safe to run at any time."""
    moderation.publish_due()


@shared_task(**RETRYING)
def send_reply(reply_id):
    notifications.send_reply(reply_id)


@shared_task
def expire_undecided_letters():
    moderation.expire_undecided()


@shared_task(acks_late=True)
def purge_contact_details():
    """Idempotent: a letter already purged is not matched again."""
    retention.purge_contact_details()


@shared_task(reject_on_worker_lost=True, **RETRYING)
def process_inbound_email(inbound_id):
    """At-least-once: the claim inside makes a repeat harmless."""
    process.process_inbound_email(inbound_id)


@shared_task(**RETRYING)
def send_email_acknowledgement(inbound_id):
    acknowledge.send_acknowledgement(inbound_id)


@shared_task(acks_late=True)
def check_with_spam_service(letter_id):
    """Idempotent: the same reason marks a letter once."""
    moderation.check_with_spam_service(letter_id)


@shared_task
def enqueue_stuck_inbound_email():
    process.enqueue_stuck()


@shared_task
def purge_raw_email():
    retention.purge_raw_email()


@shared_task
def poll_imap():
    """Never raises: a failed poll is logged and the next beat tick tries again."""
    imap.poll_imap()


@shared_task
def sync_article_feeds():
    """Bring the articles of every LETTERS_ARTICLE_FEEDS feed into the desk. Safe to repeat:
    articles are keyed by URL, and an unchanged feed writes no article."""
    article_feeds.sync_configured_feeds()


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def analyse_letter(letter_id):
    """Near-duplicates, exclusivity and quotes of a new letter. Idempotent: run twice, it
    finds and writes the same (a letter gone meanwhile is skipped)."""
    analysis.analyse_letter(letter_id)


@shared_task(**RETRYING)
def analyse_letters(letter_ids):
    """analyse_letter for each of many letters (a mailbox import, the sweeper). A letter
    whose analysis fails is logged and left for the sweeper; the others go on."""
    analysis.analyse_letters(letter_ids)
