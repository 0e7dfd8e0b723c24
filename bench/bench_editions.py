"""Benchmark the edition builder's pages on PostgreSQL with 100,000 letters.

Usage: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \\
       .venv/bin/python bench/bench_editions.py [--letters 100000] [--articles 500] [--runs 9]
       [--rebuild] (another bench's data in the same database: build bench_admin's again)

Uses bench_admin's database and data (built once, the same 100,000 letters), adds a draft
edition of 30 approved letters, and reports as medians of --runs requests after a warm-up: the
edition page (the builder), its staff preview and its Publish now confirmation; and, for the
public side, /letters/ (days with editions and letters published on their own: the bench's
published letters are all outside editions) and the letters feed. Target: the edition page with
30 letters under 100 ms. The letters table is vacuumed first, as autovacuum does on a live desk.
"""

import argparse
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_admin as base  # noqa: E402  (sets up Django on the bench database)

# isort: split
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from letters.models import Article, Edition, EditionLetter, Letter, Status  # noqa: E402

EDITION_DATE = datetime.date(2099, 1, 1)
EDITION_SIZE = 30


def draft_edition(size):
    """The bench's draft edition with `size` approved letters, made once."""
    edition, _ = Edition.objects.get_or_create(date=EDITION_DATE, defaults={"title": "Bench"})
    if edition.entries.count() != size:
        edition.entries.all().delete()
        letters = Letter.objects.filter(status=Status.APPROVED).order_by("-created_at")[:size]
        EditionLetter.objects.bulk_create(
            EditionLetter(edition=edition, letter=letter, position=n, is_lead=n == 1)
            for n, letter in enumerate(letters, start=1)
        )
    return edition


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true", help="build bench_admin's data again")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    if (
        options.rebuild
        or Letter.objects.count() != options.letters
        or Article.objects.count() != options.articles
    ):
        print(f"Building {options.letters} letters across {options.articles} articles...")
        EditionLetter.objects.all().delete()
        Edition.objects.all().delete()
        Letter.objects.all().delete()
        Article.objects.all().delete()
        base.build(options.letters, options.articles)
    edition = draft_edition(EDITION_SIZE)
    # As autovacuum would have done on a live desk: the visibility map lets the days of the
    # letters page be read from the published-letters index alone (an index-only scan).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE letters_letter")

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    client = Client()
    client.force_login(user)
    print(
        f"PostgreSQL {connection.pg_version}, {Letter.objects.count()} letters, "
        f"{Letter.objects.published().count()} published; a draft edition of "
        f"{edition.entries.count()} letters; median of {options.runs} requests"
    )
    pages = [
        ("edition page (builder, 30 letters)", f"/admin/letters/edition/{edition.pk}/change/"),
        ("edition preview (staff)", f"/admin/letters/edition/{edition.pk}/preview/"),
        ("Publish now confirmation", f"/admin/letters/edition/{edition.pk}/publish/"),
        ("letters page /letters/ (by day)", "/letters/"),
        ("letters page, page 2", "/letters/?page=2"),
        ("letters feed", "/letters/feed/"),
    ]
    print(f"{'page':50} {'median ms':>10} {'queries':>8} {'sql ms':>7} {'KB':>6}")
    for label, url in pages:
        median, queries, sql, size = base.timed(client, url, options.runs)
        print(f"{label:50} {median:10.1f} {queries:8d} {sql:7.1f} {size / 1024:6.0f}")


if __name__ == "__main__":
    main()
