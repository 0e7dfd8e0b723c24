"""How fast are the public letters pages with a big desk behind them?

Builds 100,000 letters across 500 articles in its own PostgreSQL database (letters_bench_public,
created if missing; the data is kept between runs and rebuilt only if it is not the expected
size), groups 10,000 published letters into 400 published editions of 25 with a lead letter
each, then times the pages readers open most, through Django's test client:

  - an article page with its published letters ("Letters in response")
  - the letters page (/letters/, latest editions), an edition's page and the letters feed

Prints for each the median of 5 timed requests after one warm-up, and its query count.
Target: under 50 ms each; query counts do not grow with the data (see the tests).

Usage: .venv/bin/python bench/bench_public.py [--rebuild]
       BENCH_DATABASE_URL=postgres://user@host:5432/name overrides the database.
"""

import os
import statistics
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/letters_bench_public"
)
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

ARTICLES = 500
LETTERS_PER_ARTICLE = 200
EDITIONS = 400
LETTERS_PER_EDITION = 25
RUNS = 5

# WhiteNoise warns that staticfiles/ is not collected; pages render with plain storage here.
warnings.filterwarnings("ignore", message="No directory at")

TEXT = (
    "Sir, your correspondent is right that the West has been slow to decide, but wrong to "
    "think that speed alone would have changed the outcome. What matters is whether our "
    "allies believe we will stay the course. "
)


def create_database_if_missing():
    import dj_database_url
    import psycopg
    from psycopg import sql

    db = dj_database_url.parse(DATABASE_URL)
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            print(f"Created database {db['NAME']}")


def build():
    from django.db import connection, transaction
    from django.utils import timezone

    from letters.models import Article, Edition, EditionLetter, EditionStatus, Letter, Status

    expected = ARTICLES * LETTERS_PER_ARTICLE
    if "--rebuild" not in sys.argv and Letter.objects.count() == expected:
        print(f"Using the existing {expected:,} letters")
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE letters_notification, letters_editionletter, letters_edition, "
            "letters_letterevent, letters_letter, letters_article RESTART IDENTITY CASCADE"
        )
    now = timezone.now()
    # Of each article's 200 letters, 20 are published; the rest are spread over the other
    # statuses a desk holds (mostly received and rejected).
    others = [Status.RECEIVED] * 80 + [Status.REJECTED] * 60 + [Status.SPAM] * 20
    others += [Status.SHORTLISTED] * 10 + [Status.APPROVED] * 5 + [Status.UNCONFIRMED] * 5
    statuses = [Status.PUBLISHED] * 20 + others
    assert len(statuses) == LETTERS_PER_ARTICLE
    with transaction.atomic():
        articles = Article.objects.bulk_create(
            Article(
                headline=f"Article number {i}",
                slug=f"article-{i}",
                body="The article. " * 200,
                published_at=now - timedelta(days=ARTICLES - i),
            )
            for i in range(ARTICLES)
        )
        batch = []
        for article in articles:
            for j, status in enumerate(statuses):
                batch.append(
                    Letter(
                        article=article,
                        status=status,
                        body=TEXT * 3,
                        word_count=len((TEXT * 3).split()),
                        edited_body=TEXT if status == Status.PUBLISHED else "",
                        headline=f"Letter {j}",
                        name=f"Writer {article.pk}-{j}",
                        town="Hexham",
                        email=f"writer{article.pk}-{j}@example.org",
                        phone="01434 600 600",
                        address="1 Secret Lane",
                        created_at=now - timedelta(minutes=j),
                        published_at=now if status == Status.PUBLISHED else None,
                    )
                )
            if len(batch) >= 10_000:
                Letter.objects.bulk_create(batch, batch_size=5000)
                batch = []
        Letter.objects.bulk_create(batch, batch_size=5000)

        published = list(
            Letter.objects.filter(status=Status.PUBLISHED)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        first_day = date.today() - timedelta(days=EDITIONS)
        editions = Edition.objects.bulk_create(
            Edition(
                date=first_day + timedelta(days=i),
                title=f"Edition {i}",
                status=EditionStatus.PUBLISHED,
                published_at=now - timedelta(days=EDITIONS - i),
            )
            for i in range(EDITIONS)
        )
        # Spread each edition's letters over many articles, as a real letters page does.
        entries = []
        for i, edition in enumerate(editions):
            for position in range(LETTERS_PER_EDITION):
                letter_id = published[(position * EDITIONS + i) % len(published)]
                entries.append(
                    EditionLetter(
                        edition=edition,
                        letter_id=letter_id,
                        position=position + 1,
                        headline=f"Edition headline {i}.{position}",
                        is_lead=position == 0,
                    )
                )
        EditionLetter.objects.bulk_create(entries, batch_size=5000)
        # A letter in an edition was published when its edition was.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE letters_letter SET published_at = e.published_at"
                " FROM letters_editionletter el JOIN letters_edition e ON e.id = el.edition_id"
                " WHERE el.letter_id = letters_letter.id"
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Built {Letter.objects.count():,} letters, {Article.objects.count()} articles, "
        f"{Edition.objects.count()} editions in {time.perf_counter() - started:.0f} s"
    )


def measure(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, HTTP_HOST="localhost")  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, HTTP_HOST="localhost")
    return statistics.median(timings), len(queries.captured_queries), response


def main():
    create_database_if_missing()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from letters.models import Article, Edition, Letter, Status

    call_command("migrate", verbosity=0)
    build()

    article = Article.objects.get(slug=f"article-{ARTICLES // 2}")
    shown = Letter.objects.filter(article=article, status=Status.PUBLISHED).count()
    edition = Edition.objects.published().order_by("-date").first()
    pages = [
        (f"article page ({shown} published letters)", article.get_absolute_url()),
        ("letters page /letters/", "/letters/"),
        ("letters page, page 2", "/letters/?page=2"),
        ("one edition", edition.get_absolute_url()),
        ("letters feed", "/letters/feed/"),
        ("article's letters feed", f"/articles/{article.slug}/letters/feed/"),
    ]
    client = Client()
    plain = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    print(
        f"\n{Letter.objects.count():,} letters, {Article.objects.count()} articles, "
        f"{Edition.objects.count()} editions; median of {RUNS} requests after a warm-up\n"
    )
    print(f"{'page':45} {'median ms':>10} {'queries':>8}")
    with override_settings(STORAGES=plain):
        for label, url in pages:
            median, queries, _ = measure(client, url)
            flag = "" if median < 50 else "  OVER 50 ms"
            print(f"{label:45} {median:10.1f} {queries:8d}{flag}")


if __name__ == "__main__":
    main()
