"""The moderation queue's list: its filters, cheap counting, its search and a lean page.

The queue opens on what awaits a decision, newest first, and costs a fixed handful of queries
whatever the page size or the number of letters: flags are EXISTS probes in the page's one
query, the count is capped (see CappedCountPaginator), and so are the counts per status and
flag at the top, read with the capped ids (see QueuePaginator and QueueChangeList.counts). The letter page's "next" and
"previous" walk the same list (QueueChangeList.neighbour).
"""

import re
from collections import Counter
from html import escape as escape_html

from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.db.models.functions import Substr
from django.db.models.sql.where import WhereNode
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe

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
    The pages end at CAP rows; a longer list says so (`capped`) and is narrowed by a filter.
    Whatever else is to be counted over the list (tallied()) is read with the ids, in the same
    query.
    """

    CAP = 500

    def tallied(self):
        """{name: expression} read with each id, in capped_rows (after the id)."""
        return {}

    @cached_property
    def capped_rows(self):
        tallied = self.tallied()
        rows = self.object_list.annotate(**tallied) if tallied else self.object_list
        return list(rows.values_list("pk", *tallied)[: self.CAP + 1])

    @cached_property
    def capped_ids(self):
        """The ids of the list's first CAP rows, in its order."""
        return [row[0] for row in self.capped_rows[: self.CAP]]

    @cached_property
    def count(self):
        """At most CAP: the pages end there (a longer list says so, see `capped`)."""
        return len(self.capped_ids)

    @property
    def capped(self):
        return len(self.capped_rows) > self.CAP

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(
            self.rows(self.capped_ids[bottom : bottom + self.per_page]), number, self
        )

    def rows(self, ids):
        """The list's rows with these ids, in the list's order, selected by id alone: the ids
        already passed the list's filters, whose cost (a search, a flag's probe) is not paid a
        second time."""
        rows = self.object_list.all()
        rows.query.where = WhereNode()
        return rows.filter(pk__in=ids)


class QueuePaginator(CappedCountPaginator):
    """The queue's: each id is read with its status and whether it carries each flag of FLAGS,
    for the counts at the top of the list (QueueChangeList.counts)."""

    def tallied(self):
        return {
            "tally_status": F("status"),
            **{
                f"tally_{flag.name}": ExpressionWrapper(
                    Letter.objects.flag_condition(flag.name), output_field=BooleanField()
                )
                for flag in FLAGS
            },
        }


# The queue's search ------------------------------------------------------------------------------


def search_vector():
    """The text the queue searches: name, email and letter, as the GIN indexes of migrations
    0010 (every letter) and 0012 (letters awaiting a decision) hold it on PostgreSQL. They must
    stay the same expression for the indexes to be used."""
    return SearchVector("name", "email", "body", config="english")


SEARCH_WORDS = re.compile(r"[\w@.+-]*\w[\w@.+-]*")


def search_letters(queryset, search_term):
    """Letters whose name, email or text hold every word of `search_term`, the last as a word
    or the start of one ("jane smi" finds Jane Smith, "jane@exa" her address), the others as
    words (stemmed: "crossings" finds "crossing"), by full-text search on PostgreSQL (GIN
    index, English). None elsewhere: the caller falls back.

    Only the last word is taken as a start, as search-as-you-type does: a start must be looked
    up among every word the index holds that begins so (each writer's address is one), which
    made "Writer 12" five times slower to find than "Writer" whole."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    words = SEARCH_WORDS.findall(search_term)[:20]
    if not words:
        return queryset
    # Only word characters and @.+- reach to_tsquery, each word quoted: no query syntax.
    query = " & ".join([*(f"'{word}'" for word in words[:-1]), f"'{words[-1]}':*"])
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
        if self.paginator.capped:
            # No "show all" for a list longer than CAP: Django would show every row of it.
            self.can_show_all = False
            if self.show_all:
                self.show_all = False
                self.result_list = self.paginator.page(1).object_list
        elif (self.show_all and self.can_show_all) or not self.multi_page:
            # One page, or "show all": Django runs the filtered list again; its ids are read.
            self.result_list = self.paginator.rows(self.paginator.capped_ids)

    @cached_property
    def counts(self):
        """Counts per status and per flag (every flag of FLAGS) of the list as filtered, capped
        like the list: no query of their own, they are read with the list's capped ids
        (QueuePaginator), each flag's condition evaluated once per row.

        Returns {"statuses": [(label, n, link)], "flags": [(label, n, link)], "capped": bool},
        each link the list narrowed to that status or flag.
        """
        rows = self.paginator.capped_rows[: self.paginator.CAP]
        statuses = Counter(row[1] for row in rows)
        flagged = [sum(1 for row in rows if row[2 + n]) for n in range(len(FLAGS))]
        return {
            "statuses": [
                (s.label, n, self.get_query_string({"status": s.value}, ["p"]))
                for s in Status
                if (n := statuses[s.value])
            ],
            "flags": [
                (flag.label, n, self.get_query_string({"flag": flag.name}, ["p"]))
                for flag, n in zip(FLAGS, flagged, strict=True)
                if n
            ],
            "capped": self.paginator.capped,
        }

    @cached_property
    def table(self):
        """The table's headers (Django's) and rows (queue_rows), for the queue's template
        (admin/letters/letter/queue_results.html, in place of Django's result_list tag)."""
        headers = list(result_headers(self))
        return {
            "headers": headers,
            "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
            "rows": list(queue_rows(self)),
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


# The queue's rows --------------------------------------------------------------------------------


PK_PLACEHOLDER = "0000pk0000"


def queue_rows(cl):
    """The queue's rows, each one string of cells, in the markup Django's items_for_result
    gives these columns (the checkbox cell, the link column as a <th>, every cell classed
    field-<name>), written out directly: its generic path costs 0.3 ms a row (a reverse() and a
    query-string merge per link, a type test and a lazy-text check per cell), a third of a
    100-row page. Every column
    of the queue is a method of the admin returning safe HTML or plain text, from the row's
    own values."""
    model_admin = cl.model_admin
    columns = [(name, getattr(model_admin, name)) for name in cl.list_display]
    links = set(cl.list_display_links or ())
    url = add_preserved_filters(
        {"preserved_filters": cl.preserved_filters, "opts": cl.opts},
        reverse(
            f"{model_admin.admin_site.name}:{cl.opts.app_label}_{cl.opts.model_name}_change",
            args=[PK_PLACEHOLDER],
        ),
    )
    empty = _html(model_admin.get_empty_value_display())
    for letter in cl.result_list:
        cells = []
        for name, column in columns:
            value = column(letter)
            value = empty if value is None or value == "" else _html(value)
            if name == "action_checkbox":
                cells.append(f'<td class="action-checkbox">{value}</td>')
            elif name in links:
                link = escape_html(url.replace(PK_PLACEHOLDER, str(letter.pk)))
                cells.append(f'<th class="field-{name}"><a href="{link}">{value}</a></th>')
            else:
                cells.append(f'<td class="field-{name}">{value}</td>')
        yield mark_safe("".join(cells))


def _html(value):
    """Django's conditional_escape, without its lazy-text wrapper: a dozen calls a row."""
    return value.__html__() if hasattr(value, "__html__") else escape_html(str(value))


def cell(template, *args):
    """Django's format_html for the queue's cells (the same escaping: html.escape of what is
    not already safe), at a third of its cost: a page of 100 rows makes 500 of them."""
    return mark_safe(template.format(*map(_html, args)))


def _reverse(term):
    return term[1:] if term.startswith("-") else f"-{term}"
