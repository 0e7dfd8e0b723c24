"""The reader's side in a real browser: the form shown again with a problem puts the focus on
it; the word count is announced when the writer pauses or crosses the limit; Back and Send
again makes no second letter; the status page's link withdraws the letter.

Debian's chromium through Playwright's sync API, as letters/tests/test_browser.py (whose
fixtures this borrows). Screenshots go to artifacts/screenshots/reader-*.png.
"""

import re

import pytest
from playwright.sync_api import expect

from letters.models import Letter, Status

from . import browser, test_browser
from .browser import SCREENSHOTS
from .factories import make_article

# test_browser's fixtures: the live site, Celery run in place, the CSP's refusals.
site = test_browser.site
eager_tasks = test_browser.eager_tasks
csp_violations = test_browser.csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    """A chromium tab, as test_browser's, leaving the other tests' screenshots alone."""
    with browser.tab() as tab:
        yield tab


def shot(page, name):
    page.screenshot(path=SCREENSHOTS / f"reader-{name}.png", full_page=False)


def fill_the_form(page, body):
    page.fill("#id_name", "Margaret Hale")
    page.fill("#id_town", "Milton")
    page.fill("#id_email", "margaret@example.org")
    page.fill("#id_body", body)
    page.check("#id_exclusive")
    page.check("#id_consent")


def send(page):
    """Press Send once the invisible proof of work is solved (the widget holds the form till
    then), as test_browser.write_a_letter does."""
    expect(page.locator("input[name=altcha]")).not_to_have_value("", timeout=30_000)
    page.click("#submit-id-submit")


def test_a_letter_shown_again_with_a_problem_puts_the_focus_on_it(
    page, site, settings, csp_violations
):
    settings.LETTERS_WORD_LIMIT = 5
    settings.LETTERS_MIN_SECONDS_TO_WRITE = 0
    article = make_article(slug="focus")
    page.goto(site + article.get_absolute_url())
    fill_the_form(page, "One two three four five six seven eight")
    send(page)
    page.wait_for_selector("text=Your letter has 8 words; the limit is 5.")
    expect(page.locator("#id_body")).to_be_focused()
    shot(page, "01-focus-on-the-first-problem")
    assert Letter.objects.count() == 0
    assert csp_violations == []


def test_the_word_count_is_announced_on_a_pause_or_at_the_limit_not_on_every_key(
    page, site, settings
):
    settings.LETTERS_WORD_LIMIT = 5
    article = make_article(slug="counter")
    page.goto(site + article.get_absolute_url())
    announce = page.locator("#word-count-announce")
    page.locator("#id_body").press_sequentially("One two three ")
    assert page.inner_text("#word-count") == "3 of 5 words"
    assert announce.inner_text() == ""  # still typing: nothing said yet
    expect(announce).to_have_text("3 of 5 words", timeout=5_000)  # the writer paused
    page.locator("#id_body").press_sequentially("four five six")
    # Crossing the limit is said at once, not after a pause.
    expect(announce).to_have_text("6 of 5 words: please cut 1", timeout=1_000)


def test_back_and_send_again_makes_no_second_letter_and_the_writer_can_withdraw_it(
    page, site, settings, eager_tasks, mailoutbox, csp_violations
):
    settings.LETTERS_MIN_SECONDS_TO_WRITE = 0
    article = make_article(slug="back", headline="Putin warns the West")
    page.goto(site + article.get_absolute_url())
    body = "Sir, the West must decide now, or admit it has decided not to help."
    fill_the_form(page, body)
    send(page)
    page.wait_for_selector("text=Thank you, Margaret Hale")
    page.go_back()
    page.wait_for_selector("#letter-form")
    if page.input_value("#id_body") != body:  # the page was fetched again, not restored
        fill_the_form(page, body)
    page.focus("#id_body")  # the reader is in the form again: its proof of work starts
    send(page)
    page.wait_for_selector("text=Thank you, Margaret Hale")
    letter = Letter.objects.get()
    assert len(mailoutbox) == 1  # one confirmation

    link = re.search(r"^(http\S+/letters/status/\S+)$", mailoutbox[0].body, re.M).group(1)
    page.goto(link)
    page.wait_for_selector("text=Waiting for your confirmation")
    shot(page, "02-status-page")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    shot(page, "02b-status-page-at-phone-width")
    page.check("#confirm-withdraw")
    page.click("#withdraw-form button[type=submit]")
    page.wait_for_selector("text=This letter has been withdrawn")
    shot(page, "03-withdrawn")
    letter.refresh_from_db()
    assert letter.status == Status.WITHDRAWN
    assert csp_violations == []
