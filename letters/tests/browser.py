"""Debian's chromium, driven by Playwright's sync API, for the browser tests: one place that
finds it, launches it and opens a tab. Never a downloaded browser (`apt-get install chromium`).
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# beside it are plain synchronous code, not async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# CI keeps this folder. Each test file names its own screenshots and clears only those.
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@contextmanager
def chromium():
    """A headless chromium; the test is skipped where Debian's chromium is not installed
    (and fails instead under LETTERS_NO_SKIPS, as in CI)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); "
            f"the browser tests need {CHROMIUM}."
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_tab(browser, width=1280, height=900):
    """A tab of its own context (cookies, viewport), waiting at most 15 s for anything."""
    tab = browser.new_context(viewport={"width": width, "height": height}).new_page()
    tab.set_default_timeout(15_000)
    return tab


@contextmanager
def tab(width=1280, height=900):
    """One tab in a fresh chromium."""
    with chromium() as browser:
        yield new_tab(browser, width, height)


def wait_out_the_writing_time(form_shown_at):
    """Sleep until the form shown by `form_shown_at` (time.monotonic() once it was on screen)
    is older than LETTERS_MIN_SECONDS_TO_WRITE, so the post is not refused as too fast.
    Playwright writes a letter in about a second, close to a short minimum: without this the
    test would depend on how quickly the machine and the proof of work happen to run."""
    wait = form_shown_at + settings.LETTERS_MIN_SECONDS_TO_WRITE + 0.2 - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def wait_for_text(scope, text):
    """Wait for `text` in `scope` (a page or a frame). When it does not come, fail with what
    the page shows instead (a form error, say), not with a bare timeout."""
    try:
        scope.locator(f"text={text}").wait_for()
    except PlaywrightTimeout:
        shown = scope.locator("body").inner_text(timeout=5_000)
        raise AssertionError(f"{text!r} did not appear; the page shows:\n{shown[:3000]}") from None


def clear_screenshots(pattern):
    """Delete this test file's earlier screenshots (those matching `pattern`) only."""
    for old in SCREENSHOTS.glob(pattern):
        old.unlink()


def watch_csp(page, found):
    """Collect in `found` what chromium reports as refused by the Content-Security-Policy."""
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and found.append(f"{page.url}: {message.text}")
        ),
    )
    return found


EDITOR_PASSWORD = "a-long-test-password"


def editor_signs_in(page, site):
    """An editor (a superuser, made if missing) signs in to the admin at `site` as a person
    does, by the login form. Checks: the admin's user tools appear."""
    if not User.objects.filter(username="editor").exists():
        User.objects.create_superuser("editor", "editor@example.org", EDITOR_PASSWORD)
    page.goto(site + "/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", EDITOR_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
