"""Letters: the writer's text and details, the desk's flags, and the audit trail."""

import hashlib
import re
import textwrap
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, Upper
from django.urls import reverse
from django.utils import timezone

from ..addresses import normalise_address
from . import flags
from .articles import Article
from .audit import AuditEvent
from .flags import FLAGS
from .status import (
    AWAITING_DECISION,
    UNDECIDED,
    Channel,
    EditionStatus,
    RejectionReason,
    Status,
)


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


# What readers see of a published letter and its article (pages, feeds, exports, the API):
# nothing personal beyond name and town.
PUBLIC_FIELDS = (
    "id",
    "headline",
    "body",
    "edited_body",
    "name",
    "town",
    "published_at",
    "article_id",
    "article__slug",
    "article__headline",
    "article__canonical_url",
)


class LetterQuerySet(models.QuerySet):
    def for_readers(self):
        """With their article, reading only PUBLIC_FIELDS."""
        return self.select_related("article").only(*PUBLIC_FIELDS)

    def awaiting_decision(self):
        return self.filter(status__in=AWAITING_DECISION)

    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def due_for_publication(self, now=None):
        """Approved letters scheduled on their own (not in an edition) whose time has come."""
        return self.filter(status=Status.APPROVED, publish_at__lte=now or timezone.now())

    def in_publication_order(self):
        """Published letters as readers see them: oldest publication first and, within an
        edition, the lead letter then the editor's order. Each letter carries the headline its
        edition gave it (`edition_headline`) and `is_lead`; one query however many letters."""
        # EditionLetter, reached through its relation: models.editions imports this module.
        edition_letter = self.model._meta.get_field("edition_entries").related_model
        entries = edition_letter.objects.filter(
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
        """Annotate the flags that need another row (see flags.flag_annotations), in the same
        query: a page of letters costs one query."""
        return self.annotate(**flags.flag_annotations(self.model, now))

    def flagged(self, flag, now=None):
        """Letters carrying one of the desk's FLAGS (by its name)."""
        return self.filter(self.flag_condition(flag, now))

    def flag_condition(self, flag, now=None):
        """The condition for one of the desk's FLAGS, by its name (flags.flag_condition)."""
        return flags.flag_condition(self.model, flag, now)

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

    def undecided_contact_details_to_purge(self, cutoff):
        """Letters nobody decided on (unconfirmed, received, shortlisted), written before
        `cutoff`, that still hold a phone or address."""
        return self.filter(status__in=UNDECIDED, created_at__lt=cutoff).exclude(
            phone="", address=""
        )

    def needing_analysis(self, older_than, since):
        """Letters stored between `since` and `older_than` that have no checks: their analysis
        never ran (its message was lost on the way to the broker) or failed."""
        return self.filter(
            checks__isnull=True, created_at__lt=older_than, created_at__gte=since
        ).order_by("pk")

    def needing_confirmation_email(self, older_than, claim_expired_before):
        """Web letters whose confirmation email has not gone out: never claimed though written
        before `older_than` (lost on the way to the broker), or claimed before
        `claim_expired_before` by a worker that died before the SMTP server took it."""
        return self.filter(
            Q(confirmation_claimed_at__isnull=True, created_at__lt=older_than)
            | Q(confirmation_claimed_at__lt=claim_expired_before),
            status=Status.UNCONFIRMED,
            channel=Channel.WEB,
            confirmation_sent_at__isnull=True,
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
    # One letter per text, writer and article a day: a form sent again after Back (a new
    # client_token) joins the first letter (moderation.arrivals.submit). Cleared when the
    # earlier letter is older than a day or withdrawn, so the same text can be sent anew.
    resubmission_key = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
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
    # The confirmation email's send: claimed by a worker (a claim older than
    # LETTERS_SEND_CLAIM_SECONDS belongs to a dead worker and is taken again), then sent once
    # the SMTP server took it.
    confirmation_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
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
            # Covering: the "possible duplicate" probe (same fingerprint, another id) reads
            # the index alone.
            models.Index(fields=["fingerprint", "id"], name="letter_fingerprint_id"),
            # On PostgreSQL the queue has two more (migration 0010, not declared here: SQLite
            # cannot build them): its default list (awaiting a decision, newest first) with
            # the columns its counts read, and a GIN index for its full-text search.
            # A writer's letters, matched case-insensitively (Django's iexact compares UPPER()
            # on PostgreSQL): the writer's history and the "published recently" flag.
            models.Index(Upper("email"), F("created_at").desc(), name="letter_writer"),
            # The "published recently" probe: a writer's published letters, by date.
            models.Index(
                Upper("email"),
                F("published_at"),
                condition=Q(status=Status.PUBLISHED),
                name="letter_published_writer",
            ),
            # The dashboard's counts by date of arrival, from the index alone on PostgreSQL
            # (letters.checks.dashboard); elsewhere an index on created_at.
            models.Index(
                fields=["created_at"],
                include=["id", "channel", "status", "suspect", "decided_at", "article"],
                name="letter_dashboard",
            ),
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
        """The writer and the letter's opening, cut at a word with an ellipsis, on one line."""
        opening = textwrap.shorten(self.body[:200], 60, placeholder=" …")
        if opening == "…":  # one word longer than the line
            opening = self.body[:59] + "…"
        return f"{self.name}: {opening}"

    def save(self, *args, **kwargs):
        self.derive_from_body()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """Where the published letter can be read: under its article, else the letters page."""
        if self.article_id:
            return reverse("letters:article", kwargs={"slug": self.article.slug}) + (
                f"#letter-{self.pk}"
            )
        return reverse("letters:letters_page")

    def derive_from_body(self):
        """Set the fields that follow the writer's text (word count, fingerprint). Called by
        save() and by every path that inserts letters without it (bulk_create)."""
        self.word_count = count_words(self.body)
        self.fingerprint = fingerprint(self.body)

    @property
    def publishable_text(self):
        return self.edited_body or self.body

    @property
    def signature(self):
        """The printed sign-off: "Name, Town". Phone and address are never shown."""
        return f"{self.name}, {self.town}" if self.town else self.name

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

    @property
    def article_match_note(self):
        """How an emailed letter's article was found, for its audit trail ("" if unmatched)."""
        if not self.article_match_method:
            return ""
        note = f"article matched by {self.article_match_method}"
        if self.article_match_confidence is not None:
            note += f" (confidence {self.article_match_confidence:.2f})"
        return note

    @property
    def published_headline(self):
        """The headline readers see: the edition's, else the one the desk gave the letter."""
        return getattr(self, "edition_headline", "") or self.headline

    def carried_flags(self):
        """(flag, why) for each flag of FLAGS shown as a badge that this letter carries. The
        flags that need another row are read from with_flags() annotations when present."""
        days = settings.LETTERS_WRITER_FREQUENCY_DAYS
        why = {
            "unconfirmed": self.unconfirmed and "The writer has not confirmed the address",
            "suspect": self.suspect and (self.suspect_reason or "Marked suspect at intake"),
            "published_recently": getattr(self, "writer_published_recently", False)
            and f"Published in the last {days} days",
            "duplicate": getattr(self, "possible_duplicate", False)
            and "Another letter has the same words",
            "late": self.arrived_late and "Arrived after letters closed on the article",
            "campaign": (getattr(self, "cluster_writers", 0) or 0) >= 2
            and f"Near-duplicate of other letters: {self.cluster_size} letters from "
            f"{self.cluster_writers} writers",
            "repeat": getattr(self, "repeats_writer", False)
            and "Nearly the same as another letter from the same writer",
            "not_exclusive": getattr(self, "not_exclusive", False)
            and "Addressed to, or says it went to, other outlets too",
            "misquote": (getattr(self, "quotes_not_found", 0) or 0) > 0
            and f"{self.quotes_not_found} quote(s) not found in the article",
        }
        return [(flag, why[flag.name]) for flag in FLAGS if flag.badge and why.get(flag.name)]

    def status_for_writer(self):
        """Where the letter stands, as the writer's status page says it: "unconfirmed",
        "received", "considered" (shortlisted or approved), "published", "not_chosen"
        (rejected, spam or expired) or "withdrawn". In "we reply only if we publish" mode
        (LETTERS_NOTIFY_ONLY_IF_PUBLISHED) a letter not chosen still reads "received": the desk
        tells writers nothing but publication. Never anything the desk wrote (notes, reasons)."""
        not_chosen = "received" if settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED else "not_chosen"
        return {
            Status.UNCONFIRMED: "unconfirmed",
            Status.RECEIVED: "received",
            Status.SHORTLISTED: "considered",
            Status.APPROVED: "considered",
            Status.PUBLISHED: "published",
            Status.REJECTED: not_chosen,
            Status.SPAM: not_chosen,
            Status.EXPIRED: not_chosen,
            Status.WITHDRAWN: "withdrawn",
        }[self.status]

    def badge(self, flag):
        """The badge's words for `flag`: the campaign's carries its size and writers."""
        if flag.name == "campaign" and getattr(self, "cluster_size", None):
            return f"campaign {self.cluster_size}/{self.cluster_writers}"
        return flag.badge

    @property
    def was_edited(self):
        """The desk changed the writer's words (not just whitespace)."""
        return bool(self.edited_body) and self.edited_body.split() != self.body.split()


class LetterEvent(AuditEvent):
    """One row per status change (and other editorial acts): who, when, from, to, why."""

    # A deleted letter's events stay, without it: the trail of who decided what, and when,
    # outlives the letter (letters.moderation.erasure keeps its id in former_letter_id).
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    former_letter_id = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="The id of the letter once it is deleted (the event outlives it).",
    )
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self):
        return f"{self.action}: {self.from_status or '-'} -> {self.to_status or '-'}"


def new_client_token():
    return uuid.uuid4()


def resubmission_key(email, article_id, body):
    """The same text (spacing aside) from the same address about the same article: the key
    a form sent twice shares (Letter.resubmission_key)."""
    text = " ".join(body.split())
    value = f"{normalise_address(email)}\n{article_id or ''}\n{text}"
    return hashlib.sha256(value.encode()).hexdigest()


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
