"""Articles: what letters answer, and whether an article still takes them."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


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
    canonical_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="The article's address on the publication's own site (unique when set).",
    )
    feed_guid = models.CharField(
        max_length=500,
        blank=True,
        db_index=True,
        help_text="The id the publication's feed gives this article (set by the feed sync).",
    )
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
        constraints = [
            # One article per address: the feed sync and the embed both find articles by it.
            models.UniqueConstraint(
                fields=["canonical_url"],
                condition=~models.Q(canonical_url=""),
                name="article_canonical_url_once",
            ),
        ]

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
