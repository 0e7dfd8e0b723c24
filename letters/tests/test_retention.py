"""Personal data purged on schedule: phone and address of decided letters."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from letters import moderation, tasks
from letters.models import Letter, LetterEvent, Status
from letters.retention import PURGED, purge_contact_details

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def letter_with_contact(status=Status.RECEIVED, **fields):
    letter = Letter.objects.create(
        body="The trains are late again.",
        name="Ann Reader",
        email="ann@example.org",
        town="Leeds",
        phone="0113 496 0000",
        address="1 Station Road\nLeeds",
        **fields,
    )
    Letter.objects.filter(pk=letter.pk).update(status=status)
    return letter


def decided(status, days_ago, **fields):
    when = timezone.now() - days_ago * DAY
    if status == Status.PUBLISHED:
        return letter_with_contact(status, published_at=when, decided_at=when - DAY, **fields)
    return letter_with_contact(status, decided_at=when, **fields)


def contact(letter):
    letter.refresh_from_db()
    return letter.phone, letter.address


def purge_events():
    return LetterEvent.objects.filter(action=PURGED)


@pytest.mark.parametrize("status", [Status.REJECTED, Status.SPAM, Status.EXPIRED, Status.PUBLISHED])
def test_contact_details_of_a_letter_decided_long_ago_are_purged(settings, status):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    letter = decided(status, 31)

    assert purge_contact_details() == 1

    assert contact(letter) == ("", "")
    letter.refresh_from_db()
    assert (letter.name, letter.town, letter.email) == ("Ann Reader", "Leeds", "ann@example.org")
    [event] = purge_events()
    assert event.letter == letter
    assert event.actor_label == "system"
    assert event.to_status == ""


def test_a_letter_withdrawn_long_ago_is_purged_by_the_date_it_was_withdrawn(settings):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    old = letter_with_contact()
    recent = letter_with_contact()
    for letter in (old, recent):
        moderation.withdraw(letter.pk, actor_label="writer")
    LetterEvent.objects.filter(letter=old, to_status=Status.WITHDRAWN).update(
        created_at=timezone.now() - 31 * DAY
    )

    assert purge_contact_details() == 1

    assert contact(old) == ("", "")
    assert contact(recent) != ("", "")


def test_undecided_and_recently_decided_letters_keep_their_contact_details(settings):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = 120
    kept = [
        letter_with_contact(Status.RECEIVED, created_at=timezone.now() - 90 * DAY),
        letter_with_contact(Status.SHORTLISTED, created_at=timezone.now() - 90 * DAY),
        letter_with_contact(Status.UNCONFIRMED, created_at=timezone.now() - 90 * DAY),
        # Approved long ago but not yet published: still needs verifying.
        decided(Status.APPROVED, 90),
        decided(Status.REJECTED, 29),
        # Rejected at first (decided_at long ago) but published only last week.
        letter_with_contact(
            Status.PUBLISHED,
            decided_at=timezone.now() - 90 * DAY,
            published_at=timezone.now() - 7 * DAY,
        ),
    ]

    assert purge_contact_details() == 0

    assert all(contact(letter) != ("", "") for letter in kept)
    assert not purge_events().exists()


def test_a_second_run_purges_nothing_and_records_nothing_more(settings):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    old = [decided(Status.REJECTED, 40) for _ in range(3)]
    decided(Status.REJECTED, 5)

    assert purge_contact_details() == 3
    assert purge_contact_details() == 0

    assert purge_events().count() == 3
    assert all(contact(letter) == ("", "") for letter in old)


def test_a_letter_that_never_gave_contact_details_records_no_event(settings):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    letter = decided(Status.REJECTED, 40)
    Letter.objects.filter(pk=letter.pk).update(phone="", address="")

    assert purge_contact_details() == 0
    assert not purge_events().exists()


def test_zero_days_means_contact_details_are_never_purged(settings):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 0
    settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = 0
    letter = decided(Status.REJECTED, 400)
    letter_with_contact(Status.RECEIVED, created_at=timezone.now() - 400 * DAY)

    assert purge_contact_details() == 0
    assert contact(letter) != ("", "")


def test_many_letters_are_purged_in_a_few_queries(settings, django_assert_max_num_queries):
    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = 0
    for _ in range(50):
        decided(Status.REJECTED, 40)

    # Per batch: select (locked), update, insert; plus the empty select that ends the loop,
    # and savepoints/transaction statements.
    with django_assert_max_num_queries(10):
        assert purge_contact_details() == 50


def test_the_purge_runs_daily_on_celery_beat(settings):
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-contact-details"]
    assert entry["task"] == "letters.tasks.purge_contact_details"
    assert entry["schedule"] == 24 * 3600

    settings.LETTERS_PURGE_CONTACT_DETAILS_DAYS = 30
    letter = decided(Status.SPAM, 31)
    tasks.purge_contact_details.apply()  # the task body calls the plain function

    assert contact(letter) == ("", "")


@pytest.mark.parametrize("status", [Status.UNCONFIRMED, Status.RECEIVED, Status.SHORTLISTED])
def test_a_letter_nobody_decided_on_loses_its_contact_details_after_the_set_time(settings, status):
    settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = 90
    old = letter_with_contact(status, created_at=timezone.now() - 91 * DAY)
    recent = letter_with_contact(status, created_at=timezone.now() - 89 * DAY)

    assert purge_contact_details() == 1

    assert contact(old) == ("", "") and contact(recent) != ("", "")
    event = purge_events().get()
    assert (event.letter_id, event.actor_label) == (old.pk, "system")
    assert "90 days after the letter arrived, undecided" in event.note
    assert Letter.objects.get(pk=old.pk).status == status  # still waiting for a decision


def test_an_approved_letter_awaiting_publication_keeps_its_contact_details(settings):
    settings.LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = 90
    approved = letter_with_contact(Status.APPROVED, created_at=timezone.now() - 200 * DAY)

    purge_contact_details()

    assert contact(approved) != ("", "")
