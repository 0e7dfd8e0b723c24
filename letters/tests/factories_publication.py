"""Helpers for the publication tests: articles, letters in any status, editions."""

import datetime
import itertools

import pytest
from django.utils import timezone

from letters.models import Article, Edition, EditionLetter, Letter, Status

_numbers = itertools.count(1)


def make_article(**overrides):
    n = next(_numbers)
    fields = {
        "headline": f"Article {n}",
        "slug": f"article-{n}",
        "body": "The article.",
        "published_at": timezone.now() - datetime.timedelta(days=1),
    }
    fields.update(overrides)
    return Article.objects.create(**fields)


def make_letter(article=None, status=Status.APPROVED, **overrides):
    """A letter already in `status` (set directly: these tests are about what comes after)."""
    n = next(_numbers)
    fields = {
        "article": article,
        "status": status,
        "body": f"Letter number {n} says something worth printing.",
        "name": f"Writer {n}",
        "town": "Hexham",
        "email": f"writer{n}@example.org",
        "phone": "01434 600 600",
        "address": "1 Secret Lane, Hexham",
    }
    fields.update(overrides)
    return Letter.objects.create(**fields)


def make_edition(letters=(), *, date=None, lead=None, **overrides):
    """An edition holding `letters` in the order given; `lead` (a letter) is the lead."""
    edition = Edition.objects.create(
        date=date or datetime.date(2026, 5, 1) + datetime.timedelta(days=next(_numbers)),
        **overrides,
    )
    for position, letter in enumerate(letters, start=1):
        EditionLetter.objects.create(
            edition=edition,
            letter=letter,
            position=position,
            headline=f"Headline for {letter.name}",
            is_lead=letter == lead,
        )
    return edition


@pytest.fixture
def plain_static(settings):
    """Pages render without collectstatic: tests run with DEBUG off, whose manifest storage
    needs collected files."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
