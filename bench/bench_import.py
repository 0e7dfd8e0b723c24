"""Benchmark email intake end to end on SQLite: import_mailbox, and receive_email per message.

    .venv/bin/python bench/bench_import.py [--count 5000] [--runs 3] [--receive 1000]

Makes a fresh SQLite database in a temporary folder (WAL, as the desk runs), loads the seed
article plus 499 generated ones, generates an mbox of --count realistic letters with
bench/make_mbox.py (plain, HTML, multipart, attachments, mixed charsets, 2-4 Received
headers), then times `manage.py import_mailbox` end to end (mbox read, raw stored, parsed,
matched, letter created) --runs times on an emptied intake, reporting the median rate. Then
times `receive_email` (what the pipe, SMTP and webhook paths call: store raw and enqueue on
commit, with the default filesystem broker) for --receive single messages: p50 and p99.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(tmp):
    os.environ.update(
        {
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "LETTERS_VAR_DIR": str(tmp),
            "LOG_LEVEL": "ERROR",
        }
    )
    # The broker as given (default: the embedded filesystem broker under the temp folder).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_seeds", verbosity=0, stdout=open(os.devnull, "w"))


def make_articles(count):
    from django.utils import timezone

    from letters.models import Article

    topics = ["housing", "railways", "farming", "schools", "hospitals", "energy", "water"]
    Article.objects.bulk_create(
        [
            Article(
                headline=f"The truth about {topics[i % len(topics)]} policy, part {i}",
                slug=f"bench-article-{i}",
                body=f"An article about {topics[i % len(topics)]} and number {i}. " * 40,
                published_at=timezone.now(),
            )
            for i in range(count)
        ]
    )
    return list(Article.objects.values_list("slug", flat=True))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--receive", type=int, default=1000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="letters-bench-"))
    setup(tmp)
    slugs = make_articles(499)
    from bench.make_mbox import main as make_mbox

    mbox = tmp / "letters.mbox"
    make_mbox(["--count", str(args.count), "--out", str(mbox), "--slugs", ",".join(slugs[:50])])

    from django.core.management import call_command

    from letters.intake.store import receive_email
    from letters.models import InboundEmail, Letter, LetterEvent, WayIn

    rates = []
    for run in range(args.runs):
        LetterEvent.objects.all().delete()
        InboundEmail.objects.all().delete()
        Letter.objects.all().delete()
        started = time.perf_counter()
        call_command("import_mailbox", str(mbox), "--no-progress", stdout=open(os.devnull, "w"))
        elapsed = time.perf_counter() - started
        rates.append(args.count / elapsed)
        print(
            f"run {run + 1}: {args.count} messages in {elapsed:.2f} s = {rates[-1]:,.0f} msg/s "
            f"({Letter.objects.count()} letters, {InboundEmail.objects.count()} stored)"
        )
    print(f"import_mailbox median: {statistics.median(rates):,.0f} msg/s over {args.runs} runs")

    import mailbox

    box = mailbox.mbox(mbox)
    raws = [box.get_bytes(key) for key in box.keys()[: args.receive]]
    InboundEmail.objects.all().delete()
    times = []
    for raw in raws[: args.receive]:
        started = time.perf_counter()
        receive_email(raw, way_in=WayIn.PIPE)
        times.append(time.perf_counter() - started)
    times.sort()
    p50 = times[len(times) // 2] * 1000
    p99 = times[int(len(times) * 0.99) - 1] * 1000
    print(f"receive_email over {len(times)} messages: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
