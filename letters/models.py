"""The desk's records: articles, letters and the audit trail of every letter's status."""

import hashlib
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, Upper
from django.urls import reverse
from django.utils import timezone


def count_words(text):
    """Words as the form's counter counts them: runs of non-space characters."""
    return len(text.split())


def fingerprint(text):
    """A short hash of a letter's words, ignoring case, punctuation and spacing.

    Two letters with the same fingerprint say the same thing word for word: a writer who sent
    twice, or a campaign's template letter.
    """
    words = re.findall(r"\w+", text.lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]


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
# Letters still waiting for a decision, including those whose writer never confirmed them.
UNDECIDED = (Status.UNCONFIRMED, Status.RECEIVED, Status.SHORTLISTED)


class RejectionReason(models.TextChoices):
    NOT_SELECTED = "not_selected", "Not selected (space)"
    OFF_TOPIC = "off_topic", "Does not respond to an article"
    NOT_EXCLUSIVE = "not_exclusive", "Sent elsewhere or an open letter"
    UNVERIFIED = "unverified", "Could not verify the writer"
    CAMPAIGN = "campaign", "Part of an organised campaign"
    TOO_LATE = "too_late", "Arrived after letters closed"
    FREQUENCY = "frequency", "Writer published too recently"
    UNSUITABLE = "unsuitable", "Abusive, defamatory or unsuitable"


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    EMAIL = "email", "Email"


class LetterQuerySet(models.QuerySet):
    def awaiting_decision(self):
        return self.filter(status__in=AWAITING_DECISION)

    def published(self):
        return self.filter(status=Status.PUBLISHED)

    # --- Publication (queries)
    def due_for_publication(self, now=None):
        """Approved letters scheduled on their own (not in an edition) whose time has come."""
        return self.filter(status=Status.APPROVED, publish_at__lte=now or timezone.now())

    def in_publication_order(self):
        """Published letters as readers see them: oldest publication first and, within an
        edition, the lead letter then the editor's order. Each letter carries the headline its
        edition gave it (`edition_headline`) and `is_lead`; one query however many letters."""
        entries = EditionLetter.objects.filter(
            letter=models.OuterRef("pk"), edition__status=EditionStatus.PUBLISHED
        ).order_by("-edition__date", "-edition_id")
        return (
            self.published()
            .annotate(
                edition_position=models.Subquery(entries.values("position")[:1]),
                edition_headline=models.Subquery(entries.values("headline")[:1]),
                is_lead=Coalesce(models.Subquery(entries.values("is_lead")[:1]), False),
            )
            .order_by(
                "published_at", "-is_lead", models.F("edition_position").asc(nulls_last=True), "id"
            )
        )

    def undecided_before(self, cutoff):
        """Letters nobody decided on, written before `cutoff` (candidates for expiry)."""
        return self.filter(status__in=UNDECIDED, created_at__lt=cutoff)

    def with_flags(self, now=None):
        """Annotate the flags the desk shows for each letter, in the same query.

        writer_published_recently: another letter from the same address was published within
        LETTERS_WRITER_FREQUENCY_DAYS. possible_duplicate: another letter has the same words.
        Each is an EXISTS probe on an index, so a page of letters costs one query.
        """
        return self.annotate(
            writer_published_recently=published_recently_by_writer(now),
            possible_duplicate=Exists(
                Letter.objects.filter(fingerprint=OuterRef("fingerprint")).exclude(
                    pk=OuterRef("pk")
                )
            ),
        )

    def flagged(self, flag, now=None):
        """Letters carrying one of the desk's flags (the names used by the admin filter)."""
        if flag == "over_limit":
            return self.filter(word_count__gt=settings.LETTERS_SOFT_WORD_LIMIT)
        if flag == "unconfirmed":
            return self.filter(confirmed_at__isnull=True)
        if flag == "suspect":
            return self.filter(suspect=True)
        if flag == "published_recently":
            return self.filter(published_recently_by_writer(now))
        if flag == "duplicate":
            return self.filter(
                Exists(
                    Letter.objects.filter(fingerprint=OuterRef("fingerprint")).exclude(
                        pk=OuterRef("pk")
                    )
                )
            )
        if flag == "late":
            late = Q(
                article__letters_close_at__isnull=False,
                created_at__gt=F("article__letters_close_at"),
            )
            days = settings.LETTERS_CLOSE_AFTER_DAYS
            if days:
                late |= Q(
                    article__letters_close_at__isnull=True,
                    created_at__gt=F("article__published_at") + timedelta(days=days),
                )
            return self.filter(late)
        raise ValueError(f"Unknown flag {flag!r}")

    # --- retention: personal data purged on schedule ---
    def contact_details_to_purge(self, cutoff):
        """Decided letters that still hold a phone or address and were decided before `cutoff`:
        rejected, spam or expired by decided_at, published by published_at, withdrawn by the
        time of the withdrawal (withdrawing does not set decided_at)."""
        withdrawn_before = Exists(
            LetterEvent.objects.filter(
                letter=OuterRef("pk"), to_status=Status.WITHDRAWN, created_at__lt=cutoff
            )
        )
        decided = (
            Q(
                status__in=(Status.REJECTED, Status.SPAM, Status.EXPIRED),
                decided_at__lt=cutoff,
            )
            | Q(status=Status.PUBLISHED, published_at__lt=cutoff)
            | (Q(status=Status.WITHDRAWN) & withdrawn_before)
        )
        return self.filter(decided).exclude(phone="", address="")

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

    # Derived from `body` on save, like word_count: identical texts share a fingerprint.
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)
    rejection_reason = models.CharField(
        max_length=20, choices=RejectionReason.choices, blank=True, editable=False
    )

    # One letter per form submission, however often the button is pressed.
    client_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    suspect = models.BooleanField(default=False)
    suspect_reason = models.CharField(max_length=200, blank=True)

    # --- Email intake: what the email said and how its article was found.
    subject = models.CharField(max_length=500, blank=True)
    article_match_method = models.CharField(
        max_length=20,
        blank=True,
        help_text="How the article was found: address, url, subject, similarity (empty: unmatched).",
    )
    article_match_confidence = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Publication: an approved letter published on its own at a set time (Celery beat).
    publish_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="letter_status_created"),
            models.Index(fields=["article", "status"], name="letter_article_status"),
            models.Index(fields=["email"], name="letter_email"),
            # Publication: the letters feed reads the newest published letters.
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(status=Status.PUBLISHED),
                name="letter_published_newest",
            ),
            models.Index(fields=["fingerprint"], name="letter_fingerprint"),
            # A writer's letters, matched case-insensitively (Django's iexact compares UPPER()
            # on PostgreSQL): the writer's history and the "published recently" flag.
            models.Index(Upper("email"), F("created_at").desc(), name="letter_writer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="letter_status_known"
            ),
        ]
        permissions = [
            ("shortlist_letter", "Can shortlist letters"),
            ("decide_letter", "Can approve, reject, mark spam, withdraw and reassign letters"),
            ("publish_letter", "Can publish and unpublish letters"),
        ]

    def __str__(self):
        return f"{self.name}: {self.body[:60]}"

    def save(self, *args, **kwargs):
        self.word_count = count_words(self.body)
        self.fingerprint = fingerprint(self.body)
        super().save(*args, **kwargs)

    # --- Publication (letter url)
    def get_absolute_url(self):
        """Where the published letter can be read: under its article, else the letters page."""
        if self.article_id:
            return reverse("letters:article", kwargs={"slug": self.article.slug}) + (
                f"#letter-{self.pk}"
            )
        return reverse("letters:letters_page")

    @property
    def publishable_text(self):
        return self.edited_body or self.body

    @property
    def signature(self):
        """The printed sign-off: "Name, Town". Phone and address are never shown."""
        return f"{self.name}, {self.town}" if self.town else self.name

    @property
    def over_word_limit(self):
        """Longer than the desk's soft limit (the form refuses the hard one)."""
        return self.word_count > settings.LETTERS_SOFT_WORD_LIMIT

    @property
    def edited_word_count(self):
        return count_words(self.publishable_text)

    @property
    def arrived_late(self):
        """Written after letters closed on its article (email letters are flagged, not dropped)."""
        deadline = self.article.letters_deadline if self.article_id else None
        return deadline is not None and self.created_at > deadline

    @property
    def unconfirmed(self):
        """The writer has not confirmed that the address is theirs."""
        return self.confirmed_at is None

    # --- Publication (letter)
    @property
    def published_headline(self):
        """The headline readers see: the edition's, else the one the desk gave the letter."""
        return getattr(self, "edition_headline", "") or self.headline

    @property
    def was_edited(self):
        """The desk changed the writer's words (not just whitespace)."""
        return bool(self.edited_body) and self.edited_body.split() != self.body.split()


def published_recently_by_writer(now=None):
    """EXISTS: another letter from the same writer was published in the frequency window."""
    days = settings.LETTERS_WRITER_FREQUENCY_DAYS
    if not days:
        return models.Value(False, output_field=models.BooleanField())
    since = (now or timezone.now()) - timedelta(days=days)
    return Exists(
        Letter.objects.filter(
            status=Status.PUBLISHED,
            email__iexact=OuterRef("email"),
            published_at__gte=since,
        ).exclude(pk=OuterRef("pk"))
    )


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


# --- publication: editions of the letters page and notifications to writers ---


class EditionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"


class EditionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=EditionStatus.PUBLISHED)

    def due(self, now=None):
        """Scheduled editions whose publication time has come."""
        return self.filter(status=EditionStatus.SCHEDULED, publish_at__lte=now or timezone.now())

    def with_published_letters(self):
        """Each edition with `published_entries`: its still-published letters, lead first then
        in the editor's order, fetched in one query for all the editions (no phone, address
        or email loaded)."""
        entries = (
            EditionLetter.objects.filter(letter__status=Status.PUBLISHED)
            .select_related("letter", "letter__article")
            .only(
                "edition_id",
                "position",
                "headline",
                "is_lead",
                "letter__id",
                "letter__headline",
                "letter__body",
                "letter__edited_body",
                "letter__name",
                "letter__town",
                "letter__article_id",
                "letter__article__slug",
                "letter__article__headline",
            )
            .order_by("-is_lead", "position", "id")
        )
        return self.prefetch_related(
            models.Prefetch("entries", queryset=entries, to_attr="published_entries")
        )


class Edition(models.Model):
    """One dated letters page: the letters an editor chose, in order, with their headlines."""

    title = models.CharField(
        max_length=200, blank=True, help_text='Optional, e.g. "Weekend letters".'
    )
    date = models.DateField(unique=True, help_text="The edition's date, shown to readers.")
    status = models.CharField(
        max_length=20,
        choices=EditionStatus.choices,
        default=EditionStatus.DRAFT,
        editable=False,
    )
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text="To schedule: when the edition goes out."
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = EditionQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["status", "-date"], name="edition_status_date")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EditionStatus.values), name="edition_status_known"
            ),
        ]

    def __str__(self):
        label = self.date.strftime("%-d %B %Y") if self.date else "Undated"
        return f"{label}: {self.title}" if self.title else f"Letters, {label}"

    def get_absolute_url(self):
        return reverse("letters:edition", kwargs={"date": self.date.isoformat()})


class EditionLetter(models.Model):
    """A letter's place in an edition: its order, its headline, whether it leads."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="entries")
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="edition_entries")
    position = models.PositiveIntegerField(default=0)
    headline = models.CharField(
        max_length=200, blank=True, help_text="Empty: the letter's own headline."
    )
    is_lead = models.BooleanField("lead letter", default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "letter in the edition"
        verbose_name_plural = "letters in the edition"
        constraints = [
            models.UniqueConstraint(fields=["edition", "letter"], name="edition_letter_once"),
            models.UniqueConstraint(
                fields=["edition"], condition=Q(is_lead=True), name="edition_one_lead"
            ),
        ]

    def __str__(self):
        return self.display_headline or str(self.letter)

    @property
    def display_headline(self):
        return self.headline or self.letter.headline


class NotificationKind(models.TextChoices):
    PUBLISHED = "published", "Letter published"
    EDITED_VERSION = "edited_version", "Edited version sent for agreement"
    REJECTED = "rejected", "Letter not chosen"


class Notification(models.Model):
    """One row per mail of each kind to a letter's writer: the unique pair makes it once only."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "kind"], name="notification_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({'sent' if self.sent_at else 'pending'})"


class Note(models.Model):
    """An internal note on a letter, for the desk only: never shown to the writer or readers."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:60]


class ReplyKind(models.TextChoices):
    REJECTION = "rejection", "Rejection"
    EDITED_VERSION = "edited_version", "We plan to publish this edited version"
    PUBLICATION = "publication", "Publication notice"


class ReplyTemplate(models.Model):
    """A reply the desk sends writers, written by editors, rendered with the letter's fields.

    Subject and body are Django templates rendered as plain text with a fixed set of variables
    (see `context_for`), never the letter object itself, so a template cannot reach the
    writer's phone or address.
    """

    kind = models.CharField(max_length=20, choices=ReplyKind.choices)
    name = models.CharField(max_length=100, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    VARIABLES = (
        "name",
        "town",
        "signature",
        "headline",
        "article_headline",
        "article_url",
        "original_text",
        "edited_text",
        "word_count",
        "edited_word_count",
        "reason",
        "publication",
        "letter_url",
    )

    @staticmethod
    def context_for(letter, **extra):
        article = letter.article
        context = {
            "name": letter.name,
            "town": letter.town,
            "signature": letter.signature,
            "headline": letter.headline,
            "article_headline": article.headline if article else "",
            "article_url": settings.SITE_URL + article.get_absolute_url() if article else "",
            "original_text": letter.body,
            "edited_text": letter.publishable_text,
            "word_count": letter.word_count,
            "edited_word_count": letter.edited_word_count,
            "reason": letter.get_rejection_reason_display() if letter.rejection_reason else "",
            "publication": settings.LETTERS_PUBLICATION_NAME,
            "letter_url": "",
        }
        context.update(extra)
        return context

    def clean(self):
        from django.core.exceptions import ValidationError
        from django.template import Template, TemplateSyntaxError

        for field in ("subject", "body"):
            try:
                Template(getattr(self, field))
            except TemplateSyntaxError as exc:
                raise ValidationError({field: f"This template has an error: {exc}"}) from None

    def render(self, letter, **extra):
        """(subject, body) for `letter`, as plain text (no HTML escaping: this is not a page)."""
        from django.template import Context, Template

        context = Context(self.context_for(letter, **extra), autoescape=False)
        subject = " ".join(Template(self.subject).render(context).split())
        return subject, Template(self.body).render(context)


class Reply(models.Model):
    """A reply rendered for one letter, sent at most once by a task (claim on sent_at)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="replies")
    template = models.ForeignKey(ReplyTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=ReplyKind.choices)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "replies"

    def __str__(self):
        return self.subject


# --- Email intake -----------------------------------------------------------------


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
