"""The public pages that show published letters: under the article, the letters page, an
edition's page; and the query counts that keep them fast however much the desk holds."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.models import EditionStatus, Letter, Status

from .factories import make_approved_letter, make_article, make_edition, make_letter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker


def published_edition(letters, **kwargs):
    edition = make_edition(letters, **kwargs)
    moderation.publish_edition(edition.pk)
    return edition


def test_the_article_shows_each_published_letter_with_headline_edited_text_and_byline(client):
    article = make_article()
    letter = make_approved_letter(
        article=article,
        body="The long original text.",
        edited_body="The cut text.",
        name="Jane Smith",
    )
    published_edition([letter])

    page = client.get(article.get_absolute_url()).content.decode()

    assert "Letters in response" in page
    assert f"Headline for {letter.name}" in page
    assert "The cut text." in page
    assert "The long original text." not in page
    assert "Jane Smith, Hexham" in page


def test_no_page_shows_a_writers_phone_address_or_email(client):
    article = make_article()
    letter = make_approved_letter(
        article=article, phone="01434 600 600", address="1 Secret Lane, Hexham"
    )
    edition = published_edition([letter])

    for url in [
        article.get_absolute_url(),
        reverse("letters:letters_page"),
        edition.get_absolute_url(),
    ]:
        page = client.get(url).content.decode()
        assert letter.name in page, url
        for secret in (letter.phone, letter.address, letter.email):
            assert secret not in page, (url, secret)


def test_letters_not_yet_published_do_not_appear(client):
    article = make_article()
    published_edition([make_approved_letter(article=article, name="Already Published")])
    make_approved_letter(article=article, name="Still Approved")
    make_letter(article=article, status=Status.RECEIVED, name="Just Received")

    page = client.get(article.get_absolute_url()).content.decode()

    assert "Letters in response" in page
    assert "Already Published, Hexham" in page
    assert "Still Approved" not in page
    assert "Just Received" not in page


def test_under_the_article_the_lead_letter_comes_first_then_the_editors_order(client):
    article = make_article()
    first, second, lead = (
        make_approved_letter(article=article, name=n) for n in ("Aa First", "Bb Second", "Cc Lead")
    )
    published_edition([first, second, lead], lead=lead)

    page = client.get(article.get_absolute_url()).content.decode()

    assert page.index("Cc Lead") < page.index("Aa First") < page.index("Bb Second")


def test_the_letters_page_shows_editions_newest_first_with_the_lead_marked(client):
    older = published_edition(
        [make_approved_letter(name="Old Writer")], date=datetime.date(2026, 3, 1)
    )
    lead = make_approved_letter(name="Lead Writer")
    newer = published_edition(
        [make_approved_letter(name="Other Writer"), lead],
        date=datetime.date(2026, 3, 2),
        lead=lead,
    )

    page = client.get(reverse("letters:letters_page")).content.decode()

    assert page.index("2 March 2026") < page.index("1 March 2026")
    assert page.index("Lead letter") < page.index("Lead Writer") < page.index("Other Writer")
    assert newer.get_absolute_url() in page and older.get_absolute_url() in page


def test_draft_and_scheduled_editions_are_not_on_the_letters_page(client):
    published_edition([make_approved_letter(name="Published Writer")])
    draft = make_edition([make_approved_letter(name="Draft Writer")])
    scheduled = make_edition([make_approved_letter(name="Scheduled Writer")])
    at = timezone.now() + datetime.timedelta(days=1)
    moderation.schedule_edition(scheduled.pk, at=at)

    page = client.get(reverse("letters:letters_page")).content.decode()

    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.publish_at) == (EditionStatus.SCHEDULED, at)
    assert draft.status == EditionStatus.DRAFT
    assert "Published Writer, Hexham" in page
    assert "Draft Writer" not in page
    assert "Scheduled Writer" not in page
    assert draft.get_absolute_url() not in page
    assert scheduled.get_absolute_url() not in page


def test_a_withdrawn_letter_leaves_its_published_edition(client):
    gone = make_approved_letter(name="Gone Writer")
    edition = published_edition([gone, make_approved_letter(name="Staying Writer")])

    moderation.unpublish(gone.pk)
    page = client.get(edition.get_absolute_url()).content.decode()

    assert "Gone Writer" not in page
    assert "Staying Writer" in page


def test_the_letters_page_is_paginated_by_edition(client, settings):
    settings.LETTERS_EDITIONS_PER_PAGE = 2
    for day in range(1, 4):
        published_edition(
            [make_approved_letter(name=f"Writer Day{day}")], date=datetime.date(2026, 4, day)
        )

    first = client.get(reverse("letters:letters_page")).content.decode()
    second = client.get(reverse("letters:letters_page") + "?page=2").content.decode()

    assert "Writer Day3" in first and "Writer Day2" in first and "Writer Day1" not in first
    assert "Writer Day1" in second


def test_an_edition_page_is_found_by_its_date_and_a_draft_one_is_not(client):
    published = published_edition([make_approved_letter()], date=datetime.date(2026, 2, 3))
    make_edition([make_approved_letter()], date=datetime.date(2026, 2, 4))

    assert client.get("/letters/2026-02-03/").status_code == 200
    assert published.get_absolute_url() == "/letters/2026-02-03/"
    assert client.get("/letters/2026-02-04/").status_code == 404
    assert client.get("/letters/2026-02-31/").status_code == 404


def test_every_page_links_to_the_letters_page_and_its_feed(client):
    page = client.get(reverse("letters:home")).content.decode()

    assert 'href="/letters/"' in page
    assert 'type="application/atom+xml"' in page and 'href="/letters/feed/"' in page


def test_the_article_page_links_its_own_letters_feed(client):
    article = make_article()

    page = client.get(article.get_absolute_url()).content.decode()

    assert f'href="/articles/{article.slug}/letters/feed/"' in page


def build(articles, letters_each, editions):
    """Published letters across `articles`, grouped into `editions` with a lead each."""
    made = [make_article() for _ in range(articles)]
    letters = [make_approved_letter(article=a) for a in made for _ in range(letters_each)]
    size = max(1, len(letters) // editions)
    for i in range(editions):
        chunk = letters[i * size : (i + 1) * size]
        if chunk:
            published_edition(chunk, lead=chunk[0])
    return made[0]


def queries_for(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_article_page_runs_the_same_number_of_queries_with_ten_times_the_letters(client):
    small = build(articles=1, letters_each=2, editions=1)
    small_count = queries_for(client, small.get_absolute_url())
    large = build(articles=1, letters_each=20, editions=5)

    assert queries_for(client, large.get_absolute_url()) == small_count


def test_the_letters_page_runs_the_same_number_of_queries_with_ten_times_the_letters(client):
    build(articles=2, letters_each=1, editions=1)
    small_count = queries_for(client, reverse("letters:letters_page"))
    build(articles=10, letters_each=4, editions=10)

    assert queries_for(client, reverse("letters:letters_page")) == small_count
    assert queries_for(client, "/letters/?page=2") == small_count


# --- Letters published outside an edition: on the letters page for their date -----------------


def published_on_its_own(name, at, **fields):
    letter = make_approved_letter(name=name, **fields)
    moderation.publish(letter.pk)
    Letter.objects.filter(pk=letter.pk).update(published_at=at)
    return letter


def local(year, month, day, hour=12):
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


def test_a_letter_published_on_its_own_is_on_the_letters_page_under_its_date(client):
    published_on_its_own("Solo Writer", local(2026, 6, 10), headline="On my own")
    published_edition([make_approved_letter(name="Edition Writer")], date=datetime.date(2026, 6, 9))

    page = client.get(reverse("letters:letters_page")).content.decode()

    assert "Solo Writer, Hexham" in page and "On my own" in page
    assert page.index("Wednesday 10 June 2026") < page.index("Solo Writer")
    assert page.index("Solo Writer") < page.index("9 June 2026") < page.index("Edition Writer")
    assert 'href="/letters/2026-06-10/"' in page


def test_a_letter_on_its_own_and_an_edition_on_the_same_day_share_it(client):
    published_edition([make_approved_letter(name="Edition Writer")], date=datetime.date(2026, 6, 9))
    published_on_its_own("Solo Writer", local(2026, 6, 9, hour=18))

    page = client.get("/letters/2026-06-09/").content.decode()

    assert (
        page.index("Edition Writer")
        < page.index("Also published on 9 June")
        < page.index("Solo Writer")
    )


def test_a_days_page_is_found_for_a_letter_published_on_its_own(client):
    published_on_its_own("Solo Writer", local(2026, 6, 10, hour=23))

    assert "Solo Writer" in client.get("/letters/2026-06-10/").content.decode()
    assert client.get("/letters/2026-06-11/").status_code == 404


def test_a_letter_in_a_published_edition_is_not_shown_again_on_its_own(client):
    letter = make_approved_letter(name="Once Only")
    moderation.publish(letter.pk)
    published_edition([letter], date=timezone.localdate())

    page = client.get(reverse("letters:letters_page")).content.decode()

    assert page.count("Once Only, Hexham") == 1


def test_the_letters_page_is_paginated_by_day_counting_days_with_letters_on_their_own(
    client, settings
):
    settings.LETTERS_EDITIONS_PER_PAGE = 2
    published_edition([make_approved_letter(name="Writer Day1")], date=datetime.date(2026, 4, 1))
    published_on_its_own("Writer Day2", local(2026, 4, 2))
    published_on_its_own("Writer Day3", local(2026, 4, 3))

    first = client.get(reverse("letters:letters_page")).content.decode()
    second = client.get(reverse("letters:letters_page") + "?page=2").content.decode()

    assert "Writer Day3" in first and "Writer Day2" in first and "Writer Day1" not in first
    assert "Writer Day1" in second and "Writer Day2" not in second


def test_the_letters_page_runs_the_same_queries_with_ten_times_the_letters_on_their_own(client):
    for day in range(1, 3):
        published_on_its_own(f"Writer {day}", local(2026, 5, day))
    small = queries_for(client, reverse("letters:letters_page"))
    for day in range(3, 23):
        published_on_its_own(f"Writer {day}", local(2026, 5, day))
        published_on_its_own(f"Writer {day} bis", local(2026, 5, day, hour=15))

    assert queries_for(client, reverse("letters:letters_page")) == small


def test_letters_on_their_own_older_than_a_pages_editions_go_on_a_later_page(client, settings):
    settings.LETTERS_EDITIONS_PER_PAGE = 2
    published_on_its_own("Solo Early", local(2026, 4, 1))
    for day in (3, 4):
        published_edition(
            [make_approved_letter(name=f"Edition {day}")], date=datetime.date(2026, 4, day)
        )
    published_on_its_own("Solo Late", local(2026, 4, 5))

    first = client.get(reverse("letters:letters_page")).content.decode()
    second = client.get(reverse("letters:letters_page") + "?page=2").content.decode()

    assert "Solo Late" in first and "Edition 4" in first
    assert "Edition 3" not in first and "Solo Early" not in first
    assert "Edition 3" in second and "Solo Early" in second
    assert 'href="?page=2"' in first and 'href="?page=1"' in second
    assert 'href="?page=3"' not in second


@pytest.mark.parametrize("page", ["0", "abc", "-1", "99", "1001"])
def test_a_page_of_letters_that_does_not_exist_is_not_found(client, page):
    published_on_its_own("Solo Writer", local(2026, 4, 1))

    assert client.get(reverse("letters:letters_page") + f"?page={page}").status_code == 404
