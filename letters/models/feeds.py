"""The publication's article feeds: what the desk last fetched from each, and how it went."""

from django.db import models


class FeedStatus(models.TextChoices):
    NEW = "new", "not fetched yet"
    OK = "ok", "fetched"
    NOT_MODIFIED = "not_modified", "not modified since"
    FAILED = "failed", "failed"


class ArticleFeed(models.Model):
    """One RSS, Atom or JSON Feed of the publication's articles (LETTERS_ARTICLE_FEEDS).

    Keeps the validators the server sent (ETag, Last-Modified) for conditional requests, and a
    digest of the last body, so that polling an unchanged feed costs one request and no work.
    """

    url = models.URLField(max_length=500, unique=True)
    etag = models.CharField(max_length=500, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    digest = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(
        max_length=20, choices=FeedStatus.choices, default=FeedStatus.NEW, editable=False
    )
    error = models.TextField(blank=True, editable=False, help_text="Why the last fetch failed.")
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_changed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the feed last brought news."
    )
    item_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Articles in the feed when last read."
    )
    created_count = models.PositiveIntegerField(default=0, editable=False)
    updated_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["url"]
        verbose_name = "article feed"

    def __str__(self):
        return self.url
