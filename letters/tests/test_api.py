"""The read-only JSON API (docs/api.md) and the JSON Feed: published letters by article URL
and by date, editions, caching headers, and nothing personal beyond name and town."""

import datetime

import pytest

from letters.models import EditionStatus, Status

from .factories import make_article, make_edition, make_letter

pytestmark = pytest.mark.django_db

DAY = datetime.datetime(2026, 5, 2, 9, 0, tzinfo=datetime.UTC)
SECRETS = ("@example.com", "01434", "High Street", "unpublished words")


@pytest.fixture
def desk(settings):
    settings.SITE_URL = "https://desk.example"
    article = make_article(
        headline="Why the trains are late",
        slug="trains",
        canonical_url="https://www.reaction.life/p/trains",
    )
    other = make_article(headline="Other", slug="other")
    published = make_letter(
        article=article,
        status=Status.PUBLISHED,
        published_at=DAY,
        name="Jane Smith",
        town="Hexham",
        phone="01434 600600",
        address="1 High Street",
        body="Sir, trains.",
    )
    later = make_letter(
        article=other, status=Status.PUBLISHED, published_at=DAY + datetime.timedelta(days=1)
    )
    make_letter(article=article, status=Status.APPROVED, body="Sir, unpublished words.")
    make_edition([published], date=DAY.date(), status=EditionStatus.PUBLISHED, published_at=DAY)
    return {"article": article, "published": published, "later": later}


def test_letters_answering_an_article_by_its_publication_url(client, desk):
    response = client.get("/api/v1/letters/", {"article": "https://www.reaction.life/p/trains"})

    assert response.status_code == 200
    data = response.json()
    assert data["article"] == {
        "headline": "Why the trains are late",
        "url": "https://www.reaction.life/p/trains",
    }
    assert [letter["id"] for letter in data["letters"]] == [desk["published"].pk]
    (letter,) = data["letters"]
    assert set(letter) == {
        "id", "headline", "text", "html", "name", "town", "signature", "word_count",
        "published_at", "url", "article",
    }  # fmt: skip
    assert (letter["name"], letter["town"], letter["text"]) == (
        "Jane Smith",
        "Hexham",
        "Sir, trains.",
    )
    for secret in SECRETS:
        assert secret not in response.text


def test_letters_by_the_desks_own_article_address(client, desk):
    data = client.get(
        "/api/v1/letters/", {"article": "https://desk.example/articles/trains/"}
    ).json()
    assert [letter["id"] for letter in data["letters"]] == [desk["published"].pk]


def test_an_unknown_article_has_no_letters(client, desk):
    data = client.get("/api/v1/letters/", {"article": "https://www.reaction.life/p/nothing"}).json()
    assert data == {"article": None, "letters": []}


def test_letters_published_on_a_day(client, desk):
    data = client.get("/api/v1/letters/", {"date": "2026-05-03"}).json()
    assert [letter["id"] for letter in data["letters"]] == [desk["later"].pk]


@pytest.mark.parametrize("query", [{}, {"date": "yesterday"}, {"date": "2026-02-30"}])
def test_a_question_the_api_cannot_answer_gets_a_400_saying_why(client, desk, query):
    response = client.get("/api/v1/letters/", query)
    assert response.status_code == 400
    assert "error" in response.json()


def test_the_latest_editions_with_links_to_their_formats(client, desk):
    data = client.get("/api/v1/editions/").json()

    (edition,) = data["editions"]
    assert edition["date"] == "2026-05-02"
    assert edition["letter_count"] == 1
    assert edition["formats"]["text"] == "https://desk.example/letters/2026-05-02/edition.txt"


def test_the_api_is_public_cached_and_answers_304_to_its_etag(client, desk, settings):
    settings.LETTERS_API_CACHE_SECONDS = 120
    url = "/api/v1/letters/?date=2026-05-02"
    first = client.get(url)

    assert first["Access-Control-Allow-Origin"] == "*"
    assert "public" in first["Cache-Control"] and "max-age=120" in first["Cache-Control"]
    assert first["ETag"]
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_the_etag_changes_when_a_letter_is_published(client, desk):
    url = "/api/v1/letters/?article=https://www.reaction.life/p/trains"
    before = client.get(url)["ETag"]
    make_letter(article=desk["article"], status=Status.PUBLISHED, published_at=DAY)

    response = client.get(url, headers={"If-None-Match": before})

    assert response.status_code == 200 and len(response.json()["letters"]) == 2


def test_the_api_is_read_only(client, desk):
    assert client.post("/api/v1/letters/?date=2026-05-02").status_code == 405


def test_the_json_feed_has_the_atom_feeds_letters(client, desk):
    response = client.get("/letters/feed.json")

    assert response["Content-Type"] == "application/feed+json"
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://desk.example/letters/feed.json"
    assert [item["url"] for item in feed["items"]] == [
        f"https://desk.example/articles/other/#letter-{desk['later'].pk}",
        f"https://desk.example/articles/trains/#letter-{desk['published'].pk}",
    ]
    item = feed["items"][1]
    assert item["authors"] == [{"name": "Jane Smith, Hexham"}]
    assert item["content_html"] == "<p>Sir, trains.</p>"
    assert item["date_published"] == "2026-05-02T09:00:00+00:00"
    atom = client.get("/letters/feed/").text
    assert all(item["id"] in atom for item in feed["items"])
    for secret in SECRETS:
        assert secret not in response.text


def test_every_page_links_the_json_feed(client, desk):
    assert 'type="application/feed+json"' in client.get("/").text
