"""Editions in the admin: the list's actions. The edition builder's own page and the queue's
"Add to edition…" are tested in test_admin_edition_builder.py."""

import datetime

import pytest
from django.contrib.auth.models import Permission
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


def test_a_new_edition_is_made_with_its_date_and_title_and_no_letter_picker(
    admin_client, admin_user
):
    page = admin_client.get("/admin/letters/edition/add/").content.decode()
    response = admin_client.post(
        "/admin/letters/edition/add/",
        {"title": "Weekend letters", "date": "2026-07-04", "publish_at_0": "", "publish_at_1": ""},
    )

    assert "entries-0-letter" not in page  # letters come from the queue's "Add to edition…"
    assert response.status_code == 302, response.content.decode()[:3000]
    edition = Edition.objects.get()
    assert (edition.title, edition.status, edition.created_by) == (
        "Weekend letters",
        EditionStatus.DRAFT,
        admin_user,
    )


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
