"""Bytes from the publication's site into plain data: a feed's articles, a page's metadata.

RSS and Atom are read by feedparser (which never fetches anything when given bytes); JSON
Feed (jsonfeed.org, versions 1 and 1.1) by the json module. No database, no network.
"""

import datetime
import html
import json
import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser

import feedparser

from ..intake.characters import clean_line, clean_text
from ..intake.plain_text import html_to_text

HEADLINE_MAX = 300
STANDFIRST_MAX = 1000
URL_MAX = 500
GUID_MAX = 500
# feedparser reports these when a feed is well-formed but mislabelled; the items are fine.
_HARMLESS = (feedparser.CharacterEncodingOverride,)
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


class FeedError(Exception):
    """The bytes are not a feed the desk can read; the message says why."""


@dataclass(frozen=True)
class FeedItem:
    url: str
    guid: str
    headline: str
    standfirst: str
    body: str
    published: datetime.datetime | None


def normalise_url(url):
    """The form an article's address is stored and looked up in: scheme and host in lower
    case, no fragment, no surrounding space. Returns "" for anything not http(s)."""
    url = (url or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    path = parts.path or "/"
    normal = urllib.parse.urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path, parts.query, "")
    )
    return normal if len(normal) <= URL_MAX else ""


def feed_items(body, content_type=""):
    """The articles in a feed's bytes, in the feed's order, one per address (the first wins).
    Items without an http(s) link or a title are left out. Raises FeedError for bytes that
    are not a feed (malformed XML, an HTML page, broken JSON)."""
    if _looks_like_json(body, content_type):
        raw = _json_feed_items(body)
    else:
        raw = _xml_feed_items(body)
    items, seen = [], set()
    for item in raw:
        if item.url and item.headline and item.url not in seen:
            seen.add(item.url)
            items.append(item)
    return items


def _looks_like_json(body, content_type):
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def _xml_feed_items(body):
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), _HARMLESS):
        raise FeedError(f"malformed feed: {parsed.get('bozo_exception')}"[:300])
    if not parsed.version:
        raise FeedError("not an RSS or Atom feed")
    return [_item(entry) for entry in parsed.entries]


def _item(entry):
    content = entry.get("content") or []
    content_html = content[0].get("value", "") if content else ""
    summary_html = entry.get("summary", "")
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    return _make_item(
        url=entry.get("link", ""),
        guid=entry.get("id", ""),
        title=entry.get("title", ""),
        summary_html=summary_html if content_html else "",
        body_html=content_html or summary_html,
        published=datetime.datetime(*published[:6], tzinfo=datetime.UTC) if published else None,
    )


def _json_feed_items(body):
    try:
        feed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"malformed JSON feed: {exc}"[:300]) from None
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError("not a JSON Feed (no jsonfeed.org version)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed without an items list")
    return [_json_item(item) for item in items if isinstance(item, dict)]


def _json_item(item):
    body_html = item.get("content_html") or ""
    if not body_html and item.get("content_text"):
        body_html = html.escape(str(item["content_text"])).replace("\n", "<br>")
    summary = str(item.get("summary") or "")
    return _make_item(
        url=str(item.get("url") or ""),
        guid=str(item.get("id") or ""),
        title=str(item.get("title") or ""),
        summary_html=html.escape(summary) if body_html else "",
        body_html=str(body_html or html.escape(summary)),
        published=_iso_datetime(item.get("date_published")),
    )


def _iso_datetime(value):
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _make_item(*, url, guid, title, summary_html, body_html, published):
    return FeedItem(
        url=normalise_url(url),
        guid=clean_line(guid)[:GUID_MAX],
        headline=clean_line(_text(title))[:HEADLINE_MAX],
        standfirst=clean_text(_text(summary_html))[:STANDFIRST_MAX],
        body=clean_text(_text(body_html)),
        published=published,
    )


def _text(markup):
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    return _BLANK_LINES.sub("\n\n", html_to_text(markup)[0]).strip()


# --- An article page's own metadata (the embed) ---------------------------------------------

_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class PageMetadata:
    title: str
    canonical_url: str
    description: str


def page_metadata(body, content_type=""):
    """og:title (else <title>), the canonical URL (link rel=canonical, else og:url) and
    og:description (else the description meta) from the head of an HTML page."""
    reader = _HeadReader()
    try:
        reader.feed(_decode(body, content_type))
        reader.close()
    except _EndOfHead:
        pass
    found = reader.found
    return PageMetadata(
        title=clean_line(found.get("og:title") or found.get("title", ""))[:HEADLINE_MAX],
        canonical_url=normalise_url(found.get("canonical") or found.get("og:url", "")),
        description=clean_text(found.get("og:description") or found.get("description", ""))[
            :STANDFIRST_MAX
        ],
    )


def _decode(body, content_type):
    charset = ""
    if "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'")
    if not charset and (match := _CHARSET.search(body[:4096])):
        charset = match[1].decode("ascii")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class _EndOfHead(Exception):
    pass


class _HeadReader(HTMLParser):
    """Reads <title>, <meta> and <link rel=canonical> until the body starts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = {}
        self._in_title = False
        self._title = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "body":
            raise _EndOfHead
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").lower()
            if key in ("og:title", "og:url", "og:description", "description"):
                self.found.setdefault(key, attrs.get("content", ""))
        elif tag == "link" and "canonical" in attrs.get("rel", "").lower().split():
            self.found.setdefault("canonical", attrs.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
            self.found.setdefault("title", "".join(self._title))
        elif tag == "head":
            raise _EndOfHead

    def handle_data(self, data):
        if self._in_title:
            self._title.append(data)
