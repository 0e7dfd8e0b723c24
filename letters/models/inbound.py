"""Email intake's records: every raw message as it arrived, its outcome, its history, and the
daily acknowledgement limit."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .audit import AuditEvent


class WayIn(models.TextChoices):
    PIPE = "pipe", "MTA pipe"
    MAILBOX = "mailbox", "Mailbox import"
    IMAP = "imap", "IMAP poller"
    WEBHOOK = "webhook", "Provider webhook"
    SMTP = "smtp", "SMTP listener"


class InboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class InboundEmailQuerySet(models.QuerySet):
    def processed_before(self, when):
        """Messages finished (accepted, rejected or failed) before `when` whose raw is still kept."""
        return self.filter(
            status__in=(InboundStatus.ACCEPTED, InboundStatus.REJECTED, InboundStatus.FAILED),
            processed_at__lt=when,
            raw_purged_at__isnull=True,
        )

    def stuck(self, pending_before, processing_before):
        """Pending messages whose task never ran, and processing ones whose worker died."""
        return self.filter(
            Q(status=InboundStatus.PENDING, received_at__lt=pending_before)
            | Q(status=InboundStatus.PROCESSING, claimed_at__lt=processing_before)
        )


class InboundEmail(models.Model):
    """One raw message as it arrived, stored before anything reads it.

    The raw bytes are kept exactly (a binary column: PostgreSQL text cannot hold NUL bytes)
    until the retention task empties them; the row itself stays, so a late redelivery of the
    same message is still recognised as a duplicate.
    """

    message_id = models.CharField(max_length=998)
    message_id_derived = models.BooleanField(
        default=False,
        help_text="The message had no Message-ID; this one is made from its checksum.",
    )
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the raw bytes.")
    raw = models.BinaryField(editable=False)
    size = models.PositiveIntegerField(default=0)
    raw_truncated = models.BooleanField(
        default=False, help_text="Over the size limit: only the headers were kept."
    )
    raw_purged_at = models.DateTimeField(null=True, blank=True)
    way_in = models.CharField(max_length=10, choices=WayIn.choices)
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    deliveries = models.PositiveIntegerField(
        default=1, help_text="How often this exact message arrived."
    )
    message_id_reused = models.BooleanField(
        default=False,
        help_text="Another message with the same Message-ID but different bytes was received.",
    )

    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.PENDING
    )
    reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    # What parsing found, for the editor's list (the letter holds the text).
    subject = models.CharField(max_length=500, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    letter = models.ForeignKey(
        "Letter", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails"
    )
    # Threading: a reply that joined an earlier letter instead of making one (`letter` stays
    # empty: it means "the letter this message made").
    follow_up_to = models.ForeignKey(
        "Letter", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
        permissions = [("process_inboundemail", "Can process inbound email again")]
        verbose_name = "inbound email"
        verbose_name_plural = "inbound email"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_id", "checksum"], name="inbound_email_once"),
            models.CheckConstraint(
                condition=Q(status__in=InboundStatus.values), name="inbound_status_known"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
        ]

    def __str__(self):
        return f"{self.message_id} ({self.get_status_display()})"

    @property
    def raw_bytes(self):
        return bytes(self.raw or b"")

    def raw_text(self, limit=200_000):
        """The stored message as text for editors to read (templates escape it; never render
        it as HTML). Mail that is not UTF-8 is shown byte for byte as Latin-1, so nothing is
        hidden behind replacement characters. Cut at `limit` bytes, saying so."""
        if self.raw_purged_at:
            return f"Deleted on {self.raw_purged_at:%Y-%m-%d} under the retention policy."
        raw = self.raw_bytes
        cut = len(raw) - limit
        raw = raw[:limit]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        return text + (f"\n\n[... {cut:,} more bytes not shown]" if cut > 0 else "")


class InboundEmailEvent(AuditEvent):
    """What an editor (or the desk) did to a stored message, e.g. "processed again"."""

    inbound_email = models.ForeignKey(InboundEmail, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self):
        return self.action


class EmailAcknowledgement(models.Model):
    """One acknowledgement to one address on one day: the unique constraint is the limit.

    The row is the claim on the send (`claimed_at`; one older than LETTERS_SEND_CLAIM_SECONDS
    and still unsent belongs to a dead worker and is taken again for the same message);
    `sent_at` records that the SMTP server took it."""

    address = models.CharField(max_length=320)
    sent_on = models.DateField()  # the day this is the acknowledgement for
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    inbound = models.ForeignKey(InboundEmail, null=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "sent_on"], name="acknowledge_once_a_day")
        ]
