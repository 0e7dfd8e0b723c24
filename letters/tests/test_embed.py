"""The "Write to us" block on the publication's own pages: embed.js, the iframe page, the
article found or created from the page's metadata, the form's guarantees inside the frame
(CSRF by the browser's own headers, challenge, limits, confirmation), and framing allowed only
there and only for the publisher's domains. The real-browser side is test_browser_embed.py."""

import time
from urllib.parse import quote

import pytest
from django.db import OperationalError
from django.test import Client

from letters.models import Article, Letter, Status

from .factories import browser_form_data, form_data, make_article, solved_challenge
from .test_csp import directives
from .test_settings import start_with

pytestmark = pytest.mark.django_db

PAGE = """<!doctype html><html><head><title>Trains | Reaction</title>
<meta property="og:title" content="Why the trains are late">
<meta property="og:description" content="A report on the railways.">
<link rel="canonical" href="{canonical}"></head>
<body><h1>Why the trains are late</h1><p>Text.</p></body></html>"""


def embed_url(article_url):
    return f"/embed/?url={quote(article_url, safe='')}"


@pytest.fixture
def story(db, settings, publisher):
    """An article the desk knows, on the publisher's (local) site: were the desk ever to fetch
    its page, the request would reach the local stand-in and be counted there."""
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    return make_article(
        headline="Why the trains are late", canonical_url=publisher.url("/p/trains")
    )


def test_embed_js_is_served_as_a_cacheable_script(client):
    response = client.get("/embed.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in response["Cache-Control"]
    text = response.text
    assert "/embed/?url=" in text
    # It obeys only the desk's own messages from its own iframe.
    assert "event.origin !== desk" in text and "event.source !== frame.contentWindow" in text


def test_the_iframe_shows_the_article_pages_block_and_form(client, story):
    response = client.get(embed_url(story.canonical_url))

    assert response.status_code == 200
    assert 'id="write-to-us"' in response.text and 'id="letter-form"' in response.text
    assert story.inbound_address in response.text
    assert "altcha-widget" in response.text
    assert "embed-frame.js" in response.text


def test_only_the_embed_pages_may_be_framed_by_the_publisher(client, story, publisher):
    embedded = client.get(embed_url(story.canonical_url))
    article_page = client.get(story.get_absolute_url())

    assert directives(embedded)["frame-ancestors"] == f"'self' {publisher.origin}"
    assert "X-Frame-Options" not in embedded.headers
    assert directives(article_page)["frame-ancestors"] == "'self'"
    assert article_page.headers["X-Frame-Options"] == "DENY"
    # Everything else in the policy stays as strict as on every page.
    assert {k: v for k, v in directives(embedded).items() if k != "frame-ancestors"} == {
        k: v for k, v in directives(article_page).items() if k != "frame-ancestors"
    }


def test_a_url_is_found_whatever_its_fragment_and_host_case(client, story, publisher):
    response = client.get(embed_url(story.canonical_url.replace("http:", "HTTP:") + "#comments"))
    assert response.status_code == 200
    assert publisher.requests == []


def test_an_unknown_article_on_an_allowed_domain_is_created_from_its_page(
    client, settings, publisher
):
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    url = publisher.url("/p/trains")
    publisher.put("/p/trains", PAGE.format(canonical=url), content_type="text/html")

    first = client.get(embed_url(url))
    second = client.get(embed_url(url))

    assert first.status_code == second.status_code == 200
    article = Article.objects.get()
    assert (article.headline, article.canonical_url) == ("Why the trains are late", url)
    assert article.standfirst == "A report on the railways."
    assert article.accepts_letters()
    assert len(publisher.requests) == 1  # the second view found it without asking the page


def test_the_pages_canonical_url_is_the_articles_key(client, settings, publisher):
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    canonical = publisher.url("/p/trains")
    publisher.put("/p/trains-amp", PAGE.format(canonical=canonical), content_type="text/html")
    existing = make_article(canonical_url=canonical)

    response = client.get(embed_url(publisher.url("/p/trains-amp")))

    assert response.status_code == 200
    assert list(Article.objects.all()) == [existing]
    assert len(publisher.requests) == 1


def test_an_address_on_another_domain_creates_nothing_and_fetches_nothing(
    client, settings, publisher
):
    settings.LETTERS_EMBED_DOMAINS = ["https://www.reaction.life"]
    url = publisher.put("/p/trains", PAGE.format(canonical=""), content_type="text/html")

    response = client.get(embed_url(url))

    assert response.status_code == 404
    assert "cannot be sent from here" in response.text
    assert publisher.requests == [] and not Article.objects.exists()


@pytest.mark.parametrize(
    "resource",
    [
        {"body": "gone", "status": 404},
        {"body": "<html><head></head><body>No title</body></html>", "content_type": "text/html"},
        {"body": "moved", "status": 301, "headers": {"Location": "http://127.0.0.1:9/"}},
    ],
    ids=["404", "no-title", "redirect"],
)
def test_a_page_that_cannot_be_read_creates_no_article(client, settings, publisher, resource):
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    publisher.put("/p/x", **resource)

    assert client.get(embed_url(publisher.url("/p/x"))).status_code == 404
    assert not Article.objects.exists()


def test_a_letter_sent_in_the_iframe_is_stored_against_the_article_and_confirmed_by_email(
    client, story, publisher, django_capture_on_commit_callbacks
):
    page = client.get(embed_url(story.canonical_url)).text
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            embed_url(story.canonical_url),
            form_data(altcha=solved_challenge(page)),
            headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        )

    assert response.status_code == 302
    assert response["Location"].startswith("/embed/thanks/")
    letter = Letter.objects.get()
    assert (letter.article, letter.status, letter.suspect) == (story, Status.UNCONFIRMED, False)
    assert len(callbacks) == 1  # one message after commit: its confirmation and analysis
    thanks = client.get(response["Location"])
    assert "Thank you, Jane Smith" in thanks.text and "jane@example.com" in thanks.text
    assert directives(thanks)["frame-ancestors"] == f"'self' {publisher.origin}"


def test_the_iframes_form_needs_no_csrf_cookie(story):
    """In a third-party iframe the browser withholds the desk's cookies: the post is checked by
    its Sec-Fetch-Site / Origin headers instead."""
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        embed_url(story.canonical_url), form_data(), headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 302
    assert Letter.objects.filter(article=story).count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
    ids=["cross-site", "same-site", "foreign-origin", "sandboxed"],
)
def test_a_form_posted_from_another_site_is_refused_and_stores_nothing(story, client, headers):
    response = client.post(embed_url(story.canonical_url), form_data(), headers=headers)

    assert response.status_code == 403
    assert not Letter.objects.exists()


def test_the_article_pages_own_form_keeps_djangos_csrf_check(story):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(story.get_absolute_url(), form_data())
    assert response.status_code == 403


def test_a_letter_without_the_proof_of_work_is_held_as_suspect(client, story):
    client.post(embed_url(story.canonical_url), form_data())
    assert Letter.objects.get().suspect


def test_a_letter_sent_faster_than_a_person_writes_is_refused(client, story):
    response = client.post(embed_url(story.canonical_url), form_data(started=None))
    assert response.status_code == 200
    assert not Letter.objects.exists()


def test_the_rate_limit_holds_inside_the_iframe(client, story, settings):
    settings.LETTERS_RATE_LIMIT_FORM_IP = (2, 600)
    for n in range(2):
        client.post(embed_url(story.canonical_url), form_data(email=f"w{n}@example.com"))

    response = client.post(embed_url(story.canonical_url), form_data(email="w9@example.com"))

    assert response.status_code == 429 and response["Retry-After"]
    assert Letter.objects.count() == 2
    assert "your text is kept below" in response.text


def test_a_closed_article_says_so_in_the_iframe(client, story):
    story.letters_open = False
    story.save()

    response = client.get(embed_url(story.canonical_url))

    assert "Letters on this article are now closed" in response.text
    assert 'id="letter-form"' not in response.text


def test_the_embed_thanks_link_cannot_be_forged(client, story):
    assert client.get("/embed/thanks/not-a-token/").status_code == 404


def test_the_first_paint_is_served_in_under_20_ms(client, story):
    client.get(
        embed_url(story.canonical_url)
    )  # the blank form's template, rendered once per worker
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        assert client.get(embed_url(story.canonical_url)).status_code == 200
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.020, timings


def test_a_bare_domain_stands_for_its_https_origin():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LETTERS_EMBED_DOMAINS)"
    )
    result = start_with(
        {"LETTERS_EMBED_DOMAINS": "www.reaction.life, http://localhost:8001"}, "-c", probe
    )
    assert result.returncode == 0, result.stderr
    assert "['https://www.reaction.life', 'http://localhost:8001']" in result.stdout


@pytest.mark.parametrize("value", ["javascript:alert(1)", "https://a.example/path", "a b"])
def test_a_malformed_embed_domain_stops_start_up_naming_the_variable(value):
    result = start_with({"LETTERS_EMBED_DOMAINS": value})
    assert result.returncode != 0
    assert "LETTERS_EMBED_DOMAINS" in result.stderr


def test_browser_form_data_works_for_the_iframe_too(client, story):
    """The challenge on the iframe page is the article page's: solving either is accepted."""
    client.post(embed_url(story.canonical_url), browser_form_data(client, story))
    assert Letter.objects.get().suspect is False


def test_reading_unknown_pages_is_rate_limited_per_client(client, settings, publisher):
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    settings.LETTERS_RATE_LIMIT_EMBED_NEW_IP = (2, 3600)
    for n in range(3):
        publisher.put(f"/p/{n}", PAGE.format(canonical=""), content_type="text/html")

    answers = [client.get(embed_url(publisher.url(f"/p/{n}"))).status_code for n in range(3)]

    assert answers == [200, 200, 404]
    assert len(publisher.requests) == 2 and Article.objects.count() == 2


def test_an_article_not_yet_published_is_not_offered_nor_fetched_again(client, story, publisher):
    story.published_at = story.published_at.replace(year=2999)
    story.save()

    assert client.get(embed_url(story.canonical_url)).status_code == 404
    assert publisher.requests == []


def test_with_the_database_unreachable_the_iframe_shows_the_letter_back_framed(
    client, story, publisher, monkeypatch
):

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("letters.syndication.pages.article_for", unreachable)

    response = client.post(embed_url(story.canonical_url), form_data(body="Sir, keep this text."))

    assert response.status_code == 503 and response["Retry-After"]
    assert "Sir, keep this text." in response.text
    assert directives(response)["frame-ancestors"] == f"'self' {publisher.origin}"
    assert "X-Frame-Options" not in response.headers
