"""Seed articles: text files in seeds/ with a header block ("Headline: ...") and the body."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.utils.text import slugify

from .models import Article

HEADERS = {
    "headline": "Headline",
    "slug": "Slug",
    "author": "Author",
    "published_at": "Published",
    "standfirst": "Standfirst",
    "canonical_url": "Canonical-URL",
}


class SeedError(ValueError):
    pass


@dataclass
class SeedResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_seed(path):
    """The Article fields a seed file describes. Raises SeedError naming the file and problem."""
    text = Path(path).read_text(encoding="utf-8")
    head, sep, body = text.partition("\n\n")
    if not sep:
        raise SeedError(f"{path}: no blank line between the headers and the body")
    headers = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise SeedError(f"{path}: header line without a colon: {line!r}")
        headers[key.strip()] = value.strip()
    fields = {name: headers.get(key, "") for name, key in HEADERS.items()}
    if not fields["headline"]:
        raise SeedError(f"{path}: no Headline")
    fields["slug"] = fields["slug"] or slugify(fields["headline"])
    fields["author"] = fields["author"] or "Reaction"
    try:
        fields["published_at"] = datetime.fromisoformat(fields["published_at"])
    except ValueError:
        raise SeedError(f"{path}: Published must be an ISO date and time") from None
    if fields["published_at"].tzinfo is None:
        raise SeedError(f"{path}: Published needs a time zone offset, e.g. +01:00")
    fields["body"] = body.strip()
    return fields


def load_seeds(folder):
    """Create or update one Article per seed file. Running it twice changes nothing."""
    result = SeedResult()
    for path in sorted(Path(folder).glob("*.txt")):
        fields = read_seed(path)
        article = Article.objects.filter(slug=fields["slug"]).first()
        if article is None:
            Article.objects.create(**fields)
            result.created += 1
            continue
        changed = [name for name, value in fields.items() if getattr(article, name) != value]
        if changed:
            for name in changed:
                setattr(article, name, fields[name])
            article.save(update_fields=changed)
            result.updated += 1
        else:
            result.unchanged += 1
    return result
