"""Follow-ups join the writer's letter instead of making a new one.

A message whose In-Reply-To or References names a mail the desk sent about a letter
(notifications.desk_message_id) or a stored message that made or joined a letter, and that
comes from that letter's address, is a follow-up: it is recorded on the letter
(moderation.record_follow_up).
"""

from django.db.models import Q

from .. import moderation
from ..addresses import normalise_address
from ..models import InboundEmail, Letter
from ..notifications import letter_id_from_message_id

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
    return {pk: normalise_address(email) for pk, email in rows}


def _pick_thread(ids, named, addresses, sender):
    """The first letter the ids name whose writer is `sender` (case-insensitive), else None."""
    sender = normalise_address(sender)
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


def join_thread(row, letter, *, subject, thread_ids):
    """If `letter` (unsaved, made from stored message `row`) follows up an earlier letter,
    record it there and return that letter's id; else None."""
    if not thread_ids:
        return None
    letter_id = thread_letter(thread_ids, letter.email)
    if letter_id is not None:
        moderation.record_follow_up(
            letter_id,
            inbound_id=row.pk,
            message_id=row.message_id,
            subject=subject,
            text=letter.body,
        )
    return letter_id


def follow_ups_in_batch(decided):
    """Message-IDs in an import batch that follow up a letter from the same sender: one made
    earlier (desk mail or stored message) or earlier in this batch. `decided` is a list of
    (Message-ID, Outcome or None). One query for the batch; the caller processes these one at
    a time, after the batch, by the same code as live mail."""
    wanted = {mid for _, outcome in decided if outcome is not None for mid in outcome.thread_ids}
    if not wanted:
        return set()
    named = letters_named(wanted)
    addresses = letter_addresses(set(named.values()))
    senders_in_batch, follow_ups = {}, set()
    for message_id, outcome in decided:
        if outcome is None or outcome.letter is None:
            continue
        sender = normalise_address(outcome.letter.email)
        if outcome.thread_ids and (
            _pick_thread(outcome.thread_ids, named, addresses, sender)
            or any(senders_in_batch.get(mid) == sender for mid in outcome.thread_ids)
        ):
            follow_ups.add(message_id)
        senders_in_batch[message_id] = sender
    return follow_ups
