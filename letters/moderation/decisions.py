"""The desk's decisions on a letter: shortlist, approve, reject (with a reply), spam,
reconsider, withdraw, expire, which article it answers, and undoing a decision just taken."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import jobs
from ..models import (
    AWAITING_DECISION,
    TRANSITIONS,
    UNDECIDED,
    Article,
    Letter,
    RejectionReason,
    Reply,
    Status,
)
from .rules import (
    TransitionNotAllowed,
    check,
    last_change,
    lock,
    record,
    refuse_stale,
    signed_in,
    transition,
)


@transaction.atomic
def shortlist(letter_id, *, actor=None, actor_label="", note="", expected_status=None):
    """Put a letter on the shortlist. Safe to repeat.

    From the queue (received) this is a sub-editor's job; taking a decided letter back to the
    shortlist (an approved one loses its publication time) is a decision, for editors only.
    `expected_status`, here and in every decision below: the status the editor saw (see
    rules.transition); a letter that has moved on since raises StaleDecision.
    """
    check(actor, "shortlist")
    letter = lock(letter_id)
    refuse_stale(letter, expected_status, Status.SHORTLISTED)
    if letter.status not in AWAITING_DECISION:
        check(actor, "reconsider")
    return transition(
        letter_id,
        Status.SHORTLISTED,
        action="shortlisted",
        actor=actor,
        actor_label=actor_label,
        note=note,
    )


def approve(letter_id, *, actor=None, actor_label="", note="", expected_status=None):
    """Choose a letter for publication. Safe to repeat."""
    check(actor, "approve")
    return transition(
        letter_id,
        Status.APPROVED,
        action="approved",
        actor=actor,
        actor_label=actor_label,
        note=note,
        expected_status=expected_status,
        decided_at=timezone.now(),
    )


def reject(
    letter_id,
    *,
    reason,
    actor=None,
    actor_label="",
    note="",
    reply_template=None,
    expected_status=None,
):
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
            expected_status=expected_status,
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


def reconsider(letter_id, *, actor=None, actor_label="", note="", expected_status=None):
    """Put a letter back in the queue (from the shortlist, rejected, spam or expired)."""
    check(actor, "reconsider")
    return transition(
        letter_id,
        Status.RECEIVED,
        action="reconsidered",
        actor=actor,
        actor_label=actor_label,
        note=note,
        expected_status=expected_status,
        decided_at=None,
        rejection_reason="",
    )


@transaction.atomic
def withdraw(letter_id, *, actor=None, actor_label="", note="", expected_status=None):
    """Withdraw a letter for good (the writer asked, or it must not run). Safe to repeat.

    Withdrawing a published letter takes it off the site, so it also needs the publisher's
    permission (read under the row lock: a letter published meanwhile is checked as such).
    """
    check(actor, "withdraw")
    letter = lock(letter_id)
    refuse_stale(letter, expected_status, Status.WITHDRAWN)
    if letter.status == Status.PUBLISHED:
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


# What a writer may withdraw from their status page: anything not yet published and not yet
# decided against (a rejected, spam or expired letter has nothing left to withdraw).
WITHDRAWABLE_BY_WRITER = (Status.UNCONFIRMED, Status.RECEIVED, Status.SHORTLISTED, Status.APPROVED)


@transaction.atomic
def withdraw_by_writer(letter_id):
    """The writer withdraws their letter from the status page (their signed link is the proof).

    Allowed before publication only (WITHDRAWABLE_BY_WRITER, read under the row lock: a letter
    published meanwhile is refused with TransitionNotAllowed). Recorded as "withdrawn by the
    writer", actor "writer"; the letter leaves the queue of letters awaiting a decision, and a
    scheduled edition holding it goes back to draft when its time comes. Returns (letter,
    changed). Safe to repeat: a withdrawn letter stays withdrawn and nothing more is recorded.
    """
    letter = lock(letter_id)
    if letter.status == Status.WITHDRAWN:
        return letter, False
    if letter.status not in WITHDRAWABLE_BY_WRITER:
        raise TransitionNotAllowed(
            letter,
            Status.WITHDRAWN,
            "Your letter has been published (or a decision was made on it): it can no longer "
            "be withdrawn here. Please write to the letters desk.",
        )
    return transition(
        letter_id,
        Status.WITHDRAWN,
        action="withdrawn by the writer",
        actor_label="writer",
        publish_at=None,
    )


def mark_spam(letter_id, *, actor=None, actor_label="", note="", expected_status=None):
    check(actor, "mark_spam")
    return transition(
        letter_id,
        Status.SPAM,
        action="marked spam",
        actor=actor,
        actor_label=actor_label,
        note=note,
        expected_status=expected_status,
        decided_at=timezone.now(),
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
            if lock(letter_id).status not in UNDECIDED:
                continue
            _, changed = expire(letter_id, note=f"No decision within {days} days.")
        expired += changed
    return expired


@transaction.atomic
def assign_to_article(letter_id, article_id, *, actor=None, actor_label="", note=""):
    """Attach a letter to the article it answers (or move it). Safe to repeat."""
    check(actor, "assign_to_article")
    letter = lock(letter_id)
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


def queue_reply(letter, template, *, actor=None):
    """Render `template` for `letter`, store the reply and send it after commit (once)."""
    subject, body = template.render(letter)
    reply = Reply.objects.create(
        letter=letter,
        template=template,
        kind=template.kind,
        to=letter.email,
        subject=subject,
        body=body,
        created_by=signed_in(actor),
    )
    record(letter, "reply queued", actor=actor, note=f"{template.name}: {subject}")
    jobs.enqueue(jobs.SEND_REPLY, reply.pk)
    return reply


# The decisions an editor can take back just after taking them (the "Undo" on the desk's
# message): the event's action -> the operation whose permission undoing it needs.
UNDOABLE = {"shortlisted": "shortlist", "rejected": "reject", "marked spam": "mark_spam"}


def undoable(event):
    """Whether `event` is a decision undo() can take back (its reverse is in the table)."""
    return (
        event.action in UNDOABLE
        and Status(event.from_status) in TRANSITIONS[Status(event.to_status)]
    )


@transaction.atomic
def undo(letter_id, event_id, *, actor=None):
    """Take back a shortlisting, rejection or spam marking: the letter returns to the status
    it had, through the transitions table, recorded as an "undone" event.

    Only the letter's latest status change, and only by who made it; a letter that moved on
    since raises TransitionNotAllowed and nothing changes. A reply already queued by the
    rejection is not recalled (the event's note says so). Safe to repeat: undoing a decision
    already undone changes and records nothing. Returns (letter, changed).
    """
    letter = lock(letter_id)
    event = letter.events.get(pk=event_id)
    if not undoable(event):
        raise TransitionNotAllowed(
            letter, event.from_status or letter.status, "This cannot be undone."
        )
    check(actor, UNDOABLE[event.action])
    status_events = letter.events.exclude(to_status="").order_by("-created_at", "-id")
    latest = status_events.first()
    if latest.pk != event.pk:
        if latest.action == "undone" and latest.created_at >= event.created_at:
            if letter.status == event.from_status:
                return letter, False
        raise TransitionNotAllowed(
            letter,
            event.from_status,
            f"This letter is now {last_change(letter)}: its {event.action} can no longer be "
            "undone.",
        )
    if signed_in(actor) is not None and event.actor_id != actor.pk:
        raise TransitionNotAllowed(
            letter, event.from_status, "Only who took a decision can undo it."
        )
    replied = (
        event.action == "rejected"
        and letter.replies.filter(created_at__gte=event.created_at).exists()
    )
    changes = {}
    if event.to_status in (Status.REJECTED, Status.SPAM):
        changes["rejection_reason"] = ""
        if event.from_status in UNDECIDED:
            changes["decided_at"] = None
    return transition(
        letter_id,
        event.from_status,
        action="undone",
        actor=actor,
        note=f"Undid “{event.action}”."
        + (" The reply already sent to the writer is not recalled." if replied else ""),
        expected_status=event.to_status,
        **changes,
    )
