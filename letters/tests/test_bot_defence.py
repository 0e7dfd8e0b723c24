"""Bot defence on the letter form, switched on as in production: the signed timestamp and the
ALTCHA proof of work (solved here with the altcha library, as the reader's browser would)."""

import html
import json
import re
import time

import altcha
import pytest

from letters import bot_defence
from letters.models import Letter

from .factories import form_data, solved_challenge

pytestmark = pytest.mark.django_db

CHALLENGE = re.compile(r'<altcha-widget name="altcha" challenge="([^"]+)"')
STARTED = re.compile(r'name="started" value="([^"]+)"')


def solved_payload(page_html):
    return solved_challenge(page_html)


def test_the_defences_are_on_by_default(settings):
    assert settings.LETTERS_BOT_CHALLENGE is True
    assert settings.LETTERS_MIN_SECONDS_TO_WRITE == 5


def test_a_letter_without_a_proof_of_work_is_kept_and_held_as_suspect(client, article):
    response = client.post(article.get_absolute_url(), form_data(body="Sir, no JavaScript here."))
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert letter.body == "Sir, no JavaScript here."
    assert letter.suspect
    assert letter.suspect_reason.startswith("no proof-of-work")


def test_a_letter_with_the_pages_challenge_solved_is_not_suspect(client, article):
    page = client.get(article.get_absolute_url()).text
    response = client.post(article.get_absolute_url(), form_data(altcha=solved_payload(page)))
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert not letter.suspect
    assert letter.suspect_reason == ""


def test_a_replayed_solution_holds_the_second_letter_as_suspect(client, article):
    payload = solved_payload(client.get(article.get_absolute_url()).text)
    client.post(article.get_absolute_url(), form_data(altcha=payload, email="first@example.com"))
    client.post(article.get_absolute_url(), form_data(altcha=payload, email="again@example.com"))
    first, again = Letter.objects.order_by("pk")
    assert not first.suspect
    assert again.suspect
    assert again.suspect_reason == "proof-of-work already used"


def test_a_forged_solution_is_held_as_suspect(client, article):
    page = client.get(article.get_absolute_url()).text
    challenge = altcha.Challenge.from_dict(json.loads(html.unescape(CHALLENGE.search(page)[1])))
    forged = altcha.Payload(challenge, altcha.Solution(counter=1, derived_key="00" * 32))
    client.post(article.get_absolute_url(), form_data(altcha=forged.to_base64()))
    assert Letter.objects.get().suspect_reason == "proof-of-work invalid"


def test_a_challenge_signed_with_another_key_is_held_as_suspect(client, article):
    other = altcha.create_challenge("SHA-256", 1, counter=10, hmac_secret="not-our-key" * 4)
    payload = altcha.Payload(other, altcha.solve_challenge(other)).to_base64()
    client.post(article.get_absolute_url(), form_data(altcha=payload))
    assert Letter.objects.get().suspect_reason == "proof-of-work invalid"


def test_a_letter_sent_too_fast_is_shown_again_with_its_text_and_sent_later(
    client, article, settings
):
    settings.LETTERS_MIN_SECONDS_TO_WRITE = 1
    page = client.get(article.get_absolute_url()).text
    text = "Sir, pasted in a hurry & sent at once."
    data = form_data(body=text, started=STARTED.search(page)[1])
    response = client.post(article.get_absolute_url(), data)
    assert response.status_code == 200
    assert "faster than we expect anyone to write" in response.text
    assert html.escape(text) in response.text
    assert not Letter.objects.exists()
    # The form shown again carries a fresh timestamp: sending it once more, later, works.
    time.sleep(1.1)
    data["started"] = html.unescape(STARTED.search(response.text)[1])
    assert client.post(article.get_absolute_url(), data).status_code == 302
    assert Letter.objects.get().body == text


@pytest.mark.parametrize("started", ["", "1.0", "1.0:forged-signature"])
def test_a_missing_or_forged_timestamp_asks_the_reader_to_send_again(client, article, started):
    response = client.post(article.get_absolute_url(), form_data(started=started))
    assert response.status_code == 200
    assert "Please check it and send it again." in response.text
    assert not Letter.objects.exists()


def test_switched_off_for_load_tests_there_is_no_widget_no_timestamp_check_and_no_suspicion(
    client, article, settings
):
    settings.LETTERS_BOT_CHALLENGE = False
    page = client.get(article.get_absolute_url()).text
    assert "altcha" not in page
    response = client.post(article.get_absolute_url(), form_data(started=None))
    assert response.status_code == 302
    assert not Letter.objects.get().suspect


def test_the_widget_and_its_scripts_come_from_our_own_static_files(client, article):
    page = client.get(article.get_absolute_url()).text
    assert '<script type="module" src="/static/vendor/altcha/altcha.min.js"></script>' in page
    assert 'data-sha-worker="/static/vendor/altcha/workers/sha.js"' in page
    assert '<link rel="stylesheet" href="/static/vendor/altcha/altcha.css">' in page
    assert 'auto="onfocus" display="invisible"' in page


def test_a_challenge_says_how_long_it_lasts_and_is_signed_for_this_desk():
    challenge = json.loads(bot_defence.new_challenge())
    expires_in = challenge["parameters"]["expiresAt"] - time.time()
    assert bot_defence.CHALLENGE_LIFETIME_SECONDS - 5 < expires_in
    assert expires_in <= bot_defence.CHALLENGE_LIFETIME_SECONDS
    assert bot_defence.problem_with(bot_defence.solve(json.dumps(challenge))) is None
