"""The acknowledgement an emailed letter gets: once, never to automatic mail (RFC 3834)."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import EmailAcknowledgement, InboundEmail, InboundStatus
from ..notifications import desk_mail, render_email, send_claimed
from .decoding import normalise_address
from .identify import references_of, return_path_of
from .store import NULL_SENDER

SYSTEM_MAILBOXES = {"mailer-daemon", "postmaster"}


def claim_acknowledgement(inbound, address, now):
    """Reserve today's one acknowledgement for `address`. None if one went out in 24 hours.

    The unique (address, day) constraint settles a race between two workers; the 24-hour
    look-back keeps a writer who sends at 23:59 and 00:01 to one reply too.
    """
    recent = EmailAcknowledgement.objects.filter(
        address=address, sent_at__gt=now - timedelta(days=1)
    ).exists()
    if recent:
        return None
    try:
        with transaction.atomic():
            return EmailAcknowledgement.objects.create(
                address=address, sent_on=now.date(), sent_at=now, inbound=inbound
            )
    except IntegrityError:
        return None


def reply_address(inbound):
    """Where an automatic reply to a stored message goes (RFC 3834): the envelope sender it
    came with, else the Return-Path its last MTA recorded, else the letter's From. Never the
    header From alone when an envelope says otherwise: a forged From must not make the desk
    mail a stranger. "<>" (the null sender) means no reply."""
    envelope = inbound.envelope_from or return_path_of(inbound.raw_bytes)
    if envelope == NULL_SENDER:
        return NULL_SENDER
    return normalise_address(envelope or inbound.letter.email)


def _may_acknowledge(inbound, address):
    """Only the writer of an accepted, unsuspected letter, at a real person's address."""
    letter = inbound.letter
    return (
        inbound.status == InboundStatus.ACCEPTED
        and letter is not None
        and not letter.suspect
        and address
        and address != NULL_SENDER
        and "@" in address
        and address not in settings.LETTERS_OWN_ADDRESSES
        and normalise_address(address, drop_tag=True).partition("@")[0] not in SYSTEM_MAILBOXES
    )


def send_acknowledgement(inbound_id):
    """Reply once to the writer of an accepted emailed letter. Returns True if sent.

    Sent to the envelope sender (reply_address), never for rejected (automatic, bulk, list,
    bounce, loop) or suspect mail, nor to a null envelope sender or the desk's own addresses;
    at most one per address per day. Safe to
    repeat. If sending fails the claim is released and the error raised, so a retry sends it.
    """
    if not settings.LETTERS_EMAIL_ACKNOWLEDGE:
        return False
    inbound = InboundEmail.objects.select_related("letter", "letter__article").get(pk=inbound_id)
    address = reply_address(inbound) if inbound.letter else ""
    if not _may_acknowledge(inbound, address):
        return False
    claim = claim_acknowledgement(inbound, address, timezone.now())
    if claim is None:
        return False
    letter = inbound.letter
    context = {
        "letter": letter,
        "article": letter.article,
        "subject": inbound.subject or letter.subject,
        "publication": settings.LETTERS_PUBLICATION_NAME,
    }
    subject, body = render_email("acknowledgement", context)
    headers = {"X-Auto-Response-Suppress": "All"}
    if not inbound.message_id_derived:
        original = f"<{inbound.message_id}>"
        references = [f"<{ref}>" for ref in references_of(inbound.raw_bytes)]
        headers["In-Reply-To"] = original
        headers["References"] = " ".join([*references[-10:], original])
    message = desk_mail(
        subject,
        body,
        address,
        letter_id=letter.pk,
        kind="ack",
        auto="auto-replied",
        headers=headers,
    )
    return send_claimed(message, release=claim.delete)
