"""The moderation queue's list: its filters, cheap counting and a lean page.

The queue opens on what awaits a decision, newest first, and costs a fixed handful of queries
whatever the page size or the number of letters: flags are EXISTS probes in the page's one
query, and the count is capped (see CappedCountPaginator).
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models.functions import Substr
from django.utils.functional import cached_property

from ..models import FLAGS, Article, Status


class StatusFilter(admin.SimpleListFilter):
    """Status, defaulting to what awaits a decision (received or shortlisted)."""

    title = "status"
    parameter_name = "status"
    AWAITING = "awaiting"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.AWAITING, "Awaiting decision"), *Status.choices]

    def value(self):
        return super().value() or self.AWAITING

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.AWAITING:
            return queryset.awaiting_decision()
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist):
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": "All",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class FlagFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [(flag.name, flag.label) for flag in FLAGS]

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookup_choices):
            return queryset.flagged(self.value())
        return queryset


class ArticleFilter(admin.SimpleListFilter):
    """The most recent articles (one small query), plus the chosen one. Any article can be
    chosen from the queue itself: each row's article links here."""

    title = "article"
    parameter_name = "article"
    RECENT = 12

    def lookups(self, request, model_admin):
        articles = list(Article.objects.only("id", "headline")[: self.RECENT])
        chosen = self.value()
        if chosen and chosen.isdigit() and all(str(a.pk) != chosen for a in articles):
            articles += list(Article.objects.filter(pk=chosen).only("id", "headline"))
        return [(str(a.pk), a.headline[:60]) for a in articles]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(article_id=value)
        if value == "none":
            return queryset.filter(article__isnull=True)
        return queryset


# The queue: cheap counting and a lean page -------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows, so counting costs the same at 10,000 letters or 10 million.

    An exact COUNT(*) over the whole table is what makes big admin lists slow; an editor needs
    to know "about how many", and filters narrow a longer list.
    """

    CAP = 5000

    @cached_property
    def count(self):
        return self.object_list.values("pk").order_by()[: self.CAP + 1].count()

    @property
    def capped(self):
        return self.count > self.CAP


QUEUE_FIELDS = (
    "id",
    "article_id",
    "channel",
    "status",
    "word_count",
    "name",
    "email",
    "town",
    "suspect",
    "suspect_reason",
    "created_at",
    "confirmed_at",
    "fingerprint",
    "article__headline",
    "article__published_at",
    "article__letters_close_at",
)


class QueueChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Only the columns the queue shows: letters' and articles' full texts stay in the database.
        return (
            queryset.select_related("article")
            .only(*QUEUE_FIELDS)
            .with_flags()
            .annotate(excerpt=Substr("body", 1, 160))
        )
