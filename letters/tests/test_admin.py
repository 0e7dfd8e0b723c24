"""The moderation desk in Django admin: the queue, its actions and the letter page."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.admin.letters import LetterAdmin
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import InboundEmail, Letter, LetterEvent, Note, Status, WayIn
from letters.tests.factories import (
    editor,
    make_article,
    make_letter,
    make_user,
    post_admin_action,
    rejection_template,
    sub_editor,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:letters_letter_changelist")


def logged_in(client, user):
    client.force_login(user)
    return client


def change_url(letter):
    return reverse("admin:letters_letter_change", args=[letter.pk])


def shown(response):
    return list(response.context["cl"].result_list)


def notes_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# The queue -----------------------------------------------------------------------------------


def test_the_queue_opens_on_letters_awaiting_a_decision_newest_first(client):
    now = timezone.now()
    older = make_letter(created_at=now - timedelta(hours=2))
    newer = make_letter(created_at=now - timedelta(hours=1), status=Status.SHORTLISTED)
    for status in (Status.UNCONFIRMED, Status.APPROVED, Status.REJECTED, Status.SPAM):
        make_letter(status=status)
    response = logged_in(client, editor()).get(QUEUE)
    assert response.status_code == 200
    assert shown(response) == [newer, older]


def test_the_queue_shows_word_count_against_the_limit_and_the_flags(client, settings):
    settings.LETTERS_SOFT_WORD_LIMIT = 5
    make_letter(email="twice@example.com", status=Status.PUBLISHED, published_at=timezone.now())
    make_letter(
        email="twice@example.com",
        body="one two three four five six seven",
        confirmed_at=None,
        suspect=True,
        suspect_reason="Sent from a throwaway domain",
    )
    make_letter(body="one two three four five six seven")  # the same words: a duplicate
    page = logged_in(client, editor()).get(QUEUE).content.decode()
    assert 'title="Over the 5-word limit">7 / 5</span>' in page
    for label in ("unconfirmed", "suspect", "published recently", "duplicate?"):
        assert f">{label}</span>" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=all", {"received", "approved", "spam", "suspect", "email", "zebra"}),
        ("status=spam", {"spam"}),
        ("flag=suspect", {"suspect"}),
        ("channel__exact=email", {"email"}),
        ("q=zebra", {"zebra"}),
    ],
)
def test_the_queue_filters_and_searches(client, query, expected):
    make_letter(name="received")
    make_letter(name="approved", status=Status.APPROVED)
    make_letter(name="spam", status=Status.SPAM)
    make_letter(name="suspect", suspect=True)
    make_letter(name="email", channel="email")
    make_letter(name="zebra", body="Sir, the zebra crossing on the high street.")
    response = logged_in(client, editor()).get(f"{QUEUE}?{query}")
    assert {letter.name for letter in shown(response)} == expected


def test_the_queue_filters_by_article(client):
    article = make_article()
    mine = make_letter(article=article)
    make_letter()
    response = logged_in(client, editor()).get(f"{QUEUE}?article={article.pk}")
    assert shown(response) == [mine]


def queue_queries(client, user, rows, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, params)
    assert response.status_code == 200
    assert len(shown(response)) == rows
    return len(queries)


def add_letters(count, article):
    for n in range(count):
        make_letter(
            article=article,
            email=f"writer{n % 7}@example.com",
            body="Sir, a campaign letter." if n % 5 == 0 else f"Sir, letter {n}.",
        )
    make_letter(
        article=article,
        email="writer1@example.com",
        status=Status.PUBLISHED,
        published_at=timezone.now(),
    )


@pytest.mark.parametrize("role", ["superuser", "editor"])
def test_the_queue_costs_the_same_few_queries_at_any_size(client, role):
    user = make_user("superuser") if role == "superuser" else editor()
    logged_in(client, user)
    article = make_article()
    add_letters(3, article)
    small = queue_queries(client, user, 3)
    add_letters(150, article)  # more letters than a page
    large = queue_queries(client, user, LetterAdmin.list_per_page)
    show_all = queue_queries(client, user, 153, all="")
    assert small == large <= 10
    assert show_all <= 10


# Actions --------------------------------------------------------------------------------------


def act(client, action, letters, **extra):
    return post_admin_action(client, f"{QUEUE}?status=all", action, letters, **extra)


def test_a_bulk_approval_reports_on_every_letter(client):
    received = make_letter(name="Ann")
    shortlisted = make_letter(name="Bob", status=Status.SHORTLISTED)
    already = make_letter(name="Cat", status=Status.APPROVED)
    published = make_letter(name="Dan", status=Status.PUBLISHED)
    spam = make_letter(name="Eve", status=Status.SPAM)
    response = act(
        logged_in(client, editor()),
        "approve_letters",
        [received, shortlisted, already, published, spam],
    )
    assert response.status_code == 302
    assert notes_of(response) == [
        "Approved 2 letters.",
        "1 already approved: nothing changed.",
        f"Refused #{published.pk} (Dan): A letter that is published cannot become approved.",
        f"Refused #{spam.pk} (Eve): A letter that is spam cannot become approved.",
    ]
    statuses = dict(Letter.objects.values_list("name", "status"))
    assert statuses == {
        "Ann": "approved",
        "Bob": "approved",
        "Cat": "approved",
        "Dan": "published",
        "Eve": "spam",
    }


def test_rejecting_asks_for_a_reason_then_rejects_and_replies(
    client, django_capture_on_commit_callbacks
):
    letters = [make_letter(), make_letter(status=Status.APPROVED)]
    logged_in(client, editor())
    page = act(client, "reject_letters", letters)
    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert Letter.objects.filter(status=Status.REJECTED).count() == 0
    with django_capture_on_commit_callbacks() as callbacks:
        response = act(
            client,
            "reject_letters",
            letters,
            apply="1",
            reason="off_topic",
            reply_template=rejection_template().pk,
            note="",
        )
    assert response.status_code == 302
    assert notes_of(response) == ["Rejected 2 letters."]
    assert set(Letter.objects.values_list("status", "rejection_reason")) == {
        ("rejected", "off_topic")
    }
    assert len(callbacks) == 2  # one reply each, sent after commit


def test_publishing_from_the_queue_now_and_scheduled(client):
    now_letter, later_letter = (
        make_letter(status=Status.APPROVED),
        make_letter(status=Status.APPROVED),
    )
    logged_in(client, editor())
    act(client, "publish_letters", [now_letter], apply="1", at="")
    at = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    act(client, "publish_letters", [later_letter], apply="1", at=at)
    now_letter.refresh_from_db()
    later_letter.refresh_from_db()
    assert now_letter.status == Status.PUBLISHED and now_letter.published_at
    assert later_letter.status == Status.APPROVED and later_letter.publish_at


def test_assigning_letters_to_an_article_from_the_queue(client):
    letter = make_letter(article=None)
    article = make_article()
    act(logged_in(client, editor()), "assign_letters", [letter], apply="1", article=article.pk)
    assert Letter.objects.get(pk=letter.pk).article == article


def test_a_sub_editor_sees_only_the_actions_of_the_role_and_cannot_force_others(client):
    letter = make_letter()
    logged_in(client, sub_editor())
    response = client.get(QUEUE)
    actions = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert actions == {"", "shortlist_letters"}
    act(client, "approve_letters", [letter])
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED
    act(client, "shortlist_letters", [letter])
    assert Letter.objects.get(pk=letter.pk).status == Status.SHORTLISTED


def test_a_sub_editor_cannot_delete_a_letter(client):
    letter = make_letter()
    response = logged_in(client, sub_editor()).post(
        reverse("admin:letters_letter_delete", args=[letter.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Letter.objects.filter(pk=letter.pk).exists()


def test_a_decision_button_on_the_letter_page_returns_to_the_letter(client):
    letter = make_letter()
    logged_in(client, editor())
    response = act(client, "shortlist_letters", [letter], _next=change_url(letter))
    assert response.status_code == 302 and response.url == change_url(letter)
    assert Letter.objects.get(pk=letter.pk).status == Status.SHORTLISTED


@pytest.mark.parametrize("target", ["https://evil.example/phish", "javascript:alert(1)"])
def test_an_action_form_never_links_back_to_another_site(client, target):
    letter = make_letter()
    logged_in(client, editor())
    response = act(client, "reject_letters", [letter], _next=target)
    assert response.status_code == 200
    assert "Reject letters" in response.text and 'name="reason"' in response.text
    assert target not in response.text


# The letter page ---------------------------------------------------------------------------------


def test_the_letter_page_shows_original_edit_diff_history_log_and_notes(client):
    past = make_letter(
        email="jane@example.com",
        status=Status.PUBLISHED,
        published_at=timezone.now() - timedelta(days=2),
    )
    letter = make_letter(email="jane@example.com", body="Sir, the <b>bridge</b> must stay open.")
    moderation.edit_text(letter.pk, edited_body="Sir, the bridge must stay.", headline="Bridge")
    moderation.add_note(letter.pk, "Rang her: genuine.")
    response = logged_in(client, editor()).get(change_url(letter))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Sir, the &lt;b&gt;bridge&lt;/b&gt; must stay open." in page  # original, escaped
    assert ">\nSir, the bridge must stay.</textarea>" in page
    assert "<del>&lt;b&gt;bridge&lt;/b&gt;</del>" in page and "<ins>bridge</ins>" in page
    assert "<del>stay open.</del><ins>stay.</ins>" in page
    assert "Published 1 letter in the last 14 days." in page
    assert change_url(past) in page
    assert "6 -&gt; 5 words (original 6)." in page
    assert "Rang her: genuine." in page
    assert "The letter form on the article" in page


def test_the_letter_page_offers_only_the_decisions_the_table_and_role_allow(client):
    letter = make_letter(status=Status.SHORTLISTED)
    page = logged_in(client, editor()).get(change_url(letter)).content.decode()
    for offered in ("approve_letters", "reject_letters", "reconsider_letters"):
        assert f'value="{offered}"' in page
    assert 'value="publish_letters"' not in page
    client.force_login(sub_editor())
    page = client.get(change_url(letter)).content.decode()
    assert 'value="approve_letters"' not in page


def test_the_letter_page_costs_a_fixed_number_of_queries(client):
    letter = make_letter(email="often@example.com")
    logged_in(client, editor())
    # The first visit fills Django's content-type cache (one query), warm or not from an
    # earlier test; the count compared is the page's own.
    client.get(change_url(letter))
    with CaptureQueriesContext(connection) as few:
        client.get(change_url(letter))
    for n in range(30):
        other = make_letter(email="often@example.com")
        moderation.add_note(other.pk, f"note {n}")
        moderation.add_note(letter.pk, f"note {n}")
        moderation.shortlist(letter.pk if n % 2 else other.pk)
    with CaptureQueriesContext(connection) as many:
        client.get(change_url(letter))
    assert len(few) == len(many) <= 15


def edit_form(letter, **changes):
    data = {
        "edited_body": letter.publishable_text,
        "headline": letter.headline,
        "version": moderation.text_version(letter),
        "new_note": "",
        "_continue": "1",
    }
    data.update(changes)
    return data


def test_saving_the_letter_page_keeps_the_original_and_records_the_edit(client):
    letter = make_letter(body="Sir, one two three four five.")
    logged_in(client, sub_editor())
    response = client.post(
        change_url(letter),
        edit_form(
            letter,
            edited_body="Sir, one two.",
            headline="Counting",
            new_note="Cut the end.",
            status="spam",
        ),
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.body, letter.edited_body, letter.headline) == (
        "Sir, one two three four five.",
        "Sir, one two.",
        "Counting",
    )
    assert letter.status == Status.RECEIVED  # status is never a form field
    assert LetterEvent.objects.get(letter=letter).action == "edited"
    assert Note.objects.get(letter=letter).text == "Cut the end."


def test_saving_over_another_editors_change_is_refused(client):
    letter = make_letter()
    stale = edit_form(letter, edited_body="My cut.")
    moderation.edit_text(letter.pk, edited_body="Their cut.")
    response = logged_in(client, editor()).post(change_url(letter), stale)
    assert response.status_code == 200
    assert "Another editor changed this letter" in response.content.decode()
    assert Letter.objects.get(pk=letter.pk).edited_body == "Their cut."


def test_an_emailed_letter_shows_its_raw_message_as_text_only(
    client, django_capture_on_commit_callbacks
):
    raw = (
        b"From: Ann Reader <ann@example.org>\r\nTo: letters@reaction.life\r\n"
        b"Subject: Trains\r\nMessage-ID: <raw-view@example.org>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Dear Editor, <script>alert(1)</script> caf\xe9 trains are late.\r\n\r\nAnn Reader\r\nLeeds\r\n"
    )
    with django_capture_on_commit_callbacks(execute=False):
        inbound, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(inbound.pk)
    letter = Letter.objects.get()

    page = logged_in(client, editor()).get(change_url(letter)).content.decode()

    assert "Email (accepted" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; café trains" in page
    assert "<script>alert(1)</script>" not in page


def test_raw_mail_that_is_not_utf8_is_shown_byte_for_byte():
    inbound = InboundEmail(raw=b"Subject: hi\r\n\r\ncaf\xe9")
    assert inbound.raw_text() == "Subject: hi\r\n\r\ncafé"
    assert InboundEmail(raw=b"x" * 10).raw_text(limit=4) == "xxxx\n\n[... 6 more bytes not shown]"


def test_the_reply_templates_are_editable_in_the_admin(client):
    template = rejection_template()
    url = reverse("admin:letters_replytemplate_change", args=[template.pk])
    response = logged_in(client, editor()).post(
        url,
        {
            "kind": "rejection",
            "name": template.name,
            "subject": "{% if name %}About {{ article_headline }}",
            "body": "Dear {{ name }}",
            "active": "on",
        },
    )
    assert response.status_code == 200  # the broken subject is refused
    assert "This template has an error" in response.content.decode()


def test_a_double_clicked_action_records_one_event(client):
    letter = make_letter()
    logged_in(client, editor())
    act(client, "approve_letters", [letter])
    second = act(client, "approve_letters", [letter])
    assert notes_of(second)[-1] == "1 already approved: nothing changed."
    assert LetterEvent.objects.filter(letter=letter).count() == 1
