"""The desk's figures for a date range, each computed in the database (grouped counts and
conditional aggregates; the median by ORDER BY with OFFSET), never by loading letters.

Received letters are counted by when they arrived (created_at); decisions are the letters of
the range decided so far. Acceptance: approved or published among those approved, published
or rejected (spam and expired are not editorial choices).
"""

from datetime import datetime, time, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import Article, Letter, LetterSignature, Status

TOP_ARTICLES = 20
# Letters awaiting a decision, by how long they have waited: (label, from days, to days).
AGES = [
    ("under a day", 0, 1),
    ("1-3 days", 1, 3),
    ("3-7 days", 3, 7),
    ("1-2 weeks", 7, 14),
    ("over 2 weeks", 14, None),
]


def bounds(start, end):
    """Aware datetimes for the dates `start` to `end`, both included (the desk's timezone)."""
    zone = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(start, time.min), zone),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone),
    )


def per_day(letters, start, end):
    """[(date, web, email)] for every day of the range, days without letters included."""
    rows = (
        letters.annotate(day=TruncDate("created_at"))
        .values("day", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["day"], row["channel"]): row["n"] for row in rows}
    days = (end - start).days + 1
    return [
        (day, counts.get((day, "web"), 0), counts.get((day, "email"), 0))
        for day in (start + timedelta(days=n) for n in range(days))
    ]


def median_time_to_decision(letters, n):
    """The median time from arrival to decision of the `n` decided letters: a timedelta or
    None. The database sorts the durations; only the middle one or two come back."""
    decided = (
        letters.filter(decided_at__isnull=False)
        .annotate(
            taken=ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
        )
        .order_by("taken")
        .values_list("taken", flat=True)
    )
    if not n:
        return None
    middle = list(decided[(n - 1) // 2 : n // 2 + 1])
    return sum(middle, timedelta()) / len(middle)


def awaiting_by_age(now):
    """[(label, count)] of the letters awaiting a decision now, by age: one query."""
    buckets = {}
    for n, (_, low, high) in enumerate(AGES):
        condition = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - timedelta(days=high))
        buckets[f"age{n}"] = Count("pk", filter=condition)
    counts = Letter.objects.awaiting_decision().aggregate(**buckets)
    return [(label, counts[f"age{n}"]) for n, (label, _, _) in enumerate(AGES)]


def figures(start, end, *, now=None):
    """Everything the dashboard shows for the dates `start` to `end` (included)."""
    now = now or timezone.now()
    since, until = bounds(start, end)
    letters = Letter.objects.filter(created_at__gte=since, created_at__lt=until)
    totals = letters.aggregate(
        total=Count("pk"),
        suspect=Count("pk", filter=Q(suspect=True)),
        accepted=Count("pk", filter=Q(status__in=(Status.APPROVED, Status.PUBLISHED))),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        decided=Count("pk", filter=Q(decided_at__isnull=False)),
    )
    campaign = LetterSignature.objects.filter(
        created_at__gte=since, created_at__lt=until, cluster__writers__gte=2
    ).count()
    chosen = totals["accepted"] + totals["rejected"]
    # Counted on the letters' index alone; the headlines of the top ones are read after.
    top = list(
        letters.filter(article__isnull=False)
        .values("article_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "article_id")[:TOP_ARTICLES]
    )
    headlines = dict(
        Article.objects.filter(pk__in=[row["article_id"] for row in top]).values_list(
            "pk", "headline"
        )
    )
    total = totals["total"]
    return {
        "start": start,
        "end": end,
        "total": total,
        "per_day": per_day(letters, start, end),
        "per_article": [
            (row["article_id"], headlines.get(row["article_id"], ""), row["n"]) for row in top
        ],
        "campaign": campaign,
        "suspect": totals["suspect"],
        "campaign_share": campaign / total if total else 0.0,
        "suspect_share": totals["suspect"] / total if total else 0.0,
        "median_to_decision": median_time_to_decision(letters, totals["decided"]),
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "acceptance_rate": totals["accepted"] / chosen if chosen else None,
        "awaiting_by_age": awaiting_by_age(now),
    }
