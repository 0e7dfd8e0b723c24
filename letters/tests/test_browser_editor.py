"""The editor's day in a real browser (Debian's chromium through Playwright, as
test_browser.py): an edit survives a decision, leaving with unsaved changes asks, a decision
opens the next letter, undo, the keyboard shortcuts, assigning an article with the searchable
picker, and the queue and letter page at phone width. Screenshots of each step go to
artifacts/screenshots/editor-*.png.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from letters.models import Letter, Status

from . import browser
from .browser import SCREENSHOTS
from .factories import make_article, make_letter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = (
    "Sir, your report on the bridge closure missed the point entirely. The council has known "
    "for ten years that the bridge needed work, and every year it chose to spend the money on "
    "something else. Now the town is cut in two and the shops on the far side are closing. "
    "Let us at least be honest about whose decision this was."
)
CUT = "Sir, the council knew for ten years that the bridge needed work. Let us be honest."


@pytest.fixture
def browser_context():
    with browser.chromium() as chromium:
        yield chromium


new_page = browser.new_tab


@pytest.fixture
def page(browser_context):
    return new_page(browser_context)


@pytest.fixture
def site(settings, live_server):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


@pytest.fixture
def csp_violations():
    return []


watch_csp = browser.watch_csp


def shot(page, name, *, full_page=True):
    page.screenshot(path=SCREENSHOTS / f"editor-{name}.png", full_page=full_page)


log_in = browser.editor_signs_in


def three_letters():
    """Three letters awaiting a decision, newest first: (newest, middle, oldest)."""
    now = timezone.now()
    article = make_article(headline="The bridge closure")
    return [
        make_letter(name=name, article=article, body=body, created_at=now - timedelta(hours=h))
        for name, body, h in (
            ("Ann Newest", LONG, 1),
            ("Bob Middle", "Sir, the bridge must reopen before winter.", 2),
            ("Cat Oldest", "Sir, I walk across that bridge every day.", 3),
        )
    ]


def letter_page(site, letter):
    return f"{site}/admin/letters/letter/{letter.pk}/change/"


def showing(page, letter):
    """Wait until the page is `letter`'s letter page."""
    page.wait_for_url(re.compile(rf"/admin/letters/letter/{letter.pk}/change/"))
    expect(page.locator(".desk-facts")).to_contain_text(letter.name)


def test_an_edit_survives_a_decision_and_the_next_letter_opens(page, site, csp_violations):
    watch_csp(page, csp_violations)
    newest, middle, _ = three_letters()
    log_in(page, site)
    page.goto(site + "/admin/letters/letter/")
    expect(page.locator("h1")).to_have_text("Letters awaiting a decision")
    expect(page.locator("#desk-counts")).to_contain_text("Received 3")
    shot(page, "01-queue-with-counts")
    page.click("text=Ann Newest")
    showing(page, newest)
    page.fill("textarea[name=edited_body]", CUT)
    page.fill("input[name=headline]", "Whose decision?")
    shot(page, "02-edited-not-saved")
    page.click("button[name=_decide][value=shortlist_letters]")
    showing(page, middle)  # the next letter awaiting a decision
    expect(page.locator(".messagelist")).to_contain_text("Shortlisted 1 letter.")
    shot(page, "03-next-letter-after-shortlisting")
    newest.refresh_from_db()
    assert (newest.status, newest.edited_body, newest.headline) == (
        Status.SHORTLISTED,
        CUT,
        "Whose decision?",
    )
    assert csp_violations == []


def test_an_edit_refused_for_a_conflict_stays_on_screen_with_the_reason(page, site):
    newest, _, _ = three_letters()
    log_in(page, site)
    page.goto(letter_page(site, newest))
    page.fill("textarea[name=edited_body]", CUT)
    Letter.objects.filter(pk=newest.pk).update(edited_body="A colleague's cut.")
    page.click("button[name=_decide][value=approve_letters]")
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("Another editor changed this letter")
    assert page.input_value("textarea[name=edited_body]") == CUT
    shot(page, "04-conflict-refuses-the-decision")
    assert Letter.objects.get(pk=newest.pk).status == Status.RECEIVED


def test_leaving_with_unsaved_changes_asks_first(page, site):
    newest, middle, _ = three_letters()
    log_in(page, site)
    page.goto(letter_page(site, newest))
    page.click("textarea[name=edited_body]")
    page.keyboard.press("End")
    page.keyboard.type(" An afterthought.")
    asked = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", stay)
    page.click("a.desk-step >> text=Next")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert f"/letter/{newest.pk}/change/" in page.url
    assert page.input_value("textarea[name=edited_body]").endswith("An afterthought.")
    shot(page, "05-leaving-asks-and-stays")
    # Saved, it leaves without asking.
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was changed successfully")
    page.click("a.desk-step >> text=Next")
    showing(page, middle)
    assert asked == ["beforeunload"]


def test_undo_after_marking_spam_puts_the_letter_back(page, site):
    newest, middle, _ = three_letters()
    log_in(page, site)
    page.goto(letter_page(site, newest))
    page.click("button[name=_decide][value=mark_spam_letters]")
    showing(page, middle)
    expect(page.locator(".desk-undo")).to_contain_text("Marked spam: Ann Newest")
    shot(page, "06-undo-offered-after-spam")
    page.click(".desk-undo button")
    showing(page, newest)
    expect(page.locator(".messagelist")).to_contain_text("Undone: Ann Newest's letter is received")
    shot(page, "07-undone")
    newest.refresh_from_db()
    assert newest.status == Status.RECEIVED
    assert list(newest.events.values_list("action", flat=True).order_by("id")) == [
        "marked spam",
        "undone",
    ]


def test_the_keyboard_shortcuts_and_their_overlay(page, site):
    newest, middle, oldest = three_letters()
    log_in(page, site)
    page.goto(letter_page(site, newest))
    page.keyboard.press("?")
    expect(page.locator("#desk-shortcuts")).to_be_visible()
    shot(page, "08-shortcuts-overlay", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("#desk-shortcuts")).to_be_hidden()
    page.keyboard.press("j")
    showing(page, middle)
    page.keyboard.press("k")
    showing(page, newest)
    # Letters typed in the text are text, not shortcuts; Ctrl+S saves and stays.
    page.click("input[name=headline]")
    page.keyboard.type("jaws")
    page.keyboard.press("Control+s")
    page.wait_for_selector("text=was changed successfully")
    showing(page, newest)
    assert Letter.objects.get(pk=newest.pk).headline == "jaws"
    page.keyboard.press("s")  # shortlist: the next letter opens
    showing(page, middle)
    page.keyboard.press("a")  # approve
    showing(page, oldest)
    page.keyboard.press("r")  # reject: asks for the reason
    page.wait_for_selector("select[name=reason]")
    shot(page, "09-reject-by-shortcut-asks-why")
    page.go_back()
    showing(page, oldest)
    page.keyboard.press("x")  # spam: the last one, back to the queue
    page.wait_for_url(re.compile(r"/admin/letters/letter/(\?.*)?$"))
    statuses = dict(Letter.objects.values_list("name", "status"))
    assert statuses == {
        "Ann Newest": Status.SHORTLISTED,
        "Bob Middle": Status.APPROVED,
        "Cat Oldest": Status.SPAM,
    }


def test_assigning_an_article_from_the_letter_page(page, site):
    article = make_article(headline="Putin warns the West as Starmer and Biden weigh strikes")
    make_article(headline="Another story altogether")
    letter = make_letter(article=None, channel="email", name="Dan Email")
    log_in(page, site)
    page.goto(letter_page(site, letter))
    expect(page.locator(".desk-facts")).to_contain_text("by email: exclusivity not asked")
    page.click(".desk-assign .select2-selection")
    page.keyboard.type("Putin")
    page.click(".select2-results__option >> text=Putin warns the West")
    shot(page, "10-article-picked")
    page.click("button.desk-assign-button")
    page.wait_for_selector("text=was changed successfully")
    expect(page.locator(".desk-facts")).to_contain_text("Putin warns the West as Starmer")
    shot(page, "11-article-assigned")
    assert Letter.objects.get(pk=letter.pk).article == article
    assert letter.events.get().action == "assigned to article"


def test_the_queue_and_the_letter_page_fit_a_phone(browser_context, site):
    newest, _, _ = three_letters()
    make_letter(name="Eve Suspect", suspect=True, channel="email", article=None)
    phone = new_page(browser_context, width=390, height=844)
    log_in(phone, site)
    phone.goto(site + "/admin/letters/letter/")
    phone.wait_for_selector("text=Ann Newest")
    shot(phone, "12-queue-at-390px")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.goto(letter_page(site, newest))
    showing(phone, newest)
    shot(phone, "13-letter-page-at-390px")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
