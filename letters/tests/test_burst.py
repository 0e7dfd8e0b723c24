"""A burst at once against gunicorn and the SMTP listener: 100 letters and 100 emails (the
benchmark, bench/bench_burst.py, sends 1,000 of each). Every accepted one is stored exactly
once, nothing is lost or refused, and the article page keeps answering meanwhile."""

import time

import pytest
from django.conf import settings

from bench.bench_burst import RAISED_LIMITS, check_stored, run_burst
from letters import bot_defence

from .factories import make_article
from .test_faults import servers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

# The slowest the page may answer while the burst is on: slow is acceptable, silent is not.
PAGE_ANSWERS_WITHIN_SECONDS = 10


def embedded_queue():
    """The filesystem broker's queue folder, emptied; None with another broker (Redis)."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return None
    queue = settings.VAR_DIR / "celery" / "queue"
    for leftover in queue.glob("*.msg"):  # other tests' work: this test counts its own
        leftover.unlink()
    return queue


def test_a_burst_of_letters_and_emails_is_stored_exactly_once_while_pages_answer(
    servers,  # noqa: F811 (the fixture)
):
    article = make_article(slug="burst", headline="Your article on trains")
    queue = embedded_queue()
    web = servers("web", **RAISED_LIMITS)
    smtp = servers("smtp", **RAISED_LIMITS)

    burst = run_burst(
        web_port=web.port,
        smtp_port=smtp.port,
        page_path=article.get_absolute_url(),
        forms=100,
        emails=100,
        started=bot_defence.started_token(at=time.time() - 3600),
    )

    assert [r.status for r in burst.letters] == [302] * 100, {r.detail for r in burst.letters}
    assert [r.status for r in burst.emails] == [250] * 100, {r.detail for r in burst.emails}
    assert check_stored(burst, queue_dir=queue) == []
    assert burst.pages, "the page was never opened during the burst"
    assert {status for status, _ in burst.pages} == {200}
    assert max(seconds for _, seconds in burst.pages) < PAGE_ANSWERS_WITHIN_SECONDS
