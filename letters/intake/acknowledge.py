"""The acknowledgement an emailed letter gets: once, never to automatic mail (RFC 3834).

The EmailAcknowledgement row is both the daily limit and the claim on the send: made before the
SMTP call, marked sent after it. A worker killed in between leaves the row claimed and unsent;
once the claim expires (LETTERS_SEND_CLAIM_SECONDS) the sweeper enqueues the same message's
acknowledgement again, and that retry takes the row over. The row still holds the day's one
acknowledgement for the address meanwhile, so another letter that day gets none.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import jobs
from ..addresses import normalise_address
from ..models import EmailAcknowledgement, InboundEmail, InboundStatus
from ..notifications import (
    SendClaim,
    claim_expired_before,
    desk_mail,
    promises,
    render_email,
    send_claimed,
    status_url,
)
from .identify import references_of, return_path_of
from .store import NULL_SENDER

SYSTEM_MAILBOXES = {"mailer-daemon", "postmaster"}


class AcknowledgementClaim(SendClaim):
    """The claim an EmailAcknowledgement row holds. Released by deleting the row, so that after
    a failed send the day's acknowledgement is free again (for the retry, or a later letter)."""

    def __init__(self, pk):
        super().__init__(EmailAcknowledgement, pk)

    def release(self):
        self._unsent().filter(claimed_at=self.at).delete()


def claim_acknowledgement(inbound, address, now):
    """Claim the acknowledgement of `inbound` to `address`. None if it was sent or is being
    sent, or if `address` had one claimed in the last 24 hours.

    A message whose acknowledgement a dead worker claimed takes its own row over once the
    claim expires. Otherwise a new row is made: the unique (address, day) constraint settles a
    race between two workers; the 24-hour look-back keeps a writer who sends at 23:59 and 00:01
    to one reply too.
    """
    own = EmailAcknowledgement.objects.filter(inbound=inbound).values_list("pk", flat=True)
    if own := own.first():
        claim = AcknowledgementClaim(own)
        return claim if claim.take(now) else None
    recent = EmailAcknowledgement.objects.filter(
        address=address, claimed_at__gt=now - timedelta(days=1)
    ).exists()
    if recent:
        return None
    try:
        with transaction.atomic():
            row = EmailAcknowledgement.objects.create(
                address=address, sent_on=now.date(), claimed_at=now, inbound=inbound
            )
    except IntegrityError:
        return None
    claim = AcknowledgementClaim(row.pk)
    claim.at = now
    return claim


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
    at most one per address per day. Safe to repeat; at least once (see the module's
    docstring). If sending fails the claim is released and the error raised, so a retry sends
    it.
    """
    inbound = InboundEmail.objects.select_related("letter", "letter__article").get(pk=inbound_id)
    address = reply_address(inbound) if inbound.letter else ""
    if not settings.LETTERS_EMAIL_ACKNOWLEDGE or not _may_acknowledge(inbound, address):
        _give_up(inbound)
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
        "status_url": status_url(letter),
        "status_days": settings.LETTERS_STATUS_LINK_DAYS,
        **promises(),
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
        key=f"ack:{inbound.pk}:{inbound.received_at.isoformat()}",
    )
    return send_claimed(message, claim)


def _give_up(inbound):
    """No acknowledgement is due (any more): drop a dead worker's claim on one, if any."""
    EmailAcknowledgement.objects.filter(
        inbound=inbound, sent_at__isnull=True, claimed_at__lt=claim_expired_before()
    ).delete()


def enqueue_lost_acknowledgements(now=None, limit=1000):
    """Enqueue the acknowledgements whose claim expired unsent (their worker died). Returns how
    many. Safe to run at any time: the send is claimed, so one enqueued twice goes out once."""
    ids = EmailAcknowledgement.objects.filter(
        sent_at__isnull=True, claimed_at__lt=claim_expired_before(now), inbound__isnull=False
    ).values_list("inbound_id", flat=True)[:limit]
    for inbound_id in ids:
        jobs.send_now(jobs.SEND_EMAIL_ACKNOWLEDGEMENT, inbound_id)
    return len(ids)
