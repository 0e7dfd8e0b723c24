"""Publishing letters and editions, now or at a set time (letters.moderation, publication)."""

import datetime
import threading

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from letters import moderation, tasks
from letters.models import Edition, EditionEvent, EditionLetter, EditionStatus, LetterEvent, Status

from .factories import editor, make_approved_letter, make_edition, make_letter, sub_editor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker

SOON = datetime.timedelta(hours=2)


def test_publishing_an_approved_letter_makes_it_published_with_a_date_and_an_event():
    letter = make_approved_letter()

    letter, changed = moderation.publish(letter.pk, actor_label="editor")

    assert changed
    assert letter.status == Status.PUBLISHED
    assert letter.published_at is not None
    event = LetterEvent.objects.get(letter=letter)
    assert (event.action, event.from_status, event.to_status) == (
        "published",
        Status.APPROVED,
        Status.PUBLISHED,
    )


def test_publishing_twice_records_one_event():
    letter = make_approved_letter()
    moderation.publish(letter.pk)

    _, changed = moderation.publish(letter.pk)

    assert not changed
    assert LetterEvent.objects.filter(letter=letter).count() == 1


@pytest.mark.parametrize(
    "status", [s for s in Status if s not in (Status.APPROVED, Status.PUBLISHED)]
)
def test_only_an_approved_letter_can_be_published(status):
    letter = make_letter(status=status)

    with pytest.raises(moderation.TransitionNotAllowed):
        moderation.publish(letter.pk)


def test_publishing_at_a_future_time_leaves_the_letter_approved_with_its_time():
    letter = make_approved_letter()
    at = timezone.now() + SOON

    letter, changed = moderation.schedule(letter.pk, at=at)

    assert changed
    letter.refresh_from_db()
    assert (letter.status, letter.publish_at) == (Status.APPROVED, at)
    assert LetterEvent.objects.get(letter=letter).action == "scheduled"


def test_scheduling_a_letter_that_is_not_approved_is_refused():
    letter = make_letter(status=Status.RECEIVED)

    with pytest.raises(moderation.TransitionNotAllowed):
        moderation.schedule(letter.pk, at=timezone.now() + SOON)


@pytest.mark.parametrize("move", ["shortlist", "reject"])
def test_a_scheduled_letter_taken_off_the_approved_list_loses_its_time(move):
    letter = make_approved_letter()
    moderation.schedule(letter.pk, at=timezone.now() + SOON)
    if move == "shortlist":
        moderation.shortlist(letter.pk)
    else:
        moderation.reject(letter.pk, reason="not_selected")
        moderation.reconsider(letter.pk)

    moderation.approve(letter.pk)  # approved again, for another day
    moderation.publish_due(now=timezone.now() + 2 * SOON)

    letter.refresh_from_db()
    assert (letter.status, letter.publish_at) == (Status.APPROVED, None)


def test_unpublishing_withdraws_a_published_letter_once():
    letter = make_letter(status=Status.PUBLISHED)

    moderation.unpublish(letter.pk, note="Writer asked")
    _, changed = moderation.unpublish(letter.pk)

    letter.refresh_from_db()
    assert letter.status == Status.WITHDRAWN
    assert not changed
    assert LetterEvent.objects.filter(letter=letter, action="unpublished").count() == 1


def test_publishing_an_edition_publishes_every_letter_in_it_at_the_same_moment():
    letters = [make_approved_letter() for _ in range(3)]
    edition = make_edition(letters, lead=letters[1])

    edition, changed = moderation.publish_edition(edition.pk)

    assert changed
    assert edition.status == EditionStatus.PUBLISHED
    for letter in letters:
        letter.refresh_from_db()
        assert letter.status == Status.PUBLISHED
        assert letter.published_at == edition.published_at


def test_publishing_an_edition_twice_changes_nothing_the_second_time():
    letter = make_approved_letter()
    edition = make_edition([letter])
    moderation.publish_edition(edition.pk)

    _, changed = moderation.publish_edition(edition.pk)

    assert not changed
    assert LetterEvent.objects.filter(letter=letter, action="published").count() == 1


def test_an_edition_with_an_unapproved_letter_is_refused_naming_it_and_nothing_is_published():
    ready = make_approved_letter()
    not_ready = make_letter(status=Status.SHORTLISTED, name="Ann Other")
    edition = make_edition([ready, not_ready])

    with pytest.raises(moderation.EditionNotReady, match="Ann Other, Hexham \\(shortlisted\\)"):
        moderation.publish_edition(edition.pk)

    ready.refresh_from_db()
    edition.refresh_from_db()
    assert ready.status == Status.APPROVED
    assert edition.status == EditionStatus.DRAFT


def test_an_empty_edition_is_refused():
    edition = make_edition([])

    with pytest.raises(moderation.EditionNotReady, match="no letters"):
        moderation.publish_edition(edition.pk)


def test_an_edition_may_hold_a_letter_that_is_already_published():
    published = make_letter(status=Status.PUBLISHED)
    edition = make_edition([published, make_approved_letter()])

    _, changed = moderation.publish_edition(edition.pk)

    assert changed
    assert not LetterEvent.objects.filter(letter=published).exists()


def test_an_edition_has_at_most_one_lead_letter():
    edition = make_edition([])
    EditionLetter.objects.create(edition=edition, letter=make_approved_letter(), is_lead=True)

    with pytest.raises(IntegrityError):
        EditionLetter.objects.create(edition=edition, letter=make_approved_letter(), is_lead=True)


def test_a_letter_appears_once_in_an_edition():
    letter = make_approved_letter()
    edition = make_edition([letter])

    with pytest.raises(IntegrityError):
        EditionLetter.objects.create(edition=edition, letter=letter, position=9)


def test_scheduling_an_edition_sets_its_time_and_publishes_nothing_yet():
    letter = make_approved_letter()
    edition = make_edition([letter])
    at = timezone.now() + SOON

    edition, changed = moderation.schedule_edition(edition.pk, at=at)

    assert changed
    assert (edition.status, edition.publish_at) == (EditionStatus.SCHEDULED, at)
    letter.refresh_from_db()
    assert letter.status == Status.APPROVED


def test_scheduling_an_edition_with_an_unapproved_letter_is_refused_at_once():
    edition = make_edition([make_letter(status=Status.RECEIVED)])

    with pytest.raises(moderation.EditionNotReady):
        moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)

    edition.refresh_from_db()
    assert edition.status == EditionStatus.DRAFT


def test_scheduling_for_a_time_already_past_publishes_now():
    edition = make_edition([make_approved_letter()])

    edition, _ = moderation.schedule_edition(edition.pk, at=timezone.now() - SOON)

    assert edition.status == EditionStatus.PUBLISHED


def test_a_scheduled_edition_can_go_back_to_draft():
    edition = make_edition([make_approved_letter()])
    moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)

    edition, changed = moderation.unschedule_edition(edition.pk)

    assert changed
    assert edition.status == EditionStatus.DRAFT


def test_a_sub_editor_cannot_cancel_a_scheduled_edition():
    edition = make_edition([make_approved_letter()])
    moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)

    with pytest.raises(moderation.NotPermitted):
        moderation.unschedule_edition(edition.pk, actor=sub_editor())

    edition.refresh_from_db()
    assert edition.status == EditionStatus.SCHEDULED


def test_publish_due_publishes_editions_and_letters_whose_time_has_come_and_no_others():
    due = make_edition([make_approved_letter()])
    later = make_edition([make_approved_letter()])
    moderation.schedule_edition(due.pk, at=timezone.now() + SOON)
    moderation.schedule_edition(later.pk, at=timezone.now() + 3 * SOON)
    single = make_approved_letter()
    moderation.schedule(single.pk, at=timezone.now() + SOON)

    result = moderation.publish_due(now=timezone.now() + SOON + datetime.timedelta(minutes=1))

    assert result == (1, 1)
    statuses = dict(Edition.objects.values_list("pk", "status"))
    assert statuses == {due.pk: EditionStatus.PUBLISHED, later.pk: EditionStatus.SCHEDULED}
    single.refresh_from_db()
    assert (single.status, single.publish_at) == (Status.PUBLISHED, None)


def test_publish_due_run_twice_publishes_each_letter_once():
    letter = make_approved_letter()
    edition = make_edition([letter])
    moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)
    later = timezone.now() + 2 * SOON

    first = moderation.publish_due(now=later)
    second = moderation.publish_due(now=later)

    assert (first, second) == ((1, 0), (0, 0))
    assert LetterEvent.objects.filter(letter=letter, action="published").count() == 1


def test_a_scheduled_edition_whose_letter_was_withdrawn_goes_back_to_draft_unpublished():
    withdrawn = make_approved_letter()
    kept = make_approved_letter()
    edition = make_edition([withdrawn, kept])
    moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)
    moderation.transition(withdrawn.pk, Status.WITHDRAWN, action="withdrawn")

    result = moderation.publish_due(now=timezone.now() + 2 * SOON)

    assert result == (0, 0)
    edition.refresh_from_db()
    kept.refresh_from_db()
    assert (edition.status, kept.status) == (EditionStatus.DRAFT, Status.APPROVED)


def test_the_beat_schedule_runs_publish_due(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "letters.tasks.publish_due" in entries


def test_the_publish_due_task_calls_the_plain_function(monkeypatch):
    calls = []
    monkeypatch.setattr(moderation, "publish_due", lambda: calls.append(True))

    tasks.publish_due.run()

    assert calls == [True]


@pytest.mark.django_db(transaction=True)
def test_two_workers_publishing_the_same_edition_at_once_publish_each_letter_once():
    letters = [make_approved_letter() for _ in range(3)]
    edition = make_edition(letters)
    results, start = [], threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(moderation.publish_edition(edition.pk)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]
    assert LetterEvent.objects.filter(action="published").count() == 3


def edition_history(edition):
    return [
        (e.action, e.from_status, e.to_status, e.who)
        for e in EditionEvent.objects.filter(edition=edition)
    ]


def test_every_change_of_an_editions_status_is_recorded_with_who_did_it_and_when():
    edition = make_edition([make_approved_letter()])
    desk = editor()
    started = timezone.now()

    moderation.schedule_edition(edition.pk, at=timezone.now() + SOON, actor=desk)
    moderation.unschedule_edition(edition.pk, actor=desk)
    moderation.publish_edition(edition.pk, actor=desk)

    assert edition_history(edition) == [
        ("scheduled", EditionStatus.DRAFT, EditionStatus.SCHEDULED, str(desk)),
        ("back to draft", EditionStatus.SCHEDULED, EditionStatus.DRAFT, str(desk)),
        ("published", EditionStatus.DRAFT, EditionStatus.PUBLISHED, str(desk)),
    ]
    assert all(started <= event.created_at <= timezone.now() for event in edition.events.all())


def test_repeating_an_editions_change_records_it_once():
    edition = make_edition([make_approved_letter()])
    at = timezone.now() + SOON

    for _ in range(2):
        moderation.schedule_edition(edition.pk, at=at)
        moderation.publish_edition(edition.pk)

    assert [action for action, *_ in edition_history(edition)] == ["scheduled", "published"]


def test_the_clock_records_its_publication_and_its_return_to_draft_with_the_reason():
    published = make_edition([make_approved_letter()])
    withdrawn = make_approved_letter()
    stopped = make_edition([withdrawn])
    for edition in (published, stopped):
        moderation.schedule_edition(edition.pk, at=timezone.now() + SOON)
    moderation.transition(withdrawn.pk, Status.WITHDRAWN, action="withdrawn")

    moderation.publish_due(now=timezone.now() + 2 * SOON)

    assert edition_history(published)[-1] == (
        "published",
        EditionStatus.SCHEDULED,
        EditionStatus.PUBLISHED,
        "schedule",
    )
    back = EditionEvent.objects.filter(edition=stopped).last()
    assert (back.action, back.actor_label) == ("back to draft", "schedule")
    assert "not approved" in back.note
