"""The moderation queue's list: its filters, cheap counting, its search and a lean page.

The queue opens on what awaits a decision, newest first, and costs a fixed handful of queries
whatever the page size or the number of letters: flags are EXISTS probes in the page's one
query, the count is capped (see CappedCountPaginator), and so are the counts per status and
flag at the top (one query of conditional counts, see QueueChangeList.counts). The letter page's "next" and
"previous" walk the same list (QueueChangeList.neighbour).
"""

import re

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.db.models.functions import Substr
from django.db.models.sql.where import WhereNode
from django.utils.functional import cached_property

from ..models import FLAGS, Article, Letter, Status


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
    to know "about how many", and filters narrow a longer list. The count reads the ids of the
    list in order (at most CAP + 1 of them), so a page within them is then fetched by id: a
    filter that costs something per row (a search, the duplicate flag) runs once, not twice.
    """

    CAP = 5000

    @cached_property
    def capped_ids(self):
        return list(self.object_list.values_list("pk", flat=True)[: self.CAP + 1])

    @cached_property
    def count(self):
        return len(self.capped_ids)

    @property
    def capped(self):
        return self.count > self.CAP

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top > self.CAP:  # past the ids read: the plain way
            return super().page(number)
        return self._get_page(self.rows(self.capped_ids[bottom:top]), number, self)

    def rows(self, ids):
        """The list's rows with these ids, in the list's order, selected by id alone: the ids
        already passed the list's filters, whose cost (a search, a flag's probe) is not paid a
        second time."""
        rows = self.object_list.all()
        rows.query.where = WhereNode()
        return rows.filter(pk__in=ids)


# The queue's search ------------------------------------------------------------------------------


def search_vector():
    """The text the queue searches: name, email and letter, as migration 0008's GIN index
    (PostgreSQL) holds it. The two must stay the same expression for the index to be used."""
    return SearchVector("name", "email", "body", config="english")


SEARCH_WORDS = re.compile(r"[\w@.+-]*\w[\w@.+-]*")


def search_letters(queryset, search_term):
    """Letters whose name, email or text hold every word of `search_term`, each as a word or
    the start of one ("smi" finds Smith, "jane@exa" her address), by full-text search on
    PostgreSQL (GIN index, stemmed English). None elsewhere: the caller falls back."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    words = SEARCH_WORDS.findall(search_term)[:20]
    if not words:
        return queryset
    # Only word characters and @.+- reach to_tsquery, each word quoted: no query syntax.
    query = " & ".join(f"'{word}':*" for word in words)
    return queryset.alias(searched=search_vector()).filter(
        searched=SearchQuery(query, config="english", search_type="raw")
    )


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
    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        status = request.GET.get(StatusFilter.parameter_name) or StatusFilter.AWAITING
        if status == StatusFilter.AWAITING:
            self.title = "Letters awaiting a decision"
        elif status in Status.values:
            self.title = f"Letters: {Status(status).label.lower()}"
        else:
            self.title = "All letters"

    def get_results(self, request):
        if getattr(request, "desk_neighbours_only", False):
            self.paginator = None  # the step to the next letter reads no page and no count
            return
        super().get_results(request)
        if (self.show_all and self.can_show_all) or not self.multi_page:
            # One page, or "show all": Django runs the filtered list again; its ids are read.
            self.result_list = self.paginator.rows(self.paginator.capped_ids)

    COUNT_BY_ID = 1000  # lists this short are counted by the ids already read

    @cached_property
    def counts(self):
        """Counts per status and per flag (every flag of FLAGS) of the list as filtered, capped
        like the list: ONE query, conditional counts over the list's own first CAP + 1 rows
        (its filters, its order, a LIMIT; on PostgreSQL the default list reads them from one
        covering index, migration 0008), each flag's condition evaluated once per row.

        Returns {"statuses": [(label, n, link)], "flags": [(label, n, link)], "capped": bool},
        each link the list narrowed to that status or flag.
        """
        flags = {
            f"is_{flag.name}": ExpressionWrapper(
                Letter.objects.flag_condition(flag.name), output_field=BooleanField()
            )
            for flag in FLAGS
        }
        ids = self.paginator.capped_ids
        if len(ids) <= self.COUNT_BY_ID:
            # A short list: count the rows already found, by id, rather than filter again.
            listed = Letter.objects.filter(pk__in=ids).annotate(**flags).values("status", *flags)
        else:
            listed = self.queryset.annotate(**flags).values("status", *flags)
            listed = listed[: CappedCountPaginator.CAP + 1]
        found = listed.aggregate(
            **{f"status_{s.value}": Count("status", filter=Q(status=s.value)) for s in Status},
            **{f"flag_{name}": Count("status", filter=Q(**{name: True})) for name in flags},
        )
        return {
            "statuses": [
                (s.label, n, self.get_query_string({"status": s.value}, ["p"]))
                for s in Status
                if (n := found[f"status_{s.value}"])
            ],
            "flags": [
                (flag.label, n, self.get_query_string({"flag": flag.name}, ["p"]))
                for flag in FLAGS
                if (n := found[f"flag_is_{flag.name}"])
            ],
            "capped": sum(found[f"status_{s.value}"] for s in Status) > CappedCountPaginator.CAP,
        }

    def neighbour(self, letter_id, *, forward=True):
        """The id of the letter after (or before) `letter_id` in this list, in its order, or
        None. The letter itself need not be in the list any more (just decided): its place is
        found from its own values of the ordering's fields (a keyset, one query)."""
        ordering = [term for term in self.queryset.query.order_by if isinstance(term, str)]
        if not ordering or len(ordering) != len(self.queryset.query.order_by):
            return None  # ordered by an expression: no keyset to walk
        names = [term.lstrip("-") for term in ordering]
        values = Letter.objects.filter(pk=letter_id).values(*names).first()
        if values is None or any(values[name] is None for name in names):
            return None
        # (a, b, c) after (x, y, z): a > x, or a = x and b > y, or a = x and b = y and c > z
        # ("<" for a descending field, and all turned round to go back).
        after, same = Q(), Q()
        for term, name in zip(ordering, names, strict=True):
            descending = term.startswith("-") == forward
            after |= same & Q(**{f"{name}__{'lt' if descending else 'gt'}": values[name]})
            same &= Q(**{name: values[name]})
        order = ordering if forward else [_reverse(term) for term in ordering]
        return self.queryset.filter(after).order_by(*order).values_list("pk", flat=True).first()

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Only the columns the queue shows: letters' and articles' full texts stay in the database.
        return (
            queryset.select_related("article")
            .only(*QUEUE_FIELDS)
            .with_flags()
            .annotate(excerpt=Substr("body", 1, 160))
        )


def _reverse(term):
    return term[1:] if term.startswith("-") else f"-{term}"
