"""The publication's article feeds into Article rows.

An article is keyed by its canonical URL and by the feed's guid: created the first time the
feed lists it, updated when its headline or text changes, never created twice (a unique
constraint on the URL holds that even against the embed creating the same article at the same
moment). A feed that cannot be fetched or read changes no article: its failure and reason are
recorded on its ArticleFeed row and logged, and the next poll tries again.

Polling is cheap: the server's ETag / Last-Modified go back as a conditional request (a 304
costs no parsing), and an unchanged body (same digest) is not parsed either. A changed feed
whose articles are all unchanged writes no article. Safe to run at any time and twice at once.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from ..models import Article, ArticleFeed, FeedStatus
from . import fetch, parse

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/feed+json, application/atom+xml, application/rss+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
# What an update compares and writes.
_TEXT_FIELDS = ("headline", "standfirst", "body")


@dataclass(frozen=True)
class SyncResult:
    url: str
    status: str
    created: int = 0
    updated: int = 0
    items: int = 0
    error: str = ""

    def __str__(self):
        if self.status == FeedStatus.FAILED:
            return f"{self.url}: failed: {self.error}"
        if self.status == FeedStatus.NOT_MODIFIED:
            return f"{self.url}: not modified"
        return f"{self.url}: {self.items} items, {self.created} new, {self.updated} updated"


def sync_configured_feeds():
    """Sync every feed in LETTERS_ARTICLE_FEEDS; one failing feed never stops the others."""
    return [sync_feed(url) for url in settings.LETTERS_ARTICLE_FEEDS]


def sync_feed(url):
    """Fetch one feed (conditionally) and bring its articles into the desk. Returns a
    SyncResult; never raises for a feed's fault (timeouts, errors, malformed content)."""
    feed, _ = ArticleFeed.objects.get_or_create(url=url)
    now = timezone.now()
    try:
        fetched = fetch.get(
            url,
            timeout=settings.LETTERS_FEED_TIMEOUT_SECONDS,
            max_bytes=settings.LETTERS_FEED_MAX_BYTES,
            etag=feed.etag if feed.status != FeedStatus.FAILED else "",
            last_modified=feed.last_modified if feed.status != FeedStatus.FAILED else "",
            accept=FEED_ACCEPT,
        )
    except fetch.FetchError as exc:
        return _failed(feed, now, str(exc))
    if fetched.status == 304:
        _record(feed, last_fetched_at=now, status=FeedStatus.NOT_MODIFIED, error="")
        return SyncResult(url, FeedStatus.NOT_MODIFIED, items=feed.item_count)
    digest = hashlib.sha256(fetched.body).hexdigest()
    validators = {"etag": fetched.etag[:500], "last_modified": fetched.last_modified[:100]}
    if digest == feed.digest and feed.status != FeedStatus.FAILED:
        _record(feed, last_fetched_at=now, status=FeedStatus.NOT_MODIFIED, error="", **validators)
        return SyncResult(url, FeedStatus.NOT_MODIFIED, items=feed.item_count)
    try:
        items = parse.feed_items(fetched.body, fetched.content_type)
    except parse.FeedError as exc:
        return _failed(feed, now, str(exc))
    created, updated = upsert_articles(items)
    fields = {
        "last_fetched_at": now,
        "status": FeedStatus.OK,
        "error": "",
        "digest": digest,
        "item_count": len(items),
        **validators,
    }
    if created or updated:
        fields.update(
            last_changed_at=now,
            created_count=feed.created_count + created,
            updated_count=feed.updated_count + updated,
        )
    _record(feed, **fields)
    return SyncResult(url, FeedStatus.OK, created, updated, len(items))


def _record(feed, **fields):
    """One UPDATE of the feed's row with only what changed (its last fetch always does)."""
    changed = {name: value for name, value in fields.items() if getattr(feed, name) != value}
    if changed:
        ArticleFeed.objects.filter(pk=feed.pk).update(**changed)


def _failed(feed, now, reason):
    log.warning("Article feed %s failed: %s", feed.url, reason)
    _record(feed, last_fetched_at=now, status=FeedStatus.FAILED, error=reason[:1000])
    return SyncResult(feed.url, FeedStatus.FAILED, error=reason)


def upsert_articles(items):
    """Create the articles not yet on the desk and update those whose headline, standfirst or
    text changed (or that moved to a new address). Returns (created, updated). One query
    reads every article the items could be; nothing is written for an unchanged item."""
    urls = [item.url for item in items]
    guids = [item.guid for item in items if item.guid]
    existing = Article.objects.filter(Q(canonical_url__in=urls) | Q(feed_guid__in=guids)).only(
        "id", "slug", "canonical_url", "feed_guid", *_TEXT_FIELDS
    )
    by_url, by_guid = {}, {}
    for article in existing:
        by_url[article.canonical_url] = article
        if article.feed_guid:
            by_guid[article.feed_guid] = article
    created = updated = 0
    for item in items:
        article = (item.guid and by_guid.get(item.guid)) or by_url.get(item.url)
        if article is None:
            article, was_created = _create(item)
            created += was_created
            updated += not was_created and _update(article, item, by_url)
        else:
            updated += _update(article, item, by_url)
        by_url[article.canonical_url] = article
    return created, updated


def _update(article, item, by_url):
    changed = [name for name in _TEXT_FIELDS if getattr(article, name) != getattr(item, name)]
    for name in changed:
        setattr(article, name, getattr(item, name))
    if item.guid and article.feed_guid != item.guid:
        article.feed_guid = item.guid
        changed.append("feed_guid")
    # The article moved (same guid, new address), unless another article has that address.
    if article.canonical_url != item.url and item.url not in by_url:
        article.canonical_url = item.url
        changed.append("canonical_url")
    if changed:
        article.save(update_fields=changed)
    return bool(changed)


def _create(item):
    """(article, created): a new article for the item, or the one created meanwhile under
    its address (by the embed, or another sync running at the same moment)."""
    try:
        with transaction.atomic():
            article = Article.objects.create(
                headline=item.headline,
                slug=unique_slug(item.headline or item.url),
                standfirst=item.standfirst,
                body=item.body,
                author=settings.LETTERS_PUBLICATION_NAME,
                published_at=item.published or timezone.now(),
                canonical_url=item.url,
                feed_guid=item.guid,
            )
        return article, True
    except IntegrityError:
        article = Article.objects.filter(canonical_url=item.url).first()
        if article is None:  # the slug, taken at the same moment: the next poll tries again
            raise
        return article, False


def unique_slug(text):
    """A slug from `text` no article has yet: "headline", else "headline-2", "headline-3"..."""
    base = (slugify(text)[:190] or "article").strip("-")
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
