"""The Content-Security-Policy on every kind of page, and templates that need nothing inline.

The browser side (no violation reported while the pages run) is in test_browser.py.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from .factories import editor, make_article, make_letter
from .test_settings import start_with

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}


def directives(response):
    """The enforced policy as {directive: sources}, with a per-request nonce left out."""
    header = response.headers["Content-Security-Policy"]
    policy = {}
    for directive in header.split(";"):
        name, _, sources = directive.strip().partition(" ")
        policy[name] = " ".join(s for s in sources.split() if not s.startswith("'nonce-"))
    return policy


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/articles/csp-article/",
        "/admin/login/",
        "/letters/feed/",
        "/articles/csp-article/letters/feed/",
        "/no-such-page/",
    ],
)
def test_every_kind_of_page_sends_the_policy(client, url):
    make_article(slug="csp-article")
    response = client.get(url)
    assert response.status_code in (200, 404)
    assert directives(response) == POLICY


@pytest.mark.django_db
def test_the_admin_queue_and_a_letter_page_send_the_policy(client):
    letter = make_letter()
    client.force_login(editor())
    for url in ["/admin/letters/letter/", f"/admin/letters/letter/{letter.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert directives(response) == POLICY


@pytest.mark.django_db
def test_the_admins_own_inline_tags_carry_the_nonce_named_in_the_header(client):
    response = client.get("/admin/login/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in response.text


@pytest.mark.django_db
def test_public_pages_name_no_nonce_so_nothing_inline_can_run(client):
    make_article(slug="csp-article")
    response = client.get("/articles/csp-article/")
    assert "nonce" not in response.headers["Content-Security-Policy"]


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:", re.IGNORECASE
)


def test_our_templates_have_no_inline_scripts_styles_or_event_handlers():
    templates = Path(settings.BASE_DIR, "templates")
    found = [
        f"{path.relative_to(templates)}: {match.group(0)}"
        for path in sorted(templates.rglob("*.html"))
        for match in INLINE.finditer(path.read_text())
    ]
    assert found == []


def test_frame_ancestors_are_the_origins_the_publisher_names():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.utils.csp import build_policy; print(build_policy(settings.SECURE_CSP))"
    )
    result = start_with({"LETTERS_FRAME_ANCESTORS": "self, https://www.reaction.life"}, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert "frame-ancestors 'self' https://www.reaction.life" in result.stdout


@pytest.mark.parametrize("value", ["javascript:alert(1)", "https://a.example/path", "none,self"])
def test_a_malformed_frame_ancestor_stops_start_up_naming_the_variable(value):
    result = start_with({"LETTERS_FRAME_ANCESTORS": value})
    assert result.returncode != 0
    assert "LETTERS_FRAME_ANCESTORS" in result.stderr
