"""Editions out: a published edition as print-ready text, as an HTML fragment and as JSON,
each against its hand-written expected output; the admin's copy-to-clipboard."""

import datetime

import pytest
from django.utils import timezone

from letters.models import EditionStatus, Status

from .factories import editor, make_article, make_edition, make_letter

pytestmark = pytest.mark.django_db

PUBLISHED = datetime.datetime(2026, 5, 2, 6, 0, tzinfo=datetime.UTC)


@pytest.fixture
def edition(settings):
    settings.SITE_URL = "https://desk.example"
    settings.LETTERS_PUBLICATION_NAME = "Reaction"
    article = make_article(
        headline="Why the trains are late",
        slug="trains",
        canonical_url="https://www.reaction.life/p/trains",
    )
    jane = make_letter(
        article=article,
        status=Status.PUBLISHED,
        published_at=PUBLISHED,
        name="Jane Smith",
        town="Hexham",
        email="jane@example.com",
        phone="01434 600600",
        address="1 High Street",
        body="Sir, the trains are late.\r\n\r\nAgain.",
    )
    tom = make_letter(
        article=article,
        status=Status.PUBLISHED,
        published_at=PUBLISHED,
        name="Tom O'Brien",
        town="",
        email="tom@example.com",
        headline="Ampersands",
        body="The first version.",
        edited_body="Sir, <b>bold</b> & co.",
    )
    withdrawn = make_letter(article=article, status=Status.WITHDRAWN, name="Gone Away")
    edition = make_edition(
        [tom, jane, withdrawn],
        date=datetime.date(2026, 5, 2),
        lead=jane,
        title="Weekend letters",
        status=EditionStatus.PUBLISHED,
        published_at=PUBLISHED,
    )
    edition.entries.filter(letter=jane).update(headline="Late again")
    edition.entries.filter(letter=tom).update(headline="")
    edition.jane, edition.tom = jane, tom
    return edition


EXPECTED_TEXT = """\
Letters to Reaction
Saturday 2 May 2026 — Weekend letters
2 letters, 10 words

* * *

LEAD LETTER
LATE AGAIN
In response to: Why the trains are late

Sir, the trains are late.

Again.

Jane Smith, Hexham
(6 words)

* * *

AMPERSANDS
In response to: Why the trains are late

Sir, <b>bold</b> & co.

Tom O'Brien
(4 words)
"""

EXPECTED_HTML = """\
<section class="letters-edition" id="letters-2026-05-02">
<h2>Letters, Saturday 2 May 2026 — Weekend letters</h2>
<article class="letter letter-lead" id="letter-{jane}">
<h3>Late again</h3>
<p class="letter-in-response">In response to <a href="https://www.reaction.life/p/trains">Why the trains are late</a></p>
<p>Sir, the trains are late.</p>

<p>Again.</p>
<p class="letter-signature">Jane Smith, Hexham</p>
</article>
<article class="letter" id="letter-{tom}">
<h3>Ampersands</h3>
<p class="letter-in-response">In response to <a href="https://www.reaction.life/p/trains">Why the trains are late</a></p>
<p>Sir, &lt;b&gt;bold&lt;/b&gt; &amp; co.</p>
<p class="letter-signature">Tom O&#x27;Brien</p>
</article>
</section>
"""


def expected_json(edition):
    def letter(pk, slug_anchor, **fields):
        return {
            "id": pk,
            "published_at": "2026-05-02T06:00:00+00:00",
            "url": f"https://desk.example/articles/trains/#letter-{slug_anchor}",
            "article": {
                "headline": "Why the trains are late",
                "url": "https://www.reaction.life/p/trains",
            },
            **fields,
        }

    jane, tom = edition.jane.pk, edition.tom.pk
    return {
        "date": "2026-05-02",
        "title": "Weekend letters",
        "url": "https://desk.example/letters/2026-05-02/",
        "published_at": "2026-05-02T06:00:00+00:00",
        "formats": {
            "text": "https://desk.example/letters/2026-05-02/edition.txt",
            "html": "https://desk.example/letters/2026-05-02/edition.html",
            "json": "https://desk.example/letters/2026-05-02/edition.json",
        },
        "letter_count": 2,
        "word_count": 10,
        "letters": [
            letter(
                jane,
                jane,
                headline="Late again",
                text="Sir, the trains are late.\n\nAgain.",
                html="<p>Sir, the trains are late.</p>\n\n<p>Again.</p>",
                name="Jane Smith",
                town="Hexham",
                signature="Jane Smith, Hexham",
                word_count=6,
                lead=True,
            ),
            letter(
                tom,
                tom,
                headline="Ampersands",
                text="Sir, <b>bold</b> & co.",
                html="<p>Sir, &lt;b&gt;bold&lt;/b&gt; &amp; co.</p>",
                name="Tom O'Brien",
                town="",
                signature="Tom O'Brien",
                word_count=4,
                lead=False,
            ),
        ],
    }


def test_the_print_text_is_headline_letters_name_town_and_word_counts(client, edition):
    response = client.get("/letters/2026-05-02/edition.txt")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == EXPECTED_TEXT


def test_the_html_fragment_is_escaped_markup_with_no_page_around_it(client, edition):
    response = client.get("/letters/2026-05-02/edition.html")

    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == EXPECTED_HTML.format(jane=edition.jane.pk, tom=edition.tom.pk)


def test_the_json_has_the_letters_in_order_and_nothing_personal(client, edition):
    response = client.get("/letters/2026-05-02/edition.json")

    assert response["Content-Type"] == "application/json"
    assert response.json() == expected_json(edition)
    assert client.get("/api/v1/editions/2026-05-02/").json() == expected_json(edition)
    for secret in ("jane@example.com", "01434", "High Street", "The first version"):
        assert secret not in response.text


@pytest.mark.parametrize("suffix", ["edition.txt", "edition.html", "edition.json"])
def test_an_edition_not_yet_published_has_no_export(client, edition, suffix):
    edition.status = EditionStatus.SCHEDULED
    edition.publish_at = timezone.now() + datetime.timedelta(days=1)
    edition.save()

    assert client.get(f"/letters/2026-05-02/{suffix}").status_code == 404
    assert client.get(f"/letters/2026-13-02/{suffix}").status_code == 404


def test_the_exports_carry_an_etag_and_answer_304_when_unchanged(client, edition):
    first = client.get("/letters/2026-05-02/edition.txt")
    again = client.get("/letters/2026-05-02/edition.txt", headers={"If-None-Match": first["ETag"]})

    assert "public" in first["Cache-Control"] and "max-age=300" in first["Cache-Control"]
    assert again.status_code == 304


def test_the_edition_admin_page_offers_the_text_to_copy_and_the_other_formats(client, edition):
    client.force_login(editor())

    page = client.get(f"/admin/letters/edition/{edition.pk}/change/")

    assert page.status_code == 200
    text = page.text
    assert 'data-copy-target="edition-export"' in text
    assert "copy-export.js" in text
    assert "LATE AGAIN" in text and "(6 words)" in text
    assert "/letters/2026-05-02/edition.html" in text and "/letters/2026-05-02/edition.json" in text


def test_a_draft_editions_admin_page_says_exports_come_once_published(client, edition):
    edition.status = EditionStatus.DRAFT
    edition.save()
    client.force_login(editor())

    page = client.get(f"/admin/letters/edition/{edition.pk}/change/")

    assert "Once the edition is published" in page.text
