"""The desk's records: articles, letters and the audit trail of every letter's status."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


def count_words(text):
    """Words as the form's counter counts them: runs of non-space characters."""
    return len(text.split())


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__lte=timezone.now())


class Article(models.Model):
    headline = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    standfirst = models.TextField(blank=True)
    author = models.CharField(max_length=200, default="Reaction")
    published_at = models.DateTimeField(default=timezone.now, db_index=True)
    body = models.TextField()
    canonical_url = models.URLField(blank=True)
    letters_open = models.BooleanField(
        default=True, help_text="Untick to stop taking letters about this article."
    )
    letters_close_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Letters close at this time. Empty: the desk's LETTERS_CLOSE_AFTER_DAYS applies.",
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self):
        return self.headline

    def get_absolute_url(self):
        return reverse("letters:article", kwargs={"slug": self.slug})

    @property
    def letters_deadline(self):
        """When letters close: the article's own date, else the desk's policy, else never."""
        if self.letters_close_at:
            return self.letters_close_at
        days = settings.LETTERS_CLOSE_AFTER_DAYS
        if days:
            return self.published_at + timedelta(days=days)
        return None

    def accepts_letters(self, now=None):
        now = now or timezone.now()
        deadline = self.letters_deadline
        return self.letters_open and (deadline is None or now < deadline)

    @property
    def inbound_address(self):
        """The per-article address (letters+<slug>@domain) the article's mailto link uses."""
        local, _, domain = settings.LETTERS_INBOUND_ADDRESS.partition("@")
        return f"{local}+{self.slug}@{domain}"


class Status(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Awaiting confirmation"
    RECEIVED = "received", "Received"
    SHORTLISTED = "shortlisted", "Shortlisted"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"
    SPAM = "spam", "Spam"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


# The one transitions table: from each status, the statuses a letter may move to.
# letters.moderation checks every change against it; nothing else changes a letter's status.
TRANSITIONS = {
    Status.UNCONFIRMED: {Status.RECEIVED, Status.SPAM, Status.WITHDRAWN, Status.EXPIRED},
    Status.RECEIVED: {
        Status.SHORTLISTED,
        Status.APPROVED,
        Status.REJECTED,
        Status.SPAM,
        Status.WITHDRAWN,
        Status.EXPIRED,
    },
    Status.SHORTLISTED: {
        Status.RECEIVED,
        Status.APPROVED,
        Status.REJECTED,
        Status.SPAM,
        Status.WITHDRAWN,
        Status.EXPIRED,
    },
    Status.APPROVED: {Status.SHORTLISTED, Status.PUBLISHED, Status.REJECTED, Status.WITHDRAWN},
    Status.PUBLISHED: {Status.WITHDRAWN},
    Status.REJECTED: {Status.RECEIVED},
    Status.SPAM: {Status.RECEIVED},
    Status.EXPIRED: {Status.RECEIVED},
    Status.WITHDRAWN: set(),
}

AWAITING_DECISION = (Status.RECEIVED, Status.SHORTLISTED)


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    EMAIL = "email", "Email"


class LetterQuerySet(models.QuerySet):
    def awaiting_decision(self):
        return self.filter(status__in=AWAITING_DECISION)

    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def needing_confirmation_email(self, older_than):
        """Web letters whose confirmation email never went out (lost on the way to the broker)."""
        return self.filter(
            status=Status.UNCONFIRMED,
            channel=Channel.WEB,
            confirmation_sent_at__isnull=True,
            created_at__lt=older_than,
        )


class Letter(models.Model):
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.PROTECT, related_name="letters"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNCONFIRMED, editable=False
    )

    # The writer's text exactly as submitted. Never overwritten: editors edit `edited_body`.
    body = models.TextField()
    word_count = models.PositiveIntegerField(default=0, editable=False)
    edited_body = models.TextField(blank=True, help_text="The version to publish.")
    headline = models.CharField(max_length=200, blank=True)

    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    town = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True, help_text="For verification only; never published.")
    phone = models.CharField(
        max_length=50, blank=True, help_text="For verification only; never published."
    )
    exclusive = models.BooleanField(default=False)
    consent = models.BooleanField(default=False)

    # One letter per form submission, however often the button is pressed.
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    suspect = models.BooleanField(default=False)
    suspect_reason = models.CharField(max_length=200, blank=True)

    # --- Email intake (issue 3): what the email said and how its article was found.
    subject = models.CharField(max_length=500, blank=True)
    article_match_method = models.CharField(
        max_length=20,
        blank=True,
        help_text="How the article was found: address, url, subject, similarity (empty: unmatched).",
    )
    article_match_confidence = models.FloatField(null=True, blank=True)
    # --- end email intake

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="letter_status_created"),
            models.Index(fields=["article", "status"], name="letter_article_status"),
            models.Index(fields=["email"], name="letter_email"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="letter_status_known"
            ),
        ]

    def __str__(self):
        return f"{self.name}: {self.body[:60]}"

    def save(self, *args, **kwargs):
        self.word_count = count_words(self.body)
        super().save(*args, **kwargs)

    @property
    def publishable_text(self):
        return self.edited_body or self.body

    @property
    def signature(self):
        """The printed sign-off: "Name, Town". Phone and address are never shown."""
        return f"{self.name}, {self.town}" if self.town else self.name

    @property
    def over_word_limit(self):
        return self.word_count > settings.LETTERS_WORD_LIMIT


class LetterEvent(models.Model):
    """One row per status change (and other editorial acts): who, when, from, to, why."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=50)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(
        max_length=100, blank=True, help_text="Who acted when it was not a user: writer, system."
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.action}: {self.from_status or '-'} -> {self.to_status or '-'}"

    @property
    def who(self):
        return str(self.actor) if self.actor_id else self.actor_label


def new_client_token():
    return uuid.uuid4()


# --- Email intake (issue 3) -----------------------------------------------------------------


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

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
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


class EmailAcknowledgement(models.Model):
    """One acknowledgement sent to one address on one day: the unique constraint is the limit."""

    address = models.CharField(max_length=320)
    sent_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    inbound = models.ForeignKey(InboundEmail, null=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "sent_on"], name="acknowledge_once_a_day")
        ]
