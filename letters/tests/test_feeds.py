"""Atom feeds of published letters: all of them, and one per article."""

import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from letters import moderation
from letters.models import Status

from .factories import make_approved_letter, make_article, make_edition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    return feed, feed.findall(f"{ATOM}entry")


def published(article, **fields):
    letter = make_approved_letter(article=article, **fields)
    moderation.publish(letter.pk)
    return letter


def test_the_letters_feed_lists_published_letters_newest_first_with_text_and_byline(client):
    article = make_article(headline="On missiles")
    older = published(article, headline="Too late", edited_body="Cut & kept.", name="Ann Old")
    newer = published(make_article(), name="Bob New")
    make_approved_letter(article=article, name="Not Yet")  # approved, not published

    feed, items = entries(client, "/letters/feed/")

    assert feed.find(f"{ATOM}title").text == "Letters to Reaction"
    assert [i.find(f"{ATOM}author/{ATOM}name").text for i in items] == [
        newer.signature,
        older.signature,
    ]
    first_older = items[1]
    assert first_older.find(f"{ATOM}title").text == "Too late"
    assert "Cut &amp; kept." in first_older.find(f"{ATOM}summary").text
    link = first_older.find(f"{ATOM}link").get("href")
    assert link.endswith(f"{article.get_absolute_url()}#letter-{older.pk}")


def test_the_feed_never_carries_phone_address_or_email(client):
    letter = published(make_article(), phone="01434 600 600", address="1 Secret Lane, Hexham")

    body = client.get("/letters/feed/").content.decode()
    _, (item,) = entries(client, "/letters/feed/")

    assert item.find(f"{ATOM}author/{ATOM}name").text == letter.signature
    assert letter.body in item.find(f"{ATOM}summary").text
    for secret in (letter.phone, letter.address, letter.email):
        assert secret not in body


def test_an_articles_feed_holds_only_the_letters_about_it(client):
    article = make_article()
    mine = published(article, name="About This")
    published(make_article(), name="About Other")

    feed, items = entries(client, f"/articles/{article.slug}/letters/feed/")

    assert [i.find(f"{ATOM}author/{ATOM}name").text for i in items] == [mine.signature]
    assert article.headline in feed.find(f"{ATOM}title").text


def test_a_withdrawn_letter_leaves_the_feed(client):
    letter = published(make_article(), name="Gone Writer")
    staying = published(make_article(), name="Staying Writer")
    moderation.unpublish(letter.pk)

    _, items = entries(client, "/letters/feed/")

    assert [i.find(f"{ATOM}author/{ATOM}name").text for i in items] == [staying.signature]
    assert Status.WITHDRAWN == type(letter).objects.get(pk=letter.pk).status


def test_the_feed_of_an_unknown_article_is_not_found(client):
    assert client.get("/articles/no-such-thing/letters/feed/").status_code == 404


def test_the_feeds_run_the_same_number_of_queries_with_ten_times_the_letters(client):
    article = make_article()

    def counts():
        found = []
        for url in ("/letters/feed/", f"/articles/{article.slug}/letters/feed/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            found.append(len(ctx.captured_queries))
        return found

    for _ in range(2):
        published(article)
    small = counts()
    for _ in range(20):
        published(article)
        published(make_article())

    assert counts() == small


def test_a_letter_in_an_edition_carries_the_editions_headline_in_the_feed(client):
    letter = make_approved_letter(name="Jane Smith", headline="")
    edition = make_edition([letter], lead=letter)
    edition.entries.update(headline="Stop negotiating with ourselves")
    moderation.publish_edition(edition.pk)
    on_its_own = published(make_article(), name="Solo Writer", headline="")

    _, items = entries(client, "/letters/feed/")

    titles = {i.find(f"{ATOM}author/{ATOM}name").text: i.find(f"{ATOM}title").text for i in items}
    assert titles["Jane Smith, Hexham"] == "Stop negotiating with ourselves"
    assert titles[on_its_own.signature] == "Letter from Solo Writer, Hexham"


def test_an_editions_letters_come_lead_first_then_in_the_editors_order(client):
    first, lead, third = (make_approved_letter(name=n) for n in ("First", "Leader", "Third"))
    edition = make_edition([first, lead, third], lead=lead)
    moderation.publish_edition(edition.pk)

    _, items = entries(client, "/letters/feed/")

    assert [i.find(f"{ATOM}author/{ATOM}name").text for i in items] == [
        "Leader, Hexham",
        "First, Hexham",
        "Third, Hexham",
    ]


def test_a_feed_cut_inside_an_edition_keeps_its_lead_and_order(client, monkeypatch):
    monkeypatch.setattr("letters.feeds.FEED_LENGTH", 2)
    published(make_article(), name="Older Solo")
    lead, second, third = (make_approved_letter(name=n) for n in ("Leader", "Second", "Third"))
    edition = make_edition([second, third, lead], lead=lead)  # the lead has the lowest id
    moderation.publish_edition(edition.pk)

    _, items = entries(client, "/letters/feed/")

    assert [i.find(f"{ATOM}author/{ATOM}name").text for i in items] == [
        "Leader, Hexham",
        "Second, Hexham",
    ]
