"""The desk's records: articles, letters and the audit trail of every letter's status."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
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

    # --- publication (queries) ---
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

    # --- end publication (queries) ---

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

    # --- publication (letter url) ---
    def get_absolute_url(self):
        """Where the published letter can be read: under its article, else the letters page."""
        if self.article_id:
            return reverse("letters:article", kwargs={"slug": self.article.slug}) + (
                f"#letter-{self.pk}"
            )
        return reverse("letters:letters_page")

    # --- end publication (letter url) ---

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

    # --- publication (letter) ---
    @property
    def published_headline(self):
        """The headline readers see: the edition's, else the one the desk gave the letter."""
        return getattr(self, "edition_headline", "") or self.headline

    @property
    def was_edited(self):
        """The desk changed the writer's words (not just whitespace)."""
        return bool(self.edited_body) and self.edited_body.split() != self.body.split()

    # --- end publication (letter) ---


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
        permissions = [("publish_edition", "Can publish or schedule editions")]

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


# --- end publication ---
