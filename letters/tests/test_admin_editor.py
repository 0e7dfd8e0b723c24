"""The editor's day on the desk: decisions that save the pending edit first, the next letter of
the queue, undo, the queue's counts and title, assigning an article, the queue's search."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.admin.letters import LetterAdmin
from letters.admin.queue import queue_rows, search_letters
from letters.models import FLAGS, Letter, LetterEvent, RejectionReason, Status
from letters.models.flags import Flag
from letters.models.letters import LetterQuerySet

from .factories import editor, make_article, make_letter, make_user, sub_editor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]

QUEUE = reverse("admin:letters_letter_changelist")


def change_url(letter, filters=""):
    url = reverse("admin:letters_letter_change", args=[letter.pk])
    return f"{url}?_changelist_filters={quote(filters)}" if filters else url


def step_url(letter, filters=""):
    url = reverse("admin:letters_letter_next", args=[letter.pk])
    return f"{url}?_changelist_filters={quote(filters)}" if filters else url


def notes_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def decide(client, letter, action, filters="", **changes):
    """Press a decision button on the letter page, the edit form as the page sent it."""
    data = {
        "edited_body": letter.publishable_text,
        "headline": letter.headline,
        "version": moderation.text_version(letter),
        "new_note": "",
        "article": letter.article_id or "",
        f"_shown_status_{letter.pk}": letter.status,
        "_next": step_url(letter, filters),
        "_back": change_url(letter, filters),
        "_decide": action,
    }
    data.update(changes)
    return client.post(change_url(letter, filters), data)


def follow(client, response):
    """Follow redirects (the step to the next letter is two)."""
    while response.status_code == 302:
        response = client.get(response.url)
    return response


# A decision saves the pending edit first -------------------------------------------------------


def test_a_decision_with_a_pending_edit_saves_it_through_moderation_first(client):
    letter = make_letter(body="Sir, one two three four five six seven eight nine ten.")
    client.force_login(user := editor())
    response = decide(
        client, letter, "shortlist_letters", edited_body="Sir, one two.", headline="Counting"
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.status, letter.edited_body, letter.headline) == (
        Status.SHORTLISTED,
        "Sir, one two.",
        "Counting",
    )
    assert letter.body.startswith("Sir, one two three")  # the writer's original untouched
    events = list(letter.events.order_by("id").values_list("action", "actor"))
    assert events == [("edited", user.pk), ("shortlisted", user.pk)]


def test_an_edit_another_editor_overtook_refuses_the_decision_and_keeps_the_text(client):
    letter = make_letter()
    page_version = moderation.text_version(letter)
    moderation.edit_text(letter.pk, edited_body="Their cut.")
    client.force_login(editor())
    response = decide(
        client, letter, "approve_letters", edited_body="My own cut.", version=page_version
    )
    assert response.status_code == 200  # the page again, not a redirect
    page = response.content.decode()
    assert "Another editor changed this letter" in page
    assert "My own cut.</textarea>" in page  # the editor's text stays on screen
    letter.refresh_from_db()
    assert (letter.status, letter.edited_body) == (Status.RECEIVED, "Their cut.")
    assert not letter.events.filter(to_status=Status.APPROVED).exists()
    # Compared (the page carries the version now saved), deciding again replaces their cut.
    version = response.context["adminform"].form["version"].value()
    assert version == moderation.text_version(letter)
    decide(client, letter, "approve_letters", edited_body="My own cut.", version=version)
    letter.refresh_from_db()
    assert (letter.status, letter.edited_body) == (Status.APPROVED, "My own cut.")


def test_an_edit_over_the_hard_limit_refuses_the_decision_and_keeps_the_text(client, settings):
    settings.LETTERS_HARD_WORD_LIMIT = 5
    letter = make_letter(body="Sir, a short letter.")
    client.force_login(editor())
    long_edit = "Sir, " + " ".join(["word"] * 10)
    response = decide(client, letter, "shortlist_letters", edited_body=long_edit)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The version to publish has 11 words: the most the desk can save is 5." in page
    assert f"{long_edit}</textarea>" in page
    letter.refresh_from_db()
    assert (letter.status, letter.edited_body) == (Status.RECEIVED, "")
    assert not letter.events.exists()


def test_moderation_refuses_an_edit_over_the_hard_limit_and_never_the_original(settings):
    settings.LETTERS_HARD_WORD_LIMIT = 3
    letter = make_letter(body="Sir, this original is longer than three words.")
    with pytest.raises(moderation.EditTooLong):
        moderation.edit_text(letter.pk, edited_body="one two three four")
    # Only the headline changes: the original is what would be published, never refused.
    _, changed = moderation.edit_text(letter.pk, edited_body=letter.body, headline="Long")
    assert changed and Letter.objects.get(pk=letter.pk).edited_body == ""


def test_a_decision_a_colleague_overtook_is_refused_but_the_edit_is_kept(client):
    letter = make_letter()
    client.force_login(editor())
    moderation.reject(letter.pk, reason=RejectionReason.OFF_TOPIC)
    response = decide(client, letter, "approve_letters", edited_body="Sir, my cut.")
    assert response.status_code == 302 and response.url == change_url(letter)  # stays
    assert "as on your page: nothing was changed" in notes_of(response)[-1]
    letter.refresh_from_db()
    assert (letter.status, letter.edited_body) == (Status.REJECTED, "Sir, my cut.")


def test_a_sub_editor_cannot_take_an_editors_decision_from_the_letter_page(client):
    letter = make_letter()
    client.force_login(sub_editor())
    response = decide(client, letter, "approve_letters")
    assert response.status_code == 403
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED


def test_reject_from_the_letter_page_saves_the_edit_asks_why_then_opens_the_next(client):
    letter, following = queue_of_three()[:2]
    client.force_login(editor())
    response = decide(client, letter, "reject_letters", edited_body="Sir, cut.")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="reason"' in page
    assert f'action="{QUEUE}?status=all"' in page  # applied by the queue's action
    assert f'href="{change_url(letter)}" class="button cancel-link"' in page
    assert Letter.objects.get(pk=letter.pk).edited_body == "Sir, cut."
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED
    applied = client.post(
        f"{QUEUE}?status=all",
        {
            "action": "reject_letters",
            "apply": "1",
            "_selected_action": letter.pk,
            f"_shown_status_{letter.pk}": "received",
            "_next": step_url(letter),
            "reason": "off_topic",
            "note": "",
        },
    )
    next_page = follow(client, applied)
    assert next_page.context["original"] == following
    assert next_page.context["undo"]["what"] == f"Rejected: {letter.name}"
    assert Letter.objects.get(pk=letter.pk).status == Status.REJECTED


# The next letter --------------------------------------------------------------------------------


def queue_of_three(**extra):
    now = timezone.now()
    return [
        make_letter(name=name, created_at=now - timedelta(hours=hours), **extra)
        for name, hours in (("Newest", 1), ("Middle", 2), ("Oldest", 3))
    ]


def test_after_a_decision_the_next_letter_awaiting_a_decision_opens(client):
    newest, middle, oldest = queue_of_three()
    make_letter(name="Decided", status=Status.APPROVED, created_at=middle.created_at)
    client.force_login(editor())
    response = decide(client, newest, "approve_letters")
    assert response.url == reverse("admin:letters_letter_next", args=[newest.pk])
    assert follow(client, response).context["original"] == middle
    response = decide(client, middle, "mark_spam_letters")
    assert follow(client, response).context["original"] == oldest


def test_next_and_previous_keep_the_queues_filters_and_order(client):
    article = make_article()
    newest, middle, oldest = queue_of_three(article=article)
    make_letter(created_at=middle.created_at + timedelta(minutes=1))  # another article
    filters = f"article={article.pk}&o=-5"  # sorted by words, most first (then the default)
    Letter.objects.filter(pk=oldest.pk).update(word_count=50)
    Letter.objects.filter(pk=middle.pk).update(word_count=40)
    Letter.objects.filter(pk=newest.pk).update(word_count=30)
    client.force_login(editor())
    step = reverse("admin:letters_letter_next", args=[oldest.pk])
    response = client.get(f"{step}?_changelist_filters={quote(filters)}")
    assert response.url == change_url(middle, filters)
    step = reverse("admin:letters_letter_next", args=[middle.pk])
    assert client.get(f"{step}?_changelist_filters={quote(filters)}").url == change_url(
        newest, filters
    )
    step = reverse("admin:letters_letter_previous", args=[newest.pk])
    assert client.get(f"{step}?_changelist_filters={quote(filters)}").url == change_url(
        middle, filters
    )


def test_after_the_last_letter_the_queue_opens_saying_so(client):
    (only,) = [make_letter()]
    client.force_login(editor())
    response = follow(client, decide(client, only, "approve_letters"))
    assert response.request["PATH_INFO"] == QUEUE
    assert "No more letters in this list." in notes_of(response)


# Undo ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "operation", "extra"),
    [
        (Status.RECEIVED, moderation.shortlist, {}),
        (Status.RECEIVED, moderation.reject, {"reason": "off_topic"}),
        (Status.SHORTLISTED, moderation.reject, {"reason": "off_topic"}),
        (Status.APPROVED, moderation.reject, {"reason": "off_topic"}),
        (Status.RECEIVED, moderation.mark_spam, {}),
        (Status.SHORTLISTED, moderation.mark_spam, {}),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_undo_returns_the_letter_through_the_table_and_records_it_once(start, operation, extra):
    letter = make_letter(status=start)
    user = editor()
    operation(letter.pk, actor=user, **extra)
    decision = letter.events.get()
    letter, changed = moderation.undo(letter.pk, decision.pk, actor=user)
    assert changed and letter.status == start and letter.rejection_reason == ""
    undone = letter.events.latest("id")
    assert (undone.action, undone.from_status, undone.to_status, undone.actor) == (
        "undone",
        decision.to_status,
        start,
        user,
    )
    assert moderation.undo(letter.pk, decision.pk, actor=user) == (letter, False)
    assert letter.events.count() == 2


def test_undo_is_refused_once_the_letter_moved_on_or_for_another_editor():
    letter = make_letter()
    user, colleague = editor(), make_user("superuser")
    moderation.mark_spam(letter.pk, actor=user)
    spam = letter.events.get()
    with pytest.raises(moderation.TransitionNotAllowed, match="Only who took a decision"):
        moderation.undo(letter.pk, spam.pk, actor=colleague)
    moderation.reconsider(letter.pk, actor=colleague)
    with pytest.raises(moderation.TransitionNotAllowed, match="can no longer be undone"):
        moderation.undo(letter.pk, spam.pk, actor=user)
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED


def test_an_approval_cannot_be_undone_this_way():
    letter = make_letter()
    user = editor()
    moderation.approve(letter.pk, actor=user)
    with pytest.raises(moderation.TransitionNotAllowed, match="cannot be undone"):
        moderation.undo(letter.pk, letter.events.get().pk, actor=user)


def test_the_undo_offered_after_a_rejection_puts_the_letter_back_and_shows_it(client):
    letter, other = queue_of_three()[:2]
    client.force_login(editor())
    response = decide(client, letter, "mark_spam_letters")
    page = follow(client, response)
    assert page.context["original"] == other
    undo = page.context["undo"]
    assert undo["what"] == f"Marked spam: {letter.name}"
    assert 'data-key="u"' in page.content.decode()
    response = client.post(undo["url"], {"event": undo["event"]})
    assert response.url == change_url(letter)
    assert notes_of(response)[-1] == f"Undone: {letter.name}'s letter is received again."
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED
    assert list(letter.events.values_list("action", flat=True).order_by("id")) == [
        "marked spam",
        "undone",
    ]
    assert client.get(change_url(letter)).context["undo"] is None  # offered once


# The queue: title, counts, search -----------------------------------------------------------------


def test_the_queue_is_titled_by_what_it_lists(client):
    client.force_login(editor())
    assert client.get(QUEUE).context["title"] == "Letters awaiting a decision"
    assert client.get(QUEUE + "?status=spam").context["title"] == "Letters: spam"
    assert client.get(QUEUE + "?status=all").context["title"] == "All letters"


def test_the_queue_counts_each_status_and_each_flag_of_the_list(client, settings):
    settings.LETTERS_SOFT_WORD_LIMIT = 3
    make_letter(suspect=True, body="Sir, suspect.")
    make_letter(status=Status.SHORTLISTED, body="Sir, far too many words here.")
    make_letter(body="same words")
    make_letter(body="same words", status=Status.SHORTLISTED, confirmed_at=None)
    make_letter(status=Status.SPAM)  # not in the list
    client.force_login(editor())
    counts = client.get(QUEUE).context["cl"].counts
    assert [(label, n) for label, n, _ in counts["statuses"]] == [
        ("Received", 2),
        ("Shortlisted", 2),
    ]
    assert [(label, n) for label, n, _ in counts["flags"]] == [
        ("Over the word limit", 1),
        ("Unconfirmed", 1),
        ("Suspect", 1),
        ("Possible duplicate", 2),
    ]
    assert dict((label, link) for label, _, link in counts["statuses"])["Shortlisted"] == (
        "?status=shortlisted"
    )
    assert not counts["capped"]


def test_the_counts_cover_every_flag_of_the_table(client, monkeypatch):
    """A flag added to FLAGS (with its condition) is counted without touching the queue."""
    short = Flag("short", "Very short", "short")
    condition = LetterQuerySet.flag_condition

    def with_short(self, flag, now=None):
        return Q(word_count__lt=3) if flag == "short" else condition(self, flag, now)

    monkeypatch.setattr(LetterQuerySet, "flag_condition", with_short)
    monkeypatch.setattr("letters.admin.queue.FLAGS", (*FLAGS, short))
    make_letter(body="Sir, yes.")
    make_letter()
    client.force_login(editor())
    counts = client.get(QUEUE).context["cl"].counts
    assert ("Very short", 1, "?flag=short") in counts["flags"]


def test_the_queue_with_its_counts_costs_the_same_queries_at_any_size(
    client, django_assert_num_queries
):
    client.force_login(editor())
    article = make_article()
    make_letter(article=article, suspect=True)
    client.get(QUEUE)  # warm Django's content-type cache
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    for n in range(120):
        make_letter(article=article, body="Sir, the same campaign." if n % 3 else f"Sir, {n}.")
    with django_assert_num_queries(len(few)):
        response = client.get(QUEUE)
    assert len(response.context["cl"].result_list) == LetterAdmin.list_per_page
    assert len(few) <= 8
    assert 'id="desk-counts"' in response.content.decode()


def test_the_queues_rows_are_the_markup_djangos_admin_would_give_them(client, settings):
    """letters.admin.queue.queue_rows writes the cells out instead of Django's items_for_result:
    the same HTML, escaping included, for every kind of row."""

    settings.LETTERS_SOFT_WORD_LIMIT = 5
    article = make_article(headline="Bridges & <tunnels>")
    make_letter(article=article, name='Ann "Quotes" <b>', town="Rye & Hythe", suspect=True)
    make_letter(article=None, channel="email", body="Sir, far too many words for the limit here.")
    make_letter(article=article, body="same words", confirmed_at=None)
    make_letter(article=article, body="same words", status=Status.SHORTLISTED)
    client.force_login(editor())
    cl = client.get(QUEUE + "?q=&o=1").context["cl"]
    assert len(cl.result_list) == 4
    expected = ["".join(items_for_result(cl, letter, None)) for letter in cl.result_list]
    assert list(queue_rows(cl)) == expected


def test_the_counts_are_capped_like_the_list(client, monkeypatch):
    monkeypatch.setattr("letters.admin.queue.CappedCountPaginator.CAP", 3)
    for _ in range(5):
        make_letter()
    client.force_login(editor())
    response = client.get(QUEUE)
    counts = response.context["cl"].counts
    assert counts["capped"] and counts["statuses"][0][:2] == ("Received", 3)
    assert "Among the first 3:" in response.content.decode()


def test_a_list_longer_than_the_cap_pages_up_to_the_cap_and_offers_no_show_all(client, monkeypatch):
    monkeypatch.setattr("letters.admin.queue.CappedCountPaginator.CAP", 4)
    monkeypatch.setattr(LetterAdmin, "list_per_page", 2)
    newest_first = [make_letter() for _ in range(7)][::-1]
    client.force_login(editor())
    pages = [client.get(QUEUE, {"p": n}) for n in (1, 2)]
    assert [list(page.context["cl"].result_list) for page in pages] == [
        newest_first[:2],
        newest_first[2:4],
    ]
    assert "More than 4 letters: narrow the list" in pages[0].content.decode()
    assert pages[0].context["cl"].paginator.num_pages == 2
    assert client.get(QUEUE, {"p": 3})["Location"].endswith("?e=1")  # no page past the cap
    shown_all = client.get(QUEUE, {"all": ""})
    assert not shown_all.context["cl"].can_show_all
    assert list(shown_all.context["cl"].result_list) == newest_first[:2]  # the first page


@pytest.mark.postgres
def test_on_postgresql_the_search_is_full_text_by_words_the_last_may_be_a_start():
    zebra = make_letter(name="Ann Zebedee", body="Sir, the crossings on the high street.")
    make_letter(name="Bob", body="Sir, nothing to see here.")
    for term in ("zeb", "crossing", "CROSSINGS high", "ann zebedee", "ann zeb", "street hi"):
        assert list(search_letters(Letter.objects.all(), term)) == [zebra], term
    assert list(search_letters(Letter.objects.all(), "crossings nowhere")) == []
    # Only the last word is taken as the start of one, as search-as-you-type does.
    assert list(search_letters(Letter.objects.all(), "zeb ann")) == []
    assert set(search_letters(Letter.objects.all(), "'&|!():*")) == set(Letter.objects.all())


def bitmap_plan(queryset):
    """PostgreSQL's plan for `queryset` when only a bitmap scan on an index matching its
    condition is left to the planner (sequential and plain index scans off)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_on_postgresql_the_search_can_use_its_gin_index():
    """The query's expression is the index's (migration 0010): were they to drift apart, the
    planner could not use the index even with sequential and plain index scans off."""
    make_letter(body="Sir, the crossings.")
    plan = bitmap_plan(search_letters(Letter.objects.all(), "cross"))
    assert "letter_search" in plan, plan


@pytest.mark.postgres
def test_on_postgresql_the_queues_default_search_reads_the_index_of_letters_awaiting():
    """Migration 0012's partial index: searching what awaits a decision (the queue's default)
    reads the few thousand letters waiting, not every letter ever sent."""
    letter = make_letter(body="Sir, the crossings.")
    others = [
        Letter(article=letter.article, status=Status.RECEIVED, body=f"Sir, letter {n}.")
        for n in range(500)
    ]
    Letter.objects.bulk_create(others)  # enough for the planner to tell the indexes apart
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE letters_letter")
    plan = bitmap_plan(search_letters(Letter.objects.awaiting_decision(), "cross"))
    assert "letter_search_awaiting" in plan, plan


def test_elsewhere_the_search_falls_back_to_django(client):
    """search_letters answers only on PostgreSQL; the queue then searches with icontains."""
    searched = search_letters(Letter.objects.all(), "zebra")
    assert (searched is None) == (connection.vendor != "postgresql")
    make_letter(name="zebra", body="Sir, the zebra crossing.")
    client.force_login(editor())
    assert [x.name for x in client.get(QUEUE + "?q=zebra").context["cl"].result_list] == ["zebra"]


# The letter page: article, emailed letters ----------------------------------------------------------


def test_assigning_an_article_on_the_letter_page_is_recorded(client):
    letter = make_letter(article=None, channel="email")
    article = make_article(headline="Putin warns the West as Starmer and Biden weigh strikes")
    client.force_login(user := editor())
    page = client.get(change_url(letter)).content.decode()
    assert "by email: exclusivity not asked" in page
    assert "data-ajax--url" in page  # the searchable picker (admin autocomplete)
    response = client.post(
        change_url(letter),
        {
            "edited_body": letter.body,
            "headline": "",
            "version": moderation.text_version(letter),
            "new_note": "",
            "article": article.pk,
            "_continue": "1",
        },
    )
    assert response.status_code == 302
    assert Letter.objects.get(pk=letter.pk).article == article
    event = LetterEvent.objects.get(letter=letter)
    assert (event.action, event.actor) == ("assigned to article", user)
    found = client.get(
        reverse("admin:autocomplete"),
        {
            "term": "Putin",
            "app_label": "letters",
            "model_name": "letter",
            "field_name": "article",
        },
    ).json()
    assert [r["id"] for r in found["results"]] == [str(article.pk)]


def test_a_web_letter_still_shows_exclusive_and_consent(client):
    letter = make_letter(exclusive=True, consent=False)
    client.force_login(editor())
    page = client.get(change_url(letter)).content.decode()
    assert "yes / no" in page and "exclusivity not asked" not in page
