"""The shortcuts that keep the form fast (see bench/bench_form.py) change nothing readers see."""

import re

import pytest
from crispy_forms.utils import render_crispy_form
from django.test import Client

from letters import bot_defence, moderation
from letters.forms import LetterForm
from letters.models import Letter, LetterEvent

from .factories import form_data

pytestmark = pytest.mark.django_db

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="(\w+)"')
CLIENT_TOKEN_FIELD = re.compile(r'name="client_token" value="([0-9a-f-]+)"')
STARTED_FIELD = re.compile(r'name="started" value="([^"]+)"')
CHALLENGE_ATTRIBUTE = re.compile(r'<altcha-widget name="altcha" challenge="([^"]+)"')


def article_form(response):
    """The reader's form the article page was rendered with.

    Not `response.context["form"]`: when the blank form is not cached yet, the view renders it
    with placeholders first, and that form comes first in the test client's contexts.
    """
    for template, context in zip(response.templates, response.context, strict=True):
        if template.name == "letters/article.html":
            return context["form"]
    raise AssertionError("the article template was not rendered")


def test_the_blank_form_is_the_html_crispy_forms_renders(client, article):
    response = client.get(article.get_absolute_url())
    form = article_form(response)
    csrf_token = CSRF_FIELD.search(response.text).group(1)
    fresh = LetterForm(initial=form.initial)
    # The page view's own timestamp and challenge, which every reader gets anew.
    fresh.started_token, fresh.challenge_json = form.started_token, form.challenge_json
    assert form.challenge_json
    expected = render_crispy_form(fresh, context={"csrf_token": csrf_token})
    assert expected.strip() in response.text


def test_each_reader_gets_their_own_timestamp_and_challenge(article):
    pages = [Client().get(article.get_absolute_url()).text for _ in range(2)]
    started = [STARTED_FIELD.search(page).group(1) for page in pages]
    challenges = [CHALLENGE_ATTRIBUTE.search(page).group(1) for page in pages]
    # Signed for the moment each page was shown: sent straight back, each is too fast.
    assert all(bot_defence.too_fast(token) for token in started)
    assert challenges[0] != challenges[1]
    assert "placeholder" not in pages[0]


def test_each_reader_gets_their_own_client_token_and_csrf_token(article):
    pages = [Client().get(article.get_absolute_url()) for _ in range(2)]
    tokens = [CLIENT_TOKEN_FIELD.search(page.text).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    assert [str(article_form(page).initial["client_token"]) for page in pages] == tokens
    csrf = [CSRF_FIELD.search(page.text).group(1) for page in pages]
    assert csrf[0] != csrf[1]


def test_the_csrf_token_in_the_blank_form_is_accepted(article):
    reader = Client(enforce_csrf_checks=True)
    page = reader.get(article.get_absolute_url())
    data = form_data(csrfmiddlewaretoken=CSRF_FIELD.search(page.text).group(1))
    assert reader.post(article.get_absolute_url(), data).status_code == 302
    assert Letter.objects.count() == 1


def test_the_blank_form_follows_a_change_of_word_limit(client, article, settings):
    assert "Up to 300 words." in client.get(article.get_absolute_url()).text
    settings.LETTERS_WORD_LIMIT = 250
    html = client.get(article.get_absolute_url()).text
    assert "Up to 250 words." in html
    assert 'data-word-limit="250"' in html


def test_submitting_the_same_client_token_twice_returns_the_first_letter_once_recorded(article):
    fields = LetterForm(form_data()).data
    letter_fields = {
        "name": fields["name"],
        "email": fields["email"],
        "town": fields["town"],
        "body": fields["body"],
        "client_token": fields["client_token"],
    }
    first = moderation.submit(article=article, **letter_fields)
    second = moderation.submit(article=article, **letter_fields)
    assert second.pk == first.pk
    assert Letter.objects.count() == 1
    assert LetterEvent.objects.filter(letter=first, action="submitted").count() == 1
