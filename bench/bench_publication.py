"""How cheap is meeting the publication: polling its article feed, and serving the embed?

  - sync a 500-item RSS feed whose bytes changed (a new build date) but whose articles did
    not: it is fetched from a local stand-in for the publication's site (127.0.0.1), parsed
    and compared in full. Target: under 1 s, and no write but the feed's own row.
  - poll the same feed when the server answers 304 (ETag): the usual case.
  - serve the embed's iframe page (/embed/?url=..., the block with the form): the first paint
    as the server sees it, through Django's test client. Target: under 20 ms.

Prints the median (and the slowest) of each, and the writes per sync.

Usage: .venv/bin/python bench/bench_publication.py [--runs 9]
       BENCH_DATABASE_URL=postgres://user@host:5432/name uses that database (it is migrated);
       by default a fresh SQLite file in a temporary folder.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VAR = tempfile.mkdtemp(prefix="letters-bench-publication-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{VAR}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("LETTERS_VAR_DIR", VAR)
os.environ.setdefault("LOG_LEVEL", "WARNING")
warnings.filterwarnings("ignore", message="No directory at")

ITEMS = 500


def rss(build_date):
    items = "".join(
        f"<item><title>Story number {n}</title><link>https://www.reaction.life/p/story-{n}</link>"
        f'<guid isPermaLink="false">reaction-{n}</guid><description>What story {n} is about.'
        f"</description><pubDate>Fri, 20 Nov 2026 09:{n % 60:02d}:00 GMT</pubDate></item>"
        for n in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Reaction'
        f"</title><link>https://www.reaction.life/</link><description>News</description>"
        f"<lastBuildDate>{build_date}</lastBuildDate>{items}</channel></rss>"
    )


def timed(function, runs):
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), max(timings)


def writes(queries):
    return sum(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in queries
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from letters.models import Article
    from letters.syndication import sync
    from letters.tests.local_site import LocalSite

    call_command("migrate", verbosity=0)
    site = LocalSite().start()
    try:
        url = site.put("/feed", rss("Fri, 20 Nov 2026 09:00:00 GMT"))
        first = sync.sync_feed(url)
        print(f"first sync: {first}")

        builds = iter(range(10**6))
        write_counts = []

        def changed_bytes_same_articles():
            site.put("/feed", rss(f"Fri, 20 Nov 2026 10:{next(builds) % 60:02d}:00 GMT"))
            with CaptureQueriesContext(connection) as queries:
                result = sync.sync_feed(url)
            assert (result.created, result.updated) == (0, 0), result
            write_counts.append(writes(queries))

        median, worst = timed(changed_bytes_same_articles, runs)
        print(
            f"sync {ITEMS} items, nothing changed (read in full): median {median * 1000:.0f} ms, "
            f"slowest {worst * 1000:.0f} ms, writes per sync {max(write_counts)} "
            f"(the feed's own row)   target < 1000 ms"
        )

        site.put("/feed", rss("Fri, 20 Nov 2026 11:00:00 GMT"), etag='"v2"')
        sync.sync_feed(url)
        median, worst = timed(lambda: sync.sync_feed(url), runs)
        print(
            f"poll answered 304 (ETag): median {median * 1000:.1f} ms, slowest {worst * 1000:.1f} ms"
        )
    finally:
        site.stop()

    settings.LETTERS_EMBED_DOMAINS = ["https://www.reaction.life"]
    settings.ALLOWED_HOSTS = ["testserver"]
    article = Article.objects.get(canonical_url="https://www.reaction.life/p/story-250")
    client = Client()
    path = f"/embed/?url={article.canonical_url}"
    assert client.get(path).status_code == 200
    median, worst = timed(lambda: client.get(path), max(runs, 50))
    print(
        f"embed first paint (/embed/ with the form): median {median * 1000:.1f} ms, "
        f"slowest {worst * 1000:.1f} ms   target < 20 ms"
    )


if __name__ == "__main__":
    main()
