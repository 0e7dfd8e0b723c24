"""Publication: letters reach the site only through these functions, one letter at a time or a
whole edition of the letters page, now (publish) or at a set time (schedule). Scheduled work is
done by publish_due (Celery beat), which calls the same functions, so a letter published by the
clock is recorded exactly as one published by an editor. Every edition's change of status is
recorded as an EditionEvent.
"""

import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import jobs
from ..models import PUBLISHABLE, Edition, EditionStatus, Letter, Status
from .rules import (
    TransitionNotAllowed,
    check,
    lock,
    record,
    record_edition,
    refuse_stale,
    transition,
)

log = logging.getLogger(__name__)


class EditionNotReady(Exception):
    """An edition cannot be published: it is empty, or some of its letters are not approved."""

    def __init__(self, edition, problem):
        self.edition = edition
        super().__init__(f"{edition} cannot be published: {problem}")


def _is_future(at):
    return at is not None and at > timezone.now()


def _publish_letter(letter_id, *, now, actor=None, actor_label="", note="", expected_status=None):
    """APPROVED -> PUBLISHED at `now`; notifies the writer once, after commit."""
    letter, changed = transition(
        letter_id,
        Status.PUBLISHED,
        action="published",
        actor=actor,
        actor_label=actor_label,
        note=note,
        expected_status=expected_status,
        published_at=now,
        publish_at=None,
    )
    if changed:
        jobs.enqueue(jobs.SEND_PUBLICATION_NOTICE, letter.pk)
    return letter, changed


def publish(letter_id, *, actor=None, actor_label="", expected_status=None):
    """Publish an approved letter now: it becomes PUBLISHED, its published_at is set and the
    writer is told after commit. Returns (letter, changed). Publishing a published letter does
    nothing; a letter that is not approved raises TransitionNotAllowed, one no longer in the
    `expected_status` the editor saw raises StaleDecision. Safe to repeat."""
    check(actor, "publish")
    return _publish_letter(
        letter_id,
        now=timezone.now(),
        actor=actor,
        actor_label=actor_label,
        expected_status=expected_status,
    )


@transaction.atomic
def schedule(letter_id, *, at, actor=None, actor_label="", expected_status=None):
    """Publish an approved letter at `at`: it stays APPROVED with publish_at set, and
    publish_due publishes it when the time comes. A time already past publishes it now.

    Returns (letter, changed). A published letter, or one already scheduled for `at`, is left
    alone; a letter that is not approved raises TransitionNotAllowed, one no longer in the
    `expected_status` the editor saw raises StaleDecision. Safe to repeat.
    """
    check(actor, "publish")
    if not _is_future(at):
        return publish(
            letter_id, actor=actor, actor_label=actor_label, expected_status=expected_status
        )
    letter = lock(letter_id)
    if letter.status == Status.PUBLISHED or letter.publish_at == at:
        return letter, False
    refuse_stale(letter, expected_status, Status.APPROVED)
    if letter.status != Status.APPROVED:
        raise TransitionNotAllowed(letter, Status.PUBLISHED)
    letter.publish_at = at
    letter.save(update_fields=["publish_at", "updated_at"])
    when = timezone.localtime(at).strftime("%-d %B %Y %H:%M")
    record(letter, "scheduled", actor=actor, actor_label=actor_label, note=f"To publish {when}.")
    _offer_edited_version(letter)
    return letter, True


@transaction.atomic
def unpublish(letter_id, *, actor=None, note="", expected_status=None):
    """Take a published letter off the site (PUBLISHED -> WITHDRAWN). Safe to repeat."""
    check(actor, "unpublish")
    letter = lock(letter_id)
    refuse_stale(letter, expected_status, Status.WITHDRAWN)
    if letter.status not in (Status.PUBLISHED, Status.WITHDRAWN):
        raise TransitionNotAllowed(
            letter, Status.WITHDRAWN, "Only a published letter can be unpublished."
        )
    return transition(letter_id, Status.WITHDRAWN, action="unpublished", actor=actor, note=note)


# --- Editions -------------------------------------------------------------------------------


def _lock_edition(edition_id):
    return Edition.objects.select_for_update().get(pk=edition_id)


def _ready_letters(edition):
    """The edition's letters; raises EditionNotReady if it has none or any is not approved."""
    letters = [entry.letter for entry in edition.entries.select_related("letter")]
    problem = _not_ready(letters)
    if problem:
        raise EditionNotReady(edition, problem)
    return letters


def _not_ready(letters):
    """Why these letters cannot be published as an edition, or "" if they can."""
    if not letters:
        return "it has no letters."
    unready = [letter for letter in letters if letter.status not in PUBLISHABLE]
    if unready:
        named = "; ".join(
            f"{letter.signature} ({Status(letter.status).label.lower()})" for letter in unready
        )
        return f"these letters are not approved: {named}."
    return ""


def _set_edition_status(edition, status, action, *, actor=None, actor_label="", note="", **more):
    """Change an edition's status (and `more` fields) and record who did it."""
    from_status = edition.status
    edition.status = status
    for field, value in more.items():
        setattr(edition, field, value)
    edition.save(update_fields=["status", *more])
    record_edition(
        edition, action, from_status=from_status, actor=actor, actor_label=actor_label, note=note
    )


@dataclass
class PublicationPlan:
    """What publishing an edition will do, for the editor to confirm: which letters go out,
    whose writers are told (a letter published before was told then), which writers are sent
    the edited version first (LETTERS_ASK_WRITER_BEFORE_PUBLISHING, when scheduling), and what
    stops it (EditionNotReady's reason, "" if nothing)."""

    letters: list = dataclass_field(default_factory=list)
    notified: list = dataclass_field(default_factory=list)
    sent_edited_version: list = dataclass_field(default_factory=list)
    problem: str = ""


def publication_plan(edition):
    """The PublicationPlan for `edition` as it stands (read only, one query)."""
    entries = edition.entries.select_related("letter").order_by("-is_lead", "position", "id")
    letters = []
    for entry in entries:
        entry.letter.edition_headline = entry.headline  # Letter.published_headline reads it
        letters.append(entry.letter)
    problem = _not_ready(letters)
    ask_first = settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING
    return PublicationPlan(
        letters=letters,
        notified=[letter for letter in letters if letter.status == Status.APPROVED],
        sent_edited_version=[
            letter
            for letter in letters
            if ask_first and letter.status == Status.APPROVED and letter.was_edited
        ],
        problem=str(EditionNotReady(edition, problem)) if problem else "",
    )


@transaction.atomic
def publish_edition(edition_id, *, actor=None, actor_label=""):
    """Publish an edition and every letter in it now, in one transaction.

    Returns (edition, changed). Every letter must be approved (or already published): if any
    is not, EditionNotReady names them and nothing is published. Each letter goes through the
    same transition as a single publication, so each writer is told once. Publishing a
    published edition does nothing. Safe to repeat.
    """
    check(actor, "publish")
    edition = _lock_edition(edition_id)
    if edition.status == EditionStatus.PUBLISHED:
        return edition, False
    now = timezone.now()
    note = f"In the letters page: {edition}."
    for letter in _ready_letters(edition):
        _publish_letter(letter.pk, now=now, actor=actor, actor_label=actor_label, note=note)
    _set_edition_status(
        edition,
        EditionStatus.PUBLISHED,
        "published",
        actor=actor,
        actor_label=actor_label,
        published_at=now,
    )
    return edition, True


@transaction.atomic
def schedule_edition(edition_id, *, at, actor=None, actor_label=""):
    """Set an edition to be published at `at` by publish_due. Returns (edition, changed).

    Its letters must be approved now, so the editor hears of a problem while there is time to
    fix it. A time already past publishes at once. A published edition is left alone. If
    LETTERS_ASK_WRITER_BEFORE_PUBLISHING is on, writers whose letters were edited are sent the
    edited version (once each). Safe to repeat.
    """
    check(actor, "publish")
    if not _is_future(at):
        return publish_edition(edition_id, actor=actor, actor_label=actor_label)
    edition = _lock_edition(edition_id)
    if edition.status == EditionStatus.PUBLISHED:
        return edition, False
    if edition.status == EditionStatus.SCHEDULED and edition.publish_at == at:
        return edition, False
    letters = _ready_letters(edition)
    when = timezone.localtime(at).strftime("%-d %B %Y %H:%M")
    _set_edition_status(
        edition,
        EditionStatus.SCHEDULED,
        "scheduled",
        actor=actor,
        actor_label=actor_label,
        note=f"To publish {when}.",
        publish_at=at,
    )
    for letter in letters:
        _offer_edited_version(letter)
    return edition, True


@transaction.atomic
def unschedule_edition(edition_id, *, actor=None, actor_label="", note=""):
    """Put a scheduled edition back to draft. A draft or published edition is left alone."""
    check(actor, "publish")
    edition = _lock_edition(edition_id)
    if edition.status != EditionStatus.SCHEDULED:
        return edition, False
    _set_edition_status(
        edition,
        EditionStatus.DRAFT,
        "back to draft",
        actor=actor,
        actor_label=actor_label,
        note=note,
    )
    return edition, True


def publish_due(now=None):
    """Publish every scheduled edition and single letter whose time has come.

    Safe to run at any time and twice at once: each publication locks its row and does nothing
    if it is already published. An edition that can no longer be published (a letter in it was
    withdrawn since it was scheduled) goes back to draft, recorded with the reason, so the
    editor sees it and it is not retried every minute. Returns (editions, letters) published.
    """
    now = now or timezone.now()
    editions = letters = 0
    for edition_id in Edition.objects.due(now).values_list("pk", flat=True):
        try:
            _, changed = publish_edition(edition_id, actor_label="schedule")
        except EditionNotReady as exc:
            log.error("Scheduled edition not published, back to draft: %s", exc)
            unschedule_edition(edition_id, actor_label="schedule", note=str(exc))
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
    if (
        settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING
        and letter.status == Status.APPROVED
        and letter.was_edited
    ):
        jobs.enqueue(jobs.SEND_EDITED_VERSION, letter.pk)
