"""Assembling an edition through letters.moderation: add, take out, order, recorded each time."""

import datetime

import pytest
from django.utils import timezone

from letters import moderation
from letters.models import Edition, EditionEvent, EditionLetter, Letter, LetterEvent, Status

from .factories import editor, make_approved_letter, make_edition, make_letter, sub_editor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued", "desk_defaults")]


def order_of(edition):
    """(letter name, position, is_lead) lead first, as the edition page shows them."""
    return list(
        edition.entries.order_by("-is_lead", "position").values_list(
            "letter__name", "position", "is_lead"
        )
    )


def test_adding_letters_to_an_empty_edition_puts_them_in_order_with_the_first_leading():
    user = editor()
    edition = make_edition()
    first, second = (
        make_approved_letter(name="Ann"),
        make_letter(status=Status.SHORTLISTED, name="Bob"),
    )

    _, added, refused = moderation.add_to_edition(edition.pk, [first.pk, second.pk], actor=user)

    assert (added, refused) == ([first, second], [])
    assert order_of(edition) == [("Ann", 1, True), ("Bob", 2, False)]


def test_adding_is_recorded_in_the_editions_history_and_each_letters_trail():
    user = editor()
    edition = make_edition()
    letter = make_approved_letter(name="Ann")

    moderation.add_to_edition(edition.pk, [letter.pk], actor=user)

    event = EditionEvent.objects.get(edition=edition)
    assert (event.action, event.actor, event.note) == (
        "added letters",
        user,
        f"#{letter.pk} Ann, Hexham",
    )
    trail = LetterEvent.objects.get(letter=letter)
    assert (trail.action, trail.actor, trail.note) == ("added to edition", user, str(edition))


def test_adding_a_letter_already_in_the_edition_changes_and_records_nothing():
    user = editor()
    letter = make_approved_letter()
    edition = make_edition()
    moderation.add_to_edition(edition.pk, [letter.pk], actor=user)

    _, added, refused = moderation.add_to_edition(edition.pk, [letter.pk], actor=user)

    assert added == [] and refused == [(letter, "already in this edition")]
    assert EditionEvent.objects.filter(edition=edition).count() == 1
    assert EditionLetter.objects.filter(edition=edition).count() == 1


def test_letters_out_of_the_running_are_refused_by_name():
    edition = make_edition([make_approved_letter(name="Lead")])
    rejected = make_letter(status=Status.REJECTED, name="Rex")

    _, added, refused = moderation.add_to_edition(edition.pk, [rejected.pk], actor=editor())

    assert added == [] and refused == [(rejected, "rejected")]
    assert edition.entries.count() == 1


def test_added_letters_go_to_the_end_of_an_edition_that_has_a_lead():
    lead = make_approved_letter(name="Lead")
    edition = make_edition([lead], lead=lead)

    moderation.add_to_edition(edition.pk, [make_approved_letter(name="Late").pk], actor=editor())

    assert order_of(edition) == [("Lead", 1, True), ("Late", 2, False)]


def test_a_scheduled_edition_takes_no_more_letters_until_it_is_a_draft_again():
    edition = make_edition([make_approved_letter()])
    moderation.schedule_edition(edition.pk, at=timezone.now() + datetime.timedelta(days=1))

    with pytest.raises(moderation.EditionNotDraft, match="put it back to draft"):
        moderation.add_to_edition(edition.pk, [make_approved_letter().pk], actor=editor())


def test_a_sub_editor_cannot_build_an_edition():
    edition = make_edition()

    with pytest.raises(moderation.NotPermitted):
        moderation.add_to_edition(edition.pk, [make_approved_letter().pk], actor=sub_editor())
    with pytest.raises(moderation.NotPermitted):
        moderation.create_edition(date=datetime.date(2026, 9, 1), actor=sub_editor())


def test_creating_an_edition_on_a_date_that_has_one_returns_that_edition():
    user = editor()
    made, created = moderation.create_edition(
        date=datetime.date(2026, 9, 1), title="Weekend", actor=user
    )
    again, created_again = moderation.create_edition(date=datetime.date(2026, 9, 1), actor=user)

    assert (created, created_again, again) == (True, False, made)
    assert (made.title, made.created_by) == ("Weekend", user)
    assert list(made.events.values_list("action", flat=True)) == ["created"]


def test_taking_a_letter_out_removes_its_place_only_and_the_next_one_leads():
    user = editor()
    lead, other = make_approved_letter(name="Lead"), make_approved_letter(name="Other")
    edition = make_edition([lead, other], lead=lead)

    _, changed = moderation.remove_from_edition(edition.pk, lead.pk, actor=user)

    assert changed
    lead.refresh_from_db()
    assert lead.status == Status.APPROVED  # the letter itself is untouched
    assert Letter.objects.filter(pk=lead.pk).exists()
    assert order_of(edition) == [("Other", 1, True)]
    assert EditionEvent.objects.get(edition=edition).action == "removed a letter"
    assert LetterEvent.objects.get(letter=lead).action == "removed from edition"


def test_taking_out_a_letter_twice_records_it_once():
    letter = make_approved_letter()
    edition = make_edition([letter])

    moderation.remove_from_edition(edition.pk, letter.pk, actor=editor())
    _, changed = moderation.remove_from_edition(edition.pk, letter.pk, actor=editor())

    assert not changed
    assert EditionEvent.objects.filter(edition=edition).count() == 1


def test_arranging_numbers_the_letters_and_makes_the_first_the_lead():
    a, b, c = (make_approved_letter(name=name) for name in ("A", "B", "C"))
    edition = make_edition([a, b, c], lead=a)

    _, changed = moderation.arrange_edition(
        edition.pk, [c.pk, a.pk, b.pk], headlines={c.pk: "  Decide   now "}, actor=editor()
    )

    assert changed
    assert order_of(edition) == [("C", 1, True), ("A", 2, False), ("B", 3, False)]
    assert edition.entries.get(letter=c).headline == "Decide now"
    assert list(edition.events.values_list("action", flat=True)) == ["reordered", "headlines"]


def test_arranging_in_the_same_order_again_records_nothing():
    a, b = make_approved_letter(), make_approved_letter()
    edition = make_edition([a, b], lead=a)
    moderation.arrange_edition(edition.pk, [b.pk, a.pk], actor=editor())

    _, changed = moderation.arrange_edition(edition.pk, [b.pk, a.pk], actor=editor())

    assert not changed
    assert edition.events.count() == 1


def test_an_order_that_no_longer_matches_the_edition_is_refused_and_nothing_moves():
    a, b = make_approved_letter(name="A"), make_approved_letter(name="B")
    edition = make_edition([a, b], lead=a)

    with pytest.raises(moderation.EditionChanged):
        moderation.arrange_edition(edition.pk, [b.pk], actor=editor())

    assert order_of(edition) == [("A", 1, True), ("B", 2, False)]
    assert not edition.events.exists()


def test_a_headline_too_long_is_refused_not_cut():
    letter = make_approved_letter()
    edition = make_edition([letter])

    with pytest.raises(ValueError, match="at most 200"):
        moderation.arrange_edition(
            edition.pk, [letter.pk], headlines={letter.pk: "x" * 201}, actor=editor()
        )


def test_the_publication_plan_names_whose_writers_are_told_and_what_stops_it():
    fresh = make_approved_letter(name="Fresh")
    before = make_approved_letter(name="Before")
    moderation.publish(before.pk)
    shortlisted = make_letter(status=Status.SHORTLISTED, name="Short")

    ready = moderation.publication_plan(make_edition([fresh, before], lead=fresh))
    stuck = moderation.publication_plan(make_edition([fresh, shortlisted]))

    assert [letter.name for letter in ready.letters] == ["Fresh", "Before"]
    assert [letter.name for letter in ready.notified] == ["Fresh"]
    assert ready.problem == ""
    assert "Short, Hexham (shortlisted)" in stuck.problem
    assert Edition.objects.filter(status="draft").count() == 2  # a plan changes nothing


def test_adding_to_an_edition_without_a_lead_makes_its_first_letter_the_lead():
    first = make_approved_letter(name="First")
    edition = make_edition([first])  # no lead
    assert not edition.entries.filter(is_lead=True).exists()

    moderation.add_to_edition(edition.pk, [make_approved_letter(name="Next").pk], actor=editor())

    assert order_of(edition) == [("First", 1, True), ("Next", 2, False)]
