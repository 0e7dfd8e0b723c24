"""Content filtering: many links or spam phrases mark a letter suspect (never drop it), by the
form and by email; and the hook for the publisher's own spam service."""

import pytest

from letters import jobs, moderation
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import InboundStatus, Letter, Status, WayIn
from letters.suspect_text import suspect_content

from . import spam_service
from .factories import browser_form_data, make_letter, make_message, run_submitted_work
from .test_settings import start_with

LINKS = "See https://one.example/a, http://two.example/b and www.three.example/c."

# --- The check itself --------------------------------------------------------------------------


def test_three_links_make_a_letter_suspect_and_two_do_not():
    assert suspect_content(LINKS, max_links=3) == ["3 links"]
    assert suspect_content("https://one.example and https://two.example", max_links=3) == []


def test_the_link_threshold_zero_never_counts_links():
    assert suspect_content(LINKS * 5, max_links=0) == []


def test_spam_phrases_are_found_as_whole_words_in_any_case_and_spacing():
    text = "Try our SEO\n   Services, VIAGRA and a Crypto  investment."
    assert suspect_content(text, max_links=3) == [
        "spam phrases: crypto investment, seo services, viagra"
    ]


def test_words_that_merely_contain_a_spam_phrase_are_not_spam():
    assert suspect_content("The casinos of Blackpool; Cialisian logic.", max_links=3) == []


def test_an_ordinary_letter_is_not_suspect():
    assert suspect_content("Sir, the trains are late again. See www.gov.uk.", max_links=3) == []


# --- The form ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_letter_from_the_form_with_many_links_is_stored_suspect_and_asked_to_confirm(
    client, article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            article.get_absolute_url(), browser_form_data(client, article, body=f"Sir, {LINKS}")
        )
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert (letter.suspect, letter.suspect_reason) == (True, "3 links")
    assert letter.status == Status.UNCONFIRMED
    assert enqueued == [(jobs.LETTER_SUBMITTED, (letter.pk,))]  # one message; the worker:
    assert run_submitted_work(enqueued) == [
        (jobs.SEND_CONFIRMATION, (letter.pk,)),
        (jobs.ANALYSE_LETTER, (letter.pk,)),
    ]


@pytest.mark.django_db
def test_a_letter_from_the_form_with_a_spam_phrase_is_stored_suspect(client, article, enqueued):
    client.post(
        article.get_absolute_url(),
        browser_form_data(client, article, body="Sir, we offer SEO services cheaply."),
    )
    letter = Letter.objects.get()
    assert (letter.suspect, letter.suspect_reason) == (True, "spam phrases: seo services")


@pytest.mark.django_db
def test_an_ordinary_letter_from_the_form_is_not_suspect(client, article, enqueued):
    client.post(article.get_absolute_url(), browser_form_data(client, article))
    assert Letter.objects.get().suspect is False


@pytest.mark.django_db
def test_the_link_threshold_is_a_setting(client, article, enqueued, settings):
    settings.LETTERS_SUSPECT_LINKS = 0
    client.post(
        article.get_absolute_url(), browser_form_data(client, article, body=f"Sir, {LINKS}")
    )
    assert Letter.objects.get().suspect is False


# --- Email -------------------------------------------------------------------------------------


def receive(body, subject="Your article on trains", message_id="<letter-1@example.org>"):
    raw = make_message(subject=subject, body=body, message_id=message_id)
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(row.pk)
    row.refresh_from_db()
    return row


@pytest.mark.django_db
def test_an_emailed_letter_with_many_links_is_stored_suspect_and_not_acknowledged(
    article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = receive(f"Dear Editor,\n\n{LINKS}\nhttps://four.example/d\n\nAnn Reader\nLeeds\n")
        ordinary = receive(
            "Dear Editor,\n\nA fine article.\n\nBob Reader\nYork\n",
            message_id="<other@example.org>",
        )
    assert (jobs.SEND_EMAIL_ACKNOWLEDGEMENT, (ordinary.pk,)) in enqueued
    assert row.status == InboundStatus.ACCEPTED
    assert (row.letter.suspect, row.letter.suspect_reason) == (True, "4 links")
    assert row.letter.status == Status.RECEIVED
    assert (jobs.SEND_EMAIL_ACKNOWLEDGEMENT, (row.pk,)) not in enqueued


@pytest.mark.django_db
def test_a_spam_phrase_in_an_emails_subject_makes_its_letter_suspect(article, enqueued):
    row = receive("Dear Editor,\n\nA fine article.\n", subject="Bitcoin investment opportunity")
    assert row.letter.suspect_reason == "spam phrases: bitcoin investment"


# --- The publisher's spam service (LETTERS_SPAM_CHECK) ----------------------------------------


@pytest.fixture
def asked(settings):
    """The test spam service switched on; the calls it receives."""
    spam_service.ASKED.clear()
    settings.LETTERS_SPAM_CHECK = "letters.tests.spam_service.says_buy_now_is_spam"
    return spam_service.ASKED


@pytest.mark.django_db
def test_an_emailed_letter_is_checked_by_the_spam_service_while_processed(article, enqueued, asked):
    row = receive("Dear Editor,\n\nBuy now, while stocks last.\n\nAnn Reader\nLeeds\n")
    assert asked == [(row.letter.body, "ann@example.org")]
    assert row.letter.suspect_reason == "spam check: listed by the test service"
    assert row.status == InboundStatus.ACCEPTED


@pytest.mark.django_db
def test_a_failing_spam_service_marks_nothing_and_loses_nothing(article, enqueued, settings):
    settings.LETTERS_SPAM_CHECK = "letters.tests.spam_service.is_down"
    row = receive("Dear Editor,\n\nBuy now.\n\nAnn Reader\nLeeds\n")
    assert row.status == InboundStatus.ACCEPTED
    assert row.letter.suspect is False


@pytest.mark.django_db
def test_the_form_never_asks_the_spam_service_in_the_request_but_enqueues_the_check(
    client, article, enqueued, asked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            article.get_absolute_url(), browser_form_data(client, article, body="Sir, buy now!")
        )
    letter = Letter.objects.get()
    assert asked == []
    assert letter.suspect is False
    assert (jobs.CHECK_WITH_SPAM_SERVICE, (letter.pk,)) in run_submitted_work(enqueued)


@pytest.mark.django_db
def test_without_a_spam_service_no_check_is_enqueued(
    client, article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(article.get_absolute_url(), browser_form_data(client, article))
    started = run_submitted_work(enqueued)
    assert [name for name, _ in started] == [jobs.SEND_CONFIRMATION, jobs.ANALYSE_LETTER]


@pytest.mark.django_db
def test_the_spam_check_task_marks_a_web_letter_suspect_once_and_records_it(asked):
    letter = make_letter(status=Status.UNCONFIRMED, body="Sir, buy now!", suspect_reason="")
    assert moderation.check_with_spam_service(letter.pk) is True
    assert moderation.check_with_spam_service(letter.pk) is False
    letter.refresh_from_db()
    assert (letter.suspect, letter.suspect_reason) == (
        True,
        "spam check: listed by the test service",
    )
    assert letter.status == Status.UNCONFIRMED
    [event] = letter.events.all()
    assert (event.action, event.who, event.note) == (
        "marked suspect",
        "spam check",
        "spam check: listed by the test service",
    )


@pytest.mark.django_db
def test_the_spam_check_task_keeps_the_reasons_a_letter_already_has(asked):
    letter = make_letter(body="Sir, buy now! " + LINKS, suspect=True, suspect_reason="3 links")
    moderation.check_with_spam_service(letter.pk)
    letter.refresh_from_db()
    assert letter.suspect_reason == "3 links; spam check: listed by the test service"


@pytest.mark.django_db
def test_the_spam_check_task_leaves_a_clean_letter_alone(asked):
    letter = make_letter(body="Sir, the trains are late.")
    assert moderation.check_with_spam_service(letter.pk) is False
    assert not Letter.objects.get(pk=letter.pk).suspect
    assert not letter.events.exists()


def test_a_spam_check_that_is_not_a_dotted_path_stops_the_desk_at_start_up():
    result = start_with({"LETTERS_SPAM_CHECK": "not a path"})
    assert result.returncode != 0
    assert "LETTERS_SPAM_CHECK must be a dotted path" in result.stderr
