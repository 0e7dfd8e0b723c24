"""Store raw first: the one receive function every way in (pipe, SMTP, IMAP, webhooks, mailbox
import) hands its bytes to. One INSERT, then processing is enqueued after commit."""

import logging

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import jobs
from ..models import InboundEmail, InboundStatus
from .identify import header_block, identify, refused_identity, without_controls

log = logging.getLogger(__name__)

# Over the size limit only the header block is kept (up to this much), to show the editor.
TRUNCATED_KEEP_BYTES = 64 * 1024
NULL_SENDER = "<>"


class StorageUnavailable(Exception):
    """The raw message could not be stored for a temporary reason: ask the sender to retry."""


def new_raw_row(raw, ident, *, way_in, envelope_from, envelope_to, now, total_size=None):
    """The unsaved InboundEmail for a raw message; over the size limit, only its headers are
    kept and it is rejected at once with the reason."""
    size = max(len(raw), total_size or 0)
    row = InboundEmail(
        message_id=ident.message_id,
        message_id_derived=ident.derived,
        checksum=ident.checksum,
        raw=raw,
        size=size,
        way_in=way_in,
        envelope_from=without_controls(envelope_from)[:998],
        envelope_to=[without_controls(a)[:320] for a in envelope_to][:100],
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


def receive_email(raw, *, way_in, envelope_from="", envelope_to=(), total_size=None):
    """Store one raw message and enqueue its processing; return (InboundEmail, created).

    Safe to repeat: the same bytes again (by any way in) return the stored row, counted as
    another delivery. The same Message-ID with different bytes is stored too, flagged
    `message_id_reused`; processing then decides whether it is the same letter. Raises
    StorageUnavailable when the database cannot take it (the caller asks for a retry).
    `total_size` is the message's real size when the caller kept only the first bytes.
    """
    raw = bytes(raw)
    ident = identify(raw)
    try:
        with transaction.atomic():
            row = new_raw_row(
                raw,
                ident,
                way_in=way_in,
                envelope_from=envelope_from,
                envelope_to=envelope_to,
                now=timezone.now(),
                total_size=total_size,
            )
            return _insert_once(row, ident)
    except DataError as exc:
        # A value in this message the database refuses: a permanent error, so keep the raw
        # bytes under a derived name, failed with the reason, rather than ask for a retry.
        log.exception("Inbound message refused by the database (%s)", ident.message_id)
        return _store_refused(raw, ident, way_in=way_in, reason=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("Could not store an inbound message (%s)", ident.message_id)
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc


def _insert_once(row, ident):
    """Insert `row` unless the same bytes are stored already; (row, created)."""
    same_id = list(
        InboundEmail.objects.filter(message_id=ident.message_id).values_list("pk", "checksum")
    )
    for pk, checksum in same_id:
        if checksum == ident.checksum:
            InboundEmail.objects.filter(pk=pk).update(deliveries=F("deliveries") + 1)
            return InboundEmail.objects.get(pk=pk), False
    row.message_id_reused = bool(same_id)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Another delivery of the same bytes won the race: that row is ours.
        stored = InboundEmail.objects.get(message_id=ident.message_id, checksum=ident.checksum)
        return stored, False
    if same_id:
        InboundEmail.objects.filter(pk__in=[pk for pk, _ in same_id]).update(message_id_reused=True)
    if row.status == InboundStatus.PENDING:
        jobs.enqueue(jobs.PROCESS_INBOUND_EMAIL, row.pk)
    return row, True


def _store_refused(raw, ident, *, way_in, reason):
    """Store a message whose own values the database refused: raw bytes only, named by its
    checksum, failed with `reason` for an editor to see. Returns (row, created)."""
    derived = refused_identity(ident)
    now = timezone.now()
    row = new_raw_row(raw, derived, way_in=way_in, envelope_from="", envelope_to=(), now=now)
    row.status = InboundStatus.FAILED
    row.reason = reason[:500]
    row.processed_at = now
    try:
        with transaction.atomic():
            return _insert_once(row, derived)
    except Exception as exc:
        raise StorageUnavailable(f"database unavailable: {type(exc).__name__}") from exc
