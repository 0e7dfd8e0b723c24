"""The rules every change obeys: the transitions table, permissions, and the audit trail.

`transition` is the only code that writes a letter's status. It locks the row, checks the move
against models.TRANSITIONS, saves and records a LetterEvent (who, when, from, to, note). Asking
for the status a letter already has does nothing and records nothing, so every operation built
on it is safe to run twice (a double click, a retried task).
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from ..models import TRANSITIONS, EditionEvent, Letter, LetterEvent, Status


class TransitionNotAllowed(Exception):
    """The transitions table forbids this move."""

    def __init__(self, letter, to_status, message=None):
        self.letter = letter
        self.to_status = Status(to_status)
        current = Status(letter.status)
        super().__init__(
            message
            or f"A letter that is {current.label.lower()} cannot become "
            f"{self.to_status.label.lower()}."
        )


class StaleDecision(TransitionNotAllowed):
    """The editor decided on a page that showed the letter in a status it no longer has:
    someone else decided in the meantime. Nothing is done; the editor looks again."""

    def __init__(self, letter, expected_status, to_status):
        self.expected_status = Status(expected_status)
        super().__init__(
            letter,
            to_status,
            f"This letter is now {last_change(letter)}, not "
            f"{self.expected_status.label.lower()} as on your page: nothing was changed. "
            "Look at it again before deciding.",
        )


def last_change(letter):
    """The letter's status and who set it when, from its latest status event: "rejected (by
    bob, 3 May 14:02)"; just the status if no event recorded the change."""
    current = Status(letter.status).label.lower()
    last = letter.events.exclude(to_status="").order_by("-created_at", "-id").first()
    if last is None or last.to_status != letter.status:
        return current
    when = timezone.localtime(last.created_at).strftime("%-d %b %H:%M")
    return f"{current} (by {last.who or 'someone'}, {when})"


def refuse_stale(letter, expected_status, to_status):
    """Raise StaleDecision if the editor saw `letter` (locked) as `expected_status` and it is
    now in another status. None: nothing to compare. A letter already in `to_status` passes:
    the same decision twice (a double click) is harmless and changes nothing."""
    if expected_status is None or letter.status in (expected_status, to_status):
        return
    raise StaleDecision(letter, expected_status, to_status)


# The permission each operation needs (see letters.roles for who holds which). Each operation
# checks the actor's permission first (actor=None means the system or the writer, who act
# through their own routes), then changes the letter under a row lock.
PERMISSIONS = {
    "shortlist": "letters.shortlist_letter",
    "approve": "letters.decide_letter",
    "reject": "letters.decide_letter",
    "mark_spam": "letters.decide_letter",
    "reconsider": "letters.decide_letter",
    "withdraw": "letters.decide_letter",
    "expire": "letters.decide_letter",
    "assign_to_article": "letters.decide_letter",
    "edit_text": "letters.change_letter",
    "add_note": "letters.add_note",
    "publish": "letters.publish_letter",
    "unpublish": "letters.publish_letter",
    # Editions of the letters page (letters.moderation.editions).
    "create_edition": "letters.add_edition",
    "arrange_edition": "letters.change_edition",
    "process_again": "letters.process_inboundemail",
    # A writer's personal data (letters.moderation.erasure).
    "export": "letters.export_writer",
    "erase": "letters.erase_writer",
    "delete": "letters.delete_letter",
}


class NotPermitted(PermissionDenied):
    """The user's role does not allow this operation."""

    def __init__(self, user, operation):
        self.operation = operation
        super().__init__(f"{user} is not allowed to {operation.replace('_', ' ')} letters.")


def can(user, operation):
    """Whether `user` may perform `operation` (a key of PERMISSIONS). None is the system."""
    return user is None or user.has_perm(PERMISSIONS[operation])


def check(user, operation):
    """Raise NotPermitted unless `user` may perform `operation`."""
    if not can(user, operation):
        raise NotPermitted(user, operation)


def signed_in(actor):
    """The user to store as the actor: a signed-in user, else None (a label says who acted)."""
    return actor if actor is not None and actor.is_authenticated else None


def lock(letter_id):
    """The letter, its row locked until the current transaction ends."""
    return Letter.objects.select_for_update().get(pk=letter_id)


def record(letter, action, *, actor=None, actor_label="", note="", from_status="", to_status=""):
    """Write one event in the letter's audit trail."""
    return LetterEvent.objects.create(
        letter=letter,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=signed_in(actor),
        actor_label=actor_label,
        note=note,
    )


@transaction.atomic
def transition(
    letter_id,
    to_status,
    *,
    action,
    actor=None,
    actor_label="",
    note="",
    expected_status=None,
    **changes,
):
    """Move a letter to `to_status`, recording who did it.

    Locks the row first, so two editors deciding at once are serialised: the second sees the
    first's result. Returns (letter, changed). Already in `to_status`: nothing is written and
    changed is False. A move the transitions table forbids raises TransitionNotAllowed.
    `expected_status` is the status the editor saw when deciding (None: not known): if the
    letter has moved on since, StaleDecision is raised and nothing changes.
    `changes` are extra field values saved with the move (timestamps, the edited text).
    """
    letter = lock(letter_id)
    if letter.status == to_status:
        return letter, False
    refuse_stale(letter, expected_status, to_status)
    if to_status not in TRANSITIONS[letter.status]:
        raise TransitionNotAllowed(letter, to_status)
    from_status = letter.status
    if from_status == Status.APPROVED and to_status != Status.PUBLISHED:
        # A letter taken off the approved list loses its publication time: approved again
        # later, it must not be published by a schedule set for the earlier decision.
        changes.setdefault("publish_at", None)
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


def record_edition(edition, action, *, from_status, actor=None, actor_label="", note=""):
    """Write one event in an edition's history (its status has just changed)."""
    return EditionEvent.objects.create(
        edition=edition,
        action=action,
        from_status=from_status,
        to_status=edition.status,
        actor=signed_in(actor),
        actor_label=actor_label,
        note=note,
    )
