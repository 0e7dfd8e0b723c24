"""What the desk holds about a writer (an email address, matched case-insensitively as the
writer's history is: Letter.email__iexact), and all of it as one document (export_writer).
Read only: erasing it is letters.moderation.erasure."""

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..addresses import normalise_address
from ..models import (
    EditionLetter,
    EmailAcknowledgement,
    InboundEmail,
    InboundEmailEvent,
    Letter,
    LetterEvent,
    Note,
    Notification,
    Reply,
    WriterErasure,
    WriterMerge,
)
from .rules import check

ADDRESS_HASH_SALT = "letters.writer-erasure"


def writer_address(address):
    """A writer's address as the desk compares addresses (`normalise_address`); ValueError if
    it is not an address at all."""
    value = normalise_address(address)
    if "@" not in value or any(c.isspace() for c in value):
        raise ValueError(f"{(address or '').strip()!r} is not an email address.")
    return value


def address_hash(address, secret=None):
    """HMAC-SHA256 of the normalised address, keyed by SECRET_KEY (or `secret`): the same
    address always gives the same hash on this desk, and the address cannot be read back."""
    value = writer_address(address)
    return salted_hmac(ADDRESS_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()


def earlier_erasures(address):
    """The erasures recorded for `address`, newest first (under the current SECRET_KEY and any
    in SECRET_KEY_FALLBACKS, so a key rotation does not forget them)."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return WriterErasure.objects.filter(
        address_hash__in=[address_hash(address, s) for s in secrets]
    )


def writers_letters(address):
    """The letters written from `address`, matched as the writer's history matches them."""
    return Letter.objects.filter(email__iexact=writer_address(address))


def writers_emails(address):
    """The stored mail about the writer: messages that made or followed up their letters, and
    those sent from the address (in the header or the envelope) that made no letter."""
    address = writer_address(address)
    letters = writers_letters(address)
    return InboundEmail.objects.filter(
        Q(letter__in=letters)
        | Q(follow_up_to__in=letters)
        | Q(from_address__iexact=address)
        | Q(envelope_from__iexact=address)
    )


def writers_acknowledgements(address, emails):
    """The acknowledgement-limit rows for the address, or for the writer's mail (`emails`:
    ids or a queryset; the acknowledgement went to the envelope sender, which may differ)."""
    return EmailAcknowledgement.objects.filter(
        Q(address__iexact=writer_address(address)) | Q(inbound__in=emails)
    )


# --- Export ---------------------------------------------------------------------------------


def _fields(obj, exclude=()):
    """Every stored field of `obj` by column name (a relation as its id)."""
    return {
        field.attname: field.value_from_object(obj)
        for field in obj._meta.concrete_fields
        if field.name not in exclude
    }


def _event(event):
    return {
        "at": event.created_at,
        "action": event.action,
        "by": event.who,
        "from_status": getattr(event, "from_status", ""),
        "to_status": getattr(event, "to_status", ""),
        "note": event.note,
    }


def writers_merges(address):
    """The records that merge the address with another (either way round), oldest first."""
    merges = WriterMerge.objects.filter(Q(address=address) | Q(merged_into=address))
    return merges.select_related("actor").order_by("created_at", "id")


def _raw_text(raw):
    """The stored message as text: UTF-8, else byte for byte as Latin-1 (nothing hidden)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _grouped(rows, key):
    groups = {}
    for row in rows:
        groups.setdefault(getattr(row, key), []).append(row)
    return groups


def _letters_records(ids):
    """The records kept with the letters `ids`, each kind grouped by letter id: five queries
    for all the letters."""
    return {
        "events": _grouped(
            LetterEvent.objects.filter(letter_id__in=ids).select_related("actor"), "letter_id"
        ),
        "notes": _grouped(
            Note.objects.filter(letter_id__in=ids).select_related("author"), "letter_id"
        ),
        "replies": _grouped(Reply.objects.filter(letter_id__in=ids), "letter_id"),
        "notices": _grouped(Notification.objects.filter(letter_id__in=ids), "letter_id"),
        "entries": _grouped(
            EditionLetter.objects.filter(letter_id__in=ids).select_related("edition"), "letter_id"
        ),
    }


def _letter_document(letter, records):
    """One letter as exported: its fields, its article, and its records (_letters_records)."""
    return {
        **_fields(letter),
        "article": letter.article
        and {
            "id": letter.article_id,
            "headline": letter.article.headline,
            "url": settings.SITE_URL + letter.article.get_absolute_url(),
        },
        "editions": [
            {
                "date": entry.edition.date,
                "title": entry.edition.title,
                "status": entry.edition.status,
                "headline": entry.headline,
                "position": entry.position,
                "is_lead": entry.is_lead,
            }
            for entry in records["entries"].get(letter.pk, [])
        ],
        "events": [_event(event) for event in records["events"].get(letter.pk, [])],
        "notes": [
            {"at": note.created_at, "by": str(note.author or "system"), "text": note.text}
            for note in records["notes"].get(letter.pk, [])
        ],
        "replies": [
            _fields(reply, exclude=("letter", "template", "created_by"))
            for reply in records["replies"].get(letter.pk, [])
        ],
        "notices": [
            _fields(notice, exclude=("letter",)) for notice in records["notices"].get(letter.pk, [])
        ],
    }


def _email_document(email, events):
    """One stored message as exported: its fields, its raw text unless purged, its events."""
    return {
        **_fields(email, exclude=("raw",)),
        "raw": None if email.raw_purged_at else _raw_text(email.raw_bytes),
        "events": [_event(event) for event in events],
    }


def export_writer(address, *, actor=None):
    """Everything the desk holds about the writer at `address`, as a dict ready for JSON
    (datetimes and UUIDs as objects: dump it with DjangoJSONEncoder). Reads only; safe to
    repeat. Needs the "export" permission."""
    check(actor, "export")
    address = writer_address(address)
    letters = list(writers_letters(address).select_related("article").order_by("created_at", "id"))
    records = _letters_records([letter.pk for letter in letters])
    emails = list(writers_emails(address).order_by("received_at", "id"))
    email_events = _grouped(
        InboundEmailEvent.objects.filter(inbound_email__in=emails).select_related("actor"),
        "inbound_email_id",
    )
    return {
        "address": address,
        "exported_at": timezone.now(),
        "letters": [_letter_document(letter, records) for letter in letters],
        "emails": [_email_document(email, email_events.get(email.pk, [])) for email in emails],
        "acknowledgements": [
            {
                "sent_on": ack.sent_on,
                "claimed_at": ack.claimed_at,
                "sent_at": ack.sent_at,
                "inbound_email_id": ack.inbound_id,
            }
            for ack in writers_acknowledgements(address, emails)
        ],
        "merges": [
            {"address": merge.address, "merged_into": merge.merged_into, **_event(merge)}
            for merge in writers_merges(address)
        ],
        "erasures": [
            {"at": erasure.created_at, "counts": erasure.counts}
            for erasure in earlier_erasures(address)
        ],
    }
