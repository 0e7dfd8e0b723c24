"""The dashboard and a campaign's cluster page in a real browser (Debian's chromium through
Playwright), under the Content-Security-Policy, with screenshots in artifacts/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from letters.checks import analysis
from letters.models import Channel, Cluster

from . import browser
from .browser import SCREENSHOTS
from .factories import make_article, make_letter
from .test_checks_index import SAME_TOPIC, VARIANTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    with browser.tab() as tab:
        browser.clear_screenshots("desk-*.png")  # only this file's own
        yield tab


@pytest.fixture
def site(settings, live_server):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


def a_fortnight_of_letters():
    articles = [
        make_article(
            headline=f"On the four-day week, part {n}",
            body="Hospitals run on shifts. Rents rose by 9% last year.",
        )
        for n in range(1, 4)
    ]
    now = timezone.now()
    for n in range(30):
        make_letter(
            article=articles[n % 3],
            created_at=now - timedelta(days=n % 14, hours=n),
            channel=Channel.EMAIL if n % 3 == 0 else Channel.WEB,
            body=f"{SAME_TOPIC[n % 4]} ({n})",
        )
    campaign = [
        make_letter(article=articles[0], body=body, name=f"Campaigner {n}")
        for n, body in enumerate(VARIANTS)
    ]
    campaign[0].body += ' This open letter adds that you wrote that "rents rose by 12% last year".'
    campaign[0].save()
    for letter in campaign:
        analysis.analyse_letter(letter.pk)
    return campaign


def test_the_dashboard_and_a_campaign_in_the_browser(page, site):
    campaign = a_fortnight_of_letters()
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    browser.editor_signs_in(page, site)
    page.click("text=Dashboard")
    page.wait_for_selector("text=letters received")
    assert page.inner_text(".desk-figures li:first-child strong") == "34"
    assert page.locator(".desk-chart svg").count() >= 3
    # Each bar says what it is (not colour alone): its value and channel in its title.
    assert page.locator("rect.bar-email title").count() > 0
    page.screenshot(path=SCREENSHOTS / "desk-1-dashboard.png", full_page=True)

    page.goto(site + f"/admin/letters/cluster/{Cluster.objects.get().pk}/change/")
    page.wait_for_selector(".desk-card mark")
    assert page.locator(".desk-card").count() == 4
    page.screenshot(path=SCREENSHOTS / "desk-2-campaign-side-by-side.png", full_page=True)

    page.goto(site + f"/admin/letters/letter/{campaign[0].pk}/change/")
    page.wait_for_selector(".desk-quote-missing mark")
    page.locator(".desk-checks").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "desk-3-letter-page-checks.png")
    assert refused == []
