"""The articles a message may answer, as the matcher's index (letters.intake.match), cached per
process and rebuilt when articles are added or after INDEX_TTL_SECONDS."""

import time

from django.conf import settings

from ..models import Article
from .match import ArticleIndex, ArticleRef

_index_cache = {"key": None, "index": None, "at": 0.0}
INDEX_TTL_SECONDS = 300


def article_refs():
    site = settings.SITE_URL
    rows = Article.objects.order_by("id").values_list(
        "id", "slug", "headline", "canonical_url", "standfirst", "body"
    )
    return [
        ArticleRef(
            id=pk,
            slug=slug,
            headline=headline,
            url=canonical or f"{site}/articles/{slug}/",
            text=f"{standfirst}\n\n{body}".strip(),
        )
        for pk, slug, headline, canonical, standfirst, body in rows
    ]


def article_index(fresh=False):
    """The article index, rebuilt when articles were added or after INDEX_TTL_SECONDS."""
    latest = Article.objects.order_by("-id").values_list("id", flat=True).first()
    key = (Article.objects.count(), latest)
    now = time.monotonic()
    if (
        fresh
        or _index_cache["key"] != key
        or now - _index_cache["at"] > INDEX_TTL_SECONDS
        or _index_cache["index"] is None
    ):
        _index_cache.update(key=key, index=ArticleIndex(article_refs()), at=now)
    return _index_cache["index"]


def inbound_local_part():
    return settings.LETTERS_INBOUND_ADDRESS.partition("@")[0]
