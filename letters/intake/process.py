"""Turn a stored message into a letter (or record why not), idempotently.

`process_inbound_email` claims a stored message, parses it (`decide`: no database writes),
then records the outcome and creates the letter in one transaction. A failure marks that one
message failed with its reason and never blocks the others.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import jobs, moderation
from ..models import Channel, InboundEmail, InboundEmailEvent, InboundStatus, Letter, Status
from ..moderation.rules import signed_in
from . import characters
from .articles import article_index, inbound_local_part
from .follow_ups import join_thread, thread_ids
from .match import match_article
from .parse import ParseError, parse_email
from .store import NULL_SENDER

log = logging.getLogger(__name__)

# A message claimed longer ago than this is assumed to have lost its worker and is reclaimed.
PROCESSING_TIMEOUT = timedelta(seconds=settings.LETTERS_INBOUND_CLAIM_SECONDS)


@dataclass
class Outcome:
    status: str
    reason: str = ""
    letter: Letter | None = None
    attachments: list = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    acknowledge: bool = False
    date: datetime | None = None  # the message's Date header
    # Threading: In-Reply-To then References, nearest first (empty for suspect mail).
    thread_ids: list = field(default_factory=list)

    def without_letter(self, status, reason):
        """The same message's outcome, with no letter of its own."""
        return Outcome(
            status,
            reason=reason,
            attachments=self.attachments,
            subject=self.subject,
            from_address=self.from_address,
        )


def _cut(value, length):
    """A one-line value (a header, a name) fit to store: at most `length` characters, without
    control or bidi characters. Header values are decoded from encoded words, which can carry
    anything: NUL fails the whole letter on PostgreSQL, U+202E turns a byline around."""
    return characters.clean_line(value or "")[:length]


# --- Deciding what a message is (no database writes) -----------------------------------------


def decide(raw, *, envelope_from, envelope_to, index):
    """Parse one message and say what becomes of it: an unsaved Letter, or a rejection.

    No database writes. Raises nothing for bad mail (ParseError becomes a rejection);
    unexpected errors propagate so the caller records the message as failed.
    """
    try:
        parsed = parse_email(
            raw,
            own_addresses=settings.LETTERS_OWN_ADDRESSES,
            max_bytes=settings.LETTERS_INBOUND_MAX_BYTES,
            max_parts=settings.LETTERS_INBOUND_MAX_PARTS,
            max_depth=settings.LETTERS_INBOUND_MAX_DEPTH,
            max_attachment_bytes=settings.LETTERS_INBOUND_MAX_ATTACHMENT_BYTES,
        )
    except ParseError as exc:
        return Outcome(InboundStatus.REJECTED, reason=exc.reason)
    outcome = Outcome(
        InboundStatus.REJECTED,
        attachments=[
            {
                "filename": _cut(a.filename, 255),
                "content_type": _cut(a.content_type, 255),
                "size": a.size,
                "text_extracted": a.text_extracted,
            }
            for a in parsed.attachments
        ],
        subject=_cut(parsed.subject, 500),
        from_address=_cut(parsed.from_address, 320),
    )
    outcome.reason = _not_a_letter(parsed, envelope_from)
    if outcome.reason:
        return outcome
    parsed.delivered_to = [*parsed.delivered_to, *envelope_to]
    letter = _letter_from(parsed, index)
    outcome.status = InboundStatus.ACCEPTED
    outcome.letter = letter
    outcome.acknowledge = not letter.suspect
    outcome.date = parsed.date
    # A message the MTA doubted (spam verdict, failed DMARC) may forge its From: it never
    # joins an existing letter, it comes in as a new, suspect one.
    outcome.thread_ids = [] if letter.suspect else thread_ids(parsed)
    return outcome


def _not_a_letter(parsed, envelope_from):
    """Why a parsed message is not a letter (automatic mail, a bounce, no text), or ""."""
    if parsed.auto_reason:
        return parsed.auto_reason
    if envelope_from == NULL_SENDER:
        return "bounce (empty envelope sender)"
    if not parsed.from_address:
        return "no sender address"
    if not parsed.body.strip():
        return "no letter text found"
    return ""


def _letter_from(parsed, index):
    """The unsaved Letter a parsed message makes, matched to the article it answers."""
    match = match_article(parsed, index, inbound_local_part=inbound_local_part())
    name = parsed.signoff_name or parsed.from_name or parsed.from_address.partition("@")[0]
    letter = Letter(
        article_id=match.article_id,
        channel=Channel.EMAIL,
        status=Status.RECEIVED,
        body=parsed.body,
        name=_cut(name, 200),
        email=_cut(parsed.from_address, 254),
        town=_cut(parsed.signoff_town, 200),
        address=parsed.signoff_address or "",
        phone=_cut(parsed.signoff_phone, 50),
        subject=_cut(parsed.subject, 500),
        article_match_method=(match.method if match.article_id else "")[:20],
        article_match_confidence=match.confidence if match.article_id else None,
        suspect=bool(parsed.suspect_reasons),
        suspect_reason=_cut("; ".join(parsed.suspect_reasons), 200),
    )
    # Many links or spam phrases, or the publisher's spam service: suspect, never dropped.
    return moderation.screen(letter, subject=parsed.subject, ask_spam_service=True)


def decide_safely(raw, *, envelope_from, envelope_to, index, label):
    """decide(), with an unexpected error turned into a failed outcome naming it."""
    try:
        return decide(raw, envelope_from=envelope_from, envelope_to=envelope_to, index=index)
    except Exception as exc:
        log.exception("Inbound email %s failed to parse", label)
        return Outcome(InboundStatus.FAILED, reason=f"{type(exc).__name__}: {exc}"[:500])


# --- Processing one stored message ----------------------------------------------------------


def claim(inbound_id):
    """Move a pending (or abandoned) message to processing. Returns the claim time or None.

    A message abandoned LETTERS_INBOUND_MAX_ATTEMPTS times (each time its worker died) is not
    claimed again: it is marked failed with the reason, so it cannot loop for ever."""
    now = timezone.now()
    if fail_abandoned(InboundEmail.objects.filter(pk=inbound_id), now):
        return None
    claimed = (
        InboundEmail.objects.filter(pk=inbound_id)
        .filter(
            Q(status=InboundStatus.PENDING)
            | Q(status=InboundStatus.PROCESSING, claimed_at__lt=now - PROCESSING_TIMEOUT)
        )
        .update(status=InboundStatus.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return now if claimed else None


def process_inbound_email(inbound_id, *, acknowledge=True):
    """Parse a stored message and create its letter (or record why not).

    At-least-once safe: the message is claimed by a conditional UPDATE (pending ->
    processing), and the letter is created in the same transaction that marks the message
    accepted, after re-checking the claim under a row lock. A worker killed midway leaves the
    message processing; once PROCESSING_TIMEOUT passes a retry (or the sweeper) reclaims it,
    and still only one letter is made. An error while storing the outcome marks the message
    failed with its reason. Returns the final status, or None if not claimed.
    """
    claimed_at = claim(inbound_id)
    if claimed_at is None:
        return None
    row = InboundEmail.objects.get(pk=inbound_id)
    outcome = decide_safely(
        row.raw_bytes,
        envelope_from=row.envelope_from,
        envelope_to=row.envelope_to,
        index=article_index(),
        label=inbound_id,
    )
    try:
        return _store_outcome(inbound_id, claimed_at, outcome, acknowledge=acknowledge)
    except (OperationalError, InterfaceError):
        raise  # The database is unreachable: the message stays claimed and is retried.
    except Exception as exc:
        # Bad data the database refuses (or a bug): record it and move on, so the message is
        # not reclaimed and retried for ever; an editor can process it again.
        log.exception("Inbound email %s could not be stored as a letter", inbound_id)
        InboundEmail.objects.filter(
            pk=inbound_id, status=InboundStatus.PROCESSING, claimed_at=claimed_at
        ).update(
            status=InboundStatus.FAILED,
            reason=f"{type(exc).__name__}: {exc}"[:500],
            processed_at=timezone.now(),
        )
        return InboundStatus.FAILED


def _store_outcome(inbound_id, claimed_at, outcome, *, acknowledge):
    """Record `outcome` on the claimed message, creating its letter, in one transaction."""
    with transaction.atomic():
        row = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if row.status != InboundStatus.PROCESSING or row.claimed_at != claimed_at:
            return None  # Reclaimed by another worker after ours was presumed dead.
        outcome = _settle(row, outcome)
        letter = None
        if outcome.letter is not None:
            letter = moderation.receive_by_email(outcome.letter, inbound=row)
        row.status = outcome.status
        row.reason = outcome.reason
        row.letter = letter
        row.subject = outcome.subject
        row.from_address = outcome.from_address
        row.attachments = outcome.attachments
        row.processed_at = timezone.now()
        row.save(
            update_fields=[
                "status",
                "reason",
                "letter",
                "subject",
                "from_address",
                "attachments",
                "processed_at",
                "follow_up_to",
            ]
        )
        if (
            outcome.status == InboundStatus.ACCEPTED
            and outcome.acknowledge
            and acknowledge
            and settings.LETTERS_EMAIL_ACKNOWLEDGE
        ):
            jobs.enqueue(jobs.SEND_EMAIL_ACKNOWLEDGEMENT, row.pk)
    return row.status


def _settle(row, outcome):
    """What becomes of an accepted message given what the desk already holds: a follow-up
    joins its letter (row.follow_up_to is set); another copy of a stored message with the
    same Message-ID and text is a duplicate; the same Message-ID with other text is suspect.
    Returns the outcome to store."""
    if outcome.letter is None:
        return outcome
    row.follow_up_to_id = join_thread(
        row, outcome.letter, subject=outcome.subject, thread_ids=outcome.thread_ids
    )
    if row.follow_up_to_id:
        return outcome.without_letter(
            InboundStatus.ACCEPTED, f"follow-up to letter #{row.follow_up_to_id}"
        )
    if not row.message_id_reused:
        return outcome
    earlier = _same_letter_as_earlier(row, outcome.letter)
    if earlier:
        return outcome.without_letter(
            InboundStatus.REJECTED,
            f"duplicate of inbound email #{earlier.pk}, which made letter "
            f"#{earlier.letter_id} (same Message-ID and text)",
        )
    letter = outcome.letter
    letter.suspect = True
    letter.suspect_reason = _cut(
        "; ".join(filter(None, [letter.suspect_reason, "Message-ID reused"])), 200
    )
    outcome.acknowledge = False
    return outcome


def _same_letter_as_earlier(row, letter):
    """For a reused Message-ID: the earlier stored copy that made a letter with the same
    text, if any."""
    earlier = (
        InboundEmail.objects.filter(message_id=row.message_id, letter__isnull=False)
        .exclude(pk=row.pk)
        .select_related("letter")
        .first()
    )
    if earlier and " ".join(earlier.letter.body.split()) == " ".join(letter.body.split()):
        return earlier
    return None


# --- An editor's second try, and the sweeper -------------------------------------------------


def process_again(inbound_ids, *, actor=None):
    """Put messages that made no letter (rejected, failed, or pending whose task was lost)
    back in the queue, each with a "processed again" event naming who asked. Returns how
    many. Needs the process_again permission. Safe to repeat: processing claims each message,
    so a message queued twice is processed once."""
    moderation.check(actor, "process_again")
    with transaction.atomic():
        ids = list(
            InboundEmail.objects.select_for_update()
            .filter(
                pk__in=inbound_ids,
                letter__isnull=True,
                raw_truncated=False,
                raw_purged_at__isnull=True,
                status__in=(InboundStatus.REJECTED, InboundStatus.FAILED, InboundStatus.PENDING),
            )
            .values_list("pk", flat=True)
        )
        InboundEmail.objects.filter(pk__in=ids).update(
            status=InboundStatus.PENDING,
            reason="",
            claimed_at=None,
            processed_at=None,
            attempts=0,
        )
        InboundEmailEvent.objects.bulk_create(
            InboundEmailEvent(inbound_email_id=pk, action="processed again", actor=signed_in(actor))
            for pk in ids
        )
        for pk in ids:
            jobs.enqueue(jobs.PROCESS_INBOUND_EMAIL, pk)
    return len(ids)


def fail_abandoned(messages, now):
    """Mark failed those of `messages` that are processing, abandoned by their worker, and
    were tried LETTERS_INBOUND_MAX_ATTEMPTS times already. Returns how many."""
    tries = settings.LETTERS_INBOUND_MAX_ATTEMPTS
    return messages.filter(
        status=InboundStatus.PROCESSING,
        claimed_at__lt=now - PROCESSING_TIMEOUT,
        attempts__gte=tries,
    ).update(
        status=InboundStatus.FAILED,
        reason=(
            f"processing did not finish in {tries} attempts (the worker was stopped each "
            "time: time limit or memory); process it again once the cause is fixed"
        ),
        processed_at=now,
    )


def enqueue_stuck(limit=1000):
    """Enqueue messages left pending (broker was down) or processing by a dead worker; those
    abandoned too often are marked failed instead."""
    now = timezone.now()
    fail_abandoned(InboundEmail.objects.all(), now)
    ids = InboundEmail.objects.stuck(
        pending_before=now - timedelta(minutes=2), processing_before=now - PROCESSING_TIMEOUT
    ).values_list("pk", flat=True)[:limit]
    for pk in ids:
        jobs.send_now(jobs.PROCESS_INBOUND_EMAIL, pk)
    return len(ids)
