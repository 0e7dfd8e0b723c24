"""The embedded "Write to us" block in a real browser (Debian's chromium, Playwright).

The publisher's article page is served by a stand-in for the publication's site on another
origin (http://127.0.0.1:<port>; the desk is http://localhost:<port>, another site, so the
desk's iframe is third-party and gets none of the desk's cookies). A reader writes and sends a
letter inside the iframe, which resizes to its content; the letter is stored against the
article the page is about, created from the page's own metadata. The same page served from an
origin the publisher did not list is refused the frame by the browser (CSP frame-ancestors).
Screenshots go to artifacts/screenshots/embed/. Last, what goes back to the publication: the
edition admin page's "Copy the text" puts the edition's print-ready text on the clipboard.
"""

import time
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from letters.models import Article, EditionStatus, Letter, Status
from reaction_letters.celery import app as celery_app

from . import browser
from .factories import make_article, make_edition, make_letter

SCREENSHOTS = browser.SCREENSHOTS / "embed"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LETTER = (
    "Sir, your report on the railways is right: the trains are late because nobody is in "
    "charge of the whole line. Give one person the timetable, the track and the trains, and "
    "judge them by how many of us arrive on time."
)
PUBLISHERS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Why the trains are late | The Publication</title>
<meta property="og:title" content="Why the trains are late">
<meta property="og:description" content="A report on the railways.">
<link rel="canonical" href="{article_url}">
<link rel="stylesheet" href="/publisher.css"></head>
<body><header><b>The Publication</b></header>
<article><h1>Why the trains are late</h1>
<p>The publisher's own article, served by the publisher's own CMS.</p></article>
<p>Before the block.</p>
<script src="{desk}/embed.js" data-article-url="{article_url}" async></script>
<p id="after-block">After the block.</p>
</body></html>"""
PUBLISHERS_CSS = (
    "body{font-family:Georgia,serif;max-width:760px;margin:2rem auto;padding:0 1rem;"
    "background:#fffdf7}header{border-bottom:3px solid #a00;padding-bottom:.5rem}"
)


@pytest.fixture
def page():
    with browser.tab(width=1000) as tab:
        SCREENSHOTS.mkdir(exist_ok=True)
        yield tab


@pytest.fixture
def console(page):
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    return messages


@pytest.fixture
def desk(settings, live_server):
    settings.SITE_URL = live_server.url
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.LETTERS_MIN_SECONDS_TO_WRITE = 1
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield live_server.url
    celery_app.conf.task_always_eager = before


@pytest.fixture
def article_url(publisher, desk, settings):
    """The publisher's article page with the one-line embed, on an allowed origin."""
    settings.LETTERS_EMBED_DOMAINS = [publisher.origin]
    url = publisher.url("/p/trains")
    publisher.put(
        "/p/trains",
        PUBLISHERS_PAGE.format(desk=desk, article_url=url),
        content_type="text/html; charset=utf-8",
    )
    publisher.put("/publisher.css", PUBLISHERS_CSS, content_type="text/css")
    return url


def frame_height(page):
    return page.eval_on_selector(
        "iframe.letters-desk-embed", "f => f.getBoundingClientRect().height"
    )


def content_height(block):
    return block.evaluate("e => Math.ceil(e.getBoundingClientRect().height)")


def test_a_reader_sends_a_letter_from_the_block_on_the_publishers_page(
    page, console, desk, article_url, mailoutbox
):
    assert desk.startswith("http://localhost:") and article_url.startswith("http://127.0.0.1:")
    page.goto(article_url)
    frame = page.frame_locator("iframe.letters-desk-embed")
    frame.locator("#id_name").wait_for()
    form_shown_at = time.monotonic()
    # The iframe took the block's height (600px before the block's first message).
    expect(page.locator("iframe.letters-desk-embed")).not_to_have_attribute("style", "")
    page.wait_for_function(
        "() => document.querySelector('iframe.letters-desk-embed').style.height !== '600px'"
    )
    block = frame.locator("html")
    form_height = frame_height(page)
    assert abs(form_height - content_height(block)) <= 1
    page.screenshot(path=SCREENSHOTS / "01-publishers-page-with-the-block.png", full_page=True)

    frame.locator("#id_name").fill("Margaret Hale")
    frame.locator("#id_town").fill("Milton")
    frame.locator("#id_email").fill("margaret@example.org")
    frame.locator("#id_body").fill(LETTER)
    frame.locator("#id_exclusive").check()
    frame.locator("#id_consent").check()
    expect(frame.locator("input[name=altcha]")).not_to_have_value("", timeout=30_000)
    browser.wait_out_the_writing_time(form_shown_at)
    frame.locator("text=Send your letter").click()
    browser.wait_for_text(frame, "Thank you, Margaret Hale")

    # The thank-you block is shorter than the form: the iframe shrank to it.
    page.wait_for_function(
        f"() => document.querySelector('iframe.letters-desk-embed').getBoundingClientRect().height < {form_height - 100}"
    )
    assert abs(frame_height(page) - content_height(block)) <= 1
    page.locator("#after-block").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "02-reader-thanked-inside-the-block.png", full_page=True)

    article = Article.objects.get()
    assert (article.canonical_url, article.headline) == (article_url, "Why the trains are late")
    letter = Letter.objects.get()
    assert letter.article == article
    assert (letter.status, letter.suspect, letter.name) == (
        Status.UNCONFIRMED,
        False,
        "Margaret Hale",
    )
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["margaret@example.org"]
    assert [m for m in console if "Content Security Policy" in m] == []


def test_the_same_page_on_an_origin_the_publisher_did_not_list_is_refused_the_frame(
    page, console, publisher, desk, article_url
):
    elsewhere = article_url.replace("127.0.0.1", "localhost")  # same server, another origin
    page.goto(elsewhere)
    page.wait_for_selector("iframe.letters-desk-embed")
    expect_refusal = lambda: any("frame-ancestors" in m for m in console)  # noqa: E731
    for _ in range(50):
        if expect_refusal():
            break
        page.wait_for_timeout(100)
    assert expect_refusal(), console
    embedded = [f for f in page.frames if f != page.main_frame]
    assert embedded and all(f.locator("#letter-form").count() == 0 for f in embedded)
    page.screenshot(path=SCREENSHOTS / "03-refused-on-another-origin.png", full_page=True)
    assert not Letter.objects.exists()


def test_the_iframe_alone_works_for_a_cms_that_refuses_scripts(page, publisher, desk, article_url):

    publisher.put(
        "/p/no-scripts",
        f'<!doctype html><html><body><h1>No scripts here</h1><iframe id="by-hand" '
        f'src="{desk}/embed/?url={quote(article_url, safe="")}" title="Write to us" '
        f'width="100%" height="400"></iframe></body></html>',
        content_type="text/html",
    )
    page.goto(publisher.url("/p/no-scripts"))
    frame = page.frame_locator("#by-hand")
    frame.locator("#id_name").wait_for()

    # A fixed height and no embed.js: the block scrolls inside its frame, the button is reachable.
    html = frame.locator("html")
    assert html.evaluate("e => e.classList.contains('sized')") is False
    assert html.evaluate("e => e.scrollHeight > window.innerHeight")
    frame.locator("text=Send your letter").scroll_into_view_if_needed()
    assert frame.locator("text=Send your letter").is_visible()
    page.screenshot(path=SCREENSHOTS / "05-iframe-alone-scrolls.png")


def test_an_editor_copies_a_published_editions_text_for_print(page, desk):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desk)
    article = make_article(headline="Why the trains are late")
    letter = make_letter(
        article=article, status=Status.PUBLISHED, name="Jane Smith", town="Hexham",
        body="Sir, the trains are late.", published_at=article.published_at,
    )  # fmt: skip
    edition = make_edition(
        [letter], lead=letter, status=EditionStatus.PUBLISHED, published_at=article.published_at
    )
    browser.editor_signs_in(page, desk)

    page.goto(f"{desk}/admin/letters/edition/{edition.pk}/change/")
    page.click("text=Copy the text")
    expect(page.locator(".copy-done")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.input_value("#edition-export")
    assert "LEAD LETTER" in copied and "Jane Smith, Hexham" in copied and "(5 words)" in copied
    page.locator("#edition-export").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "04-edition-text-copied-in-the-admin.png")
