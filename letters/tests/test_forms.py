import re

import pytest

from letters.forms import LetterForm

from .factories import form_data


def errors_for(**overrides):
    form = LetterForm(form_data(**overrides))
    form.is_valid()
    return form.errors


def test_a_complete_letter_is_valid():
    assert errors_for() == {}


@pytest.mark.parametrize("field", ["name", "email", "town", "body"])
def test_required_fields_are_named_when_missing(field):
    assert field in errors_for(**{field: ""})


def test_phone_is_optional():
    assert errors_for(phone="") == {}


@pytest.mark.parametrize("field", ["exclusive", "consent"])
def test_exclusivity_and_consent_must_be_ticked(field):
    errors = errors_for(**{field: None})
    assert field in errors


def test_exclusivity_error_says_what_is_needed():
    assert errors_for(exclusive=None)["exclusive"] == [
        "Please confirm the letter is exclusive to us."
    ]


def test_a_letter_of_only_spaces_is_refused():
    assert errors_for(body="   \r\n  ")["body"] == ["Please write your letter."]


def test_a_letter_over_the_limit_names_its_count(settings):
    settings.LETTERS_WORD_LIMIT = 10
    errors = errors_for(body="word " * 12)
    assert errors["body"] == ["Your letter has 12 words; the limit is 10. Please cut 2."]


def test_a_letter_at_the_limit_is_accepted(settings):
    settings.LETTERS_WORD_LIMIT = 10
    assert errors_for(body="word " * 10) == {}


def test_the_letter_text_is_kept_exactly_as_written():
    text = "  Sir,\r\n\r\n  indented   spacing stays.  \r\n"
    form = LetterForm(form_data(body=text))
    assert form.is_valid()
    assert form.cleaned_data["body"] == text


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Jane\r\nBcc: victim@example.com"),
        ("name", "Jane\nSmith"),
        ("town", "Hexham\r\nX-Injected: yes"),
        ("email", "jane@example.com\r\nBcc: victim@example.com"),
        ("email", "jane@example.com\nCc: x@example.com"),
        ("phone", "01434\r\nX: y"),
    ],
)
def test_line_breaks_in_header_fields_are_refused(field, value):
    assert field in errors_for(**{field: value})


def test_an_invalid_email_is_named():
    assert errors_for(email="not-an-address")["email"] == ["Enter a valid email address."]


def test_the_hidden_trap_field_marks_a_bot():
    form = LetterForm(form_data(website="http://spam.example"))
    assert form.is_valid()
    assert form.is_bot


def test_the_body_widget_carries_the_limit_for_the_counter(settings):
    settings.LETTERS_WORD_LIMIT = 250
    html = str(LetterForm()["body"])
    assert 'data-word-limit="250"' in html


def test_the_form_gives_browsers_autofill_hints_and_a_phone_keypad(client, article):
    html = client.get(article.get_absolute_url()).text  # the cached blank form
    for name, hint in [
        ("name", "name"),
        ("email", "email"),
        ("town", "address-level2"),
        ("phone", "tel"),
    ]:
        [tag] = re.findall(rf'<input [^>]*name="{name}"[^>]*>', html)
        assert f'autocomplete="{hint}"' in tag
    [phone] = re.findall(r'<input [^>]*name="phone"[^>]*>', html)
    assert 'type="tel"' in phone


def test_the_word_count_is_announced_from_a_polite_region_not_the_live_counter(client, article):
    html = client.get(article.get_absolute_url()).text
    assert '<p id="word-count" class="form-text">Up to 300 words.</p>' in html
    assert '<p id="word-count-announce" class="visually-hidden" aria-live="polite"></p>' in html
    assert html.count("aria-live") == 1
    assert "form-errors.js" in html
