"""Editions of the letters page: the letters an editor chose, in order, and their history;
and the days of the letters page (an edition, letters published on their own, or both)."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import TruncDate
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
        return self._with_entries(EditionLetter.objects.filter(letter__status=Status.PUBLISHED))

    def with_entries_to_preview(self):
        """Each edition with `published_entries` as they will be once it is published: every
        letter in it, whatever its status now (the staff preview of a draft)."""
        return self._with_entries(EditionLetter.objects.all())

    def _with_entries(self, entries):
        entries = (
            entries.select_related("letter", "letter__article")
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


def place_in_editions(letters):
    """Give each of `letters` (published) its place in its latest published edition, as
    LetterQuerySet.in_publication_order annotates it: `edition_headline`, `is_lead` and
    `edition_position` (None outside an edition). One query for all of them, however many."""
    entries = (
        EditionLetter.objects.filter(
            letter__in=[letter.pk for letter in letters], edition__status=EditionStatus.PUBLISHED
        )
        .order_by("edition__date", "edition_id")
        .values_list("letter_id", "headline", "is_lead", "position")
    )
    places = {letter_id: place for letter_id, *place in entries}  # the latest edition wins
    for letter in letters:
        headline, is_lead, position = places.get(letter.pk, ("", False, None))
        letter.edition_headline = headline
        letter.is_lead = is_lead
        letter.edition_position = position
    return letters


# --- The letters page, day by day -----------------------------------------------------------


def published_outside_editions():
    """Published letters in no published edition: those published on their own ("Publish
    now" or a schedule from the queue), or before their edition was."""
    in_edition = EditionLetter.objects.filter(
        letter=OuterRef("pk"), edition__status=EditionStatus.PUBLISHED
    )
    return Letter.objects.published().filter(~Exists(in_edition))


@dataclass
class PublishedDay:
    """One day of the letters page: its published edition (or None) and the letters published
    that day outside any edition, oldest first."""

    date: datetime.date
    edition: Edition | None = None
    letters: list = field(default_factory=list)

    def get_absolute_url(self):
        return reverse("letters:edition", kwargs={"date": self.date.isoformat()})


def publication_dates(page, per_page):
    """One page of the letters page's dates, newest first: (dates, whether earlier ones exist).
    A date has a published edition, letters published on their own, or both.

    Two queries whose cost grows with the page number, not with the desk's history: the
    editions' dates come from their index, and letters on their own are looked for only back to
    the oldest edition date the page could reach (older days would come after it)."""
    wanted = page * per_page
    editions = list(
        Edition.objects.published().order_by("-date").values_list("date", flat=True)[: wanted + 1]
    )
    loose = published_outside_editions()
    if len(editions) > wanted:
        start = datetime.datetime.combine(
            editions[-1], datetime.time.min, timezone.get_current_timezone()
        )
        loose = loose.filter(published_at__gte=start)
    loose_days = (
        loose.annotate(day=TruncDate("published_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    days = sorted({*editions, *loose_days}, reverse=True)
    return days[(page - 1) * per_page : wanted], len(days) > wanted


def published_days(dates):
    """A PublishedDay for each of `dates` (newest first): their editions with their published
    letters in order, and the letters published outside an edition. Three queries however many
    days and letters."""
    editions = {
        edition.date: edition
        for edition in Edition.objects.published().with_published_letters().filter(date__in=dates)
    }
    days = {date: PublishedDay(date, editions.get(date)) for date in dates}
    if dates:
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(min(dates), datetime.time.min, zone)
        end = datetime.datetime.combine(max(dates), datetime.time.min, zone) + datetime.timedelta(
            days=1
        )
        loose = (
            published_outside_editions()
            .filter(published_at__gte=start, published_at__lt=end)
            .for_readers()
            .order_by("published_at", "id")
        )
        for letter in loose:
            day = days.get(timezone.localtime(letter.published_at, zone).date())
            if day is not None:
                day.letters.append(letter)
    return [days[date] for date in sorted(days, reverse=True)]
