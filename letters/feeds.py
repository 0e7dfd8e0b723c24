"""Atom feeds of published letters: all of them, and those answering one article. A letter
in an edition carries the edition's headline, and an edition's letters come lead first.

Every piece of text is cleaned of control and bidi characters on the way out (a vertical tab
is not allowed in XML, and would make the feed answer 500), even though the ways in refuse or
strip them now: letters stored before that must not break the feed either.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks

from .http_cache import public_and_cached
from .intake.characters import clean_line, clean_text
from .models import Article, Letter, place_in_editions

FEED_LENGTH = 30


# An edition's letters share one publication time. Reading this many letters more than the feed
# holds keeps any edition of up to that many letters whole, to be put in its editor's order.
EDITION_WINDOW = 60


def _newest_letters(published):
    """The FEED_LENGTH newest of `published` (published letters), newest first; within an
    edition the lead letter first, then the editor's order. Each carries its edition's headline
    (place_in_editions). Two queries: the newest letters from the published-letters index, then
    their places in editions; they are put in order here."""
    letters = list(
        published.for_readers().order_by("-published_at", "-id")[: FEED_LENGTH + EDITION_WINDOW]
    )
    place_in_editions(letters)
    letters.sort(key=_reading_order)
    return letters[:FEED_LENGTH]


def _reading_order(letter):
    position = letter.edition_position
    return (
        -letter.published_at.timestamp(),
        not letter.is_lead,
        position is None,
        position or 0,
        letter.pk,
    )


class LettersFeed(Feed):
    feed_type = Atom1Feed

    def title(self):
        return f"Letters to {settings.LETTERS_PUBLICATION_NAME}"

    def subtitle(self):
        return f"Letters to the editor, as published by {settings.LETTERS_PUBLICATION_NAME}."

    def link(self):
        return reverse("letters:letters_page")

    def items(self):
        return _newest_letters(Letter.objects.published())

    def item_title(self, letter):
        return clean_line(letter.published_headline or f"Letter from {letter.signature}")

    def item_description(self, letter):
        return linebreaks(clean_text(letter.publishable_text), autoescape=True)

    def item_link(self, letter):
        return letter.get_absolute_url()

    def item_guid(self, letter):
        return f"{settings.SITE_URL}/letters/#letter-{letter.pk}"

    item_guid_is_permalink = False

    def item_author_name(self, letter):
        return clean_line(letter.signature)

    def item_pubdate(self, letter):
        return letter.published_at

    def item_updateddate(self, letter):
        return letter.published_at


class ArticleLettersFeed(LettersFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Article.objects.published(), slug=slug)

    def title(self, article):
        return clean_line(f"Letters in response: {article.headline}")

    def subtitle(self, article):
        return clean_line(
            f"Letters to {settings.LETTERS_PUBLICATION_NAME} about “{article.headline}”."
        )

    def link(self, article):
        return article.get_absolute_url() + "#letters"

    def items(self, article):
        return _newest_letters(Letter.objects.published().filter(article=article))


@public_and_cached
def json_feed(request):
    """The feed of all published letters as a JSON Feed 1.1 (jsonfeed.org), with the same
    items, titles and order as the Atom feed."""
    feed = LettersFeed()
    site = settings.SITE_URL
    items = [
        {
            "id": feed.item_guid(letter),
            "url": site + feed.item_link(letter),
            "title": feed.item_title(letter),
            "content_html": feed.item_description(letter),
            "date_published": feed.item_pubdate(letter).isoformat(),
            "authors": [{"name": feed.item_author_name(letter)}],
        }
        for letter in feed.items()
    ]
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title(),
        "home_page_url": site + feed.link(),
        "feed_url": site + reverse("letters:json_feed"),
        "description": feed.subtitle(),
        "language": "en-GB",
        "items": items,
    }
    return JsonResponse(
        data, content_type="application/feed+json", json_dumps_params={"ensure_ascii": False}
    )
