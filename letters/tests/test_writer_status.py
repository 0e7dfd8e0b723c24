"""The writer's status page (views.letter_status): reached by a signed link, it says where the
letter stands as the desk's policy allows, never what editors wrote, and lets the writer
withdraw a letter not yet published (moderation.withdraw_by_writer)."""

import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from letters import moderation, notifications
from letters.models import Letter, LetterEvent, Note, Status

from .factories import editor, make_letter, rejection_template

pytestmark = pytest.mark.django_db


def status_path(letter):
    return notifications.status_url(letter).removeprefix(notifications.settings.SITE_URL)


@pytest.mark.parametrize(
    ("status", "heading"),
    [
        (Status.UNCONFIRMED, "Waiting for your confirmation"),
        (Status.RECEIVED, "Received"),
        (Status.SHORTLISTED, "Being considered"),
        (Status.APPROVED, "Being considered"),
        (Status.PUBLISHED, "Published"),
        (Status.REJECTED, "Not chosen"),
        (Status.EXPIRED, "Not chosen"),
        (Status.SPAM, "Not chosen"),
        (Status.WITHDRAWN, "Withdrawn"),
    ],
)
def test_the_status_page_says_where_the_letter_stands(client, status, heading):
    letter = make_letter(status=status, published_at=timezone.now())
    response = client.get(status_path(letter))
    assert response.status_code == 200
    assert f'<h2 class="h4" id="status-heading">{heading}</h2>' in response.text
    assert '<meta name="robots" content="noindex">' in response.text


def test_a_published_letter_links_to_where_readers_read_it(client):
    letter = make_letter(status=Status.PUBLISHED, published_at=timezone.now())
    html = client.get(status_path(letter)).text
    assert f'href="{notifications.published_letter_url(letter)}"' in html
    assert 'id="withdraw-form"' not in html


@pytest.mark.parametrize("status", [Status.REJECTED, Status.EXPIRED])
def test_in_notify_only_mode_a_letter_not_chosen_still_reads_received(client, settings, status):
    settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED = True
    html = client.get(status_path(make_letter(status=status))).text
    assert '<h2 class="h4" id="status-heading">Received</h2>' in html
    assert "Not chosen" not in html
    assert "We do not tell writers when a letter is not chosen." in html


def test_the_status_page_shows_nothing_the_desk_wrote(client):
    letter = make_letter(
        edited_body="EDITED-TEXT-FOR-THE-DESK", headline="DESK-HEADLINE", status=Status.RECEIVED
    )
    desk = editor()
    moderation.add_note(letter.pk, "INTERNAL-NOTE rude writer", actor=desk)
    moderation.reject(
        letter.pk,
        reason="unsuitable",
        note="REASON-NOTE too shouty",
        actor=desk,
        reply_template=rejection_template(),
    )
    assert Note.objects.filter(letter=letter).exists()
    html = client.get(status_path(letter)).text
    for secret in [
        "EDITED-TEXT-FOR-THE-DESK",
        "DESK-HEADLINE",
        "INTERNAL-NOTE",
        "REASON-NOTE",
        "Abusive",  # the rejection reason's label
        "unsuitable",
        desk.username,
    ]:
        assert secret not in html
    assert letter.body in html  # the writer's own words, as sent


def test_the_writer_withdraws_a_letter_from_the_status_page(client):
    letter = make_letter(status=Status.SHORTLISTED)
    path = status_path(letter)
    response = client.post(path, {"confirm_withdraw": "yes"})
    assert response.status_code == 302
    assert response["Location"] == path
    letter.refresh_from_db()
    assert letter.status == Status.WITHDRAWN
    event = LetterEvent.objects.filter(letter=letter).latest("id")
    assert (event.action, event.from_status, event.to_status, event.who) == (
        "withdrawn by the writer",
        Status.SHORTLISTED,
        Status.WITHDRAWN,
        "writer",
    )
    assert not Letter.objects.awaiting_decision().filter(pk=letter.pk).exists()
    assert "This letter has been withdrawn" in client.get(path).text


def test_withdrawing_needs_the_box_ticked(client):
    letter = make_letter()
    response = client.post(status_path(letter), {})
    assert response.status_code == 409
    assert "Tick the box" in response.text
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED


def test_withdrawing_needs_the_pages_csrf_token():
    letter = make_letter()
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(status_path(letter), {"confirm_withdraw": "yes"}).status_code == 403
    page = browser.get(status_path(letter))
    token = page.context["csrf_token"]
    response = browser.post(
        status_path(letter), {"confirm_withdraw": "yes", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == Status.WITHDRAWN


def test_withdrawing_twice_records_one_event():
    letter = make_letter()
    assert moderation.withdraw_by_writer(letter.pk)[1] is True
    assert moderation.withdraw_by_writer(letter.pk)[1] is False
    assert LetterEvent.objects.filter(letter=letter, to_status=Status.WITHDRAWN).count() == 1


@pytest.mark.parametrize("status", [Status.PUBLISHED, Status.REJECTED, Status.SPAM])
def test_a_letter_published_or_decided_against_cannot_be_withdrawn_by_the_writer(client, status):
    letter = make_letter(status=status, published_at=timezone.now())
    with pytest.raises(moderation.TransitionNotAllowed):
        moderation.withdraw_by_writer(letter.pk)
    assert 'id="withdraw-form"' not in client.get(status_path(letter)).text
    response = client.post(status_path(letter), {"confirm_withdraw": "yes"})
    assert response.status_code == 409
    assert "can no longer be withdrawn here" in response.text
    letter.refresh_from_db()
    assert letter.status == status
    assert not LetterEvent.objects.filter(letter=letter, to_status=Status.WITHDRAWN).exists()


def test_an_approved_letter_not_yet_published_can_be_withdrawn(client):
    letter = make_letter(status=Status.APPROVED, publish_at=timezone.now())
    client.post(status_path(letter), {"confirm_withdraw": "yes"})
    letter.refresh_from_db()
    assert (letter.status, letter.publish_at) == (Status.WITHDRAWN, None)


def test_a_forged_status_link_is_refused_with_a_clear_page(client):
    letter = make_letter()
    forged = notifications.status_token(letter).replace(f"{letter.pk}:", f"{letter.pk + 1}:")
    for token in [forged, "nonsense", notifications.confirmation_token(letter)]:
        response = client.get(f"/letters/status/{token}/")
        assert response.status_code == 404
        assert "This link does not work" in response.text
        assert (
            client.post(f"/letters/status/{token}/", {"confirm_withdraw": "yes"}).status_code == 404
        )
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED


def test_an_expired_status_link_is_refused_with_a_clear_page(client, settings):
    settings.LETTERS_STATUS_LINK_DAYS = 30
    letter = make_letter()
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 31 * 86400):
        token = notifications.status_token(letter)
    response = client.get(f"/letters/status/{token}/")
    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert client.post(f"/letters/status/{token}/", {"confirm_withdraw": "yes"}).status_code == 410
    letter.refresh_from_db()
    assert letter.status == Status.RECEIVED


def test_the_status_token_names_the_letter_and_nothing_else():
    letter = make_letter()
    token = notifications.status_token(letter)
    assert notifications.letter_id_from_status_token(token) == letter.pk
    with pytest.raises(signing.BadSignature):
        notifications.letter_id_from_token(token)  # not a confirmation link
