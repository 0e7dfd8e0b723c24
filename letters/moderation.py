"""The only code that changes a letter's status.

Every change locks the letter's row, is checked against models.TRANSITIONS, writes a
LetterEvent (who, when, from, to, note) and enqueues follow-up work on commit. Asking for the
status a letter already has does nothing and records nothing, so every operation here is safe
to run twice (a double click, a retried task).
"""

import hashlib
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import (
    TRANSITIONS,
    UNDECIDED,
    Article,
    Channel,
    Edition,
    EditionStatus,
    Letter,
    LetterEvent,
    Note,
    RejectionReason,
    Reply,
    Status,
    count_words,
    fingerprint,
)

log = logging.getLogger(__name__)


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


@transaction.atomic
def confirm(letter_id):
    """The writer followed the link in the confirmation email: the letter is received.

    Returns (letter, changed). Following the link again, or after an editor has already
    moved the letter on, changes nothing. The status is read under the row lock: read
    before it, a letter marked spam (or expired) meanwhile would be moved back to received.
    """
    letter = Letter.objects.select_for_update().get(pk=letter_id)
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
    check(actor, "mark_spam")
    return transition(
        letter_id,
        Status.SPAM,
        action="marked spam",
        actor=actor,
        actor_label=actor_label,
        note=note,
        decided_at=timezone.now(),
    )


# --- the desk's operations (moderation queue) ---------------------------------------------
#
# Each operation checks the actor's permission first (actor=None means the system or the
# writer, who act through their own routes), then changes the letter under a row lock.

# The permission each operation needs (see letters.roles for who holds which).
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
}


class NotPermitted(PermissionDenied):
    """The user's role does not allow this operation."""

    def __init__(self, user, operation):
        self.operation = operation
        super().__init__(f"{user} is not allowed to {operation.replace('_', ' ')} letters.")


class EditConflict(Exception):
    """Someone else changed the letter's text since this editor loaded it."""

    def __init__(self, letter):
        self.letter = letter
        super().__init__(
            "Another editor changed this letter's text while you were editing it. "
            "Their version is now saved; compare it with yours before saving again."
        )


def can(user, operation):
    """Whether `user` may perform `operation` (a key of PERMISSIONS). None is the system."""
    return user is None or user.has_perm(PERMISSIONS[operation])


def check(user, operation):
    """Raise NotPermitted unless `user` may perform `operation`."""
    if not can(user, operation):
        raise NotPermitted(user, operation)


def shortlist(letter_id, *, actor=None, actor_label="", note=""):
    """Put a letter on the shortlist. Safe to repeat."""
    check(actor, "shortlist")
    return transition(
        letter_id,
        Status.SHORTLISTED,
        action="shortlisted",
        actor=actor,
        actor_label=actor_label,
        note=note,
    )


def approve(letter_id, *, actor=None, actor_label="", note=""):
    """Choose a letter for publication. Safe to repeat."""
    check(actor, "approve")
    return transition(
        letter_id,
        Status.APPROVED,
        action="approved",
        actor=actor,
        actor_label=actor_label,
        note=note,
        decided_at=timezone.now(),
    )


def reject(letter_id, *, reason, actor=None, actor_label="", note="", reply_template=None):
    """Reject a letter for `reason` (a RejectionReason), optionally replying to the writer.

    The reply is rendered from `reply_template` now and sent by a task after commit, unless
    the desk replies only to letters it publishes (LETTERS_NOTIFY_ONLY_IF_PUBLISHED). Safe to
    repeat: rejecting a rejected letter changes nothing and sends nothing.
    """
    check(actor, "reject")
    reason = RejectionReason(reason)
    with transaction.atomic():
        letter, changed = transition(
            letter_id,
            Status.REJECTED,
            action="rejected",
            actor=actor,
            actor_label=actor_label,
            note=" ".join(filter(None, [reason.label + ".", note])),
            decided_at=timezone.now(),
            rejection_reason=reason,
        )
        if changed and reply_template is not None:
            if settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED:
                record(
                    letter,
                    "no reply",
                    actor_label="system",
                    note="The desk replies only to letters it publishes.",
                )
            else:
                queue_reply(letter, reply_template, actor=actor)
    return letter, changed


def reconsider(letter_id, *, actor=None, actor_label="", note=""):
    """Put a letter back in the queue (from the shortlist, rejected, spam or expired)."""
    check(actor, "reconsider")
    return transition(
        letter_id,
        Status.RECEIVED,
        action="reconsidered",
        actor=actor,
        actor_label=actor_label,
        note=note,
        decided_at=None,
        rejection_reason="",
    )


def withdraw(letter_id, *, actor=None, actor_label="", note=""):
    """Withdraw a letter for good (the writer asked, or it must not run). Safe to repeat.

    Withdrawing a published letter takes it off the site, so it also needs the publisher's
    permission.
    """
    check(actor, "withdraw")
    if Letter.objects.filter(pk=letter_id, status=Status.PUBLISHED).exists():
        check(actor, "unpublish")
    return transition(
        letter_id,
        Status.WITHDRAWN,
        action="withdrawn",
        actor=actor,
        actor_label=actor_label,
        note=note,
        publish_at=None,
    )


def expire(letter_id, *, actor=None, actor_label="system", note=""):
    """Close a letter nobody decided on. Sends nothing: expiry is silent by design."""
    check(actor, "expire")
    return transition(
        letter_id,
        Status.EXPIRED,
        action="expired",
        actor=actor,
        actor_label=actor_label,
        note=note,
        decided_at=timezone.now(),
    )


def expire_undecided(now=None):
    """Expire letters left undecided for LETTERS_EXPIRE_AFTER_DAYS; returns how many.

    Run by Celery beat. Safe to repeat and to run while editors work: each letter is locked
    and checked again, and one decided in the meantime is left alone.
    """
    days = settings.LETTERS_EXPIRE_AFTER_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = 0
    for letter_id in Letter.objects.undecided_before(cutoff).values_list("pk", flat=True)[:5000]:
        with transaction.atomic():
            letter = Letter.objects.select_for_update().get(pk=letter_id)
            if letter.status not in UNDECIDED:
                continue
            _, changed = expire(letter_id, note=f"No decision within {days} days.")
        expired += changed
    return expired


@transaction.atomic
def assign_to_article(letter_id, article_id, *, actor=None, actor_label="", note=""):
    """Attach a letter to the article it answers (or move it). Safe to repeat."""
    check(actor, "assign_to_article")
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.article_id == article_id:
        return letter, False
    article = Article.objects.get(pk=article_id)
    before = letter.article.headline if letter.article_id else "no article"
    letter.article = article
    letter.save(update_fields=["article", "updated_at"])
    record(
        letter,
        "assigned to article",
        actor=actor,
        actor_label=actor_label,
        note=" ".join(filter(None, [f"From {before!r} to {article.headline!r}.", note])),
    )
    return letter, True


def text_version(letter):
    """A token for the letter's editable text, carried by the edit form to detect conflicts."""
    raw = f"{letter.edited_body}\x00{letter.headline}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@transaction.atomic
def edit_text(letter_id, *, edited_body, headline=None, actor=None, expected_version=None):
    """Save the version to publish (and its headline); the writer's original is never touched.

    Records an "edited" event with the word counts. Not a status change. `expected_version`
    is the text_version() the editor started from: if someone else saved a different text in
    the meantime, EditConflict is raised rather than losing their change. Saving the same
    text again (a double click) changes and records nothing.
    """
    check(actor, "edit_text")
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status == Status.WITHDRAWN:
        raise TransitionNotAllowed(letter, letter.status, "A withdrawn letter cannot be edited.")
    if letter.status == Status.PUBLISHED:
        check(actor, "publish")  # editing a published letter changes what readers see
    edited_body = edited_body.replace("\r\n", "\n")
    if edited_body.strip() == letter.body.replace("\r\n", "\n").strip():
        edited_body = ""  # unchanged from the original: nothing to keep
    headline = letter.headline if headline is None else headline.strip()
    if edited_body == letter.edited_body and headline == letter.headline:
        return letter, False
    if expected_version is not None and expected_version != text_version(letter):
        raise EditConflict(letter)
    before = count_words(letter.publishable_text)
    changes = []
    if edited_body != letter.edited_body:
        after = count_words(edited_body or letter.body)
        changes.append(f"{before} -> {after} words (original {letter.word_count}).")
    if headline != letter.headline:
        changes.append(f"Headline: {headline!r}.")
    letter.edited_body = edited_body
    letter.headline = headline
    letter.save(update_fields=["edited_body", "headline", "updated_at"])
    record(letter, "edited", actor=actor, note=" ".join(changes))
    return letter, True


@transaction.atomic
def add_note(letter_id, text, *, actor=None):
    """Add an internal note. The same note from the same person within a minute (a double
    click, a resubmitted form) is stored once."""
    check(actor, "add_note")
    text = text.strip()
    if not text:
        raise ValueError("A note needs some text.")
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    author = actor if actor is not None and actor.is_authenticated else None
    recent = timezone.now() - timedelta(minutes=1)
    existing = letter.notes.filter(author=author, text=text, created_at__gte=recent).first()
    if existing:
        return existing, False
    return Note.objects.create(letter=letter, author=author, text=text), True


def queue_reply(letter, template, *, actor=None):
    """Render `template` for `letter`, store the reply and send it after commit (once)."""
    from . import tasks

    subject, body = template.render(letter)
    reply = Reply.objects.create(
        letter=letter,
        template=template,
        kind=template.kind,
        to=letter.email,
        subject=subject,
        body=body,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    record(letter, "reply queued", actor=actor, note=f"{template.name}: {subject}")
    tasks.enqueue(tasks.send_reply, reply.pk)
    return reply


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
    check(actor, "publish")
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
    check(actor, "unpublish")
    letter = Letter.objects.get(pk=letter_id)
    if letter.status not in (Status.PUBLISHED, Status.WITHDRAWN):
        raise TransitionNotAllowed(
            letter, Status.WITHDRAWN, "Only a published letter can be unpublished."
        )
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
    check(actor, "publish")
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
    check(actor, "publish")
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
def unschedule_edition(edition_id, *, actor=None):
    """Put a scheduled edition back to draft. A published edition is left alone."""
    check(actor, "publish")
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


# --- Email intake -----------------------------------------------------------------


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
        letter.confirmed_at = _email_confirmation(letter)
        letter.word_count = count_words(letter.body)
        letter.fingerprint = fingerprint(letter.body)  # bulk_create skips save()
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


# --- Threading: follow-ups join the writer's letter --------------------------------------------
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
    from .models import InboundEmail

    letter = Letter.objects.select_for_update().get(pk=letter_id)
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
