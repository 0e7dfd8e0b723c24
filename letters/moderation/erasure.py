"""Erasing a writer's personal data at their request (erase_writer) and deleting one letter
(delete_letter). Both leave an anonymised trace of what happened (who decided what, when) and
nothing personal. What the desk holds and its export are in writer_data.py.

A writer is an email address, matched case-insensitively as the desk's writer history matches
it (Letter.email__iexact). What the desk holds is: their letters; the mail that made or
followed up those letters, or came from the address; each letter's events, notes, replies and
notices and its places in editions; the addresses kept for the daily acknowledgement limit.

The erasure policy (README, "Personal data and retention"):
- A letter that is not published is deleted, not blanked in place: a blank row would still say
  who wrote when about what (with its article, dates and statuses), would sit in the queue as an
  empty letter or need a status no transition allows (a rejected letter cannot be withdrawn), and
  would be one more special case for every page. Its events stay, with the letter's id in
  `former_letter_id`, without their notes (a note can quote the writer), plus a "deleted" event.
- A published letter, by LETTERS_ERASE_PUBLISHED: "keep" leaves it on the site as published,
  signed with name and town, with only the published text (the writer's unpublished original
  goes), and its email, phone, address, subject and notes removed; "withdraw" withdraws it
  through letters.moderation (recorded, needs the publisher's permission) and deletes it.
- Notes about the writer's letters are deleted: they are the desk's working remarks on a
  decision already made, and often about the writer. Replies (the mail sent, with the address
  and the letter quoted) are deleted; the notices' records (kind and time, nothing personal)
  stay with a kept letter.
- Raw emails are emptied at once; the row keeps its Message-ID and checksum, so a redelivery
  of the same message is still recognised and does not bring the letter back. Mail not yet
  read is marked rejected, so no letter is made from it afterwards.
- The admin's own log names a letter by its text: those entries are renamed "Letter #<id>".
- The erasure is recorded in WriterErasure: who carried it out, when, the policy, how many
  items of each kind, the letters' ids, and a keyed hash of the address, never the address.
"""

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .. import jobs
from ..checks import clusters as similarity_clusters
from ..models import (
    EditionEvent,
    InboundEmail,
    InboundEmailEvent,
    InboundStatus,
    Letter,
    LetterEvent,
    Status,
    WriterErasure,
)
from .decisions import withdraw
from .rules import TransitionNotAllowed, check, lock, record, signed_in
from .writer_data import (
    address_hash,
    earlier_erasures,
    writer_address,
    writers_acknowledgements,
    writers_emails,
    writers_letters,
    writers_merges,
)

ERASED = "erased at the writer's request"
KEEP, WITHDRAW = "keep", "withdraw"


def _forget_admin_log(letter_ids):
    """The admin's log names an object by its str() ("Name: the letter's first words")."""
    content_type = ContentType.objects.get_for_model(Letter)
    for pk in letter_ids:
        LogEntry.objects.filter(content_type=content_type, object_id=str(pk)).update(
            object_repr=f"Letter #{pk}"
        )


def _empty_emails(emails, *, actor, actor_label, reason, now):
    """Empty the raw bytes and the personal fields of `emails`; mail not yet read is marked
    rejected so no letter is made from it. Message-ID and checksum stay. How many."""
    ids = list(emails.select_for_update().order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    rows = InboundEmail.objects.filter(pk__in=ids)
    rows.filter(status__in=(InboundStatus.PENDING, InboundStatus.PROCESSING)).update(
        status=InboundStatus.REJECTED, reason=f"Not read: {reason}.", processed_at=now
    )
    rows.filter(raw_purged_at__isnull=True).update(raw_purged_at=now)
    rows.update(raw=b"", from_address="", envelope_from="", subject="", attachments=[])
    InboundEmailEvent.objects.filter(inbound_email_id__in=ids).update(note="")
    InboundEmailEvent.objects.bulk_create(
        InboundEmailEvent(
            inbound_email_id=pk,
            action="erased",
            actor=signed_in(actor),
            actor_label=actor_label,
            note=f"Raw message and sender emptied: {reason}.",
            created_at=now,
        )
        for pk in ids
    )
    return len(ids)


def _letters_mail(letter):
    return InboundEmail.objects.filter(Q(letter=letter) | Q(follow_up_to=letter))


def _delete(letter, *, actor, actor_label, reason, now, empty_mail=True):
    """Delete a locked letter, keeping its trail: the events stay (with its id, without their
    notes) and a "deleted" event says who deleted it, when and why; it is taken out of any
    edition (recorded in the edition's history); its mail is emptied now (unless the caller
    has done so: `empty_mail`). Returns counts."""
    for entry in letter.edition_entries.select_related("edition"):
        EditionEvent.objects.create(
            edition=entry.edition,
            action="letter removed",
            actor=signed_in(actor),
            actor_label=actor_label,
            note=f"Letter #{letter.pk} was deleted: {reason}.",
            created_at=now,
        )
        entry.delete()
    if empty_mail:
        _empty_emails(
            _letters_mail(letter), actor=actor, actor_label=actor_label, reason=reason, now=now
        )
    counts = {
        "notes": letter.notes.count(),
        "replies": letter.replies.count(),
        "events": letter.events.count(),
    }
    letter.events.update(former_letter_id=letter.pk, note="")
    LetterEvent.objects.create(
        letter=None,
        former_letter_id=letter.pk,
        action="deleted",
        from_status=letter.status,
        actor=signed_in(actor),
        actor_label=actor_label,
        note=reason[:1].upper() + reason[1:] + ".",
        created_at=now,
    )
    _forget_admin_log([letter.pk])
    similarity_clusters.forget([letter.pk])  # and mend the cluster it was in
    letter.delete()  # notes, replies and notices go with it; events and mail stay, unlinked
    return counts


def deletion_summary(letter):
    """What deleting `letter` would do, in sentences for the editor's confirmation page, and
    the reason it cannot be deleted ("" if it can)."""
    if letter.status == Status.PUBLISHED:
        return [], "It is published: withdraw or unpublish it first."
    lines = [
        f"Its {letter.events.count()} events stay as the record of who decided what and when, "
        "without their notes and without the letter.",
        f"Its {letter.notes.count()} notes and {letter.replies.count()} replies are deleted.",
    ]
    emails = _letters_mail(letter).count()
    if emails:
        lines.append(f"Its {emails} stored emails are emptied now (Message-ID and checksum stay).")
    for entry in letter.edition_entries.select_related("edition"):
        lines.append(
            f"It is taken out of the edition {entry.edition} ({entry.edition.status}), "
            "recorded in the edition's history."
        )
    return lines, ""


def erasure_preview(address, published=None):
    """What erase_writer would do for `address`, for the confirmation page and the command:
    {"letters": [(status label, count)], "published": n, "policy": "keep"/"withdraw",
    "emails": n, "acknowledgements": n, "earlier": [dates of earlier erasures]}. Reads only."""
    address = writer_address(address)
    letters = writers_letters(address)
    by_status = dict(
        letters.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {
        "letters": [(Status(status).label, n) for status, n in sorted(by_status.items())],
        "total": sum(by_status.values()),
        "published": by_status.get(Status.PUBLISHED, 0),
        "policy": published or settings.LETTERS_ERASE_PUBLISHED,
        "emails": writers_emails(address).count(),
        "acknowledgements": writers_acknowledgements(address, writers_emails(address)).count(),
        "earlier": [erasure.created_at for erasure in earlier_erasures(address)],
    }


@transaction.atomic
def delete_letter(letter_id, *, actor=None, actor_label="", reason="deleted by an editor"):
    """Delete one letter, keeping the anonymised trail (see _delete). Returns (letter, changed):
    a letter already gone is (None, False), so repeating is harmless. A published letter is
    refused (TransitionNotAllowed): it comes off the site by a recorded withdrawal first."""
    check(actor, "delete")
    try:
        letter = lock(letter_id)
    except Letter.DoesNotExist:
        return None, False
    if letter.status == Status.PUBLISHED:
        raise TransitionNotAllowed(letter, Status.WITHDRAWN, deletion_summary(letter)[1])
    _delete(letter, actor=actor, actor_label=actor_label, reason=reason, now=timezone.now())
    return letter, True


def _keep_published(letter, *, actor, actor_label):
    """Erase what a published letter holds beyond its published form: it stays on the site,
    signed with name and town, with the published text only (its mail is emptied by the
    caller). Returns counts."""
    notes = letter.notes.all().delete()[0]
    replies = letter.replies.all().delete()[0]
    letter.events.update(note="")
    letter.body = letter.publishable_text
    letter.edited_body = ""
    letter.email = f"erased-{letter.pk}@erased.invalid"  # one per letter: no history links them
    letter.phone = letter.address = letter.subject = letter.suspect_reason = ""
    letter.client_token = None
    letter.resubmission_key = None  # a hash of the address and text
    letter.save()
    record(
        letter,
        "erased",
        actor=actor,
        actor_label=actor_label,
        note="Personal data erased at the writer's request; kept as published (name and town).",
    )
    _forget_admin_log([letter.pk])
    # Its text is now the published one: compare that, not the erased original.
    jobs.enqueue(jobs.ANALYSE_LETTER, letter.pk)
    return {"notes": notes, "replies": replies}


def _erasure_policy(address, note, published):
    """What becomes of the writer's published letters: `published`, else
    LETTERS_ERASE_PUBLISHED. ValueError for another policy, or a `note` naming the address."""
    if address in note.lower():
        raise ValueError("The note is kept in the erasure log: leave the address out of it.")
    policy = published or settings.LETTERS_ERASE_PUBLISHED
    if policy not in (KEEP, WITHDRAW):
        raise ValueError(f"Published letters are kept or withdrawn, not {policy!r}.")
    return policy


def _erase_mail_and_addresses(address, emails, acknowledgements, *, actor, actor_label, now):
    """Empty the writer's stored mail (`emails`: ids), delete the acknowledgement-limit rows
    and the records that merge the address with another. Returns counts."""
    return {
        "emails": _empty_emails(
            InboundEmail.objects.filter(pk__in=emails),
            actor=actor,
            actor_label=actor_label,
            reason=ERASED,
            now=now,
        ),
        "acknowledgements": acknowledgements.delete()[0],
        # The record that two addresses are one writer names both: it goes too.
        "writer_merges": writers_merges(address).delete()[0],
    }


def _erase_letters(letters, policy, *, actor, actor_label, now):
    """Erase each of the writer's locked `letters`: a published one is kept as published
    (policy "keep") or withdrawn and deleted; any other is deleted. Their mail is emptied
    already. Returns counts."""
    counts = dict.fromkeys(
        ["letters_deleted", "letters_withdrawn", "letters_kept_published", "events_kept"], 0
    )
    counts.update(dict.fromkeys(["notes", "replies"], 0))
    for letter in letters:
        if letter.status == Status.PUBLISHED and policy == KEEP:
            done = _keep_published(letter, actor=actor, actor_label=actor_label)
            counts["letters_kept_published"] += 1
            counts["events_kept"] += letter.events.count()
        else:
            if letter.status == Status.PUBLISHED:
                letter, _ = withdraw(
                    letter.pk, actor=actor, actor_label=actor_label, note=f"{ERASED}."
                )
                counts["letters_withdrawn"] += 1
            done = _delete(
                letter,
                actor=actor,
                actor_label=actor_label,
                reason=ERASED,
                now=now,
                empty_mail=False,
            )
            counts["letters_deleted"] += 1
            counts["events_kept"] += done.pop("events") + 1
        for key, value in done.items():
            counts[key] += value
    return counts


def erase_writer(address, *, actor=None, actor_label="", note="", published=None):
    """Erase everything the desk holds about the writer at `address`, per the policy above;
    `published` ("keep" or "withdraw") defaults to LETTERS_ERASE_PUBLISHED. Needs the "erase"
    permission (and, to withdraw a published letter, the publisher's). One transaction: all
    or nothing. Returns (erasure, changed).

    Safe to repeat: an erased writer holds nothing any more (a kept letter's address is
    replaced), so a second run changes nothing and returns the earlier erasure; a request for
    an address the desk never held is recorded once, with every count zero. `note` is the
    request's reference for the log and must not contain the address.
    """
    check(actor, "erase")
    address = writer_address(address)
    note = (note or "").strip()
    policy = _erasure_policy(address, note, published)
    now = timezone.now()
    with transaction.atomic():
        letters = list(writers_letters(address).select_for_update().order_by("pk"))
        letter_ids = [letter.pk for letter in letters]  # deleting a letter forgets its pk
        # Read before the letters go: deleting a letter unlinks its mail.
        emails = list(writers_emails(address).values_list("pk", flat=True))
        acknowledgements = writers_acknowledgements(address, emails)
        if not letters and not emails and not acknowledgements.exists():
            earlier = earlier_erasures(address).first()
            if earlier is not None:
                return earlier, False
        mail_counts = _erase_mail_and_addresses(
            address, emails, acknowledgements, actor=actor, actor_label=actor_label, now=now
        )
        letter_counts = _erase_letters(
            letters, policy, actor=actor, actor_label=actor_label, now=now
        )
        # The letters' counts first, in the order the erasure log has always listed them.
        counts = {**letter_counts, **mail_counts}
        erasure = WriterErasure.objects.create(
            address_hash=address_hash(address),
            actor=signed_in(actor),
            actor_label=actor_label,
            note=note[:200],
            published_policy=policy,
            counts=counts,
            letter_ids=letter_ids,
            created_at=now,
        )
    return erasure, True
