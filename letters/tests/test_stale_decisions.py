"""Decisions carry the status the editor saw: one taken on a page loaded before a colleague
decided is refused with a message naming what happened, and the colleague's decision stands."""

from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from letters import moderation, roles
from letters.models import Letter, LetterEvent, RejectionReason, Status

from .factories import editor, make_letter, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enqueued")]  # no broker

QUEUE = reverse("admin:letters_letter_changelist")


class _HiddenInputs(HTMLParser):
    """The hidden inputs inside the form with id `form_id` (None: the form without an id), as a
    browser would post them."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields, self.action = form_id, False, [], ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            if self.inside:
                self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("type") == "hidden" and self.inside:
            self.fields.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def hidden_inputs(response, form_id):
    """(where the form posts to, its hidden inputs) on the page of `response`."""
    parser = _HiddenInputs(form_id)
    parser.feed(response.text)
    posted = {}
    for name, value in parser.fields:
        posted.setdefault(name, []).append(value)
    return unescape(parser.action) or response.request["PATH_INFO"], posted


def notes_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def letter_page(client, letter):
    return client.get(reverse("admin:letters_letter_change", args=[letter.pk]))


def colleague():
    return make_user(roles.EDITOR, username="bob")


# The letter page ------------------------------------------------------------------------------


def test_approving_from_a_page_loaded_before_a_colleague_rejected_is_refused(client):
    letter = make_letter(name="Ann Writer")
    client.force_login(editor())
    url, form = hidden_inputs(letter_page(client, letter), "desk-decide")
    assert form[f"_shown_status_{letter.pk}"] == ["received"]

    moderation.reject(letter.pk, reason=RejectionReason.OFF_TOPIC, actor=colleague())
    response = client.post(url, {**form, "action": "approve_letters"})

    [note] = notes_of(response)
    assert note.startswith(
        f"Refused #{letter.pk} (Ann Writer): This letter is now rejected (by bob, "
    )
    assert note.endswith(
        "), not received as on your page: nothing was changed. Look at it again before deciding."
    )
    letter.refresh_from_db()
    assert letter.status == Status.REJECTED
    assert letter.rejection_reason == RejectionReason.OFF_TOPIC
    assert not LetterEvent.objects.filter(letter=letter, to_status=Status.APPROVED).exists()


def test_approving_from_a_page_showing_the_current_status_works(client):
    letter = make_letter()
    client.force_login(editor())
    url, form = hidden_inputs(letter_page(client, letter), "desk-decide")
    response = client.post(url, {**form, "action": "approve_letters"})
    assert notes_of(response) == ["Approved 1 letter."]
    assert Letter.objects.get(pk=letter.pk).status == Status.APPROVED


def test_a_double_click_on_a_decision_button_is_not_a_stale_decision(client):
    letter = make_letter()
    client.force_login(editor())
    url, form = hidden_inputs(letter_page(client, letter), "desk-decide")
    client.post(url, {**form, "action": "approve_letters"})
    second = client.post(url, {**form, "action": "approve_letters"})
    assert notes_of(second)[-1] == "1 already approved: nothing changed."
    assert letter.events.count() == 1


# The queue ------------------------------------------------------------------------------------


@pytest.mark.parametrize("queue", [QUEUE, QUEUE + "?status=all"], ids=["awaiting", "all"])
def test_a_bulk_approval_from_the_queue_refuses_only_the_letter_a_colleague_rejected(client, queue):
    taken = make_letter(name="Ann")
    free = make_letter(name="Bob")
    client.force_login(editor())
    url, form = hidden_inputs(client.get(queue), "changelist-form")
    assert form[f"_shown_status_{taken.pk}"] == ["received"]

    moderation.reject(taken.pk, reason=RejectionReason.OFF_TOPIC, actor=colleague())
    response = client.post(
        url + ("?status=all" if "status" in queue else ""),
        {**form, "action": "approve_letters", "_selected_action": [taken.pk, free.pk]},
    )

    notes = notes_of(response)
    assert notes[0] == "Approved 1 letter."
    assert notes[1].startswith(f"Refused #{taken.pk} (Ann): This letter is now rejected (by bob, ")
    assert "not received as on your page" in notes[1]
    statuses = dict(Letter.objects.values_list("name", "status"))
    assert statuses == {"Ann": Status.REJECTED, "Bob": Status.APPROVED}


def test_the_reject_page_carries_the_status_the_queue_showed_to_the_decision(client):
    letter = make_letter(name="Ann")
    client.force_login(editor())
    url, form = hidden_inputs(client.get(QUEUE), "changelist-form")
    ask = client.post(url, {**form, "action": "reject_letters", "_selected_action": [letter.pk]})
    assert ask.status_code == 200
    _, carried = hidden_inputs(ask, form_id=None)  # the one form on the page without an id
    assert carried[f"_shown_status_{letter.pk}"] == ["received"]

    moderation.shortlist(letter.pk, actor=colleague())
    response = client.post(
        url, {**carried, "apply": "1", "reason": RejectionReason.OFF_TOPIC, "note": ""}
    )

    [note] = notes_of(response)
    assert "This letter is now shortlisted (by bob, " in note
    assert Letter.objects.get(pk=letter.pk).status == Status.SHORTLISTED


# The operations -------------------------------------------------------------------------------

LATER = timezone.now() + timedelta(days=1)

# (operation, the status the editor saw, extra arguments)
DECISIONS = [
    (moderation.shortlist, Status.RECEIVED, {}),
    (moderation.approve, Status.RECEIVED, {}),
    (moderation.reject, Status.RECEIVED, {"reason": RejectionReason.OFF_TOPIC}),
    (moderation.mark_spam, Status.RECEIVED, {}),
    (moderation.reconsider, Status.SHORTLISTED, {}),
    (moderation.withdraw, Status.RECEIVED, {}),
    (moderation.publish, Status.APPROVED, {}),
    (moderation.schedule, Status.APPROVED, {"at": LATER}),
    (moderation.unpublish, Status.PUBLISHED, {}),
]


@pytest.mark.parametrize(
    "operation, seen, extra", DECISIONS, ids=[op.__name__ for op, _, _ in DECISIONS]
)
def test_every_decision_is_refused_when_the_letter_moved_on(operation, seen, extra):
    letter = make_letter(status=Status.EXPIRED)
    moderation.record(
        letter, "expired", actor_label="system", from_status=seen, to_status=Status.EXPIRED
    )
    with pytest.raises(moderation.StaleDecision) as refused:
        operation(letter.pk, actor=editor(), expected_status=seen, **extra)
    assert "This letter is now expired (by system, " in str(refused.value)
    assert f"not {Status(seen).label.lower()} as on your page" in str(refused.value)
    assert isinstance(refused.value, moderation.TransitionNotAllowed)
    letter.refresh_from_db()
    assert letter.status == Status.EXPIRED
    assert letter.events.count() == 1


@pytest.mark.parametrize(
    "operation, seen, extra", DECISIONS, ids=[op.__name__ for op, _, _ in DECISIONS]
)
def test_every_decision_works_when_the_letter_is_as_the_editor_saw_it(operation, seen, extra):
    letter = make_letter(status=seen)
    _, changed = operation(letter.pk, actor=editor(), expected_status=seen, **extra)
    assert changed


def test_a_stale_decision_without_any_recorded_event_still_names_the_status():
    letter = make_letter(status=Status.SPAM)
    with pytest.raises(moderation.StaleDecision, match=r"^This letter is now spam, not received"):
        moderation.approve(letter.pk, expected_status=Status.RECEIVED)
