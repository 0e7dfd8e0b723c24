"""Benchmark the moderation desk's admin pages on PostgreSQL with 100,000 letters.

Usage: .venv/bin/python bench/bench_admin.py [--letters 100000] [--articles 500] [--runs 5]

Builds (once) a database of letters across articles in BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/letters_bench_admin, created if missing), with what the
processing step leaves for each letter (its checks and similarity signature, a campaign's
cluster), analysed as autovacuum would have it, logs in a
superuser with the test client and reports, as medians of --runs requests after a warm-up:
the queue's first page (default filter, a page of 50 rows, with its counts per status and flag) and its
query count, some other queue views (a flag, the duplicate filter, searches), a letter's page,
the step to the next letter, and a bare ModelAdmin changelist of the same rows for comparison.
Run with DEBUG off, as production does. Targets: queue first page with counts under
100 ms in at most 8 queries; letter page, search and duplicate filter under 50 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import postgres_desk  # noqa: E402

postgres_desk.setup("letters_bench_admin")


from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from letters.models import (  # noqa: E402
    Article,
    Letter,
    LetterChecks,
    Status,
    count_words,
    fingerprint,
)

# A bare admin of the same model, for comparison: what the foundation's LetterAdmin did.
bare_site = admin.AdminSite(name="bare")


class BareLetterAdmin(admin.ModelAdmin):
    list_display = ["name", "town", "article", "channel", "status", "word_count", "created_at"]
    list_select_related = ["article"]
    list_per_page = 50  # the queue's
    change_list_template = "admin/change_list.html"  # not the queue's (same app and model)


bare_site.register(Letter, BareLetterAdmin)
urlpatterns = [path("bare/", bare_site.urls), path("", include("reaction_letters.urls"))]
settings.ROOT_URLCONF = __name__

WORDS = (
    "the government minister policy article writer argue surely because however council "
    "people years local we our never always again west war peace economy taxes housing school "
    "hospital river bridge road train should would could must yours faithfully point view "
    "agree disagree wrong right letter editor readers week report claim evidence cost"
).split()


def build(letters, articles):
    rng = random.Random(4)
    now = timezone.now()
    Article.objects.bulk_create(
        Article(
            headline=f"Bench article {n}: {' '.join(rng.choices(WORDS, k=6))}",
            slug=f"bench-article-{n}",
            body=" ".join(rng.choices(WORDS, k=1200)),
            published_at=now - timedelta(days=365 * n / articles),
        )
        for n in range(articles)
    )
    article_ids = list(Article.objects.values_list("pk", flat=True))
    statuses, weights = zip(*postgres_desk.STATUS_WEIGHTS, strict=True)
    campaign = "Sir, " + " ".join(rng.choices(WORDS, k=180))
    batch = []
    for n in range(letters):
        body = (
            campaign
            if n % 200 == 0
            else "Sir, " + " ".join(rng.choices(WORDS, k=rng.randint(80, 340)))
        )
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        writer = rng.randint(0, 30000)
        batch.append(
            Letter(
                article_id=rng.choice(article_ids),
                channel="email" if n % 3 == 0 else "web",
                status=status,
                body=body,
                word_count=count_words(body),
                fingerprint=fingerprint(body),
                name=f"Writer {writer}",
                email=f"writer{writer}@example.com",
                town=rng.choice(postgres_desk.TOWNS),
                created_at=created,
                confirmed_at=None if status == Status.UNCONFIRMED else created,
                published_at=created + timedelta(days=1) if status == Status.PUBLISHED else None,
                suspect=n % 97 == 0,
            )
        )
        if len(batch) == 5000:
            Letter.objects.bulk_create(batch)
            batch = []
            print(f"  {n + 1} letters", end="\r", flush=True)
    Letter.objects.bulk_create(batch)
    print()


def build_checks():
    """What the processing step (letters.checks) leaves for every letter, so that the queue's
    flags read real rows: its checks (1 in 50 sent elsewhere too, 1 in 40 with a quote not
    found in the article) and its similarity signature (256 MinHash values), the campaign's
    letters in one cluster of many writers, and the campaign's repeats by one writer paired."""
    campaign = Letter.objects.values("fingerprint").annotate(n=Count("id")).order_by("-n")[0]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE letters_similarpair, letters_lettersignature, letters_cluster")
        cursor.execute("TRUNCATE letters_letterchecks")
        cursor.execute(
            "INSERT INTO letters_letterchecks (letter_id, not_exclusive, exclusivity_evidence,"
            " quotes, quotes_not_found, checked_at) SELECT id, id % 50 = 0, '[]', '[]',"
            " CASE WHEN id % 40 = 0 THEN 1 ELSE 0 END, created_at FROM letters_letter"
        )
        cursor.execute(
            "INSERT INTO letters_cluster (size, writers, updated_at)"
            " VALUES (%s, %s, now()) RETURNING id",
            [campaign["n"], campaign["n"]],
        )
        cluster = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO letters_lettersignature (letter_id, created_at, writer, minhash,"
            " hashes, shingles, cluster_id, indexed_at) SELECT id, created_at, lower(email),"
            " decode(repeat('ab', 1024), 'hex'), '', 150,"
            " CASE WHEN fingerprint = %s THEN %s END, created_at FROM letters_letter",
            [campaign["fingerprint"], cluster],
        )
        cursor.execute(
            "INSERT INTO letters_similarpair (letter_id, other_id, jaccard, same_writer)"
            " SELECT a.id, b.id, 1.0, true FROM letters_letter a JOIN letters_letter b"
            " ON a.fingerprint = b.fingerprint AND a.email = b.email AND a.id <> b.id"
            " WHERE a.fingerprint = %s",
            [campaign["fingerprint"]],
        )


def timed(client, url, runs):
    client.get(url)  # warm-up: templates, caches, connection
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 302), (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    sql = sum(float(query["time"]) for query in queries.captured_queries) * 1000
    return statistics.median(times), len(queries), sql, len(response.content)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    if Letter.objects.count() != options.letters or Article.objects.count() != options.articles:
        print(f"Building {options.letters} letters across {options.articles} articles...")
        Letter.objects.all().delete()
        Article.objects.all().delete()
        build(options.letters, options.articles)

    if LetterChecks.objects.count() != options.letters:
        print("Adding what the processing step finds for each letter...")
        build_checks()

    # As autovacuum leaves a settled database: statistics for the planner (every table's: with
    # none for the articles it plans their join for 33 rows, not 500), and the visibility map
    # that lets the duplicate probe read its index alone.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE letters_letter")
        cursor.execute("ANALYZE")
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    client = Client()
    client.force_login(user)

    awaiting = Letter.objects.awaiting_decision().count()
    print(
        f"PostgreSQL {connection.pg_version}, {Letter.objects.count()} letters, "
        f"{Article.objects.count()} articles, {awaiting} awaiting a decision; "
        f"median of {options.runs} requests"
    )
    busy_writer = (
        Letter.objects.awaiting_decision()
        .filter(email__in=Letter.objects.published().values("email"))
        .order_by("-created_at")
        .first()
    )
    article = Article.objects.order_by("-published_at").first()
    pages = [
        ("queue, first page (default filter, 50 rows)", "/admin/letters/letter/"),
        ("queue, page 3", "/admin/letters/letter/?p=3"),
        ("queue, all statuses", "/admin/letters/letter/?status=all"),
        (
            "queue, flag: writer published recently",
            "/admin/letters/letter/?flag=published_recently",
        ),
        ("queue, flag: possible duplicate", "/admin/letters/letter/?flag=duplicate"),
        ("queue, one article", f"/admin/letters/letter/?article={article.pk}&status=all"),
        ("queue, search 'bridge' (in nearly every letter)", "/admin/letters/letter/?q=bridge"),
        ("queue, search a writer's address", f"/admin/letters/letter/?q={busy_writer.email}"),
        (
            "queue, search a name's start, all statuses",
            "/admin/letters/letter/?q=Writer+12&status=all",
        ),
        ("letter page (writer with history)", f"/admin/letters/letter/{busy_writer.pk}/change/"),
        (
            "next letter in the queue (redirect)",
            f"/admin/letters/letter/{busy_writer.pk}/next/?_changelist_filters=flag%3Dduplicate",
        ),
        (
            "bare ModelAdmin changelist, same rows",
            "/bare/letters/letter/?status__in=received,shortlisted",
        ),
    ]
    # "sql ms": the time in the database of one more request (the rest is Python: the view
    # and the template), to tell the two apart on a busy machine.
    print(f"{'page':50} {'median ms':>10} {'queries':>8} {'sql ms':>7} {'KB':>6}")
    for label, url in pages:
        median, queries, sql, size = timed(client, url, options.runs)
        print(f"{label:50} {median:10.1f} {queries:8d} {sql:7.1f} {size / 1024:6.0f}")
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
