"""Control characters and bidi controls: refused or stripped on every way in, keeping the
writer's text; and a letter stored before that never breaks a feed or a page."""

import xml.etree.ElementTree as ET
from email.header import Header
from html import unescape

import pytest

from letters import moderation
from letters.intake import characters
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import InboundStatus, Letter, WayIn

from .factories import LETTER_TEXT, form_data, make_approved_letter, make_edition, make_message

pytestmark = pytest.mark.django_db

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: turns the text after it around
ATOM = "{http://www.w3.org/2005/Atom}"


# --- The one definition -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f", "\u202a", RLO]
    + ["\u2066", "\u2069", "\u200e", "\u200f", "\u061c"],
)
def test_clean_text_removes_each_control_and_bidi_character(char):
    assert characters.clean_text(f"Jane{char} Smith") == "Jane Smith"


def test_clean_text_keeps_tabs_line_breaks_and_every_other_letter():
    text = "Sir,\r\n\tcafé, Ελλάδα, עברית, 日本 — “quoted” 😀\n"
    assert characters.clean_text(text) == text


def test_clean_line_turns_tabs_and_line_breaks_into_spaces():
    assert characters.clean_line(f"Jane\t{RLO}Smith\r\nHexham") == "Jane Smith Hexham"


def test_unwanted_in_line_names_the_character():
    assert characters.unwanted_in_line(f"Jane {RLO}htimS") == "U+202E (RIGHT-TO-LEFT OVERRIDE)"
    assert characters.unwanted_in_line("Hex\x0bham") == "U+000B"
    assert characters.unwanted_in_line("Jane Smith, Hexham") == ""


# --- The letter form --------------------------------------------------------------------------


def test_the_form_refuses_a_bidi_override_in_the_name_and_keeps_the_text(client, article):
    name = f"Jane {RLO}htimS"
    response = client.post(article.get_absolute_url(), form_data(name=name))
    html = unescape(response.text)
    assert response.status_code == 200
    assert "invisible character, U+202E (RIGHT-TO-LEFT OVERRIDE)" in html
    assert "Please retype it." in html
    assert name in html
    assert LETTER_TEXT.replace("\r\n", "\n") in html.replace("\r\n", "\n")
    assert not Letter.objects.exists()


def test_the_form_refuses_a_vertical_tab_in_the_town_and_keeps_the_text(client, article):
    response = client.post(article.get_absolute_url(), form_data(town="Hex\x0bham"))
    html = unescape(response.text)
    assert response.status_code == 200
    assert "invisible character, U+000B" in html
    assert 'value="Hex\x0bham"' in html
    assert LETTER_TEXT.replace("\r\n", "\n") in html.replace("\r\n", "\n")
    assert not Letter.objects.exists()


def test_the_form_refuses_a_control_character_in_the_phone_number(client, article):
    response = client.post(article.get_absolute_url(), form_data(phone="01434\x1b600"))
    assert response.status_code == 200
    assert "invisible character, U+001B" in unescape(response.text)
    assert not Letter.objects.exists()


def test_the_form_refuses_a_bidi_override_in_the_email_address(client, article):
    response = client.post(article.get_absolute_url(), form_data(email=f"jane{RLO}@example.com"))
    assert response.status_code == 200
    assert "Enter a valid email address." in response.text
    assert not Letter.objects.exists()


def test_the_form_strips_control_and_bidi_characters_from_the_letter_and_keeps_the_rest(
    client, article
):
    body = f"Sir,\r\n\r\n\tThe bridge\x0b is {RLO}falling\x85 down.\u200f\r\n"
    response = client.post(article.get_absolute_url(), form_data(body=body))
    assert response.status_code == 302
    assert Letter.objects.get().body == "Sir,\r\n\r\n\tThe bridge is falling down.\r\n"


# --- Email ------------------------------------------------------------------------------------


def test_an_emailed_letter_is_stored_without_control_and_bidi_characters(article):
    sender = Header(f"Ann {RLO}redaeR", "utf-8").encode() + " <ann@example.org>"
    raw = make_message(
        sender=sender,
        subject=f"Your article{RLO} on trains",
        body="Dear Editor,\n\nThe trains\x0b are late again\x1b, and your article was right.\n",
    )
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(row.pk)
    row.refresh_from_db()
    assert row.status == InboundStatus.ACCEPTED
    letter = row.letter
    assert letter.name == "Ann redaeR"
    assert letter.subject == row.subject == "Your article on trains"
    assert "The trains are late again, and your article was right." in letter.body
    assert not characters.UNWANTED_IN_TEXT.search(letter.body)


def test_a_sign_off_under_an_emailed_letter_is_stored_clean(article):
    raw = make_message(
        body="Dear Editor,\n\nThe trains are late again.\n\nAnn\x0b Reader\nLe\u2066eds\n"
    )
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(row.pk)
    letter = Letter.objects.get()
    assert (letter.name, letter.town) == ("Ann Reader", "Leeds")


# --- A letter stored before these checks: feeds and pages ------------------------------------


@pytest.fixture
def letter_with_bad_characters(article, enqueued):
    letter = make_approved_letter(
        article=article,
        name=f"Ann {RLO}redaeR",
        town="Hex\x0bham",
        headline=f"Bridges\x0b {RLO}down",
        body=f"Sir, the bridge\x0b is falling\x1b down {RLO}today.",
    )
    moderation.publish(letter.pk)
    return letter


@pytest.mark.parametrize("url", ["/letters/feed/", "/articles/{slug}/letters/feed/"])
def test_both_feeds_serve_a_letter_holding_control_and_bidi_characters(
    client, article, letter_with_bad_characters, url
):
    response = client.get(url.format(slug=article.slug))
    assert response.status_code == 200
    feed = ET.fromstring(response.content)  # well-formed XML
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "Ann redaeR, Hexham"
    assert entry.find(f"{ATOM}title").text == "Bridges down"
    assert "the bridge is falling down today." in entry.find(f"{ATOM}summary").text
    assert RLO.encode() not in response.content


def test_the_article_page_shows_such_a_letter_without_them(
    client, article, letter_with_bad_characters
):
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert "Ann redaeR, Hexham" in response.text
    assert "Sir, the bridge is falling down today." in response.text
    assert RLO not in response.text
    assert "\x0b" not in response.text


def test_the_letters_page_shows_such_a_letter_in_its_edition_without_them(
    client, article, enqueued
):
    letter = make_approved_letter(
        article=article, name=f"Ann {RLO}redaeR", body="Sir, the bridge\x0b is falling down."
    )
    moderation.publish_edition(make_edition([letter]).pk)
    response = client.get("/letters/")
    assert response.status_code == 200
    assert "Ann redaeR, Hexham" in response.text
    assert "Headline for Ann redaeR" in response.text
    assert RLO not in response.text
    assert "\x0b" not in response.text
