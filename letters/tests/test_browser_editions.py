"""In a real browser: an editor builds an edition from the queue ("Add to edition…"), puts its
letters in order by dragging and with the keyboard, gives the lead a headline, previews the
draft as readers will see it, and publishes it after the confirmation page.

Drives Debian's chromium through Playwright's sync API, as test_browser.py does. Screenshots
of each step go to artifacts/screenshots/edition-*.png. The test reads as the list of steps.
"""

import pytest
from playwright.sync_api import expect

from letters.models import Edition, EditionStatus, Status

from . import browser
from .browser import SCREENSHOTS
from .factories import make_approved_letter, make_article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WRITERS = ["Ann Archer", "Ben Booth", "Cat Cole"]


@pytest.fixture
def page():
    with browser.tab() as tab:
        browser.clear_screenshots("edition-*.png")  # only this test's own screenshots
        yield tab


@pytest.fixture
def csp_violations(page):
    return browser.watch_csp(page, [])


@pytest.fixture
def site(settings, live_server):
    settings.SITE_URL = live_server.url
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


def shot(page, name):
    page.screenshot(path=SCREENSHOTS / f"edition-{name}.png", full_page=True)


def test_an_editor_builds_orders_previews_and_publishes_an_edition(
    page, site, csp_violations, enqueued
):
    article = make_article(headline="Putin warns the West as Starmer and Biden weigh strikes")
    letters = [
        make_approved_letter(
            name=name,
            article=article,
            body=f"Sir, {name} writes that " + "we must decide now and stop waiting. " * 8,
        )
        for name in WRITERS
    ]
    browser.editor_signs_in(page, site)
    edition = adds_approved_letters_to_a_new_edition(page, site, letters)
    sees_the_letters_with_the_first_as_lead(page, edition)
    drags_the_last_letter_to_the_top(page)
    moves_letters_with_the_keyboard(page)
    saves_the_order_and_a_headline(page, edition)
    the_edition_page_fits_a_phone(page)
    previews_the_draft(page)
    publishes_after_the_confirmation(page, edition)
    readers_see_the_edition_lead_first(page, site)
    assert csp_violations == []


# --- The steps -------------------------------------------------------------------------------


def adds_approved_letters_to_a_new_edition(page, site, letters):
    """In the queue's approved letters the editor ticks all three, runs "Add to edition…",
    keeps "A new edition…", gives a date and a title. Checks: the message names the edition
    and links to it; the edition holds the three letters."""
    page.goto(site + "/admin/letters/letter/?status=approved")
    for letter in letters:
        page.check(f"input[name=_selected_action][value='{letter.pk}']")
    page.select_option("select[name=action]", label="Add to edition…")
    page.click("button[name=index]")
    page.wait_for_selector("text=Add letters to an edition")
    page.fill("input[name=date]", "2026-12-01")
    page.fill("input[name=title]", "Letters on Ukraine")
    shot(page, "01-add-to-a-new-edition")
    page.click("input[name=apply]")
    page.wait_for_selector("text=Added 3 letters to")
    shot(page, "02-added-from-the-queue")
    edition = Edition.objects.get(title="Letters on Ukraine")
    assert edition.entries.count() == 3
    page.click("ul.messagelist >> text=Letters on Ukraine")
    return edition


def row_names(page):
    return page.eval_on_selector_all(
        "#edition-letters tbody tr", "rows => rows.map(r => r.dataset.name)"
    )


def lead_name(page):
    return (
        page.locator("#edition-letters tbody tr")
        .filter(has=page.locator(".edition-lead:visible"))
        .get_attribute("data-name")
    )


def sees_the_letters_with_the_first_as_lead(page, edition):
    """Checks: the edition page lists the letters with writer, town, article and words, the
    first marked as lead, and the running total against the page's budget."""
    page.wait_for_selector("#edition-letters")
    assert row_names(page) == [f"{name}, Hexham" for name in WRITERS]
    assert lead_name(page) == "Ann Archer, Hexham"
    text = page.inner_text("#edition-letters")
    assert "Putin warns the West" in text
    words = page.inner_text("#edition-words-text")
    assert words.endswith("of 1200 words"), words
    shot(page, "03-edition-page")


def drags_the_last_letter_to_the_top(page):
    """The editor drags Cat's row above Ann's. Checks: Cat is first and marked lead; the
    page says the order is not saved yet."""
    rows = page.locator("#edition-letters tbody tr")
    rows.nth(2).drag_to(rows.nth(0), target_position={"x": 40, "y": 5})
    assert row_names(page) == ["Cat Cole, Hexham", "Ann Archer, Hexham", "Ben Booth, Hexham"]
    assert lead_name(page) == "Cat Cole, Hexham"
    expect(page.locator("#edition-unsaved")).to_be_visible()
    shot(page, "04-dragged-to-the-top")
    leaving_with_the_order_unsaved_asks_first(page)


def leaving_with_the_order_unsaved_asks_first(page):
    """The editor follows the Preview link before saving. Checks: the browser asks first
    (beforeunload); staying keeps the page and the new order."""
    asked = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", stay)
    page.click("text=Preview as readers will see it", no_wait_after=True)
    expect(page.locator("#edition-unsaved")).to_be_visible()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url.endswith("/change/")
    assert row_names(page)[0] == "Cat Cole, Hexham"


def moves_letters_with_the_keyboard(page):
    """On Ben's focused row the editor presses Alt+ArrowUp, then on Ann's row the ↓ button
    with Enter. Checks: each move is made and announced for screen readers."""
    ben = page.locator("#edition-letters tbody tr[data-name='Ben Booth, Hexham']")
    ben.focus()
    page.keyboard.press("Alt+ArrowUp")
    assert row_names(page) == ["Cat Cole, Hexham", "Ben Booth, Hexham", "Ann Archer, Hexham"]
    assert "Ben Booth, Hexham: position 2 of 3" in page.inner_text("#edition-announce")
    page.locator("button[aria-label='Move Cat Cole, Hexham down']").focus()
    page.keyboard.press("Enter")
    assert row_names(page) == ["Ben Booth, Hexham", "Cat Cole, Hexham", "Ann Archer, Hexham"]
    assert lead_name(page) == "Ben Booth, Hexham"
    shot(page, "05-moved-with-the-keyboard")


def saves_the_order_and_a_headline(page, edition):
    """The editor gives the lead a headline and presses Save. Checks: the database holds the
    order shown, Ben first and lead, with the headline."""
    page.fill("input[aria-label='Headline for Ben Booth, Hexham']", "Decide now, or admit it")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was changed successfully")
    entries = list(edition.entries.order_by("position").select_related("letter"))
    assert [(e.letter.name, e.is_lead) for e in entries] == [
        ("Ben Booth", True),
        ("Cat Cole", False),
        ("Ann Archer", False),
    ]
    assert entries[0].headline == "Decide now, or admit it"
    assert row_names(page)[0] == "Ben Booth, Hexham"
    shot(page, "06-saved")


def the_edition_page_fits_a_phone(page):
    """Checks: at 390 px wide the edition page does not scroll sideways, and each letter's
    move buttons are still there."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, "06b-phone-width")
    assert width <= 390, width
    expect(page.locator("button.edition-up").first).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})


def previews_the_draft(page):
    """Checks: the preview shows the draft as readers will see it, lead first with its
    headline, under a banner saying readers cannot see it yet."""
    page.click("text=Preview as readers will see it")
    page.wait_for_selector("text=Preview of a draft edition")
    text = page.inner_text("main")
    assert (
        text.lower().index("lead letter")
        < text.index("Decide now, or admit it")
        < text.index("Ben Booth, Hexham")
    )
    assert text.index("Ben Booth, Hexham") < text.index("Cat Cole, Hexham")
    assert text.index("Cat Cole, Hexham") < text.index("Ann Archer, Hexham")
    shot(page, "07-preview")
    page.click("text=Back to the edition")


def publishes_after_the_confirmation(page, edition):
    """The editor presses Publish now…. Checks: the confirmation says three letters go out
    and names the three writers to be emailed; nothing is published until the button."""
    page.click("text=Publish now…")
    page.wait_for_selector("text=will go on the site")
    text = page.inner_text("#content")
    assert "3 letters will go on the site" in text
    assert "3 writers will be emailed" in text
    for name in WRITERS:
        assert name in text
    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT
    shot(page, "08-publish-confirmation")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=Published")
    edition.refresh_from_db()
    assert edition.status == EditionStatus.PUBLISHED
    assert set(edition.entries.values_list("letter__status", flat=True)) == {Status.PUBLISHED}
    shot(page, "09-published")


def readers_see_the_edition_lead_first(page, site):
    page.goto(site + "/letters/")
    page.wait_for_selector(".lead-letter")
    text = page.inner_text("main")
    assert text.index("Decide now, or admit it") < text.index("Cat Cole") < text.index("Ann Archer")
    shot(page, "10-on-the-letters-page")
