"""The only code that changes a letter's status.

Every change locks the letter's row, is checked against models.TRANSITIONS, writes a
LetterEvent (who, when, from, to, note) and enqueues follow-up work on commit. Asking for the
status a letter already has does nothing and records nothing, so every operation here is safe
to run twice (a double click, a retried task).
"""

from django.db import transaction
from django.utils import timezone

from .models import TRANSITIONS, Channel, Letter, LetterEvent, Status


class TransitionNotAllowed(Exception):
    """The transitions table forbids this move."""

    def __init__(self, letter, to_status):
        self.letter = letter
        self.to_status = Status(to_status)
        current = Status(letter.status)
        super().__init__(
            f"A letter that is {current.label.lower()} cannot become "
            f"{self.to_status.label.lower()}."
        )


def record(letter, action, *, actor=None, actor_label="", note="", from_status="", to_status=""):
    """Write one event in the letter's audit trail."""
    return LetterEvent.objects.create(
        letter=letter,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        note=note,
    )


@transaction.atomic
def transition(letter_id, to_status, *, action, actor=None, actor_label="", note="", **changes):
    """Move a letter to `to_status`, recording who did it.

    Locks the row first, so two editors deciding at once are serialised: the second sees the
    first's result. Returns (letter, changed). Already in `to_status`: nothing is written and
    changed is False. A move the transitions table forbids raises TransitionNotAllowed.
    `changes` are extra field values saved with the move (timestamps, the edited text).
    """
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status == to_status:
        return letter, False
    if to_status not in TRANSITIONS[letter.status]:
        raise TransitionNotAllowed(letter, to_status)
    from_status = letter.status
    letter.status = to_status
    for field, value in changes.items():
        setattr(letter, field, value)
    letter.save()
    record(
        letter,
        action,
        actor=actor,
        actor_label=actor_label,
        note=note,
        from_status=from_status,
        to_status=to_status,
    )
    return letter, True


@transaction.atomic
def submit(*, article, actor_label="writer", **fields):
    """Store a letter written on the site and ask the writer to confirm it by email.

    Safe to repeat: a second submission with the same client_token returns the first letter.
    The confirmation email is sent by a task enqueued after commit; if the broker is down the
    letter is still stored, and tasks.enqueue_lost_work sends it later.
    """
    from . import tasks

    token = fields.get("client_token")
    if token:
        existing = Letter.objects.filter(client_token=token).first()
        if existing:
            return existing
    letter = Letter(article=article, channel=Channel.WEB, status=Status.UNCONFIRMED, **fields)
    letter.save()
    record(letter, "submitted", actor_label=actor_label, to_status=Status.UNCONFIRMED)
    tasks.enqueue(tasks.send_confirmation_email, letter.pk)
    return letter


def confirm(letter_id):
    """The writer followed the link in the confirmation email: the letter is received.

    Returns (letter, changed). Following the link again, or after an editor has already
    moved the letter on, changes nothing.
    """
    letter = Letter.objects.get(pk=letter_id)
    if letter.status != Status.UNCONFIRMED:
        return letter, False
    return transition(
        letter_id,
        Status.RECEIVED,
        action="confirmed",
        actor_label="writer",
        confirmed_at=timezone.now(),
    )


def mark_spam(letter_id, *, actor=None, actor_label="", note=""):
    return transition(
        letter_id,
        Status.SPAM,
        action="marked spam",
        actor=actor,
        actor_label=actor_label,
        note=note,
        decided_at=timezone.now(),
    )


# --- Email intake (issue 3) -----------------------------------------------------------------


def receive_by_email(letter, *, inbound=None):
    """Save a letter that arrived by email (status received) and record it. Returns it.

    `letter` is an unsaved Letter built from the message (channel email). The caller holds
    the transaction that also marks the message accepted, so a retry never makes two.
    """
    letter.channel = Channel.EMAIL
    letter.status = Status.RECEIVED
    letter.save()
    note = f"Inbound email #{inbound.pk}" if inbound is not None else ""
    if letter.article_match_method:
        note += f"; article matched by {letter.article_match_method}"
    record(letter, "received by email", actor_label="email", to_status=Status.RECEIVED, note=note)
    return letter


def receive_many_by_email(letters):
    """Save many emailed letters (a mailbox import) with one insert each for letters and events."""
    if not letters:
        return letters
    for letter in letters:
        letter.channel = Channel.EMAIL
        letter.status = Status.RECEIVED
        letter.word_count = len(letter.body.split())
    Letter.objects.bulk_create(letters, batch_size=200)
    LetterEvent.objects.bulk_create(
        [
            LetterEvent(
                letter=letter,
                action="received by email",
                to_status=Status.RECEIVED,
                actor_label="mailbox import",
                note=(
                    f"article matched by {letter.article_match_method}"
                    if letter.article_match_method
                    else ""
                ),
            )
            for letter in letters
        ],
        batch_size=500,
    )
    return letters
