import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone
from django.views.defaults import server_error

from letters.models import Letter, LetterEvent, Status

from .factories import LETTER_TEXT, form_data, make_article, make_letter

pytestmark = pytest.mark.django_db


def test_home_page_links_every_article(client):
    first = make_article(headline="First piece")
    second = make_article(headline="Second piece")
    html = client.get("/").text
    assert first.get_absolute_url() in html
    assert second.get_absolute_url() in html


def test_article_page_ends_with_the_write_to_us_block(client, article):
    response = client.get(article.get_absolute_url())
    html = response.text
    assert response.status_code == 200
    assert "Write to us" in html
    assert f'href="mailto:{article.inbound_address}?subject=Putin%20warns%20the%20West"' in html
    assert 'id="letter-form"' in html
    for field in ["name", "email", "town", "body", "phone", "exclusive", "consent"]:
        assert f'name="{field}"' in html
    assert "Up to 300 words." in html
    assert "word-count.js" in html


def test_the_mailto_uses_the_per_article_address(article):
    assert article.inbound_address == f"letters+{article.slug}@reaction.life"


def test_closed_article_says_so_and_offers_no_form(client):
    article = make_article(letters_open=False)
    html = client.get(article.get_absolute_url()).text
    assert "Letters on this article are now closed" in html
    assert 'id="letter-form"' not in html


def test_article_closes_after_its_closing_time(client):
    article = make_article(
        headline="Closed at noon", letters_close_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(article.get_absolute_url())
    html = response.text
    assert response.status_code == 200
    assert "Closed at noon" in html
    assert "Letters on this article are now closed" in html
    assert 'id="letter-form"' not in html


def test_article_closes_by_the_desk_policy(client, settings):
    settings.LETTERS_CLOSE_AFTER_DAYS = 7
    old = make_article(published_at=timezone.now() - timedelta(days=8))
    recent = make_article(published_at=timezone.now() - timedelta(days=6))
    old_html = client.get(old.get_absolute_url()).text
    assert old.headline in old_html
    assert "Letters on this article are now closed" in old_html
    assert 'id="letter-form"' not in old_html
    assert 'id="letter-form"' in client.get(recent.get_absolute_url()).text


def test_a_letter_posted_to_a_closed_article_is_shown_back_not_stored(client):
    article = make_article(letters_open=False)
    html = client.post(article.get_absolute_url(), form_data(body="My unsent words")).text
    assert "My unsent words" in html
    assert not Letter.objects.exists()


def test_unknown_article_is_404(client):
    assert client.get("/articles/no-such-piece/").status_code == 404


def test_submission_stores_the_letter_untouched(
    client, article, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(article.get_absolute_url(), form_data(phone="01434 600600"))
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert letter.body == LETTER_TEXT
    assert letter.edited_body == ""
    assert (letter.name, letter.email, letter.town) == ("Jane Smith", "jane@example.com", "Hexham")
    assert letter.phone == "01434 600600"
    assert letter.article == article
    assert letter.channel == "web"
    assert letter.status == Status.UNCONFIRMED
    assert letter.word_count == 22
    assert letter.exclusive and letter.consent
    assert len(callbacks) == 1  # one message: its confirmation email and analysis (worker)


def test_submission_records_who_and_when(client, article):
    client.post(article.get_absolute_url(), form_data())
    event = LetterEvent.objects.get()
    assert (event.action, event.to_status, event.who) == ("submitted", "unconfirmed", "writer")


def test_thank_you_page_says_what_happens_next(client, article):
    response = client.post(article.get_absolute_url(), form_data(), follow=True)
    html = response.text
    assert "Thank you, Jane Smith" in html
    assert "jane@example.com" in html
    assert "What happens next" in html


def test_thank_you_page_gives_the_links_real_lifetime(client, article, settings):
    settings.LETTERS_CONFIRM_MAX_AGE_DAYS = 3
    html = client.post(article.get_absolute_url(), form_data(), follow=True).text
    assert "The link works for 3 days." in html


def test_pressing_send_twice_stores_one_letter(client, article):
    data = form_data()
    client.post(article.get_absolute_url(), data)
    client.post(article.get_absolute_url(), data)
    assert Letter.objects.count() == 1


def test_invalid_letter_is_shown_again_with_the_text_and_the_problem(client, article, settings):
    settings.LETTERS_WORD_LIMIT = 5
    text = "One two three four five six & <b>seven</b>"
    response = client.post(article.get_absolute_url(), form_data(body=text, email="nope"))
    html = unescape(response.text)
    assert response.status_code == 200
    assert text in html
    assert "Your letter has 8 words; the limit is 5. Please cut 3." in html
    assert "Enter a valid email address." in html
    assert not Letter.objects.exists()


def test_letter_text_is_escaped_on_the_page(client, article):
    make_letter(
        article=article,
        status=Status.PUBLISHED,
        body="<script>alert(1)</script> Sir,",
        published_at=timezone.now(),
    )
    html = client.get(article.get_absolute_url()).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_published_letters_show_name_and_town_but_never_contact_details(client, article):
    make_letter(
        article=article,
        status=Status.PUBLISHED,
        name="Jane Smith",
        email="jane@example.com",
        phone="01434 600600",
        address="1 High Street",
        published_at=timezone.now(),
    )
    html = client.get(article.get_absolute_url()).text
    assert "Letters in response" in html
    assert "Jane Smith, Hexham" in html
    for private in ["01434 600600", "1 High Street", "jane@example.com"]:
        assert private not in html


def test_a_bot_filling_the_trap_is_thanked_but_marked_spam(client, article):
    response = client.post(article.get_absolute_url(), form_data(website="http://spam.example"))
    assert response.status_code == 302
    assert Letter.objects.get().status == Status.SPAM


def test_thank_you_link_cannot_be_forged(client):
    response = client.get("/letters/thanks/1:forged/")
    assert response.status_code == 404
    assert "This link does not work" in response.text


def test_article_page_has_a_csrf_token(client, article):
    assert re.search(
        r'name="csrfmiddlewaretoken" value="\w+"', client.get(article.get_absolute_url()).text
    )


def test_an_unknown_address_gets_the_sites_own_not_found_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We cannot find that page" in response.text
    assert 'href="/letters/"' in response.text  # the site's header and links, not Django's page


def test_a_server_error_gets_a_plain_page_that_needs_no_static_manifest(rf, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent"  # no manifest: {% static %} would raise here
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b'href="/static/vendor/bootstrap/bootstrap.min.css"' in response.content
