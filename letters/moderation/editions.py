"""Assembling an edition of the letters page: create it, add letters, take them out, put them
in order with their headlines. Publishing it is publication.py's job.

Only a draft edition changes here (a scheduled one goes back to draft first, so what was
checked when it was scheduled is what goes out). Each change locks the edition's row, is
recorded in its history (EditionEvent) and in each letter's own trail (LetterEvent), and is
safe to repeat: adding a letter already in the edition, or saving the order it already has,
changes and records nothing. Taking a letter out of an edition deletes its place in the
edition only; the letter itself is never touched here.
"""

from django.db import IntegrityError, models, transaction

from ..models import Edition, EditionEvent, EditionLetter, EditionStatus, Letter, Status
from .rules import check, record, signed_in

# Letters an editor may put in a draft edition: those still in the running and those already
# published on their own. Publishing the edition still needs every one approved (or published).
ADDABLE = (Status.RECEIVED, Status.SHORTLISTED, Status.APPROVED, Status.PUBLISHED)


HEADLINE_MAX = EditionLetter._meta.get_field("headline").max_length


class EditionNotDraft(Exception):
    """The edition is scheduled or published: its letters are fixed until it is a draft."""

    def __init__(self, edition):
        self.edition = edition
        status = EditionStatus(edition.status).label.lower()
        super().__init__(
            f"{edition} is {status}: put it back to draft before changing its letters."
        )


class EditionChanged(Exception):
    """The order posted does not hold the edition's letters as they are now (someone added or
    removed one meanwhile): nothing is saved, the editor looks again."""


def _note(edition, action, *, actor=None, actor_label="", note=""):
    """One line in the edition's history for a change of its letters (its status unchanged)."""
    return EditionEvent.objects.create(
        edition=edition,
        action=action,
        actor=signed_in(actor),
        actor_label=actor_label,
        note=note,
    )


def _lock_draft(edition_id):
    edition = Edition.objects.select_for_update().get(pk=edition_id)
    if edition.status != EditionStatus.DRAFT:
        raise EditionNotDraft(edition)
    return edition


def _renumber(edition):
    """Positions 1..n in the current order, and the first letter the lead (the only one)."""
    entries = list(edition.entries.order_by("-is_lead", "position", "id"))
    _save_order(edition, entries)


def _save_order(edition, entries):
    # The lead is cleared first: one lead per edition is a unique constraint, checked row by row.
    edition.entries.filter(is_lead=True).update(is_lead=False)
    for position, entry in enumerate(entries, start=1):
        entry.position, entry.is_lead = position, position == 1
    EditionLetter.objects.bulk_update(entries, ["position", "is_lead"])


@transaction.atomic
def create_edition(*, date, title="", actor=None, actor_label=""):
    """A new draft edition for `date`. Returns (edition, created): the edition already on that
    date is returned as it is (created False) whatever its status. Safe to repeat."""
    check(actor, "create_edition")
    existing = Edition.objects.filter(date=date).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            edition = Edition.objects.create(date=date, title=title, created_by=signed_in(actor))
    except IntegrityError:  # another editor created it a moment ago
        return Edition.objects.get(date=date), False
    _note(edition, "created", actor=actor, actor_label=actor_label)
    return edition, True


@transaction.atomic
def add_to_edition(edition_id, letter_ids, *, actor=None, actor_label=""):
    """Add letters to the end of a draft edition, in the order given; an edition without a
    lead gets its first letter as lead. Returns (edition, added, refused): the letters added,
    and (letter, reason) for each refused (not in the running, or already in the edition).

    Records one line in the edition's history and one in each added letter's trail. A letter
    already in the edition is left where it is. Raises EditionNotDraft for a scheduled or
    published edition. Safe to repeat.
    """
    check(actor, "arrange_edition")
    edition = _lock_draft(edition_id)
    letters = Letter.objects.in_bulk(letter_ids)
    present = set(edition.entries.values_list("letter_id", flat=True))
    last = edition.entries.aggregate(last=models.Max("position"))["last"] or 0
    added, refused = [], []
    for letter_id in dict.fromkeys(letter_ids):
        letter = letters.get(letter_id)
        if letter is None:
            continue
        if letter.pk in present:
            refused.append((letter, "already in this edition"))
        elif letter.status not in ADDABLE:
            refused.append((letter, f"{Status(letter.status).label.lower()}"))
        else:
            last += 1
            EditionLetter.objects.create(edition=edition, letter=letter, position=last)
            record(
                letter, "added to edition", actor=actor, actor_label=actor_label, note=str(edition)
            )
            added.append(letter)
    if added:
        _renumber(edition)  # an edition that had no lead gets one: its first letter
        names = "; ".join(f"#{letter.pk} {letter.signature}" for letter in added)
        _note(edition, "added letters", actor=actor, actor_label=actor_label, note=names)
    return edition, added, refused


@transaction.atomic
def remove_from_edition(edition_id, letter_id, *, actor=None, actor_label=""):
    """Take a letter out of a draft edition: its place goes, the letter stays as it is (its
    status, text and history untouched). The others close up; if it led, the next one leads.
    Returns (edition, changed); a letter not in the edition changes nothing. Raises
    EditionNotDraft for a scheduled or published edition. Safe to repeat."""
    check(actor, "arrange_edition")
    edition = _lock_draft(edition_id)
    entry = edition.entries.select_related("letter").filter(letter_id=letter_id).first()
    if entry is None:
        return edition, False
    letter = entry.letter
    entry.delete()
    _renumber(edition)
    record(letter, "removed from edition", actor=actor, actor_label=actor_label, note=str(edition))
    _note(
        edition,
        "removed a letter",
        actor=actor,
        actor_label=actor_label,
        note=f"#{letter.pk} {letter.signature}",
    )
    return edition, True


@transaction.atomic
def arrange_edition(edition_id, order, *, headlines=None, actor=None, actor_label=""):
    """Put a draft edition's letters in `order` (letter ids, lead first) and set the headlines
    given ({letter id: headline}, "" for the letter's own). Positions are numbered 1..n and the
    first letter is the lead.

    Returns (edition, changed). `order` must name exactly the letters in the edition, else
    EditionChanged (someone added or removed one meanwhile) and nothing is saved. Records one
    line per kind of change; the same order and headlines again change nothing. Safe to repeat.
    """
    check(actor, "arrange_edition")
    edition = _lock_draft(edition_id)
    entries = {entry.letter_id: entry for entry in edition.entries.select_related("letter")}
    order = [int(letter_id) for letter_id in order]
    if sorted(order) != sorted(entries):
        raise EditionChanged(
            f"The letters in {edition} changed while you were arranging them: nothing was "
            "saved. Look at the edition again."
        )
    before = sorted(entries.values(), key=lambda e: (not e.is_lead, e.position, e.id))
    reordered = [e.letter_id for e in before] != order or any(
        entry.position != n for n, entry in enumerate(before, start=1)
    )
    retitled = []
    for letter_id, headline in (headlines or {}).items():
        entry = entries.get(int(letter_id))
        headline = " ".join(headline.split())
        if len(headline) > HEADLINE_MAX:
            raise ValueError(f"A headline is at most {HEADLINE_MAX} characters: nothing was saved.")
        if entry is not None and entry.headline != headline:
            entry.headline = headline
            entry.save(update_fields=["headline"])
            retitled.append(f"#{entry.letter_id}: {headline or '(the letter’s own)'}")
    if reordered:
        _save_order(edition, [entries[letter_id] for letter_id in order])
        lead = entries[order[0]].letter
        _note(
            edition,
            "reordered",
            actor=actor,
            actor_label=actor_label,
            note=f"Lead: #{lead.pk} {lead.signature}. Order: "
            + ", ".join(f"#{letter_id}" for letter_id in order),
        )
    if retitled:
        _note(edition, "headlines", actor=actor, actor_label=actor_label, note="; ".join(retitled))
    return edition, bool(reordered or retitled)
