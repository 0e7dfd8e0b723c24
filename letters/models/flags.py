"""The desk's flags: the one table of them (FLAGS) and the conditions that compute them.

LetterQuerySet.flagged() filters by a flag, with_flags() annotates those that need another row,
the queue offers them as filters and counts them, Letter.carried_flags() says which a letter
carries. Each condition takes the Letter model (`letters`): this module cannot import it.
"""

from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .status import Status


class Flag(NamedTuple):
    name: str  # the queue filter's value (?flag=) and the badge's CSS class
    label: str  # the queue filter's choice
    badge: str  # the queue's badge; empty: shown in another column (words)


# The one table of the desk's flags.
FLAGS = (
    Flag("over_limit", "Over the word limit", ""),
    Flag("unconfirmed", "Unconfirmed", "unconfirmed"),
    Flag("suspect", "Suspect", "suspect"),
    Flag("published_recently", "Writer published recently", "published recently"),
    Flag("duplicate", "Possible duplicate", "duplicate?"),
    Flag("late", "Arrived after letters closed", "late"),
    # Found by the processing step (letters.checks), read from its rows.
    Flag("campaign", "Campaign (near-duplicates from several writers)", "campaign"),
    Flag("repeat", "Writer repeats an earlier letter", "repeat"),
    Flag("not_exclusive", "Sent to other outlets too", "not exclusive"),
    Flag("misquote", "Quote not found in the article", "quote?"),
)


def flag_annotations(letters, now=None):
    """The annotations with_flags() adds. writer_published_recently: another letter from the
    same address was published within LETTERS_WRITER_FREQUENCY_DAYS. possible_duplicate:
    another letter has the same words. Each an EXISTS probe on an index."""
    return {
        "writer_published_recently": published_recently_by_writer(letters, now),
        "possible_duplicate": same_words_elsewhere(letters),
        # letters.checks' rows, each a subquery on a primary key: no join, so counting the
        # queue (which drops unselected annotations) does not pay for them.
        **checks_found(letters),
    }


def flag_condition(letters, flag, now=None):
    """The condition (a Q or a boolean expression) for one of FLAGS, by its name: what
    flagged() filters on and what the queue's counts count, flag by flag."""
    conditions = {
        "over_limit": lambda: Q(word_count__gt=settings.LETTERS_SOFT_WORD_LIMIT),
        "unconfirmed": lambda: Q(confirmed_at__isnull=True),
        "suspect": lambda: Q(suspect=True),
        "published_recently": lambda: published_recently_by_writer(letters, now),
        "duplicate": lambda: same_words_elsewhere(letters),
        "late": lambda: arrived_after_letters_closed(letters),
        "campaign": lambda: found(letters, "similarity", cluster__writers__gte=2),
        "repeat": lambda: repeats_own_letter(letters),
        "not_exclusive": lambda: found(letters, "checks", not_exclusive=True),
        "misquote": lambda: found(letters, "checks", quotes_not_found__gt=0),
    }
    if flag not in conditions:
        raise ValueError(f"Unknown flag {flag!r}")
    return conditions[flag]()


def published_recently_by_writer(letters, now=None):
    """EXISTS: another letter from the same writer was published in the frequency window."""
    days = settings.LETTERS_WRITER_FREQUENCY_DAYS
    if not days:
        return models.Value(False, output_field=models.BooleanField())
    since = (now or timezone.now()) - timedelta(days=days)
    return Exists(
        letters.objects.filter(
            status=Status.PUBLISHED,
            email__iexact=OuterRef("email"),
            published_at__gte=since,
        ).exclude(pk=OuterRef("pk"))
    )


def checks_found(letters):
    """Annotations of what letters.checks found: the letter's cluster (id, size, writers),
    whether it repeats the writer's own letter, and the exclusivity and quote checks."""
    # Reached through their relations: models.checks imports models.letters.
    signature = letters._meta.get_field("similarity").related_model
    checks = letters._meta.get_field("checks").related_model

    def first(model, field):
        return models.Subquery(model.objects.filter(pk=OuterRef("pk")).values(field)[:1])

    return {
        "cluster_pk": first(signature, "cluster_id"),
        "cluster_size": first(signature, "cluster__size"),
        "cluster_writers": first(signature, "cluster__writers"),
        "repeats_writer": repeats_own_letter(letters),
        "not_exclusive": Coalesce(first(checks, "not_exclusive"), False),
        "quotes_not_found": Coalesce(first(checks, "quotes_not_found"), 0),
    }


def found(letters, relation, **conditions):
    """EXISTS: a row letters.checks wrote for the letter (through `relation`) meets the
    conditions. A probe rather than a join, so that a list cut by LIMIT (the queue's counts)
    probes only the rows it keeps."""
    model = letters._meta.get_field(relation).related_model  # models.checks imports us
    return Exists(model.objects.filter(letter=OuterRef("pk"), **conditions))


def repeats_own_letter(letters):
    """EXISTS: a near-duplicate of this letter from the same writer (letters.checks)."""
    return found(letters, "similar_pairs", same_writer=True)


def same_words_elsewhere(letters):
    """EXISTS: another letter has the same fingerprint (the same words)."""
    return Exists(
        letters.objects.filter(fingerprint=OuterRef("fingerprint")).exclude(pk=OuterRef("pk"))
    )


def arrived_after_letters_closed(letters):
    """EXISTS: written after letters closed on the article: its own closing time, else the
    desk's LETTERS_CLOSE_AFTER_DAYS after publication. A probe on the article rather than a
    join, like the other flags: a filtered list pays for it only on the rows it keeps."""
    late = Q(letters_close_at__isnull=False, letters_close_at__lt=OuterRef("created_at"))
    days = settings.LETTERS_CLOSE_AFTER_DAYS
    if days:
        late |= Q(
            letters_close_at__isnull=True,
            published_at__lt=OuterRef("created_at") - timedelta(days=days),
        )
    article = letters._meta.get_field("article").related_model  # models.articles
    return Exists(article.objects.filter(late, pk=OuterRef("article_id")))
