"""The embed's lookup: the article an embedded "Write to us" block is on, by its address.

An article the desk knows (from the feed, the admin, an earlier embed) is found by its
canonical URL. An unknown one on an allowed domain (LETTERS_EMBED_DOMAINS) is created from the
page's own metadata, as comment systems do: the desk fetches the page (capped in time and
size, no redirects followed) and reads og:title and its canonical URL. A page that cannot be
fetched, or has no title, creates nothing.
"""

import logging
import urllib.parse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Article
from . import fetch, parse, sync

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9"
# An article page's head is near its start: no need to read a megabyte of it.
PAGE_MAX_BYTES = 512 * 1024


def is_allowed(url):
    """Whether `url` is on one of the publisher's origins (LETTERS_EMBED_DOMAINS)."""
    parts = urllib.parse.urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    for allowed in settings.LETTERS_EMBED_DOMAINS:
        scheme, _, host = allowed.lower().partition("://")
        if origin == allowed.lower():
            return True
        if host.startswith("*.") and parts.scheme == scheme and parts.netloc.endswith(host[1:]):
            return True
    return False


def article_for(url, *, may_fetch=lambda: True):
    """The published article at `url`, or None. Creates it from the page's metadata when the
    desk does not know the address, it is on an allowed domain, and `may_fetch()` (asked just
    before the page would be fetched: a rate limit) says yes. See the module."""
    url = parse.normalise_url(url)
    if not url:
        return None
    article = _known(url)
    if article is None and is_allowed(url) and may_fetch():
        article = _from_page(url)
    if article is None or article.published_at > timezone.now():
        return None
    return article


def _known(url):
    return Article.objects.filter(canonical_url=url).first()


def _from_page(url):
    try:
        page = fetch.get(
            url,
            timeout=settings.LETTERS_FEED_TIMEOUT_SECONDS,
            max_bytes=PAGE_MAX_BYTES,
            accept=PAGE_ACCEPT,
            follow_redirects=False,
        )
    except fetch.FetchError as exc:
        log.warning("Embed: could not read %s: %s", url, exc)
        return None
    metadata = parse.page_metadata(page.body, page.content_type)
    if not metadata.title:
        log.warning("Embed: %s has no og:title or title; no article created", url)
        return None
    canonical = metadata.canonical_url if is_allowed(metadata.canonical_url) else url
    if canonical != url and (article := _known(canonical)) is not None:
        return article
    try:
        with transaction.atomic():
            return Article.objects.create(
                headline=metadata.title,
                slug=sync.unique_slug(metadata.title),
                standfirst=metadata.description,
                body=metadata.description,
                author=settings.LETTERS_PUBLICATION_NAME,
                published_at=timezone.now(),
                canonical_url=canonical,
            )
    except IntegrityError:  # created meanwhile: by the feed, or another reader's first view
        return Article.objects.filter(canonical_url=canonical).first()
