"""Two real Celery workers indexing letters at once on PostgreSQL lose no entry and miss no
pair: the index's lock makes near-duplicates indexed at the same moment still find each other."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from letters import jobs
from letters.checks import rebuild, signatures
from letters.models import Cluster, LetterBand, LetterSignature, SimilarPair

from .factories import make_article, make_letter
from .test_checks_index import SAME_TOPIC, VARIANTS
from .test_worker import database_url

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_workers(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "LETTERS_VAR_DIR": str(settings.VAR_DIR),
    }
    celery = [sys.executable, "-m", "celery", "-A", "reaction_letters"]
    subprocess.run(
        [*celery, "purge", "-f"], env=env, cwd=settings.BASE_DIR, check=True, capture_output=True
    )
    processes = [
        subprocess.Popen(
            [
                *celery,
                "worker",
                "--pool=solo",
                f"--hostname=indexer{n}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--prefetch-multiplier=1",
                "--loglevel=INFO",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in (1, 2)
    ]
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-3000:])


def test_two_workers_indexing_at_once_lose_no_entry_and_miss_no_pair(two_workers):
    article = make_article()
    bodies = [
        variant.replace("Sir,", f"Sir ({n}),") for n in range(6) for variant in VARIANTS
    ] + SAME_TOPIC
    letters = [make_letter(article=article, body=body) for body in bodies]
    time.sleep(3)  # both workers up and waiting
    for letter in letters:
        jobs.send_now(jobs.ANALYSE_LETTER, letter.pk)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and LetterSignature.objects.count() < len(letters):
        time.sleep(0.3)
    assert LetterSignature.objects.count() == len(letters)
    assert LetterBand.objects.count() == len(letters) * signatures.BANDS
    found = sorted(SimilarPair.objects.values_list("letter_id", "other_id", "jaccard"))
    clusters = [(c.size, c.writers) for c in Cluster.objects.all()]
    # What one process indexing them in turn finds, from scratch:
    rebuild.rebuild()
    assert found == sorted(SimilarPair.objects.values_list("letter_id", "other_id", "jaccard"))
    assert clusters == [(24, 24)]
    assert [(c.size, c.writers) for c in Cluster.objects.all()] == clusters
