"""The edition builder in the admin: "Add to edition…" in the queue, the edition page (order,
headlines, words against the budget, taking a letter out), the staff preview, and Publish now
and Schedule with their confirmation pages."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.models import Edition, EditionStatus, Letter, Status

from .factories import (
    editor,
    make_approved_letter,
    make_article,
    make_edition,
    make_letter,
    make_user,
    post_admin_action,
    sub_editor,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker

QUEUE = "/admin/letters/letter/?status=all"


def page_of(edition):
    return reverse("admin:letters_edition_change", args=[edition.pk])


def builder_post(edition, order, **headlines):
    """The edition page's Save: its own fields, then one "order" per row and the headlines."""
    data = {
        "title": edition.title,
        "date": edition.date.isoformat(),
        "publish_at_0": "",
        "publish_at_1": "",
        "order": [letter.pk for letter in order],
        "_save": "Save",
    }
    data.update({f"headline_{pk}": text for pk, text in headlines.items()})
    return data


# --- "Add to edition…" in the queue ----------------------------------------------------------


def test_add_to_edition_asks_which_draft_or_a_new_one(admin_client):
    draft = make_edition(title="Weekend")
    gone = make_edition(title="Gone out")
    Edition.objects.filter(pk=gone.pk).update(status=EditionStatus.PUBLISHED)
    letter = make_approved_letter()

    page = post_admin_action(admin_client, QUEUE, "add_to_edition", [letter]).content.decode()

    assert "Add letters to an edition" in page
    assert "A new edition…" in page and str(draft) in page
    assert "Gone out" not in page  # only drafts take letters


def test_add_to_edition_makes_a_new_edition_with_the_letters_oldest_first(admin_client):
    older = make_approved_letter(name="Older", created_at=timezone.now() - datetime.timedelta(1))
    newer = make_approved_letter(name="Newer")

    response = post_admin_action(
        admin_client,
        QUEUE,
        "add_to_edition",
        [newer, older],
        apply="1",
        edition="",
        date="2026-08-01",
        title="Holiday letters",
        follow=True,
    )

    edition = Edition.objects.get(date=datetime.date(2026, 8, 1))
    assert edition.title == "Holiday letters"
    assert list(edition.entries.order_by("position").values_list("letter__name", "is_lead")) == [
        ("Older", True),
        ("Newer", False),
    ]
    assert "Added 2 letters to" in response.content.decode()
    assert page_of(edition) in response.content.decode()


def test_add_to_edition_puts_letters_at_the_end_of_a_draft_and_names_those_refused(admin_client):
    lead = make_approved_letter(name="Lead")
    edition = make_edition([lead], lead=lead)
    spam = make_letter(status=Status.SPAM, name="Spammy")

    response = post_admin_action(
        admin_client,
        QUEUE,
        "add_to_edition",
        [make_approved_letter(name="Second"), spam],
        apply="1",
        edition=str(edition.pk),
        follow=True,
    )

    html = response.content.decode()
    assert list(edition.entries.order_by("position").values_list("letter__name", flat=True)) == [
        "Lead",
        "Second",
    ]
    assert "Added 1 letter to" in html
    assert f"Not added: #{spam.pk} Spammy, Hexham (spam)" in html


def test_add_to_edition_without_an_edition_or_a_date_asks_again(admin_client):
    letter = make_approved_letter()

    response = post_admin_action(
        admin_client, QUEUE, "add_to_edition", [letter], apply="1", edition="", date=""
    )

    assert "Choose a draft edition, or give the new edition" in response.content.decode()
    assert not Edition.objects.exists()


def test_a_sub_editor_is_not_offered_add_to_edition(client):
    client.force_login(sub_editor())
    letter = make_letter()

    page = client.get(QUEUE).content.decode()
    assert letter.name in page and ">Shortlist</option>" in page  # the queue and its own action
    assert "Add to edition" not in page


# --- The edition page --------------------------------------------------------------------------


def test_the_edition_page_shows_each_letters_writer_town_article_words_and_flags(admin_client):
    article = make_article(headline="Putin warns the West")
    letter = make_approved_letter(
        name="Jane Smith", town="Hexham", article=article, body="one two three four", suspect=True
    )
    edition = make_edition([letter], lead=letter)

    html = admin_client.get(page_of(edition)).content.decode()

    assert "Jane Smith" in html and ", Hexham" in html
    assert "Putin warns the West" in html
    assert '<span class="edition-count-own">4</span>' in html
    assert "desk-flag-suspect" in html
    assert 'class="edition-lead"' in html
    assert f'name="order" value="{letter.pk}"' in html


def test_the_edition_page_offers_no_way_to_delete_a_letter(admin_client):
    letter = make_approved_letter()
    edition = make_edition([letter])

    html = admin_client.get(page_of(edition)).content.decode()

    assert "entries-0-DELETE" not in html
    assert reverse("admin:letters_letter_delete", args=[letter.pk]) not in html
    assert f'name="remove" value="{letter.pk}"' in html  # takes it out of the edition only


def test_saving_the_edition_page_saves_the_order_and_headlines_the_first_leading(admin_client):
    a, b = make_approved_letter(name="A"), make_approved_letter(name="B")
    edition = make_edition([a, b], lead=a)

    response = admin_client.post(
        page_of(edition), builder_post(edition, [b, a], **{str(b.pk): "New"})
    )

    assert response.status_code == 302
    entries = list(edition.entries.order_by("position"))
    assert [(e.letter, e.position, e.is_lead) for e in entries] == [(b, 1, True), (a, 2, False)]
    assert entries[0].headline == "New"
    assert list(edition.events.values_list("action", flat=True)) == ["reordered", "headlines"]


def test_an_order_posted_after_a_letter_left_the_edition_saves_nothing_and_says_so(admin_client):
    a, b = make_approved_letter(), make_approved_letter()
    edition = make_edition([a, b], lead=a)
    moderation.remove_from_edition(edition.pk, b.pk)

    response = admin_client.post(page_of(edition), builder_post(edition, [b, a]), follow=True)

    assert "The order was not saved" in response.content.decode()
    assert edition.entries.get().letter == a


def test_taking_a_letter_out_keeps_the_letter_and_says_so(admin_client):
    a, b = make_approved_letter(name="Ann"), make_approved_letter(name="Bob")
    edition = make_edition([a, b], lead=a)

    response = admin_client.post(
        reverse("admin:letters_edition_remove", args=[edition.pk]), {"remove": a.pk}, follow=True
    )

    assert "Took Ann, Hexham out of" in response.content.decode()
    assert Letter.objects.get(pk=a.pk).status == Status.APPROVED
    assert list(edition.entries.values_list("letter", "is_lead")) == [(b.pk, True)]


def test_the_word_total_counts_the_versions_to_publish_against_the_budget(admin_client, settings):
    settings.LETTERS_EDITION_WORD_BUDGET = 10
    edited = make_approved_letter(body="a b c d e f g h i j k l", edited_body="one two three")
    plain = make_approved_letter(body="four five six seven eight nine ten eleven")
    edition = make_edition([edited, plain], lead=edited)

    html = admin_client.get(page_of(edition)).content.decode()

    assert "<strong>11</strong> of 10 words" in html
    assert "over the page" in html
    assert 'value="11"' in html  # the meter


def test_the_word_total_within_the_budget_is_not_over(admin_client, settings):
    settings.LETTERS_EDITION_WORD_BUDGET = 1200
    edition = make_edition([make_approved_letter(body="one two three")])

    html = admin_client.get(page_of(edition)).content.decode()

    assert "<strong>3</strong> of 1200 words" in html
    assert "over the page" not in html


def test_a_scheduled_editions_page_shows_its_letters_without_moving_them(admin_client):
    letter = make_approved_letter()
    edition = make_edition([letter])
    moderation.schedule_edition(edition.pk, at=timezone.now() + datetime.timedelta(days=1))

    html = admin_client.get(page_of(edition)).content.decode()

    assert letter.name in html
    assert 'name="order"' not in html and 'name="remove"' not in html
    assert "Back to draft" in html


def test_the_edition_page_runs_the_same_queries_for_thirty_letters_as_for_three(admin_client):
    def queries(count):
        edition = make_edition([make_approved_letter() for _ in range(count)])
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(page_of(edition)).status_code == 200
        return len(captured.captured_queries)

    queries(1)  # the first page of a session reads what later pages find cached
    assert queries(3) == queries(30)


# --- Preview --------------------------------------------------------------------------------


def test_staff_preview_a_draft_as_readers_will_see_it(admin_client):
    letter = make_approved_letter(name="Jane Smith", edited_body="Decide now.")
    edition = make_edition([letter], lead=letter)

    response = admin_client.get(reverse("admin:letters_edition_preview", args=[edition.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview of a draft edition" in html
    assert "Decide now." in html and "Jane Smith, Hexham" in html
    assert f"Headline for {letter.name}" in html and "Lead letter" in html
    assert 'content="noindex, nofollow"' in html
    assert letter.email not in html


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_nobody_but_staff_sees_a_preview(client, who):
    edition = make_edition([make_approved_letter(name="Secret Writer")])
    if who == "not staff":
        user = make_user()
        user.is_staff = False
        user.save()
        client.force_login(user)

    response = client.get(reverse("admin:letters_edition_preview", args=[edition.pk]))

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(edition.get_absolute_url()).status_code == 404


def test_view_on_site_of_a_draft_opens_the_preview_not_a_404(admin_client):
    edition = make_edition([make_approved_letter()])
    preview = reverse("admin:letters_edition_preview", args=[edition.pk])

    html = admin_client.get(page_of(edition)).content.decode()

    assert f'href="{preview}" class="viewsitelink"' in html
    assert admin_client.get(preview).status_code == 200


# --- Publish now and Schedule, each after saying what will happen ------------------------------


def test_publish_now_first_says_how_many_letters_and_which_writers_are_told(admin_client):
    fresh = make_approved_letter(name="Fresh Writer")
    before = make_approved_letter(name="Told Before")
    moderation.publish(before.pk)
    edition = make_edition([fresh, before], lead=fresh)

    html = admin_client.get(reverse("admin:letters_edition_publish", args=[edition.pk]))
    html = html.content.decode()

    assert "<strong>2 letters</strong> will go on the site" in html
    assert "<strong>1 writer</strong> will be emailed" in html
    assert "Fresh Writer (Hexham)" in html
    assert "already published" in html
    assert 'value="Publish 2 letters now"' in html
    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT  # asking changes nothing


def test_confirming_publish_now_publishes_the_edition(admin_client, enqueued):
    letter = make_approved_letter()
    edition = make_edition([letter])

    response = admin_client.post(
        reverse("admin:letters_edition_publish", args=[edition.pk]), {"confirm": "1"}, follow=True
    )

    edition.refresh_from_db()
    letter.refresh_from_db()
    assert (edition.status, letter.status) == (EditionStatus.PUBLISHED, Status.PUBLISHED)
    assert "1 letter, 1 writer told" in response.content.decode()


def test_the_publish_page_names_letters_not_approved_and_offers_no_button(admin_client):
    edition = make_edition([make_letter(status=Status.SHORTLISTED, name="Sam Short")])

    html = admin_client.get(reverse("admin:letters_edition_publish", args=[edition.pk]))
    html = html.content.decode()

    assert "Sam Short, Hexham (shortlisted)" in html
    assert 'name="confirm"' not in html


def test_schedule_asks_for_the_time_and_then_schedules(admin_client):
    edition = make_edition([make_approved_letter()])
    url = reverse("admin:letters_edition_schedule", args=[edition.pk])
    at = timezone.localtime(timezone.now() + datetime.timedelta(days=2)).replace(
        second=0, microsecond=0
    )

    page = admin_client.get(url).content.decode()
    admin_client.post(url, {"at": at.strftime("%Y-%m-%dT%H:%M"), "confirm": "1"})

    assert 'type="datetime-local"' in page and "will be emailed" in page
    edition.refresh_from_db()
    assert (edition.status, edition.publish_at) == (EditionStatus.SCHEDULED, at)


def test_publishing_from_the_page_needs_the_publish_permission(client):
    user = editor()
    user.groups.clear()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_edition", "change_edition", "view_letter"])
    )
    client.force_login(user)
    edition = make_edition([make_approved_letter()])

    html = client.get(page_of(edition)).content.decode()
    response = client.post(
        reverse("admin:letters_edition_publish", args=[edition.pk]), {"confirm": "1"}
    )

    assert "Publish now…" not in html
    assert response.status_code == 403
    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT


def test_a_published_editions_publish_page_says_so_and_does_nothing(admin_client):
    edition = make_edition([make_approved_letter()])
    moderation.publish_edition(edition.pk)

    response = admin_client.post(
        reverse("admin:letters_edition_publish", args=[edition.pk]), {"confirm": "1"}, follow=True
    )

    assert "is already published" in response.content.decode()
    assert edition.events.count() == 1


def test_back_to_draft_on_the_page_cancels_the_schedule(admin_client, admin_user):
    edition = make_edition([make_approved_letter()])
    moderation.schedule_edition(edition.pk, at=timezone.now() + datetime.timedelta(days=1))

    admin_client.post(reverse("admin:letters_edition_to_draft", args=[edition.pk]))

    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT
    assert edition.events.last().actor == admin_user
