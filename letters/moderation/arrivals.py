"""How letters arrive: written on the site (submit, then confirm by email), received by email
one at a time or in bulk, and a writer's follow-up recorded on their letter."""

import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import jobs
from ..models import Channel, InboundEmail, Letter, LetterEvent, Status, resubmission_key
from .rules import lock, record, transition
from .screening import screen

# A form sent again with the same text, from the same address, about the same article, within
# this long joins the first letter (Back, then Send again; or a double click).
RESUBMISSION_WINDOW = timedelta(days=1)


@transaction.atomic(savepoint=False)  # inside the caller's transaction: no savepoint needed
def submit(*, article, actor_label="writer", **fields):
    """Store a letter written on the site and ask the writer to confirm it by email.

    Its text is screened first (screening.screen: many links or spam phrases mark it suspect),
    and the publisher's spam service, if any, is asked by a task after commit.

    Safe to repeat: a second submission with the same client_token, or with the same text from
    the same address about the same article within RESUBMISSION_WINDOW (the form sent again
    after Back, which renders a new client_token), returns the first letter, with
    `joined_earlier` set on it, and sends no second confirmation. Two such posts racing are
    settled by the unique resubmission_key: the loser finds the winner's letter.
    The confirmation email, the analysis and the spam check are started by one task enqueued
    after commit (start_submitted_work); if the broker is down the letter is still stored,
    and beat's sweeper (notifications.enqueue_lost_sends) sends the confirmation later.
    """
    key = resubmission_key(fields.get("email", ""), getattr(article, "pk", None), fields["body"])
    letter = Letter(
        article=article,
        channel=Channel.WEB,
        status=Status.UNCONFIRMED,
        resubmission_key=key,
        **fields,
    )
    screen(letter)
    # Insert first and look for the earlier letter only when a unique column refuses the row:
    # a repeat is rare, and a lookup before every insert would cost every letter. The second
    # attempt follows the retiring of a stale key (an old or withdrawn letter's).
    for attempt in range(3):
        try:
            with transaction.atomic():
                letter.save()
            break
        except IntegrityError:
            existing = _earlier_submission(fields.get("client_token"), key)
            if existing is not None:
                existing.joined_earlier = True
                return existing
            if attempt == 2:
                raise  # not a repeat after all: the original error
            letter.pk = None
    record(letter, "submitted", actor_label=actor_label, to_status=Status.UNCONFIRMED)
    jobs.enqueue(jobs.LETTER_SUBMITTED, letter.pk)  # one message: start_submitted_work
    return letter


def start_submitted_work(letter_id):
    """Start the work a letter from the form needs, each part a task of its own: the email
    asking the writer to confirm, the analysis (campaigns, exclusivity, quotes) and, if the
    publisher has one (LETTERS_SPAM_CHECK), the spam service's verdict.

    Run by the worker on the one message the form's post sends (tasks.letter_submitted):
    publishing a message is the costliest part of a post after the database's own work, and
    the form is the door a flood comes through. Safe to repeat: every part is.
    """
    jobs.send_now(jobs.SEND_CONFIRMATION, letter_id)
    jobs.send_now(jobs.ANALYSE_LETTER, letter_id)
    if settings.LETTERS_SPAM_CHECK:
        jobs.send_now(jobs.CHECK_WITH_SPAM_SERVICE, letter_id)


def _earlier_submission(client_token, key):
    """The letter a refused insert repeats: the one with its client_token, else the one with
    its resubmission_key if that is recent and not withdrawn. A stale key is retired (set to
    NULL) and None returned, so the caller inserts again."""
    if client_token:
        same_form = Letter.objects.filter(client_token=client_token).first()
        if same_form is not None:
            return same_form
    earlier = Letter.objects.filter(resubmission_key=key).first()
    if earlier is None:
        return None  # retired meanwhile by another post: insert again
    recent = earlier.created_at > timezone.now() - RESUBMISSION_WINDOW
    if recent and earlier.status != Status.WITHDRAWN:
        record(
            earlier,
            "sent again",
            actor_label="writer",
            note="The same text was sent again from the form; joined to this letter.",
        )
        return earlier
    Letter.objects.filter(pk=earlier.pk, resubmission_key=key).update(resubmission_key=None)
    return None


@transaction.atomic
def confirm(letter_id):
    """The writer followed the link in the confirmation email: the letter is received.

    Returns (letter, changed). Following the link again, or after an editor has already
    moved the letter on, changes nothing. The status is read under the row lock: read
    before it, a letter marked spam (or expired) meanwhile would be moved back to received.
    """
    letter = lock(letter_id)
    if letter.status != Status.UNCONFIRMED:
        return letter, False
    return transition(
        letter_id,
        Status.RECEIVED,
        action="confirmed",
        actor_label="writer",
        confirmed_at=timezone.now(),
    )


def _email_confirmation(letter):
    """A letter that came from the writer's own mailbox needs no confirmation link, unless the
    MTA doubted the sender (spam verdict, failed DMARC): then it stays unconfirmed."""
    return None if letter.suspect else (letter.created_at or timezone.now())


def receive_by_email(letter, *, inbound=None):
    """Save a letter that arrived by email (status received) and record it. Returns it.

    `letter` is an unsaved Letter built from the message (channel email). The caller holds
    the transaction that also marks the message accepted, so a retry never makes two.
    """
    letter.channel = Channel.EMAIL
    letter.status = Status.RECEIVED
    letter.confirmed_at = _email_confirmation(letter)
    letter.save()
    inbound_note = f"Inbound email #{inbound.pk}" if inbound else ""
    note = "; ".join(filter(None, [inbound_note, letter.article_match_note]))
    record(letter, "received by email", actor_label="email", to_status=Status.RECEIVED, note=note)
    jobs.enqueue(jobs.ANALYSE_LETTER, letter.pk)  # campaigns, exclusivity, quotes
    return letter


def receive_many_by_email(letters):
    """Save many emailed letters (a mailbox import) with one insert each for letters and events."""
    if not letters:
        return letters
    for letter in letters:
        letter.channel = Channel.EMAIL
        letter.status = Status.RECEIVED
        letter.confirmed_at = _email_confirmation(letter)
        letter.derive_from_body()  # bulk_create skips save()
    Letter.objects.bulk_create(letters, batch_size=200)
    LetterEvent.objects.bulk_create(
        [
            LetterEvent(
                letter=letter,
                action="received by email",
                to_status=Status.RECEIVED,
                actor_label="mailbox import",
                note=letter.article_match_note,
            )
            for letter in letters
        ],
        batch_size=500,
    )
    for batch in _analysis_batches([letter.pk for letter in letters]):
        jobs.enqueue(jobs.ANALYSE_LETTERS, batch)
    return letters


def _analysis_batches(ids):
    """`ids` in lists of jobs.ANALYSIS_BATCH, one ANALYSE_LETTERS message each."""
    return [
        ids[start : start + jobs.ANALYSIS_BATCH]
        for start in range(0, len(ids), jobs.ANALYSIS_BATCH)
    ]


def enqueue_lost_analyses(older_than, since, limit=1000):
    """Enqueue again the work of letters that arrived between `since` and `older_than` and
    were never analysed: their message never reached the broker (Redis down as the form
    stored the letter, or as a mailbox import committed). Web letters are also shown to the
    spam service again, if the publisher has one (that check leaves no mark when it finds
    nothing, and asking twice is harmless). Returns how many letters. Safe to repeat."""
    lost = list(
        Letter.objects.needing_analysis(older_than, since).values_list("pk", "channel")[:limit]
    )
    for batch in _analysis_batches([pk for pk, _ in lost]):
        jobs.send_now(jobs.ANALYSE_LETTERS, batch)
    if settings.LETTERS_SPAM_CHECK:
        for pk, channel in lost:
            if channel == Channel.WEB:
                jobs.send_now(jobs.CHECK_WITH_SPAM_SERVICE, pk)
    return len(lost)


# Follow-ups join the writer's letter.
# Not a status change: a reply from the writer is recorded in the letter's event log for the
# editor. Even "please withdraw my letter" withdraws nothing by itself; an editor decides.

FOLLOW_UP = "follow-up received"
FOLLOW_UP_NOTE_CHARS = 2000
_ASKS_TO_WITHDRAW = re.compile(
    r"\b(withdraw|retract|cancel)\w*\b|\b(do not|don't|not to|please don't) (publish|print|run)\b",
    re.IGNORECASE,
)


@transaction.atomic
def record_follow_up(letter_id, *, inbound_id, message_id, subject="", text=""):
    """Record that the writer followed up letter `letter_id` by email (inbound email
    `inbound_id`): one "follow-up received" event, actor "writer", with the text in the note.

    Returns (letter, changed). Safe to repeat: the same inbound email, or another copy of the
    same message (same Message-ID, different bytes), records nothing more.
    """
    letter = lock(letter_id)
    marker = f"Inbound email #{inbound_id}:"
    if (
        letter.events.filter(action=FOLLOW_UP, note__startswith=marker).exists()
        or InboundEmail.objects.filter(follow_up_to_id=letter_id, message_id=message_id)
        .exclude(pk=inbound_id)
        .exists()
    ):
        return letter, False
    text = text.strip()
    if len(text) > FOLLOW_UP_NOTE_CHARS:
        text = text[:FOLLOW_UP_NOTE_CHARS].rsplit(None, 1)[0] + " […]"
    lines = [f"{marker} {subject!r}" if subject else marker]
    if _ASKS_TO_WITHDRAW.search(text):
        lines.append("The writer may be asking to withdraw the letter: an editor decides.")
    lines += ["", text]
    record(letter, FOLLOW_UP, actor_label="writer", note="\n".join(lines))
    return letter, True
