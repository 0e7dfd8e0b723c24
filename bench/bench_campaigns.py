"""Benchmark campaign detection (letters.checks) on PostgreSQL with 100,000 letters.

Usage: .venv/bin/python bench/bench_campaigns.py [--letters 100000] [--new 200] [--runs 5]
       [--skip-rebuild] [--redis redis://127.0.0.1:6379/14]

Builds (once, with bulk_create) a corpus in BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/letters_bench_campaigns, created if missing): letters on 500
articles over 170 days, each article with its own topic words (so unrelated letters share a
vocabulary and stock phrases), plus planted campaigns: templates copied 3-60 times under
different names with light edits (words swapped, dropped or added, their own opening and
sign-off) and a few writers repeating themselves. Then reports:

- the rebuild of the index (manage.py rebuild_similarity_index's work), wall time;
- recall of the pairs whose exact 3-word-shingle Jaccard is >= 0.5 and precision of the pairs
  flagged at the default threshold. The truth: every pair of a planted group plus every pair
  flagged, by exact Jaccard; unrelated letters are checked on a sample of same-article pairs
  (their highest Jaccard is printed, to show no pair of them reaches 0.5);
- flagging one new letter (index_letter: shingles, MinHash, query, insert, cluster): CPU time
  of this process (time.process_time) and wall time, medians over --new letters;
- the candidate lookup in the database against the same lookup in Redis sets (--redis);
- the dashboard and the queue's first page (campaign filter and default), medians of --runs.
Run with DEBUG off, as production does.
"""

import argparse
import itertools
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import postgres_desk  # noqa: E402

postgres_desk.setup("letters_bench_campaigns")


from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from letters.checks import clusters, index, rebuild, signatures  # noqa: E402
from letters.checks import shingles as sh  # noqa: E402
from letters.models import Article, Letter, LetterSignature, SimilarPair, Status  # noqa: E402

SYLLABLES = "ba be bi bo bu ca ce ci co da de di do fa fe fi ga go la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi".split()
OPENINGS = ["Sir,", "Dear Editor,", "Madam,", "To the Editor:", "Sir -", "Dear Sir,"]
STOCK = [
    "your article on",
    "I write to say that",
    "it seems to me that",
    "as a reader of many years",
    "the government must",
    "yours faithfully",
    "in my view",
    "we are told that",
]
SIGNOFFS = ["Yours faithfully", "Yours sincerely", "Regards", "", "With best wishes"]
GROUP_TAG = "bench-group-"  # planted groups are told by the writer's town field: see build()


def vocabulary(rng, n):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))))
    return sorted(words)


GENERAL = vocabulary(random.Random(1), 3000)


def own_words(rng, topic, k):
    """A letter in its own words on `topic`: topic words, general words and stock phrases."""
    out = [rng.choice(OPENINGS)]
    while len(out) < k:
        roll = rng.random()
        if roll < 0.05:
            out.extend(rng.choice(STOCK).split())
        elif roll < 0.45:
            out.append(rng.choice(topic))
        else:
            out.append(rng.choice(GENERAL))
    return out


def lightly_edited(rng, template, topic):
    """A campaign copy: its own opening and sign-off, a few words swapped, dropped, added."""
    words = list(template[1:])
    rate = rng.uniform(0.01, 0.06)
    out = [rng.choice(OPENINGS)]
    for word in words:
        roll = rng.random()
        if roll < rate:
            out.append(rng.choice(topic))  # swapped
        elif roll < rate * 1.5:
            continue  # dropped
        else:
            out.append(word)
            if rng.random() < rate / 2:
                out.append(rng.choice(GENERAL))  # added
    out.extend(rng.choice(SIGNOFFS).split())
    return out


def build(letters, articles):
    rng = random.Random(11)
    now = timezone.now()
    topics = [vocabulary(random.Random(100 + n), 60) for n in range(articles)]
    Article.objects.bulk_create(
        Article(
            headline=f"Bench article {n}",
            slug=f"bench-article-{n}",
            body=" ".join(own_words(rng, topics[n], 900)),
            published_at=now - timedelta(days=175 - 170 * n / articles),
        )
        for n in range(articles)
    )
    article_ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
    statuses, weights = zip(*postgres_desk.STATUS_WEIGHTS, strict=True)
    planted = 0
    batch = []
    writer_numbers = itertools.count()

    def letter(body, article_n, town, email=None, created=None):
        status = rng.choices(statuses, weights)[0]
        created = created or now - timedelta(minutes=rng.randint(0, 170 * 24 * 60))
        n = next(writer_numbers)
        decided = created + timedelta(hours=rng.uniform(1, 240))
        letter = Letter(
            article_id=article_ids[article_n],
            channel="email" if rng.random() < 0.35 else "web",
            status=status,
            body=" ".join(body),
            name=f"Writer {n}",
            email=email or f"writer{n}@example.com",
            town=town,
            created_at=created,
            confirmed_at=None if status == Status.UNCONFIRMED else created,
            decided_at=decided
            if status not in (Status.RECEIVED, Status.SHORTLISTED, Status.UNCONFIRMED)
            else None,
            published_at=decided if status == Status.PUBLISHED else None,
            suspect=rng.random() < 0.01,
        )
        letter.derive_from_body()
        return letter

    group = 0
    while planted < letters // 10:  # a tenth of the corpus is planted near-duplicates
        article_n = rng.randrange(articles)
        template = own_words(rng, topics[article_n], rng.randint(90, 320))
        copies = rng.choice([3, 4, 5, 8, 12, 20, 40, 60])
        start = now - timedelta(days=rng.uniform(5, 165))
        for _ in range(copies):
            created = start + timedelta(hours=rng.uniform(0, 96))
            batch.append(
                letter(
                    lightly_edited(rng, template, topics[article_n]),
                    article_n,
                    f"{GROUP_TAG}{group}",
                    created=created,
                )
            )
        group += 1
        planted += copies
    repeats = 0
    while repeats < letters // 100:  # writers repeating themselves
        article_n = rng.randrange(articles)
        template = own_words(rng, topics[article_n], rng.randint(90, 250))
        email = f"repeater{repeats}@example.com"
        for _ in range(2):
            batch.append(
                letter(
                    lightly_edited(rng, template, topics[article_n]),
                    article_n,
                    f"{GROUP_TAG}{group}",
                    email=email,
                )
            )
        group += 1
        repeats += 2
    while len(batch) < letters:
        article_n = rng.randrange(articles)
        batch.append(
            letter(
                own_words(rng, topics[article_n], rng.randint(60, 340)),
                article_n,
                rng.choice(postgres_desk.TOWNS),
            )
        )
    rng.shuffle(batch)
    for start in range(0, len(batch), 5000):
        Letter.objects.bulk_create(batch[start : start + 5000])
        print(f"  {start + 5000} letters", end="\r", flush=True)
    print()


def accuracy(threshold, sample_pairs=200_000):
    """Recall of pairs with exact Jaccard >= 0.5 and precision of the pairs flagged."""
    bodies = dict(Letter.objects.values_list("pk", "body"))
    towns = dict(Letter.objects.values_list("pk", "town"))
    # The unrelated sample compares shingle hashes (memory); the truth, exact shingle sets.
    sets = {pk: signatures.shingle_hashes(body) for pk, body in bodies.items()}
    exact = {}

    def exact_jaccard(a, b):
        for pk in (a, b):
            if pk not in exact:
                exact[pk] = sh.shingles(bodies[pk])
        return sh.jaccard(exact[a], exact[b])

    groups = {}
    for pk, town in towns.items():
        if town.startswith(GROUP_TAG):
            groups.setdefault(town, []).append(pk)
    flagged = {(a, b) for a, b in SimilarPair.objects.values_list("letter_id", "other_id") if a < b}
    candidates = set(flagged)
    for members in groups.values():
        candidates.update(itertools.combinations(sorted(members), 2))
    jaccards = {(a, b): exact_jaccard(a, b) for a, b in candidates}
    truth = {pair for pair, value in jaccards.items() if value >= 0.5}
    true_flagged = flagged & truth
    recall = len(true_flagged) / len(truth) if truth else 1.0
    precision = len(true_flagged) / len(flagged) if flagged else 1.0
    # Unrelated letters on the same article: how alike do they get?
    rng = random.Random(5)
    by_article = {}
    for pk, article_id, town in Letter.objects.values_list("pk", "article_id", "town"):
        if not town.startswith(GROUP_TAG):
            by_article.setdefault(article_id, []).append(pk)
    pools = [p for p in by_article.values() if len(p) > 1]
    highest = 0.0
    for _ in range(sample_pairs):
        a, b = rng.sample(rng.choice(pools), 2)
        highest = max(highest, signatures.hashed_jaccard(sets[a], sets[b]))
    within = sorted(jaccards[pair] for pair in truth)
    return {
        "truth": len(truth),
        "flagged": len(flagged),
        "recall": recall,
        "precision": precision,
        "unrelated_highest": highest,
        "truth_median_jaccard": statistics.median(within) if within else 0,
        "truth_under_0_6": sum(j < 0.6 for j in within),
    }


def flag_new(n, seed=7):
    """Index `n` new letters one by one (half campaign copies of planted groups), timing each."""
    rng = random.Random(seed)
    groups = list(
        Letter.objects.filter(town__startswith=GROUP_TAG).values_list("body", "article_id")[:5000]
    )
    unrelated = list(
        Letter.objects.exclude(town__startswith=GROUP_TAG).values_list("body", "article_id")[:5000]
    )
    cpu, wall, found = [], [], 0
    new_ids = []
    for i in range(n):
        body, article_id = rng.choice(groups if i % 2 == 0 else unrelated)
        words = body.split()
        if i % 2 == 0:
            words = lightly_edited(rng, words, GENERAL)
        else:
            rng.shuffle(words)  # unrelated: the same words, another letter
        letter = Letter(
            article_id=article_id,
            status=Status.RECEIVED,
            body=" ".join(words),
            name="New",
            email=f"new{i}@example.com",
        )
        letter.save()
        new_ids.append(letter.pk)
        c0, w0 = time.process_time(), time.perf_counter()
        matches = index.index_letter(letter.pk)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        found += bool(matches)
    return {
        "cpu_ms": statistics.median(cpu),
        "cpu_p90_ms": sorted(cpu)[int(n * 0.9)],
        "wall_ms": statistics.median(wall),
        "with_matches": found,
        "ids": new_ids,
    }


def lookup_vs_redis(redis_url, n=200):
    """Median candidate lookup for `n` letters: the database query, and Redis sets."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=120)
    client.flushdb()
    rows = list(LetterSignature.objects.values_list("pk", "minhash", "created_at"))
    pipe = client.pipeline(transaction=False)
    started = time.perf_counter()
    for count, (pk, blob, _) in enumerate(rows, 1):
        for key in signatures.band_keys(signatures.from_bytes(blob)):
            pipe.sadd(f"band:{key}", pk)
        if count % 200 == 0:
            pipe.execute()
    pipe.execute()
    load = time.perf_counter() - started
    rng = random.Random(3)
    sample = rng.sample(rows, n)
    db_times, redis_times = [], []
    for pk, blob, created_at in sample:
        keys = signatures.band_keys(signatures.from_bytes(blob))
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            index.candidates(cursor, pk, keys, created_at)
        db_times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.smembers(f"band:{key}")
        pipe.execute()
        redis_times.append((time.perf_counter() - t0) * 1000)
    memory = client.info("memory")["used_memory"]
    client.flushdb()
    return {
        "db_ms": statistics.median(db_times),
        "redis_ms": statistics.median(redis_times),
        "redis_load_s": load,
        "redis_mb": memory / 1e6,
    }


def timed(client, url, runs):
    client.get(url)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--new", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--redis", default="")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    Letter.objects.filter(email__startswith="new").delete()  # an earlier run's new letters
    if Letter.objects.count() != options.letters or Article.objects.count() != options.articles:
        print(f"Building {options.letters} letters across {options.articles} articles...")
        t0 = time.perf_counter()
        Letter.objects.all().delete()
        Article.objects.all().delete()
        build(options.letters, options.articles)
        print(f"  built in {time.perf_counter() - t0:.0f} s")
    print(
        f"PostgreSQL {connection.pg_version}, {Letter.objects.count()} letters; threshold {settings.LETTERS_CAMPAIGN_THRESHOLD}, {signatures.BANDS} bands of {signatures.ROWS}"
    )
    if not options.skip_rebuild or not LetterSignature.objects.exists():
        t0 = time.perf_counter()
        result = rebuild.rebuild()
        print(
            f"Rebuild: {result['letters']} letters, {result['pairs']} pairs, {result['clusters']} clusters in {time.perf_counter() - t0:.1f} s"
        )
    # What autovacuum does on a live desk: statistics, and the visibility map that lets the
    # dashboard count from its index alone.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    figures = accuracy(settings.LETTERS_CAMPAIGN_THRESHOLD)
    print(
        f"Accuracy: {figures['truth']} pairs with exact Jaccard >= 0.5 (median {figures['truth_median_jaccard']:.2f}, {figures['truth_under_0_6']} under 0.6), {figures['flagged']} flagged; "
        f"recall {figures['recall']:.3f}, precision {figures['precision']:.3f}; "
        f"highest Jaccard of 200,000 sampled unrelated same-article pairs {figures['unrelated_highest']:.3f}"
    )
    new = flag_new(options.new)
    print(
        f"Flagging one new letter: CPU median {new['cpu_ms']:.2f} ms (p90 {new['cpu_p90_ms']:.2f}), wall median {new['wall_ms']:.2f} ms; {new['with_matches']} of {options.new} found near-duplicates (half were copies)"
    )
    if options.redis:
        r = lookup_vs_redis(options.redis)
        print(
            f"Candidate lookup: database {r['db_ms']:.2f} ms, Redis pipeline {r['redis_ms']:.2f} ms (median); Redis load {r['redis_load_s']:.0f} s, {r['redis_mb']:.0f} MB"
        )
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    client = Client()
    client.force_login(user)
    queue = reverse("admin:letters_letter_changelist")
    print(
        f"Queue, first page: default {timed(client, queue, options.runs):.0f} ms; campaign filter {timed(client, queue + '?flag=campaign&status=all', options.runs):.0f} ms"
    )
    try:
        dashboard = reverse("letters_dashboard")
    except Exception:
        dashboard = None
    if dashboard:
        print(
            f"Dashboard (default range): {timed(client, dashboard, options.runs):.0f} ms; 170 days: {timed(client, dashboard + '?days=170', options.runs):.0f} ms"
        )
    with transaction.atomic():
        clusters.forget(new["ids"])
        Letter.objects.filter(pk__in=new["ids"]).delete()


if __name__ == "__main__":
    main()
