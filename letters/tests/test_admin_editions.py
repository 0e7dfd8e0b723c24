"""Editions in the admin: assembled with inline rows, published or scheduled by actions."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.models import Edition, EditionStatus, Status

from .factories import make_approved_letter, make_edition, make_letter, make_user, post_admin_action

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker


def staff(*perms):
    user = make_user()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="letters", codename__in=perms)
    )
    return user


def edition_form(letter, **overrides):
    data = {
        "title": "Weekend letters",
        "date": "2026-07-04",
        "publish_at_0": "",
        "publish_at_1": "",
        "entries-TOTAL_FORMS": "1",
        "entries-INITIAL_FORMS": "0",
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
        "entries-0-letter": str(letter.pk),
        "entries-0-position": "1",
        "entries-0-headline": "Too little, too late",
        "entries-0-is_lead": "on",
    }
    data.update(overrides)
    return data


def test_an_editor_assembles_an_edition_from_approved_letters(admin_client, admin_user):
    letter = make_approved_letter()

    response = admin_client.post("/admin/letters/edition/add/", edition_form(letter))

    assert response.status_code == 302, response.content.decode()[:3000]
    edition = Edition.objects.get()
    entry = edition.entries.get()
    assert (entry.letter, entry.headline, entry.is_lead) == (letter, "Too little, too late", True)
    assert (edition.status, edition.created_by) == (EditionStatus.DRAFT, admin_user)


def test_only_approved_or_published_letters_can_be_chosen(admin_client):
    received = make_letter(status=Status.RECEIVED)

    response = admin_client.post("/admin/letters/edition/add/", edition_form(received))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Edition.objects.exists()


def test_the_publish_now_action_publishes_the_edition_and_its_letters(admin_client):
    letter = make_approved_letter()
    edition = make_edition([letter])

    post_admin_action(admin_client, "/admin/letters/edition/", "publish_now", [edition])

    edition.refresh_from_db()
    letter.refresh_from_db()
    assert (edition.status, letter.status) == (EditionStatus.PUBLISHED, Status.PUBLISHED)


def test_the_publish_action_names_the_letters_that_are_not_ready(admin_client):
    edition = make_edition([make_letter(status=Status.SHORTLISTED, name="Sam Short")])

    response = post_admin_action(
        admin_client, "/admin/letters/edition/", "publish_now", [edition], follow=True
    )

    assert "Sam Short, Hexham (shortlisted)" in response.content.decode()
    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT


def test_the_schedule_action_uses_the_editions_publication_time(admin_client):
    at = timezone.now() + datetime.timedelta(hours=3)
    edition = make_edition([make_approved_letter()], publish_at=at)

    post_admin_action(admin_client, "/admin/letters/edition/", "schedule", [edition])

    edition.refresh_from_db()
    assert (edition.status, edition.publish_at) == (EditionStatus.SCHEDULED, at)


def test_staff_without_the_publish_permission_cannot_publish(client):
    user = staff("view_edition", "change_edition", "add_edition")
    client.force_login(user)
    edition = make_edition([make_approved_letter()])

    page = client.get("/admin/letters/edition/").content.decode()
    post_admin_action(client, "/admin/letters/edition/", "publish_now", [edition])

    assert "Publish now" not in page
    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT


def test_the_edition_page_reads_the_letter_choices_once_however_many_rows(admin_client):
    def letter_queries(rows):
        edition = make_edition([make_approved_letter() for _ in range(rows)])
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(f"/admin/letters/edition/{edition.pk}/change/")
        assert response.status_code == 200
        return sum('FROM "letters_letter"' in q["sql"] for q in queries.captured_queries)

    assert letter_queries(1) == letter_queries(6) <= 2


def test_the_edition_page_shows_who_scheduled_and_cancelled_it(admin_client, admin_user):
    edition = make_edition([make_approved_letter()])
    moderation.schedule_edition(
        edition.pk, at=timezone.now() + datetime.timedelta(days=1), actor=admin_user
    )
    moderation.unschedule_edition(edition.pk, actor=admin_user)

    page = admin_client.get(reverse("admin:letters_edition_change", args=[edition.pk]))

    html = page.content.decode()
    assert "scheduled · admin <i>To publish" in html
    assert "back to draft · admin" in html
