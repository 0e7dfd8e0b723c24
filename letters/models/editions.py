"""Editions of the letters page: the letters an editor chose, in order, and their history."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent
from .letters import Letter
from .status import EditionStatus, Status


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


class EditionEvent(AuditEvent):
    """One row per change of an edition's status (published, scheduled, back to draft)."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=EditionStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=EditionStatus.choices, blank=True)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self):
        return f"{self.action}: {self.from_status or '-'} -> {self.to_status or '-'}"
