"""The acknowledgement an emailed letter gets: once, never to automatic mail (RFC 3834)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import EmailAcknowledgement, InboundEmail, InboundStatus
from ..notifications import desk_message_id, render_email

log = logging.getLogger(__name__)


def _normalise(address):
    return (address or "").strip().lower()


def claim_acknowledgement(inbound, address, now):
    """Reserve today's one acknowledgement for `address`. False if one went out in 24 hours.

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


def send_acknowledgement(inbound_id):
    """Reply once to the writer of an accepted emailed letter. Returns True if sent.

    Never for rejected (automatic, bulk, list, bounce, loop) or suspect mail, nor to a null
    envelope sender or the desk's own addresses; at most one per address per day. Safe to
    repeat. If sending fails the claim is released and the error raised, so a retry sends it.
    """
    if not settings.LETTERS_EMAIL_ACKNOWLEDGE:
        return False
    inbound = InboundEmail.objects.select_related("letter", "letter__article").get(pk=inbound_id)
    letter = inbound.letter
    if inbound.status != InboundStatus.ACCEPTED or letter is None or letter.suspect:
        return False
    address = _normalise(letter.email)
    if (
        not address
        or inbound.envelope_from == "<>"
        or address in settings.LETTERS_OWN_ADDRESSES
        or address.partition("@")[0].partition("+")[0] in {"mailer-daemon", "postmaster"}
    ):
        return False
    now = timezone.now()
    claim = claim_acknowledgement(inbound, address, now)
    if claim is None:
        return False

    from .receive import references_of

    context = {
        "letter": letter,
        "article": letter.article,
        "subject": inbound.subject or letter.subject,
        "publication": settings.LETTERS_PUBLICATION_NAME,
    }
    subject, body = render_email("acknowledgement", context)
    headers = {
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "All",
        "Message-ID": desk_message_id(letter.pk, "ack"),  # threading (follow-ups)
    }
    if not inbound.message_id_derived:
        original = f"<{inbound.message_id}>"
        references = [f"<{ref}>" for ref in references_of(inbound.raw_bytes)]
        headers["In-Reply-To"] = original
        headers["References"] = " ".join([*references[-10:], original])
    message = EmailMessage(subject, body, to=[letter.email], headers=headers)
    try:
        message.send()
    except Exception:
        claim.delete()
        raise
    return True


def forget_acknowledgements_before(when):
    """Addresses are personal data: keep them only as long as the daily limit needs them."""
    return EmailAcknowledgement.objects.filter(sent_at__lt=when).delete()[0]
