import pytest

from .factories import make_article


@pytest.fixture
def article(db):
    """The article most form and confirmation tests write about."""
    return make_article(
        headline="Putin warns the West",
        author="Reaction",
        body="Sir Keir Starmer is in Washington.",
    )


@pytest.fixture
def enqueued(monkeypatch):
    """Record each task enqueued, as (task name, args), instead of talking to a broker."""
    sent = []
    monkeypatch.setattr(
        "celery.app.task.Task.apply_async",
        lambda self, args=None, **kw: sent.append((self.name, tuple(args or ()))),
    )
    return sent
