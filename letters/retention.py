"""Personal data kept no longer than the desk needs it: every purge, in one place.

- A writer's phone and address are for verification only: once the letter is decided
  (rejected, spam, expired, withdrawn or published) they are deleted after
  LETTERS_PURGE_CONTACT_DETAILS_DAYS. Name, town and email stay: the byline and the writer's
  history need them.
- Raw emails are emptied LETTERS_RAW_EMAIL_RETENTION_DAYS after processing (the letter keeps
  its text; the row keeps Message-ID and checksum, so a late redelivery is still known).
- Addresses the desk acknowledged are forgotten once the daily limit no longer needs them.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import EmailAcknowledgement, InboundEmail, Letter, LetterEvent

PURGE_BATCH = 1000
PURGED = "contact details purged"


def purge_contact_details(now=None):
    """Blank phone and address on letters decided more than LETTERS_PURGE_CONTACT_DETAILS_DAYS
    ago, and on letters nobody decided on written more than
    LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS ago, with one "contact details purged" event
    (actor "system") per letter. Returns how many.

    Run daily by Celery beat. Safe to repeat and to run twice at once: each batch locks its
    rows, blanks them with one conditional UPDATE and writes the events with one insert, in
    one transaction; a purged letter no longer matches, so a second run does nothing.
    """
    now = now or timezone.now()
    purged = 0
    days = settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS
    if days:
        due = Letter.objects.contact_details_to_purge(now - timedelta(days=days))
        purged += _purge(due, f"Phone and address deleted {days} days after the decision.", now)
    days = settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS
    if days:
        due = Letter.objects.undecided_contact_details_to_purge(now - timedelta(days=days))
        note = f"Phone and address deleted {days} days after the letter arrived, undecided."
        purged += _purge(due, note, now)
    return purged


def _purge(due, note, now):
    """Blank phone and address on the letters `due`, in locked batches; how many."""
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                due.select_for_update().order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                return purged
            due.filter(pk__in=ids).update(phone="", address="")
            LetterEvent.objects.bulk_create(
                [
                    LetterEvent(
                        letter_id=pk, action=PURGED, actor_label="system", note=note, created_at=now
                    )
                    for pk in ids
                ]
            )
        purged += len(ids)


def purge_raw_email(now=None):
    """Empty the raw bytes of messages processed more than the retention period ago, and
    forget acknowledged addresses older than two days. Returns how many messages were emptied.
    Safe to repeat."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LETTERS_RAW_EMAIL_RETENTION_DAYS)
    purged = InboundEmail.objects.processed_before(cutoff).update(raw=b"", raw_purged_at=now)
    forget_acknowledgements_before(now - timedelta(days=2))
    return purged


def forget_acknowledgements_before(when):
    """Addresses are personal data: keep them only as long as the daily limit needs them."""
    return EmailAcknowledgement.objects.filter(claimed_at__lt=when).delete()[0]
