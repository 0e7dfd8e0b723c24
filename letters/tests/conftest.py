import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from letters.models import Article, Channel, Letter, Status

LETTER_TEXT = (
    "Sir, your piece on long-range missiles was right: the help comes too little, too late.\r\n\r\n"
    "We should have acted a year ago."
)


def make_article(**overrides):
    fields = {
        "headline": "Putin warns the West",
        "slug": f"putin-warns-{uuid.uuid4().hex[:8]}",
        "author": "Reaction",
        "published_at": timezone.now() - timedelta(days=1),
        "body": "Sir Keir Starmer is in Washington.",
    }
    fields.update(overrides)
    return Article.objects.create(**fields)


def make_letter(**overrides):
    fields = {
        "channel": Channel.WEB,
        "status": Status.RECEIVED,
        "body": LETTER_TEXT,
        "name": "Jane Smith",
        "email": "jane@example.com",
        "town": "Hexham",
        "exclusive": True,
        "consent": True,
    }
    fields.update(overrides)
    if "article" not in fields:
        fields["article"] = make_article()
    return Letter.objects.create(**fields)


def form_data(**overrides):
    data = {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "town": "Hexham",
        "body": LETTER_TEXT,
        "phone": "",
        "exclusive": "on",
        "consent": "on",
        "client_token": str(uuid.uuid4()),
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def article(db):
    return make_article()
