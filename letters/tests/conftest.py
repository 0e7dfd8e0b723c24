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
