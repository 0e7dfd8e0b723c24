"""The desk's operations in letters.moderation: transitions, permissions, edits, policies."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.utils import timezone

from letters import moderation, notifications, tasks
from letters.models import TRANSITIONS, Letter, LetterEvent, Note, Reply, Status
from letters.tests.factories import (
    editor,
    make_article,
    make_edition,
    make_letter,
    make_user,
    rejection_template,
    sub_editor,
)

pytestmark = pytest.mark.django_db


def move_to(status, letter, actor):
    """The desk's named operation that moves a letter to `status`."""
    operations = {
        Status.RECEIVED: lambda: moderation.reconsider(letter.pk, actor=actor),
        Status.SHORTLISTED: lambda: moderation.shortlist(letter.pk, actor=actor),
        Status.APPROVED: lambda: moderation.approve(letter.pk, actor=actor),
        Status.PUBLISHED: lambda: moderation.publish(letter.pk, actor=actor),
        Status.REJECTED: lambda: moderation.reject(letter.pk, reason="not_selected", actor=actor),
        Status.SPAM: lambda: moderation.mark_spam(letter.pk, actor=actor),
        Status.WITHDRAWN: lambda: moderation.withdraw(letter.pk, actor=actor),
        Status.EXPIRED: lambda: moderation.expire(letter.pk, actor=actor),
    }
    return operations[status]()


ALL_MOVES = [
    (source, target)
    for source in Status
    for target in Status
    if source != target and target != Status.UNCONFIRMED
]


@pytest.mark.parametrize(("source", "target"), ALL_MOVES, ids=lambda s: str(s))
def test_every_move_in_the_table_works_and_every_other_is_refused(source, target):
    letter = make_letter(status=source)
    actor = make_user("superuser")
    if target in TRANSITIONS[source]:
        letter, changed = move_to(target, letter, actor)
        assert changed
        assert Letter.objects.get(pk=letter.pk).status == target
        event = LetterEvent.objects.get(letter=letter)
        assert (event.from_status, event.to_status, event.actor) == (source, target, actor)
    else:
        with pytest.raises(moderation.TransitionNotAllowed):
            move_to(target, letter, actor)
        assert Letter.objects.get(pk=letter.pk).status == source
        assert not LetterEvent.objects.filter(letter=letter).exists()


@pytest.mark.parametrize("source", list(Status), ids=str)
def test_no_operation_moves_a_letter_back_to_unconfirmed(source):
    letter = make_letter(status=source)
    if source == Status.UNCONFIRMED:
        assert moderation.transition(letter.pk, Status.UNCONFIRMED, action="x") == (letter, False)
        return
    with pytest.raises(moderation.TransitionNotAllowed):
        moderation.transition(letter.pk, Status.UNCONFIRMED, action="x")


@pytest.mark.parametrize(
    "target",
    [s for s in Status if s not in (Status.UNCONFIRMED, Status.PUBLISHED)],
    ids=str,
)
def test_asking_twice_records_one_event(target):
    source = Status.APPROVED if target == Status.SHORTLISTED else Status.RECEIVED
    if target == Status.RECEIVED:
        source = Status.SHORTLISTED
    letter = make_letter(status=source)
    actor = make_user("superuser")
    move_to(target, letter, actor)
    _, changed = move_to(target, letter, actor)
    assert not changed
    assert LetterEvent.objects.filter(letter=letter).count() == 1


def test_publishing_twice_records_one_event():
    letter = make_letter(status=Status.APPROVED)
    moderation.publish(letter.pk)
    _, changed = moderation.publish(letter.pk)
    assert not changed
    assert LetterEvent.objects.filter(letter=letter, action="published").count() == 1


def test_scheduling_keeps_the_letter_approved_with_a_publication_time():
    letter = make_letter(status=Status.APPROVED)
    at = timezone.now() + timedelta(hours=3)
    letter, changed = moderation.schedule(letter.pk, at=at)
    assert changed
    assert (letter.status, letter.publish_at) == (Status.APPROVED, at)
    assert LetterEvent.objects.get(letter=letter).action == "scheduled"


def test_unpublishing_a_letter_that_is_not_published_is_refused():
    letter = make_letter(status=Status.APPROVED)
    with pytest.raises(moderation.TransitionNotAllowed, match="Only a published letter"):
        moderation.unpublish(letter.pk)


def test_rejection_records_the_reason_code():
    letter = make_letter()
    letter, _ = moderation.reject(letter.pk, reason="campaign", note="Same as 40 others.")
    assert letter.rejection_reason == "campaign"
    assert LetterEvent.objects.get(letter=letter).note == (
        "Part of an organised campaign. Same as 40 others."
    )


def test_rejection_with_an_unknown_reason_is_refused():
    letter = make_letter()
    with pytest.raises(ValueError):
        moderation.reject(letter.pk, reason="bored")
    assert Letter.objects.get(pk=letter.pk).status == Status.RECEIVED


def test_reconsidering_a_rejected_letter_clears_its_reason():
    letter = make_letter()
    moderation.reject(letter.pk, reason="off_topic")
    letter, _ = moderation.reconsider(letter.pk)
    assert (letter.status, letter.rejection_reason, letter.decided_at) == (
        Status.RECEIVED,
        "",
        None,
    )


# Permissions ---------------------------------------------------------------------------------

SUB_EDITOR_ALLOWED = {"shortlist", "edit_text", "add_note"}


def attempt(operation, letter, actor):
    article = make_article()
    calls = {
        "shortlist": lambda: moderation.shortlist(letter.pk, actor=actor),
        "approve": lambda: moderation.approve(letter.pk, actor=actor),
        "reject": lambda: moderation.reject(letter.pk, reason="not_selected", actor=actor),
        "mark_spam": lambda: moderation.mark_spam(letter.pk, actor=actor),
        "reconsider": lambda: moderation.reconsider(letter.pk, actor=actor),
        "withdraw": lambda: moderation.withdraw(letter.pk, actor=actor),
        "expire": lambda: moderation.expire(letter.pk, actor=actor),
        "assign_to_article": lambda: moderation.assign_to_article(
            letter.pk, article.pk, actor=actor
        ),
        "edit_text": lambda: moderation.edit_text(letter.pk, edited_body="Cut.", actor=actor),
        "add_note": lambda: moderation.add_note(letter.pk, "Check the phone.", actor=actor),
        "publish": lambda: moderation.publish(letter.pk, actor=actor),
        "unpublish": lambda: moderation.unpublish(letter.pk, actor=actor),
        "arrange_edition": lambda: moderation.add_to_edition(
            make_edition().pk, [letter.pk], actor=actor
        ),
    }
    return calls[operation]()


def start_status(operation):
    return {
        "reconsider": Status.SHORTLISTED,
        "publish": Status.APPROVED,
        "unpublish": Status.PUBLISHED,
    }.get(operation, Status.RECEIVED)


# The operations on a letter (process_again acts on inbound email: see test_admin_intake.py;
# a writer's export and erasure, and deleting a letter, leave no letter to look at: see
# test_writers.py; creating an edition acts on no letter: see test_moderation_editions.py).
LETTER_OPERATIONS = sorted(
    set(moderation.PERMISSIONS) - {"process_again", "export", "erase", "delete", "create_edition"}
)


@pytest.mark.parametrize("operation", LETTER_OPERATIONS)
def test_a_sub_editor_may_only_edit_shortlist_and_note(operation):
    letter = make_letter(status=start_status(operation))
    actor = sub_editor()
    if operation in SUB_EDITOR_ALLOWED:
        attempt(operation, letter, actor)
        assert LetterEvent.objects.filter(letter=letter).exists() or letter.notes.exists()
    else:
        with pytest.raises(moderation.NotPermitted):
            attempt(operation, letter, actor)
        assert Letter.objects.get(pk=letter.pk).status == letter.status
        assert not LetterEvent.objects.filter(letter=letter).exists()


@pytest.mark.parametrize("operation", LETTER_OPERATIONS)
def test_a_letters_editor_may_do_everything(operation):
    letter = make_letter(status=start_status(operation))
    attempt(operation, letter, editor())
    assert LetterEvent.objects.filter(letter=letter).exists() or letter.notes.exists()


def test_staff_outside_both_groups_may_do_nothing():
    letter = make_letter()
    nobody = make_user()
    for operation in moderation.PERMISSIONS:
        assert not moderation.can(nobody, operation)
    with pytest.raises(moderation.NotPermitted):
        moderation.shortlist(letter.pk, actor=nobody)


def test_a_sub_editor_cannot_change_the_text_of_a_published_letter():
    letter = make_letter(status=Status.PUBLISHED)
    with pytest.raises(moderation.NotPermitted):
        moderation.edit_text(
            letter.pk, edited_body="Changed after publication.", actor=sub_editor()
        )


# Editing -------------------------------------------------------------------------------------


def test_editing_keeps_the_writers_original():
    letter = make_letter(body="One two three four five six.")
    letter, changed = moderation.edit_text(
        letter.pk, edited_body="One two three.", headline="Counting", actor=sub_editor()
    )
    letter.refresh_from_db()
    assert changed
    assert letter.body == "One two three four five six."
    assert letter.word_count == 6
    assert (letter.edited_body, letter.headline, letter.publishable_text) == (
        "One two three.",
        "Counting",
        "One two three.",
    )
    event = LetterEvent.objects.get(letter=letter)
    assert event.action == "edited"
    assert (event.from_status, event.to_status) == ("", "")
    assert event.note == "6 -> 3 words (original 6). Headline: 'Counting'."


def test_saving_the_same_text_twice_records_one_edit():
    letter = make_letter()
    version = moderation.text_version(letter)
    moderation.edit_text(letter.pk, edited_body="Shorter.", expected_version=version)
    _, changed = moderation.edit_text(letter.pk, edited_body="Shorter.", expected_version=version)
    assert not changed
    assert LetterEvent.objects.filter(letter=letter, action="edited").count() == 1


def test_an_edit_made_from_a_stale_version_is_refused_not_lost():
    letter = make_letter()
    version = moderation.text_version(letter)
    moderation.edit_text(letter.pk, edited_body="First editor's cut.", expected_version=version)
    with pytest.raises(moderation.EditConflict):
        moderation.edit_text(
            letter.pk, edited_body="Second editor's cut.", expected_version=version
        )
    assert Letter.objects.get(pk=letter.pk).edited_body == "First editor's cut."


def test_an_edit_identical_to_the_original_stores_no_edited_version():
    letter = make_letter(body="Sir, short and sweet.")
    _, changed = moderation.edit_text(letter.pk, edited_body="Sir, short and sweet.\r\n")
    assert not changed
    assert Letter.objects.get(pk=letter.pk).edited_body == ""


# Notes and articles --------------------------------------------------------------------------


def test_a_double_clicked_note_is_stored_once():
    letter = make_letter()
    actor = sub_editor()
    moderation.add_note(letter.pk, "Phoned: confirmed.", actor=actor)
    _, created = moderation.add_note(letter.pk, "Phoned: confirmed. ", actor=actor)
    assert not created
    assert Note.objects.filter(letter=letter).count() == 1


def test_assigning_a_letter_to_another_article_is_recorded():
    letter = make_letter()
    target = make_article(headline="The right article")
    letter, changed = moderation.assign_to_article(letter.pk, target.pk, actor=editor())
    assert changed and letter.article == target
    event = LetterEvent.objects.get(letter=letter)
    assert event.action == "assigned to article"
    assert "The right article" in event.note
    assert moderation.assign_to_article(letter.pk, target.pk)[1] is False


# Replies -------------------------------------------------------------------------------------


def test_a_rejection_reply_is_sent_once_after_commit(
    django_capture_on_commit_callbacks, mailoutbox, monkeypatch
):
    monkeypatch.setattr(tasks.send_reply, "apply_async", lambda args: tasks.send_reply(*args))
    letter = make_letter(name="Jane Smith")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        moderation.reject(letter.pk, reason="not_selected", reply_template=rejection_template())
        assert mailoutbox == []
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [letter.email]
    assert mailoutbox[0].body.startswith("Dear Jane Smith, sorry: Not selected (space).")
    assert mailoutbox[0].extra_headers["Auto-Submitted"] == "auto-replied"
    reply = Reply.objects.get(letter=letter)
    assert reply.sent_at is not None
    assert notifications.send_reply(reply.pk) is False
    assert len(mailoutbox) == 1


def test_when_the_desk_replies_only_to_published_letters_a_rejection_sends_nothing(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED = True
    letter = make_letter()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        moderation.reject(letter.pk, reason="not_selected", reply_template=rejection_template())
    assert callbacks == []
    assert not Reply.objects.exists()
    assert LetterEvent.objects.filter(letter=letter, action="no reply").exists()


# Policies ------------------------------------------------------------------------------------


def flags(letter):
    return Letter.objects.with_flags().get(pk=letter.pk)


def test_a_writer_published_within_the_frequency_window_is_flagged(settings):
    settings.LETTERS_WRITER_FREQUENCY_DAYS = 14
    make_letter(
        email="Jane@Example.com",
        status=Status.PUBLISHED,
        published_at=timezone.now() - timedelta(days=3),
    )
    letter = make_letter(email="jane@example.com")
    assert flags(letter).writer_published_recently
    assert Letter.objects.flagged("published_recently").filter(pk=letter.pk).exists()


def test_a_writer_published_before_the_window_is_not_flagged(settings):
    settings.LETTERS_WRITER_FREQUENCY_DAYS = 14
    make_letter(
        email="jane@example.com",
        status=Status.PUBLISHED,
        published_at=timezone.now() - timedelta(days=20),
    )
    letter = make_letter(email="jane@example.com")
    assert not flags(letter).writer_published_recently


def test_a_published_letter_does_not_flag_itself_and_zero_days_turns_the_flag_off(settings):
    published = make_letter(status=Status.PUBLISHED, published_at=timezone.now())
    assert not flags(published).writer_published_recently
    make_letter(email=published.email)
    settings.LETTERS_WRITER_FREQUENCY_DAYS = 0
    assert not Letter.objects.with_flags().filter(writer_published_recently=True).exists()


def test_letters_with_the_same_words_are_possible_duplicates():
    first = make_letter(body="Sir, the bridge must be saved!")
    second = make_letter(body="sir -- The bridge MUST be saved.")
    other = make_letter(body="Sir, the bridge must go.")
    assert flags(first).possible_duplicate and flags(second).possible_duplicate
    assert not flags(other).possible_duplicate


def test_a_letter_written_after_letters_closed_is_flagged_late_not_dropped(settings):
    settings.LETTERS_CLOSE_AFTER_DAYS = 7
    article = make_article(published_at=timezone.now() - timedelta(days=10))
    late = make_letter(article=article, channel="email")
    on_time = make_letter(article=article, created_at=timezone.now() - timedelta(days=5))
    assert not article.accepts_letters()
    assert late.arrived_late and not on_time.arrived_late
    assert list(Letter.objects.flagged("late")) == [late]


def test_the_form_refuses_letters_once_letters_close(client, settings):
    settings.LETTERS_CLOSE_AFTER_DAYS = 7
    article = make_article(published_at=timezone.now() - timedelta(days=8))
    response = client.post(
        article.get_absolute_url(),
        {
            "name": "A",
            "email": "a@example.com",
            "town": "B",
            "body": "Late words.",
            "exclusive": "on",
            "consent": "on",
        },
    )
    assert response.status_code == 200
    assert not Letter.objects.filter(article=article).exists()


def test_over_the_soft_limit_is_flagged_but_stored(settings):
    settings.LETTERS_SOFT_WORD_LIMIT = 5
    long = make_letter(body="one two three four five six", channel="email")
    make_letter(body="one two")
    assert list(Letter.objects.flagged("over_limit")) == [long]


# Expiry --------------------------------------------------------------------------------------


def test_undecided_letters_expire_silently_after_the_set_days(settings, mailoutbox):
    settings.LETTERS_EXPIRE_AFTER_DAYS = 14
    old = timezone.now() - timedelta(days=15)
    received = make_letter(created_at=old)
    shortlisted = make_letter(created_at=old, status=Status.SHORTLISTED)
    unconfirmed = make_letter(created_at=old, status=Status.UNCONFIRMED)
    approved = make_letter(created_at=old, status=Status.APPROVED)
    recent = make_letter(created_at=timezone.now() - timedelta(days=13))
    assert moderation.expire_undecided() == 3
    statuses = dict(Letter.objects.values_list("pk", "status"))
    assert (
        statuses[received.pk] == statuses[shortlisted.pk] == statuses[unconfirmed.pk] == "expired"
    )
    assert statuses[approved.pk] == "approved"
    assert statuses[recent.pk] == "received"
    assert mailoutbox == []
    event = LetterEvent.objects.get(letter=received)
    assert (event.actor_label, event.note) == ("system", "No decision within 14 days.")
    assert moderation.expire_undecided() == 0


def test_nothing_expires_when_expiry_is_off(settings):
    settings.LETTERS_EXPIRE_AFTER_DAYS = 0
    make_letter(created_at=timezone.now() - timedelta(days=400))
    assert moderation.expire_undecided() == 0


def test_the_expiry_task_is_on_the_beat_schedule(settings):
    entries = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "letters.tasks.expire_undecided_letters" in entries


# Concurrency (real PostgreSQL: SQLite serialises whole transactions) ------------------------

# Run only where DATABASE_URL is PostgreSQL (see letters/tests/environment.py), as .ci/run does.
needs_postgres = pytest.mark.postgres


def run_in_thread(function):
    errors = []

    def target():
        try:
            function()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def race(first, second):
    """Run `first` in a transaction that holds its row lock while `second` starts in another
    thread; release it half a second later. Returns (errors_first, errors_second,
    second_waited): whether `second` was still blocked when the lock was released."""
    holding = threading.Event()
    release = threading.Event()

    def first_and_hold():
        with transaction.atomic():
            first()
            holding.set()
            release.wait(5)  # still holding the row lock

    thread_a, errors_a = run_in_thread(first_and_hold)
    assert holding.wait(5)
    thread_b, errors_b = run_in_thread(second)
    thread_b.join(0.5)
    second_waited = thread_b.is_alive()
    release.set()
    thread_a.join(5)
    thread_b.join(5)
    return errors_a, errors_b, second_waited


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_editors_approving_at_once_record_one_approval():
    letter = make_letter()
    first, second = editor(), editor()
    errors_a, errors_b, second_waited = race(
        lambda: moderation.approve(letter.pk, actor=first),
        lambda: moderation.approve(letter.pk, actor=second),
    )
    assert second_waited, "the second editor should wait for the first's lock"
    assert errors_a == errors_b == []
    events = LetterEvent.objects.filter(letter=letter)
    assert [(e.action, e.actor_id) for e in events] == [("approved", first.pk)]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_rejection_racing_an_approval_sees_the_approval():
    letter = make_letter()
    errors_a, errors_b, _ = race(
        lambda: moderation.approve(letter.pk, actor=editor()),
        lambda: moderation.reject(letter.pk, reason="not_selected", actor=editor()),
    )
    assert errors_a == errors_b == []
    moves = [(e.from_status, e.to_status) for e in LetterEvent.objects.filter(letter=letter)]
    assert moves == [("received", "approved"), ("approved", "rejected")]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_editors_saving_different_edits_at_once_cannot_lose_one():
    letter = make_letter()
    version = moderation.text_version(letter)
    errors_a, errors_b, _ = race(
        lambda: moderation.edit_text(letter.pk, edited_body="First.", expected_version=version),
        lambda: moderation.edit_text(letter.pk, edited_body="Second.", expected_version=version),
    )
    assert errors_a == []
    assert [type(e) for e in errors_b] == [moderation.EditConflict]
    assert Letter.objects.get(pk=letter.pk).edited_body == "First."


def test_the_expiry_task_expires_through_the_moderation_module(settings):
    settings.LETTERS_EXPIRE_AFTER_DAYS = 3
    letter = make_letter(created_at=timezone.now() - timedelta(days=4))
    tasks.expire_undecided_letters()
    assert Letter.objects.get(pk=letter.pk).status == Status.EXPIRED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_confirmation_racing_a_spam_decision_leaves_the_letter_spam():
    letter = make_letter(status=Status.UNCONFIRMED)
    # The writer's click reads the letter while the editor holds it.
    errors_a, errors_b, _ = race(
        lambda: moderation.mark_spam(letter.pk, actor=editor()),
        lambda: moderation.confirm(letter.pk),
    )
    assert errors_a == errors_b == []
    letter.refresh_from_db()
    assert letter.status == Status.SPAM
    assert not LetterEvent.objects.filter(letter=letter, action="confirmed").exists()


def test_a_sub_editor_cannot_take_an_approved_letter_back_to_the_shortlist():
    at = timezone.now() + timedelta(days=1)
    letter = make_letter(status=Status.APPROVED, publish_at=at)
    with pytest.raises(moderation.NotPermitted):
        moderation.shortlist(letter.pk, actor=sub_editor())
    letter.refresh_from_db()
    assert (letter.status, letter.publish_at) == (Status.APPROVED, at)
    assert not LetterEvent.objects.filter(letter=letter).exists()


def test_a_sub_editor_shortlists_from_the_queue_and_an_editor_from_approved():
    queued, approved = make_letter(), make_letter(status=Status.APPROVED)
    moderation.shortlist(queued.pk, actor=sub_editor())
    moderation.shortlist(approved.pk, actor=editor())
    assert set(Letter.objects.values_list("status", flat=True)) == {Status.SHORTLISTED}


def decider_without_publishing():
    """A staff user who may decide on letters but not publish or unpublish them."""
    user = make_user()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="letters", codename="decide_letter")
    )
    return User.objects.get(pk=user.pk)  # a fresh instance: permissions are cached


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_racing_a_publication_needs_the_publishers_permission():
    letter = make_letter(status=Status.APPROVED)
    # The withdrawal reads "is it published?" only once it holds the row.
    errors_a, errors_b, second_waited = race(
        lambda: moderation.publish(letter.pk, actor=editor()),
        lambda: moderation.withdraw(letter.pk, actor=decider_without_publishing()),
    )
    assert second_waited
    assert errors_a == []
    assert [type(e) for e in errors_b] == [moderation.NotPermitted]
    assert Letter.objects.get(pk=letter.pk).status == Status.PUBLISHED
