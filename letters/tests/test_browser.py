"""End to end in a real browser: a reader writes and confirms a letter, an editor edits,
approves and publishes it in an edition, and it appears on the site.

Drives Debian's chromium (`apt-get install chromium`) through Playwright's sync API; no
downloaded browser. Screenshots of each step go to artifacts/screenshots/, which CI keeps.
The test reads as the list of steps; each step is a function below it that says what it checks.
"""

import re
import time

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from letters.models import Article, Letter, Status
from letters.seeds import load_seeds
from reaction_letters.celery import app as celery_app

from . import browser
from .browser import SCREENSHOTS
from .factories import make_article, make_letter

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

LETTER = (
    "Sir, your report on long-range strikes shows how slowly the West decides. "
    "By the time permission is given the targets have moved, and Ukraine pays for our "
    "caution in lives. I served for twenty years and I know what delay costs. "
    "Let us decide now, or admit that we have decided not to help."
)
EDITED = "Sir, by the time permission is given the targets have moved. Let us decide now."


@pytest.fixture
def page():
    with browser.tab() as tab:
        # Only this file's own screenshots ("01-..."): other browser tests keep theirs.
        browser.clear_screenshots("[0-9][0-9]-*.png")
        yield tab


@pytest.fixture
def csp_violations(page):
    """What chromium reports in the console as refused by the Content-Security-Policy."""
    return browser.watch_csp(page, [])


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the process that enqueues them (the live server's thread)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def site(settings, live_server):
    settings.SITE_URL = live_server.url
    # Over plain http the browser must get its session and CSRF cookies back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


def shot(page, name, *, full_page=True):
    """Save a screenshot; long article pages are shot as the visible part, already scrolled to
    what the step is about."""
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)


def test_a_letter_goes_from_the_readers_form_to_the_published_letters_page(
    page, site, eager_tasks, mailoutbox, desk_defaults, csp_violations, settings
):
    # The bot defences stay on; only the minimum writing time is shorter than production's
    # five seconds, because Playwright types a whole letter in well under that.
    assert settings.LETTERS_BOT_CHALLENGE
    settings.LETTERS_MIN_SECONDS_TO_WRITE = 1
    load_seeds(django_settings.BASE_DIR / "seeds")
    article = Article.objects.get()

    write_a_letter(page, site, article)
    letter = confirm_from_the_email(page, site, mailoutbox)
    editor_logs_in(page, site)
    editor_edits_for_length(page, site)
    editor_approves(page, letter)
    editor_publishes_todays_edition(page, site, letter)
    readers_see_it_under_the_article(page, site, article)
    readers_see_it_on_the_letters_page(page)
    writer_is_told_where_it_appears(mailoutbox, site, article, letter)
    assert csp_violations == []


def test_the_article_the_admin_queue_and_a_letter_page_run_under_the_policy(
    page, site, csp_violations
):
    """Each page loads its scripts and styles (the word counter counts, the admin's queue and
    letter page are styled and scripted) with nothing refused by the Content-Security-Policy."""
    article = make_article(slug="policy")
    letter = make_letter(article=article, name="Margaret Hale")
    page.goto(site + article.get_absolute_url())
    page.fill("#id_body", "Three short words")
    assert page.inner_text("#word-count") == "3 of 300 words"
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Georgia")

    editor_logs_in(page, site)
    page.goto(site + "/admin/letters/letter/")
    page.wait_for_selector("text=Margaret Hale")
    page.goto(site + f"/admin/letters/letter/{letter.pk}/change/")
    page.fill("textarea[name=edited_body]", "Two words")
    assert page.inner_text("#edited-word-count").startswith("2 words")
    shot(page, "11-letter-page-under-the-policy")
    assert csp_violations == []


# --- The steps, in the order the test takes them ---------------------------------------------


def write_a_letter(page, site, article):
    """The reader fills in the form under the article, watching the word counter, and sends
    it. Checks: the counter shows the letter's words against the limit; once the reader is in
    the form, the invisible ALTCHA widget solves its proof of work (from our static files) and
    fills in its answer; the thank-you page names the writer."""
    page.goto(site + article.get_absolute_url())
    form_shown_at = time.monotonic()
    # The widget is on the page (our scripts ran), with nothing solved before the reader writes.
    assert page.input_value("input[name=altcha]") == ""
    page.fill("#id_name", "Margaret Hale")
    page.fill("#id_town", "Milton")
    page.fill("#id_email", "margaret@example.org")
    page.fill("#id_phone", "0161 496 0000")
    page.fill("#id_body", LETTER)
    counter = page.locator("#word-count")
    assert counter.is_visible()
    assert counter.inner_text() == f"{len(LETTER.split())} of 300 words"
    page.check("#id_exclusive")
    page.check("#id_consent")
    counter.scroll_into_view_if_needed()
    shot(page, "01-reader-writes-with-word-counter", full_page=False)
    # A Playwright assertion, not wait_for_function: that evaluates a string, which a
    # Content-Security-Policy without 'unsafe-eval' refuses.
    expect(page.locator("input[name=altcha]")).not_to_have_value("", timeout=30_000)
    browser.wait_out_the_writing_time(form_shown_at)
    page.click("text=Send your letter")
    browser.wait_for_text(page, "Thank you, Margaret Hale")
    shot(page, "02-reader-thanked")


def confirm_from_the_email(page, site, mailoutbox):
    """The reader follows the link in the one email sent so far and presses the button.
    Checks: the link points at this site; opening it shows the letter and confirms nothing;
    the button does; the page says the letter is confirmed; the letter is now received.
    Returns it."""
    (confirmation,) = mailoutbox
    link = re.search(r"^(http\S+/letters/confirm/\S+)$", confirmation.body, re.M).group(1)
    assert link.startswith(site)
    page.goto(link)
    page.wait_for_selector("text=Confirm your letter")
    assert Letter.objects.get(email="margaret@example.org").status == Status.UNCONFIRMED
    page.click("text=Confirm my letter")
    page.wait_for_selector("text=your letter is confirmed")
    shot(page, "03-reader-confirms-by-email-link")
    letter = Letter.objects.get(email="margaret@example.org")
    assert letter.status == Status.RECEIVED
    # The widget's solution was checked on the server: not held as suspect.
    assert not letter.suspect, letter.suspect_reason
    return letter


def editor_logs_in(page, site):
    """An editor signs in to the admin. Checks: the admin's user tools appear."""
    browser.editor_signs_in(page, site)
    shot(page, "04-editor-logged-in")


def editor_edits_for_length(page, site):
    """The editor opens the letter from the queue and saves a shorter text and a headline.
    Checks: the admin reports the change saved."""
    page.goto(site + "/admin/letters/letter/")
    page.click("text=Margaret Hale")
    page.fill("textarea[name=edited_body]", EDITED)
    page.fill("input[name=headline]", "Decide now")
    shot(page, "05-editor-edits-for-length")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was changed successfully")


def editor_approves(page, letter):
    """Back on the queue, the editor ticks the letter and runs Approve. Checks: the message
    reports one letter approved (the queue itself then shows what still awaits a decision)."""
    page.check(f"input[name=_selected_action][value='{letter.pk}']")
    page.select_option("select[name=action]", label="Approve")
    page.click("button[name=index]")
    page.wait_for_selector("text=Approved 1 letter.")
    shot(page, "06-editor-approves")


def editor_publishes_todays_edition(page, site, letter):
    """The editor adds the letter to a new edition for today from the queue's approved letters
    ("Add to edition…"), gives it a headline on the edition page, and publishes it with
    "Publish now…" and its confirmation. Checks: the letter is added, leads, and the edition is
    reported published."""
    today = timezone.localdate()
    page.goto(site + "/admin/letters/letter/?status=approved")
    page.check(f"input[name=_selected_action][value='{letter.pk}']")
    page.select_option("select[name=action]", label="Add to edition…")
    page.click("button[name=index]")
    page.fill("input[name=date]", today.isoformat())
    page.fill("input[name=title]", "Letters on Ukraine")
    page.click("input[name=apply]")
    page.wait_for_selector("text=Added 1 letter to")
    page.click("ul.messagelist >> text=Letters on Ukraine")
    page.fill(f"input[name=headline_{letter.pk}]", "Decide now, or admit we will not help")
    shot(page, "07-editor-assembles-edition")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was changed successfully")

    page.click("text=Publish now…")
    page.wait_for_selector("text=will go on the site")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=1 letter, 1 writer told")
    shot(page, "08-editor-publishes-edition")


def readers_see_it_under_the_article(page, site, article):
    """Checks: under the article, the letter shows with the edition's headline, the edited
    text and "name, town"; the phone number is nowhere on the page."""
    page.goto(site + article.get_absolute_url() + "#letters")
    section = page.locator("#letters")
    assert "Decide now, or admit we will not help" in section.inner_text()
    assert EDITED in section.inner_text()
    assert "Margaret Hale, Milton" in section.inner_text()
    assert "0161 496 0000" not in page.content()
    section.scroll_into_view_if_needed()
    shot(page, "09-letter-under-the-article", full_page=False)


def readers_see_it_on_the_letters_page(page):
    """The reader follows Letters in the site's menu. Checks: the edition is there with its
    title, its lead marked, the edited text and "name, town"; the email address is not."""
    page.click("nav >> text=Letters")
    page.wait_for_selector("text=Lead letter")
    text = page.locator("main").inner_text()
    assert "Letters on Ukraine" in text
    assert EDITED in text and "Margaret Hale, Milton" in text
    assert "margaret@example.org" not in page.content()
    shot(page, "10-letter-on-the-letters-page")


def writer_is_told_where_it_appears(mailoutbox, site, article, letter):
    """Checks: the last email is the desk's publication notice, linking to the letter under
    the article."""
    notice = mailoutbox[-1]
    assert notice.subject.startswith("Your letter is in Reaction")
    assert f"{site}{article.get_absolute_url()}#letter-{letter.pk}" in notice.body
