"""Store raw first, then turn a stored message into a letter, idempotently.

Every way in (pipe, mailbox import, IMAP, webhooks, SMTP) hands raw bytes to `receive_email`,
which stores them in one INSERT and enqueues `process_inbound_email` after commit. Processing
parses, matches the article and creates the letter; a failure marks that one message failed
and never blocks the others. `import_messages` is the bulk path for archives: the same steps,
parsed in-process and written in batches.
"""

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import moderation
from ..models import (
    Article,
    Channel,
    InboundEmail,
    InboundStatus,
    Letter,
    Status,
    WayIn,
    count_words,
)
from ..notifications import letter_id_from_message_id
from .acknowledge import forget_acknowledgements_before
from .match import ArticleIndex, ArticleRef, match_article
from .parse import ParseError, parse_email

log = logging.getLogger(__name__)

# Over the size limit only the header block is kept (up to this much), to show the editor.
TRUNCATED_KEEP_BYTES = 64 * 1024
# A message claimed longer ago than this is assumed to have lost its worker and is reclaimed.
PROCESSING_TIMEOUT = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
NULL_SENDER = "<>"

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)
_REFERENCES = re.compile(rb"^references:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)
_ANGLE_ID = re.compile(rb"<([^<>\s]+)>")


class StorageUnavailable(Exception):
    """The raw message could not be stored for a temporary reason: ask the sender to retry."""


@dataclass(frozen=True)
class Identity:
    message_id: str
    derived: bool
    checksum: str


def header_block(raw):
    match = _HEADER_END.search(raw)
    return raw[: match.start()] if match else raw


def _ids(value):
    ids = _ANGLE_ID.findall(value)
    if not ids:
        ids = [t.strip(b"<>,;") for t in value.split() if b"@" in t]
    return [i.decode("utf-8", "replace") for i in ids if i]


def identify(raw):
    """Message-ID and SHA-256 of a raw message, read without parsing it.

    A message without a Message-ID gets one derived from its checksum, the same one
    letters.intake.parse derives, so every way in names it alike.
    """
    checksum = hashlib.sha256(raw).hexdigest()
    match = _MESSAGE_ID.search(header_block(raw))
    ids = _ids(match.group(1)) if match else []
    if ids:
        return Identity(ids[0][:995], False, checksum)
    return Identity(f"derived-{checksum[:32]}@letters.invalid", True, checksum)


def references_of(raw):
    """The References header's ids (for threading our acknowledgement)."""
    match = _REFERENCES.search(header_block(raw))
    return _ids(match.group(1)) if match else []


# --- Storing --------------------------------------------------------------------------------


def _raw_row(raw, ident, *, way_in, envelope_from, envelope_to, now, total_size=None):
    size = max(len(raw), total_size or 0)
    row = InboundEmail(
        message_id=ident.message_id,
        message_id_derived=ident.derived,
        checksum=ident.checksum,
        raw=raw,
        size=size,
        way_in=way_in,
        envelope_from=(envelope_from or "")[:998],
        envelope_to=[str(a)[:320] for a in envelope_to][:100],
        received_at=now,
    )
    if size > settings.LETTERS_INBOUND_MAX_BYTES:
        limit = settings.LETTERS_INBOUND_MAX_BYTES
        row.raw = header_block(raw)[:TRUNCATED_KEEP_BYTES]
        row.raw_truncated = True
        row.status = InboundStatus.REJECTED
        row.reason = f"message too large ({size:,} bytes, limit {limit:,}); headers kept"
        row.processed_at = now
    return row


def receive_email(raw, *, way_in, envelope_from="", envelope_to=()):
    """Store one raw message and enqueue its processing; return its InboundEmail.

    See store_email, which also says whether the message was new.
    """
    return store_email(raw, way_in=way_in, envelope_from=envelope_from, envelope_to=envelope_to)[0]


def store_email(raw, *, way_in, envelope_from="", envelope_to=(), total_size=None):
    """Store one raw message and enqueue its processing; return (InboundEmail, created).

    Safe to repeat: the same bytes again (by any way in) return the stored row, counted as
    another delivery. The same Message-ID with different bytes is stored too, flagged
    `message_id_reused`; processing then decides whether it is the same letter. Raises
    StorageUnavailable when the database cannot take it (the caller asks for a retry).
    """
    from .. import tasks

    raw = bytes(raw)
    ident = identify(raw)
    try:
        with transaction.atomic():
            same_id = list(
                InboundEmail.objects.filter(message_id=ident.message_id).values_list(
                    "pk", "checksum"
                )
            )
            for pk, checksum in same_id:
                if checksum == ident.checksum:
                    InboundEmail.objects.filter(pk=pk).update(deliveries=F("deliveries") + 1)
                    return InboundEmail.objects.get(pk=pk), False
            row = _raw_row(
                raw,
                ident,
                way_in=way_in,
                envelope_from=envelope_from,
                envelope_to=envelope_to,
                now=timezone.now(),
                total_size=total_size,
            )
            row.message_id_reused = bool(same_id)
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                # Another delivery of the same bytes won the race: that row is ours.
                return InboundEmail.objects.get(
                    message_id=ident.message_id, checksum=ident.checksum
                ), False
            if same_id:
                InboundEmail.objects.filter(pk__in=[pk for pk, _ in same_id]).update(
                    message_id_reused=True
                )
            if row.status == InboundStatus.PENDING:
                tasks.enqueue(tasks.process_inbound_email, row.pk)
            return row, True
    except StorageUnavailable:
        raise
    except Exception as exc:
        log.exception("Could not store an inbound message (%s)", ident.message_id)
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc


# --- Articles -------------------------------------------------------------------------------

_index_cache = {"key": None, "index": None, "at": 0.0}
INDEX_TTL_SECONDS = 300


def article_refs():
    site = settings.SITE_URL
    rows = Article.objects.order_by("id").values_list(
        "id", "slug", "headline", "canonical_url", "standfirst", "body"
    )
    return [
        ArticleRef(
            id=pk,
            slug=slug,
            headline=headline,
            url=canonical or f"{site}/articles/{slug}/",
            text=f"{standfirst}\n\n{body}".strip(),
        )
        for pk, slug, headline, canonical, standfirst, body in rows
    ]


def article_index(fresh=False):
    """The article index, rebuilt when articles were added or after INDEX_TTL_SECONDS."""
    latest = Article.objects.order_by("-id").values_list("id", flat=True).first()
    key = (Article.objects.count(), latest)
    now = time.monotonic()
    if (
        fresh
        or _index_cache["key"] != key
        or now - _index_cache["at"] > INDEX_TTL_SECONDS
        or _index_cache["index"] is None
    ):
        _index_cache.update(key=key, index=ArticleIndex(article_refs()), at=now)
    return _index_cache["index"]


def inbound_local_part():
    return settings.LETTERS_INBOUND_ADDRESS.partition("@")[0]


# --- Deciding what a message is -------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    reason: str = ""
    letter: Letter | None = None
    match_note: str = ""
    attachments: list = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    acknowledge: bool = False
    date: datetime | None = None  # the message's Date header
    # Threading: In-Reply-To then References, nearest first (empty for suspect mail).
    thread_ids: list = field(default_factory=list)


def _parse(raw):
    return parse_email(
        raw,
        own_addresses=settings.LETTERS_OWN_ADDRESSES,
        max_bytes=settings.LETTERS_INBOUND_MAX_BYTES,
        max_parts=settings.LETTERS_INBOUND_MAX_PARTS,
        max_depth=settings.LETTERS_INBOUND_MAX_DEPTH,
        max_attachment_bytes=settings.LETTERS_INBOUND_MAX_ATTACHMENT_BYTES,
    )


def _cut(value, length):
    # Header values are decoded from encoded words, which can carry NUL: PostgreSQL text
    # columns refuse it, so it would fail the whole letter.
    return (value or "").replace("\x00", "")[:length]


def decide(raw, *, envelope_from, envelope_to, index):
    """Parse one message and say what becomes of it: an unsaved Letter, or a rejection.

    No database writes. Raises nothing for bad mail (ParseError becomes a rejection);
    unexpected errors propagate so the caller records the message as failed.
    """
    try:
        parsed = _parse(raw)
    except ParseError as exc:
        return Outcome(InboundStatus.REJECTED, reason=exc.reason)
    attachments = [
        {
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "text_extracted": a.text_extracted,
        }
        for a in parsed.attachments
    ]
    base = {
        "attachments": attachments,
        "subject": _cut(parsed.subject, 500),
        "from_address": _cut(parsed.from_address, 320),
    }
    if parsed.auto_reason:
        return Outcome(InboundStatus.REJECTED, reason=parsed.auto_reason, **base)
    if envelope_from == NULL_SENDER:
        return Outcome(InboundStatus.REJECTED, reason="bounce (empty envelope sender)", **base)
    if not parsed.from_address:
        return Outcome(InboundStatus.REJECTED, reason="no sender address", **base)
    if not parsed.body.strip():
        return Outcome(InboundStatus.REJECTED, reason="no letter text found", **base)

    if envelope_to:
        parsed.delivered_to = [*getattr(parsed, "delivered_to", []), *envelope_to]
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
    letter.word_count = count_words(letter.body)
    return Outcome(
        InboundStatus.ACCEPTED,
        letter=letter,
        acknowledge=not letter.suspect,
        date=parsed.date,
        # A message the MTA doubted (spam verdict, failed DMARC) may forge its From: it never
        # joins an existing letter, it comes in as a new, suspect one.
        thread_ids=[] if letter.suspect else thread_ids(parsed),
        **base,
    )


# --- Threading: follow-ups join the writer's letter -------------------------------------------
# A message whose In-Reply-To or References names a mail the desk sent about a letter
# (notifications.desk_message_id) or a stored message that made or joined a letter, and that
# comes from that letter's address, is a follow-up: it is recorded on the letter
# (moderation.record_follow_up) instead of becoming a new one.

MAX_THREAD_IDS = 20


def thread_ids(parsed):
    """The Message-IDs a message answers, nearest first: In-Reply-To, then References from
    the last. At most MAX_THREAD_IDS."""
    ids = [parsed.in_reply_to, *reversed(parsed.references)]
    return list(dict.fromkeys(i for i in ids if i))[:MAX_THREAD_IDS]


def letters_named(message_ids):
    """{message_id: letter id} for the ids that name a desk mail about a letter, or a stored
    message that made or joined a letter. One query."""
    named = {}
    for mid in message_ids:
        letter_id = letter_id_from_message_id(mid)
        if letter_id:
            named[mid] = letter_id
    rest = set(message_ids) - named.keys()
    if rest:
        rows = (
            InboundEmail.objects.filter(message_id__in=rest)
            .filter(Q(letter__isnull=False) | Q(follow_up_to__isnull=False))
            .values_list("message_id", "letter_id", "follow_up_to_id")
        )
        for mid, made, joined in rows:
            named.setdefault(mid, made or joined)
    return named


def letter_addresses(letter_ids):
    """{letter id: its writer's address, lower case}. One query."""
    if not letter_ids:
        return {}
    rows = Letter.objects.filter(pk__in=letter_ids).values_list("pk", "email")
    return {pk: _address(email) for pk, email in rows}


def _address(value):
    return (value or "").strip().lower()


def _pick_thread(ids, named, addresses, sender):
    """The first letter the ids name whose writer is `sender` (case-insensitive), else None."""
    sender = _address(sender)
    for mid in ids:
        letter_id = named.get(mid)
        if letter_id and addresses.get(letter_id) == sender:
            return letter_id
    return None


def thread_letter(ids, sender):
    """The id of the letter a message from `sender` answering `ids` follows up, or None."""
    if not ids or not sender:
        return None
    named = letters_named(ids)
    return _pick_thread(ids, named, letter_addresses(set(named.values())), sender)


def _join_thread(row, outcome):
    """If `outcome` is a follow-up, record it on its letter; return the Outcome to store."""
    if outcome.letter is None or not outcome.thread_ids:
        return outcome, None
    letter_id = thread_letter(outcome.thread_ids, outcome.letter.email)
    if letter_id is None:
        return outcome, None
    moderation.record_follow_up(
        letter_id,
        inbound_id=row.pk,
        message_id=row.message_id,
        subject=outcome.subject,
        text=outcome.letter.body,
    )
    joined = Outcome(
        InboundStatus.ACCEPTED,
        reason=f"follow-up to letter #{letter_id}",
        attachments=outcome.attachments,
        subject=outcome.subject,
        from_address=outcome.from_address,
    )
    return joined, letter_id


# --- Processing one stored message ----------------------------------------------------------


def claim(inbound_id):
    """Move a pending (or abandoned) message to processing. Returns the claim time or None."""
    now = timezone.now()
    claimed = (
        InboundEmail.objects.filter(pk=inbound_id)
        .filter(
            Q(status=InboundStatus.PENDING)
            | Q(status=InboundStatus.PROCESSING, claimed_at__lt=now - PROCESSING_TIMEOUT)
        )
        .update(status=InboundStatus.PROCESSING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return now if claimed else None


def _same_letter_as_earlier(row, letter):
    """For a reused Message-ID: the letter an earlier copy produced, if the text is the same."""
    earlier = (
        InboundEmail.objects.filter(message_id=row.message_id, letter__isnull=False)
        .exclude(pk=row.pk)
        .select_related("letter")
        .first()
    )
    if earlier and " ".join(earlier.letter.body.split()) == " ".join(letter.body.split()):
        return earlier
    return None


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
    try:
        outcome = decide(
            row.raw_bytes,
            envelope_from=row.envelope_from,
            envelope_to=row.envelope_to,
            index=article_index(),
        )
    except Exception as exc:
        log.exception("Inbound email %s failed to parse", inbound_id)
        outcome = Outcome(InboundStatus.FAILED, reason=f"{type(exc).__name__}: {exc}"[:500])

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
    from .. import tasks

    with transaction.atomic():
        row = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if row.status != InboundStatus.PROCESSING or row.claimed_at != claimed_at:
            return None  # Reclaimed by another worker after ours was presumed dead.
        letter = None
        outcome, row.follow_up_to_id = _join_thread(row, outcome)  # threading (follow-ups)
        if outcome.letter is not None and row.message_id_reused:
            earlier = _same_letter_as_earlier(row, outcome.letter)
            if earlier:
                outcome = Outcome(
                    InboundStatus.REJECTED,
                    reason=f"duplicate of inbound email #{earlier.pk} (same Message-ID and text)",
                    attachments=outcome.attachments,
                    subject=outcome.subject,
                    from_address=outcome.from_address,
                )
                letter = earlier.letter
            else:
                outcome.letter.suspect = True
                outcome.letter.suspect_reason = _cut(
                    "; ".join(filter(None, [outcome.letter.suspect_reason, "Message-ID reused"])),
                    200,
                )
                outcome.acknowledge = False
        if outcome.letter is not None and letter is None:
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
            tasks.enqueue(tasks.send_email_acknowledgement, row.pk)
    return row.status


def process_again(inbound_ids):
    """Put finished messages that made no letter back in the queue. Returns how many."""
    from .. import tasks

    with transaction.atomic():
        ids = list(
            InboundEmail.objects.filter(
                pk__in=inbound_ids,
                letter__isnull=True,
                raw_truncated=False,
                raw_purged_at__isnull=True,
                status__in=(InboundStatus.REJECTED, InboundStatus.FAILED, InboundStatus.PENDING),
            ).values_list("pk", flat=True)
        )
        InboundEmail.objects.filter(pk__in=ids).update(
            status=InboundStatus.PENDING, reason="", claimed_at=None, processed_at=None
        )
        for pk in ids:
            tasks.enqueue(tasks.process_inbound_email, pk)
    return len(ids)


def enqueue_stuck(limit=1000):
    """Enqueue messages left pending (broker was down) or processing by a dead worker."""
    from .. import tasks

    now = timezone.now()
    ids = InboundEmail.objects.stuck(
        pending_before=now - timedelta(minutes=2), processing_before=now - PROCESSING_TIMEOUT
    ).values_list("pk", flat=True)[:limit]
    for pk in ids:
        tasks.process_inbound_email.apply_async(args=(pk,))
    return len(ids)


def purge_raw(now=None):
    """Empty the raw bytes of messages processed more than the retention period ago.

    The row (Message-ID, checksum, outcome) stays so later redeliveries are still known.
    Safe to repeat. Returns how many were emptied.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LETTERS_RAW_EMAIL_RETENTION_DAYS)
    purged = InboundEmail.objects.processed_before(cutoff).update(raw=b"", raw_purged_at=now)
    forget_acknowledgements_before(now - timedelta(days=2))
    return purged


# --- Bulk import ----------------------------------------------------------------------------


@dataclass
class ImportSummary:
    stored: int = 0
    duplicates: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0

    def add(self, status):
        if status == InboundStatus.ACCEPTED:
            self.accepted += 1
        elif status == InboundStatus.REJECTED:
            self.rejected += 1
        elif status == InboundStatus.FAILED:
            self.failed += 1


def import_messages(messages, *, way_in=WayIn.MAILBOX, batch_size=500, progress=None):
    """Store and process many raw messages (an archive) in batches; return an ImportSummary.

    Each batch is parsed in-process and written with three bulk inserts (letters, events,
    raw messages) in one transaction. Messages already stored are counted as duplicates;
    a Message-ID reused with other bytes goes the one-at-a-time way. Archives are not
    acknowledged (the writers sent them long ago). `progress(n)` is called after each batch.
    Safe to run again on the same archive.
    """
    summary = ImportSummary()
    index = article_index(fresh=True)
    batch = []
    for raw in messages:
        batch.append(bytes(raw))
        if len(batch) >= batch_size:
            _import_batch(batch, way_in, index, summary)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        _import_batch(batch, way_in, index, summary)
        if progress:
            progress(len(batch))
    return summary


def _import_batch(batch, way_in, index, summary):
    idents = [identify(raw) for raw in batch]
    known = {}
    for mid, checksum in InboundEmail.objects.filter(
        message_id__in={i.message_id for i in idents}
    ).values_list("message_id", "checksum"):
        known.setdefault(mid, set()).add(checksum)

    fresh, one_by_one, seen = [], [], {}
    for raw, ident in zip(batch, idents, strict=True):
        if ident.checksum in known.get(ident.message_id, ()) or (
            seen.get(ident.message_id) == ident.checksum
        ):
            summary.duplicates += 1
        elif ident.message_id in known or ident.message_id in seen:
            one_by_one.append(raw)
        else:
            seen[ident.message_id] = ident.checksum
            fresh.append((raw, ident))

    now = timezone.now()
    decided = []
    for raw, ident in fresh:
        row = _raw_row(raw, ident, way_in=way_in, envelope_from="", envelope_to=(), now=now)
        outcome = None
        if row.status == InboundStatus.PENDING:
            try:
                outcome = decide(raw, envelope_from="", envelope_to=(), index=index)
            except Exception as exc:
                log.exception("Inbound email %s failed to parse", ident.message_id)
                outcome = Outcome(InboundStatus.FAILED, reason=f"{type(exc).__name__}: {exc}"[:500])
            row.status = outcome.status
            row.reason = outcome.reason
            row.subject = outcome.subject
            row.from_address = outcome.from_address
            row.attachments = outcome.attachments
            row.processed_at = now
        decided.append((raw, ident, row, outcome))

    follow_ups = _follow_ups_in_batch(decided)  # threading: these go one at a time, in order
    rows, letters, bulk_raws = [], [], []
    for raw, ident, row, outcome in decided:
        if ident.message_id in follow_ups:
            one_by_one.append(raw)
            continue
        if outcome is not None and outcome.letter is not None:
            # An archive's letters were written when they were sent, not when imported:
            # the desk's dates and "arrived after letters closed" flag depend on it.
            if outcome.date and outcome.date <= now:
                outcome.letter.created_at = outcome.date
            letters.append((row, outcome.letter))
        rows.append(row)
        bulk_raws.append(raw)

    try:
        with transaction.atomic():
            moderation.receive_many_by_email([letter for _, letter in letters])
            for row, letter in letters:
                row.letter = letter
            InboundEmail.objects.bulk_create(rows, batch_size=200)
    except DatabaseError:
        # Something stored one of these meanwhile, or one message has a value the database
        # refuses: fall back to one at a time, so the others are stored all the same.
        one_by_one = bulk_raws + one_by_one
        rows = []
    for row in rows:
        summary.stored += 1
        summary.add(row.status)
    for raw in one_by_one:
        _import_one(raw, way_in, summary)


def _follow_ups_in_batch(decided):
    """Message-IDs in an import batch that follow up a letter from the same sender: one made
    earlier (desk mail or stored message) or earlier in this batch. One query for the batch;
    these are then processed one at a time, after the batch, by the same code as live mail."""
    wanted = {mid for *_, outcome in decided if outcome is not None for mid in outcome.thread_ids}
    if not wanted:
        return set()
    named = letters_named(wanted)
    addresses = letter_addresses(set(named.values()))
    senders_in_batch, follow_ups = {}, set()
    for _, ident, _, outcome in decided:
        if outcome is None or outcome.letter is None:
            continue
        sender = _address(outcome.letter.email)
        if outcome.thread_ids and (
            _pick_thread(outcome.thread_ids, named, addresses, sender)
            or any(senders_in_batch.get(mid) == sender for mid in outcome.thread_ids)
        ):
            follow_ups.add(ident.message_id)
        senders_in_batch[ident.message_id] = sender
    return follow_ups


def _import_one(raw, way_in, summary):
    row, created = store_email(raw, way_in=way_in)
    if not created:
        summary.duplicates += 1
        return
    summary.stored += 1
    # Processed here rather than by a worker; the task enqueued on commit finds it done.
    process_inbound_email(row.pk, acknowledge=False)
    row.refresh_from_db(fields=["status"])
    summary.add(row.status)
