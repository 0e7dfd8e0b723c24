"""The desk's view of what the checks found: the queue's campaign flag and filter, the cluster
page side by side, "keep one, reject the rest" with an event per letter, and the letter page's
evidence."""

import pytest
from django.urls import reverse

from letters import moderation
from letters.checks import analysis, index
from letters.models import Cluster, LetterEvent, Reply, Status

from .factories import editor, make_article, make_letter, rejection_template, sub_editor
from .test_checks_index import SAME_TOPIC, VARIANTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    article = make_article(body="Hospitals run on shifts. Rents rose by 9% last year.")
    letters = [make_letter(article=article, body=body) for body in VARIANTS]
    letters.append(make_letter(article=article, body=SAME_TOPIC[0]))
    for letter in letters:
        index.index_letter(letter.pk)
    return letters


def test_the_queue_flags_the_campaign_with_its_size_and_writers_and_filters_by_it(client, campaign):
    client.force_login(editor())
    url = reverse("admin:letters_letter_changelist")
    page = client.get(url).content.decode()
    assert page.count("campaign 4/4") == 4
    filtered = client.get(url, {"flag": "campaign"}).content.decode()
    assert f"/{campaign[0].pk}/change/" in filtered
    assert f"/{campaign[4].pk}/change/" not in filtered


def test_the_cluster_page_shows_the_letters_side_by_side_with_shared_passages_marked(
    client, campaign
):
    client.force_login(sub_editor())
    cluster = Cluster.objects.get()
    page = client.get(reverse("admin:letters_cluster_change", args=[cluster.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="desk-card"') == 4
    assert "<mark>your article on the four-day week ignores the nurses" in html
    assert "Keep this one" not in html  # a sub-editor cannot decide


def test_keep_one_reject_the_rest_records_an_event_per_letter(client, campaign):
    client.force_login(user := editor())
    cluster = Cluster.objects.get()
    campaign[3].status = Status.REJECTED  # decided earlier: left alone
    campaign[3].save()
    response = client.post(
        reverse("admin:letters_cluster_change", args=[cluster.pk]),
        {"keep": campaign[1].pk, "reason": "campaign", "reply_template": rejection_template().pk},
    )
    assert response.status_code == 302
    statuses = [letter.__class__.objects.get(pk=letter.pk).status for letter in campaign]
    assert statuses == [
        Status.REJECTED,
        Status.APPROVED,
        Status.REJECTED,
        Status.REJECTED,
        Status.RECEIVED,  # not in the cluster
    ]
    events = LetterEvent.objects.filter(
        actor=user, to_status__in=[Status.APPROVED, Status.REJECTED]
    )
    assert sorted(events.values_list("letter_id", "to_status")) == sorted(
        [
            (campaign[0].pk, Status.REJECTED),
            (campaign[1].pk, Status.APPROVED),
            (campaign[2].pk, Status.REJECTED),
        ]
    )
    assert all(f"cluster #{cluster.pk}" in e.note for e in events)
    assert Reply.objects.filter(letter__in=[campaign[0], campaign[2]]).count() == 2
    # Again: nothing more happens.
    result = moderation.settle_campaign(
        cluster.pk, campaign[1].pk, letter_ids=[c.pk for c in campaign], actor=user
    )
    assert result["rejected"] == [] and not result["kept"]


def test_keeping_a_letter_outside_the_cluster_is_refused(campaign):
    with pytest.raises(moderation.NotInCluster):
        moderation.settle_campaign(
            Cluster.objects.get().pk, campaign[4].pk, letter_ids=[campaign[0].pk], actor=editor()
        )


def test_the_letter_page_shows_the_evidence_and_the_quotes_not_found(client, campaign):
    letter = campaign[0]
    letter.body += ' This open letter notes that you wrote that "rents rose by 12% last year".'
    letter.save()
    analysis.analyse_letter(letter.pk)
    client.force_login(editor())
    html = client.get(reverse("admin:letters_letter_change", args=[letter.pk])).content.decode()
    assert "calls itself an open letter" in html
    assert "Not found in the article:</strong> <mark>“rents rose by 12% last year”</mark>" in html
    assert reverse("admin:letters_cluster_change", args=[Cluster.objects.get().pk]) in html
    assert "quote?" in html and "not exclusive" in html
