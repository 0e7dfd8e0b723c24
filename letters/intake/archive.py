"""Mailbox import: an inbox archive (mbox, Maildir) in batches, by the same steps as live mail.

Each batch is named (identify), parsed in-process (process.decide) and written with three bulk
inserts (letters, events, raw messages) in one transaction. Messages already stored are
counted as duplicates; a reused Message-ID, a follow-up, or a batch the database refuses goes
the one-at-a-time way (store.receive_email then process.process_inbound_email). Archives are
not acknowledged: the writers sent them long ago. Safe to run again on the same archive.
"""

from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.utils import timezone

from .. import moderation
from ..models import InboundEmail, InboundStatus, WayIn
from .articles import article_index
from .follow_ups import follow_ups_in_batch
from .identify import identify
from .process import decide_safely, process_inbound_email
from .store import new_raw_row, receive_email


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
    `progress(n)` is called after each batch of n messages."""
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
    fresh, one_by_one = _new_messages(batch, summary)
    decided = [_decided_row(raw, ident, way_in, index) for raw, ident in fresh]
    follow_ups = follow_ups_in_batch([(ident.message_id, o) for _, ident, _, o in decided])
    rows, letters, bulk_raws = [], [], []
    for raw, ident, row, outcome in decided:
        if ident.message_id in follow_ups:
            one_by_one.append(raw)  # threading: these go one at a time, after the batch
            continue
        if outcome is not None and outcome.letter is not None:
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


def _new_messages(batch, summary):
    """([(raw, identity)] new to the desk, [raw] to store one at a time); counts duplicates.
    One query for the batch."""
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
            one_by_one.append(raw)  # a reused Message-ID: processing decides what it is
        else:
            seen[ident.message_id] = ident.checksum
            fresh.append((raw, ident))
    return fresh, one_by_one


def _decided_row(raw, ident, way_in, index):
    """(raw, ident, unsaved InboundEmail with its outcome, Outcome or None if refused unread)."""
    now = timezone.now()
    row = new_raw_row(raw, ident, way_in=way_in, envelope_from="", envelope_to=(), now=now)
    if row.status != InboundStatus.PENDING:
        return raw, ident, row, None  # over the size limit: headers kept, not read
    outcome = decide_safely(
        raw, envelope_from="", envelope_to=(), index=index, label=ident.message_id
    )
    row.status = outcome.status
    row.reason = outcome.reason
    row.subject = outcome.subject
    row.from_address = outcome.from_address
    row.attachments = outcome.attachments
    row.processed_at = now
    if outcome.letter is not None and outcome.date and outcome.date <= now:
        # An archive's letters were written when they were sent, not when imported:
        # the desk's dates and "arrived after letters closed" flag depend on it.
        outcome.letter.created_at = outcome.date
    return raw, ident, row, outcome


def _import_one(raw, way_in, summary):
    row, created = receive_email(raw, way_in=way_in)
    if not created:
        summary.duplicates += 1
        return
    summary.stored += 1
    # Processed here rather than by a worker; the task enqueued on commit finds it done.
    process_inbound_email(row.pk, acknowledge=False)
    row.refresh_from_db(fields=["status"])
    summary.add(row.status)
