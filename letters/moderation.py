"""The only code that changes a letter's status.

Every change locks the letter's row, is checked against models.TRANSITIONS, writes a
LetterEvent (who, when, from, to, note) and enqueues follow-up work on commit. Asking for the
status a letter already has does nothing and records nothing, so every operation here is safe
to run twice (a double click, a retried task).
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import TRANSITIONS, Channel, Edition, EditionStatus, Letter, LetterEvent, Status

log = logging.getLogger(__name__)


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

    letter = Letter(article=article, channel=Channel.WEB, status=Status.UNCONFIRMED, **fields)
    # Insert first and look for the earlier letter only when the unique client_token refuses
    # the row: a repeat is rare, and a lookup before every insert would cost every letter.
    try:
        with transaction.atomic():
            letter.save()
    except IntegrityError:
        token = fields.get("client_token")
        existing = Letter.objects.filter(client_token=token).first() if token else None
        if existing is None:
            raise
        return existing
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


# --- placeholder approve, replaced at merge ---
# The moderation half of issue 4 writes the real approve(); this minimal one lets the
# publication tests and the browser test approve a letter.
def approve(letter_id, *, actor=None, note=""):
    return transition(
        letter_id,
        Status.APPROVED,
        action="approved",
        actor=actor,
        note=note,
        decided_at=timezone.now(),
    )


# --- end placeholder approve ---


# --- publication ---
# Letters appear on the site only through these functions: one letter at a time (publish) or a
# whole edition of the letters page (publish_edition), now or at a set time. Scheduled work is
# done by tasks.publish_due, which calls the same functions, so a letter published by the
# clock is recorded exactly as one published by an editor.

PUBLISHABLE = (Status.APPROVED, Status.PUBLISHED)


class EditionNotReady(Exception):
    """An edition cannot be published: it is empty, or some of its letters are not approved."""

    def __init__(self, edition, problem):
        self.edition = edition
        super().__init__(f"{edition} cannot be published: {problem}")


def _is_future(at, now):
    return at is not None and at > now


def _publish_letter(letter_id, *, now, actor=None, actor_label="", note=""):
    """APPROVED -> PUBLISHED at `now`; notifies the writer once, after commit."""
    from . import tasks

    letter, changed = transition(
        letter_id,
        Status.PUBLISHED,
        action="published",
        actor=actor,
        actor_label=actor_label,
        note=note,
        published_at=now,
        publish_at=None,
    )
    if changed:
        tasks.enqueue(tasks.send_publication_notice, letter.pk)
    return letter, changed


@transaction.atomic
def publish(letter_id, *, actor=None, actor_label="", at=None):
    """Publish an approved letter now, or at `at` if that is in the future.

    Returns (letter, changed). Now: the letter becomes PUBLISHED, its published_at is set and
    the writer is told after commit. Later: the letter stays APPROVED with publish_at set, and
    tasks.publish_due publishes it when the time comes. Publishing a published letter does
    nothing; a letter that is not approved raises TransitionNotAllowed. Safe to repeat.
    """
    now = timezone.now()
    if not _is_future(at, now):
        return _publish_letter(letter_id, now=now, actor=actor, actor_label=actor_label)
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status == Status.PUBLISHED or letter.publish_at == at:
        return letter, False
    if letter.status != Status.APPROVED:
        raise TransitionNotAllowed(letter, Status.PUBLISHED)
    letter.publish_at = at
    letter.save(update_fields=["publish_at", "updated_at"])
    when = timezone.localtime(at).strftime("%-d %B %Y %H:%M")
    record(letter, "scheduled", actor=actor, actor_label=actor_label, note=f"To publish {when}.")
    _offer_edited_version(letter)
    return letter, True


def unpublish(letter_id, *, actor=None, note=""):
    """Take a published letter off the site (PUBLISHED -> WITHDRAWN). Safe to repeat."""
    return transition(letter_id, Status.WITHDRAWN, action="unpublished", actor=actor, note=note)


def _lock_edition(edition_id):
    return Edition.objects.select_for_update().get(pk=edition_id)


def _check_ready(edition, letters):
    if not letters:
        raise EditionNotReady(edition, "it has no letters.")
    unready = [letter for letter in letters if letter.status not in PUBLISHABLE]
    if unready:
        named = "; ".join(
            f"{letter.signature} ({Status(letter.status).label.lower()})" for letter in unready
        )
        raise EditionNotReady(edition, f"these letters are not approved: {named}.")


def _edition_letters(edition):
    return [entry.letter for entry in edition.entries.select_related("letter")]


@transaction.atomic
def publish_edition(edition_id, *, actor=None, actor_label="", at=None):
    """Publish an edition and every letter in it, in one transaction; or schedule it if `at`
    is in the future.

    Returns (edition, changed). Every letter must be approved (or already published): if any
    is not, EditionNotReady names them and nothing is published. Each letter goes through the
    same transition as a single publication, so each writer is told once. Publishing a
    published edition does nothing. Safe to repeat.
    """
    now = timezone.now()
    if _is_future(at, now):
        return schedule_edition(edition_id, at=at, actor=actor, actor_label=actor_label)
    edition = _lock_edition(edition_id)
    if edition.status == EditionStatus.PUBLISHED:
        return edition, False
    letters = _edition_letters(edition)
    _check_ready(edition, letters)
    note = f"In the letters page: {edition}."
    for letter in letters:
        _publish_letter(letter.pk, now=now, actor=actor, actor_label=actor_label, note=note)
    edition.status = EditionStatus.PUBLISHED
    edition.published_at = now
    edition.save(update_fields=["status", "published_at"])
    return edition, True


@transaction.atomic
def schedule_edition(edition_id, *, at, actor=None, actor_label=""):
    """Set an edition to be published at `at` by tasks.publish_due. Returns (edition, changed).

    Its letters must be approved now, so the editor hears of a problem while there is time to
    fix it. A time already past publishes at once. A published edition is left alone. If
    LETTERS_ASK_WRITER_BEFORE_PUBLISHING is on, writers whose letters were edited are sent the
    edited version (once each). Safe to repeat.
    """
    if not _is_future(at, timezone.now()):
        return publish_edition(edition_id, actor=actor, actor_label=actor_label)
    edition = _lock_edition(edition_id)
    if edition.status == EditionStatus.PUBLISHED:
        return edition, False
    if edition.status == EditionStatus.SCHEDULED and edition.publish_at == at:
        return edition, False
    letters = _edition_letters(edition)
    _check_ready(edition, letters)
    edition.status = EditionStatus.SCHEDULED
    edition.publish_at = at
    edition.save(update_fields=["status", "publish_at"])
    for letter in letters:
        _offer_edited_version(letter)
    return edition, True


@transaction.atomic
def unschedule_edition(edition_id):
    """Put a scheduled edition back to draft. A published edition is left alone."""
    edition = _lock_edition(edition_id)
    if edition.status != EditionStatus.SCHEDULED:
        return edition, False
    edition.status = EditionStatus.DRAFT
    edition.save(update_fields=["status"])
    return edition, True


def publish_due(now=None):
    """Publish every scheduled edition and single letter whose time has come.

    Safe to run at any time and twice at once: each publication locks its row and does nothing
    if it is already published. An edition that can no longer be published (a letter in it was
    withdrawn since it was scheduled) goes back to draft, logged, so the editor sees it and it
    is not retried every minute. Returns (editions published, letters published).
    """
    now = now or timezone.now()
    editions = letters = 0
    for edition_id in Edition.objects.due(now).values_list("pk", flat=True):
        try:
            _, changed = publish_edition(edition_id, actor_label="schedule")
        except EditionNotReady as exc:
            log.error("Scheduled edition not published, back to draft: %s", exc)
            Edition.objects.filter(pk=edition_id, status=EditionStatus.SCHEDULED).update(
                status=EditionStatus.DRAFT
            )
            continue
        editions += changed
    for letter_id in Letter.objects.due_for_publication(now).values_list("pk", flat=True):
        try:
            _, changed = _publish_letter(letter_id, now=now, actor_label="schedule")
        except TransitionNotAllowed as exc:  # decided otherwise since the query above
            log.warning("Scheduled letter %s not published: %s", letter_id, exc)
            continue
        letters += changed
    return editions, letters


def _offer_edited_version(letter):
    """Before publication, send the writer the edited text if the desk asks writers to agree."""
    from . import tasks

    if (
        settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING
        and letter.status == Status.APPROVED
        and letter.was_edited
    ):
        tasks.enqueue(tasks.send_edited_version, letter.pk)


# --- end publication ---
