"""The dashboard's figures against a small data set counted by hand, its page, and the writer
page with the merge of two addresses."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.checks import dashboard, index
from letters.models import Channel, Status, WriterMerge

from .factories import editor, make_article, make_letter, sub_editor
from .test_checks_index import SAME_TOPIC, VARIANTS

pytestmark = pytest.mark.django_db


def at(day, hour):
    return timezone.make_aware(datetime(2026, 3, day, hour, 0))


@pytest.fixture
def desk():
    """Five letters from 2 to 4 March 2026 and one the day before (outside the range):

    #  day  channel  status     decided after  article  other
    1  2    web      published  2 h            A        campaign with 2
    2  2    email    rejected   4 h            A        campaign with 1
    3  3    web      approved   6 h            B        suspect
    4  3    web      received   -              A
    5  4    email    spam       1 h            -
    6  1    web      rejected   1 h            A        outside the range
    """
    a, b = make_article(headline="Article A"), make_article(headline="Article B")

    def letter(day, channel, status, hours, article, **fields):
        created = at(day, 12)
        decided = created + timedelta(hours=hours) if hours else None
        return make_letter(
            created_at=created,
            channel=channel,
            status=status,
            decided_at=decided,
            published_at=decided if status == Status.PUBLISHED else None,
            article=article,
            **fields,
        )

    letters = [
        letter(2, Channel.WEB, Status.PUBLISHED, 2, a, body=VARIANTS[0]),
        letter(2, Channel.EMAIL, Status.REJECTED, 4, a, body=VARIANTS[1]),
        letter(3, Channel.WEB, Status.APPROVED, 6, b, suspect=True, body=SAME_TOPIC[0]),
        letter(3, Channel.WEB, Status.RECEIVED, 0, a, body=SAME_TOPIC[1]),
        letter(4, Channel.EMAIL, Status.SPAM, 1, None, body=SAME_TOPIC[2]),
        letter(1, Channel.WEB, Status.REJECTED, 1, a, body=SAME_TOPIC[3]),
    ]
    for each in letters:
        index.index_letter(each.pk)
    return a, b


def test_the_dashboards_figures_are_those_counted_by_hand(desk):
    a, b = desk
    now = at(30, 12)
    figures = dashboard.figures(date(2026, 3, 2), date(2026, 3, 4), now=now)
    assert figures["total"] == 5
    assert figures["per_day"] == [
        (date(2026, 3, 2), 1, 1),
        (date(2026, 3, 3), 2, 0),
        (date(2026, 3, 4), 0, 1),
    ]
    assert figures["per_article"] == [(a.pk, "Article A", 3), (b.pk, "Article B", 1)]
    assert (figures["campaign"], figures["campaign_share"]) == (2, 0.4)
    assert (figures["suspect"], figures["suspect_share"]) == (1, 0.2)
    # Decided: 2 h, 4 h, 6 h, 1 h -> sorted 1, 2, 4, 6 -> the median is 3 hours.
    assert figures["median_to_decision"] == timedelta(hours=3)
    # Accepted: published and approved (2) of those plus rejected (1).
    assert figures["acceptance_rate"] == pytest.approx(2 / 3)
    # Awaiting now (30 March): letter 4, from 3 March.
    assert dict(figures["awaiting_by_age"]) == {
        "under a day": 0,
        "1-3 days": 0,
        "3-7 days": 0,
        "1-2 weeks": 0,
        "over 2 weeks": 1,
    }


def test_an_empty_range_has_no_rates():
    figures = dashboard.figures(date(2020, 1, 1), date(2020, 1, 2))
    assert figures["total"] == 0
    assert figures["median_to_decision"] is None and figures["acceptance_rate"] is None


def test_the_dashboard_page_shows_the_figures_and_its_charts(client, desk):
    client.force_login(sub_editor())
    page = client.get(reverse("letters_dashboard"), {"start": "2026-03-02", "end": "2026-03-04"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>5</strong>letters received" in html
    assert "<strong>40.0%</strong>flagged campaign (2 letters)" in html
    assert "<strong>3.0 hours</strong>median time from arrival to decision" in html
    assert "<strong>67%</strong>accepted" in html
    assert html.count("<svg") >= 3 and "2 Mar: 1 by email" in html
    assert reverse("letters_dashboard") in client.get(reverse("admin:index")).content.decode()


def test_the_dashboard_needs_the_desk(client):
    response = client.get(reverse("letters_dashboard"))
    assert response.status_code == 302 and "login" in response.url


def test_a_writer_page_lists_their_letters_outcomes_and_last_publication(client):
    letters = [
        make_letter(email="Ann@example.com", status=Status.PUBLISHED, published_at=at(5, 9)),
        make_letter(email="ann@example.com", status=Status.REJECTED),
        make_letter(email="someone.else@example.com"),
    ]
    client.force_login(sub_editor())
    html = client.get(reverse("letters_writer", args=["ANN@example.com"]), follow=True)
    text = html.content.decode()
    assert f"#{letters[0].pk}" in text and f"#{letters[1].pk}" in text
    assert f"#{letters[2].pk}" not in text
    assert "<strong>5 Mar 2026</strong>last published" in text
    assert "Merge into this writer" not in text  # a sub-editor cannot merge


def test_merging_two_addresses_shows_them_together_and_is_recorded(client):
    old = make_letter(email="ann@old.example")
    new = make_letter(email="ann@new.example")
    client.force_login(user := editor())
    url = reverse("letters_writer", args=["ann@new.example"])
    response = client.post(url, {"address": "Ann@Old.example", "note": "same signature"})
    assert response.status_code == 302
    merge = WriterMerge.objects.get()
    assert (merge.address, merge.merged_into, merge.actor, merge.note) == (
        "ann@old.example",
        "ann@new.example",
        user,
        "same signature",
    )
    text = client.get(url).content.decode()
    assert f"#{old.pk}" in text and f"#{new.pk}" in text
    assert client.get(reverse("letters_writer", args=["ann@old.example"])).url == url
    assert moderation.merge_writers("ann@old.example", "ann@new.example", actor=user)[1] is False


def test_erasing_a_writer_erases_the_record_of_their_merge():
    make_letter(email="ann@old.example")
    moderation.merge_writers("ann@old.example", "ann@new.example", actor=editor())
    moderation.erase_writer("ann@old.example", actor=editor())
    assert not WriterMerge.objects.exists()


def test_the_export_of_either_address_holds_the_record_of_their_merge():
    make_letter(email="ann@old.example")
    user = editor()
    moderation.merge_writers("ann@old.example", "ann@new.example", actor=user, note="same hand")

    for address in ("ann@old.example", "Ann@New.example"):
        [merge] = moderation.export_writer(address, actor=user)["merges"]
        assert (merge["address"], merge["merged_into"], merge["by"], merge["note"]) == (
            "ann@old.example",
            "ann@new.example",
            str(user),
            "same hand",
        )
