"""Where the desk's form post spends its CPU beyond a bare Django ModelForm's, part by part.

bench_form.py measures the whole: gunicorn's CPU per letter, the desk's form against the bare
ModelForm of bench/baseline_urls.py. This script says what the difference is made of. It sets
up the same desk (SQLite, the embedded filesystem broker, the seed article; every defence on,
rate limits raised for its one client, a solved proof of work in every post) in one process,
and posts letters through Django's test client (CSRF checks on), one desk post then one bare
post, --posts times, timing each post's CPU (time.process_time). It prints the medians, then
the same with one part of the desk's work replaced by nothing at a time:

  - the one Celery message after commit (letters.jobs.send_now),
  - the "submitted" event in the letter's audit trail (moderation.rules.record),
  - the proof-of-work check (bot_defence.problem_with),
  - the rate limits (limits.hit),
  - the content screening (moderation.screening.screen).

Each part's cost is the drop in the desk's median when it is gone, measured against the bare
form's in the same round (the ratio's drop times the bare post's CPU): a machine that speeds up
or slows down during the run moves both forms alike, and interleaving them post by post keeps
it from favouring either. The desk as it runs is measured first and last, and the two are
averaged; how far apart they are shows how steady the machine was.
(The parts switched off here are for measuring only: the desk never runs without them.)

Usage: .venv/bin/python bench/bench_form_costs.py [--posts 500]
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_form  # noqa: E402

WARM_UP = 20


@contextmanager
def without(obj, name, replacement):
    original = getattr(obj, name)
    setattr(obj, name, replacement)
    try:
        yield
    finally:
        setattr(obj, name, original)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=500, help="posts of each form per round")
    options = parser.parse_args()

    page = bench_form.prepare_database(Path(tempfile.mkdtemp(prefix="bench-form-costs-")))
    from django.conf import settings
    from django.test import Client
    from django.urls import clear_url_caches

    from letters import bot_defence, jobs, limits
    from letters.moderation import arrivals

    settings.ROOT_URLCONF = "bench.baseline_urls"  # the desk plus the bare form
    clear_url_caches()
    rounds = 7
    payloads = iter(bench_form.solved_challenges(rounds * (options.posts + WARM_UP) * 2))
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    client.get(page)
    template = bench_form.form_template(client.cookies["csrftoken"].value)
    desk, bare = page, f"/bench/bare/{page.strip('/').split('/')[-1]}/"

    def post(url):
        body = template.replace("CLIENT_TOKEN", str(uuid.uuid4()))
        body = body.replace("ALTCHA_PAYLOAD", next(payloads))
        started = time.process_time()
        response = client.generic(
            "POST", url, body, content_type="application/x-www-form-urlencoded"
        )
        spent = time.process_time() - started
        assert response.status_code == 302, (url, response.status_code)
        return spent * 1000

    def measure(label):
        """(desk's median, bare's median), printed with their ratio."""
        for _ in range(WARM_UP):
            post(desk)
            post(bare)
        desk_ms, bare_ms = [], []
        for _ in range(options.posts):
            desk_ms.append(post(desk))
            bare_ms.append(post(bare))
        d, b = statistics.median(desk_ms), statistics.median(bare_ms)
        print(f"{label:34} {d:6.2f} {b:6.2f} {d / b:6.2f}x {d - b:7.2f}", flush=True)
        return d, b

    print(f"CPU per post, medians of {options.posts} (ms)")
    print(f"{'':34} {'desk':>6} {'bare':>6} {'ratio':>7} {'extra':>7}")
    first = measure("the desk as it runs")
    parts = [
        ("its Celery message", jobs, "send_now", lambda name, *args: None),
        ("its audit event", arrivals, "record", lambda *args, **kwargs: None),
        ("the proof-of-work check", bot_defence, "problem_with", lambda payload: None),
        ("the rate limits", limits, "hit", lambda *args: 0),
        ("the content screening", arrivals, "screen", lambda letter: None),
    ]
    without_each = []
    for label, obj, name, replacement in parts:
        with without(obj, name, replacement):
            without_each.append((label, measure(f"without {label}")))
    last = measure("the desk as it runs, again")
    ratio = (first[0] / first[1] + last[0] / last[1]) / 2
    bare_ms = (first[1] + last[1]) / 2
    print(f"\nThe desk: {ratio:.2f}x the bare form's {bare_ms:.2f} ms. Each part's cost:")
    for label, (d, b) in without_each:
        print(f"  {label:27} {(ratio - d / b) * bare_ms:5.2f} ms")


if __name__ == "__main__":
    main()
