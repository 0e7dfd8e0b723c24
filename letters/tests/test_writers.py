"""A writer's personal data: the export, the erasure at their request, and deleting a letter
with its trail kept (letters.moderation.erasure, the commands and the admin)."""

import io
import json
import os
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from letters import moderation
from letters.intake.acknowledge import send_acknowledgement
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import (
    EditionEvent,
    EditionLetter,
    EmailAcknowledgement,
    InboundEmail,
    InboundStatus,
    Letter,
    LetterEvent,
    Note,
    Reply,
    Status,
    WayIn,
    WriterErasure,
)
from letters.moderation.writer_data import address_hash
from letters.retention import purge_raw_email

from .factories import (
    editor,
    make_article,
    make_edition,
    make_letter,
    make_message,
    post_admin_action,
    rejection_template,
    sub_editor,
)
from .test_settings import start_with

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:letters_letter_changelist") + "?status=all"
ADDRESS = "jane.smith@example.com"


def jane(**overrides):
    """A letter from the writer whose data these tests export and erase."""
    fields = {
        "name": "Jane Smith",
        "email": ADDRESS,
        "town": "Hexham",
        "phone": "01434 600600",
        "address": "1 Priestpopple, Hexham",
        "body": "Sir, the bypass is a disgrace and the council knows it.",
    }
    return make_letter(**{**fields, **overrides})


def published(**overrides):
    return jane(status=Status.PUBLISHED, published_at=timezone.now(), **overrides)


def by_email(raw):
    """A message through the real intake: stored raw, then processed."""
    row, _ = receive_email(raw, way_in=WayIn.PIPE, envelope_from=ADDRESS)
    process_inbound_email(row.pk)
    return InboundEmail.objects.get(pk=row.pk)


JANES_MESSAGE = make_message(
    message_id="<jane-1@example.com>",
    sender=f"Jane Smith <{ADDRESS}>",
    body="Dear Editor,\n\nThe bypass is a disgrace.\n\nJane Smith\nHexham\n07700 900123\n",
)


def exported(address=ADDRESS):
    out = io.StringIO()
    call_command("export_writer", address, stdout=out)
    return json.loads(out.getvalue())


def everything_stored(*querysets):
    """Every field of every row, and the admin's log, as one string to search for the writer."""
    rows = [model_to_dict(row) for queryset in querysets for row in queryset]
    rows += list(LogEntry.objects.values("object_repr", "change_message"))
    return json.dumps(rows, default=str).lower()


# Export ----------------------------------------------------------------------------------------


def test_the_export_holds_every_letter_from_the_address_whatever_its_case_with_every_field():
    first = jane()
    second = jane(email="Jane.Smith@Example.COM", status=Status.REJECTED)
    make_letter(email="someone.else@example.com")
    data = exported("JANE.SMITH@example.com")
    assert data["address"] == ADDRESS
    assert [letter["id"] for letter in data["letters"]] == [first.pk, second.pk]
    letter = data["letters"][0]
    assert letter["phone"] == "01434 600600"
    assert letter["address"] == "1 Priestpopple, Hexham"
    assert letter["body"] == first.body
    assert letter["status"] == "received"
    assert letter["article"]["headline"] == first.article.headline
    assert {"edited_body", "consent", "exclusive", "created_at", "confirmed_at"} <= set(letter)


def test_the_export_holds_each_letters_events_notes_replies_and_editions():
    desk = editor()
    letter = jane()
    moderation.add_note(letter.pk, "Phoned her: she wrote it.", actor=desk)
    moderation.reject(
        letter.pk, reason="not_selected", actor=desk, reply_template=rejection_template()
    )
    moderation.reconsider(letter.pk, actor=desk)
    moderation.approve(letter.pk, actor=desk)
    make_edition([letter], lead=letter)
    [entry] = exported()["letters"]
    assert [event["action"] for event in entry["events"]] == [
        "rejected",
        "reply queued",
        "reconsidered",
        "approved",
    ]
    assert entry["events"][0]["by"] == desk.username
    assert entry["notes"] == [
        {"at": entry["notes"][0]["at"], "by": desk.username, "text": "Phoned her: she wrote it."}
    ]
    assert entry["replies"][0]["to"] == ADDRESS
    assert "Dear Jane Smith" in entry["replies"][0]["body"]
    assert entry["editions"][0]["is_lead"] is True


def test_the_export_holds_the_writers_emails_with_the_raw_text_while_it_is_kept():
    row = by_email(JANES_MESSAGE)
    assert row.letter is not None
    [email] = exported()["emails"]
    assert email["message_id"] == "jane-1@example.com"
    assert email["letter_id"] == row.letter_id
    assert "The bypass is a disgrace." in email["raw"]
    assert exported()["letters"][0]["phone"] == "07700 900123"

    purge_raw_email(now=timezone.now() + timedelta(days=365))
    [email] = exported()["emails"]
    assert email["raw"] is None and email["raw_purged_at"]


def test_the_export_command_writes_a_file_only_its_owner_can_read(tmp_path):
    jane()
    target = tmp_path / "jane.json"
    call_command("export_writer", ADDRESS, output=str(target), stderr=io.StringIO())
    assert json.loads(target.read_text())["letters"][0]["name"] == "Jane Smith"
    assert os.stat(target).st_mode & 0o777 == 0o600


def test_the_export_command_refuses_what_is_not_an_address():
    with pytest.raises(CommandError, match="not an email address"):
        call_command("export_writer", "Jane Smith")


def test_editors_may_export_and_erase_and_nobody_may_edit_the_erasure_log():
    desk, sub = editor(), sub_editor()
    assert desk.has_perms(["letters.export_writer", "letters.erase_writer"])
    assert not any(
        desk.has_perm(f"letters.{verb}_writererasure") for verb in ("add", "change", "delete")
    )
    assert not sub.has_perm("letters.export_writer") and not sub.has_perm("letters.erase_writer")


def test_a_sub_editor_may_not_export_or_erase_a_writers_data():
    jane()
    with pytest.raises(moderation.NotPermitted):
        moderation.export_writer(ADDRESS, actor=sub_editor())
    with pytest.raises(moderation.NotPermitted):
        moderation.erase_writer(ADDRESS, actor=sub_editor())
    assert Letter.objects.filter(email=ADDRESS).exists()


# Erasure ---------------------------------------------------------------------------------------


def test_erasing_deletes_unpublished_letters_and_keeps_their_trail_without_personal_data():
    desk = editor()
    received, rejected = jane(), jane(email="JANE.SMITH@example.com")
    other = make_letter(email="other@example.com")
    moderation.add_note(received.pk, "Jane Smith of Hexham again.", actor=desk)
    moderation.reject(
        rejected.pk,
        reason="unsuitable",
        actor=desk,
        note="Jane Smith is rude.",
        reply_template=rejection_template(),
    )
    erasure, changed = moderation.erase_writer(ADDRESS, actor=desk, note="Request 42")

    assert changed
    assert list(Letter.objects.all()) == [other]
    assert not Note.objects.exists() and not Reply.objects.exists()
    trail = LetterEvent.objects.filter(former_letter_id=rejected.pk).order_by("id")
    assert [(e.letter_id, e.action, e.who) for e in trail] == [
        (None, "rejected", desk.username),
        (None, "reply queued", desk.username),
        (None, "deleted", desk.username),
    ]
    assert trail.last().from_status == Status.REJECTED
    assert trail.last().note == "Erased at the writer's request."
    stored = everything_stored(LetterEvent.objects.all(), WriterErasure.objects.all())
    for personal in ("jane", "smith", "hexham", "rude", "disgrace"):
        assert personal not in stored
    assert erasure.counts["letters_deleted"] == 2
    assert erasure.counts["notes"] == 1 and erasure.counts["replies"] == 1


def test_the_erasure_log_holds_who_when_and_how_many_and_a_hash_never_the_address():
    desk = editor()
    letter = jane()
    erasure, _ = moderation.erase_writer("Jane.Smith@EXAMPLE.com", actor=desk, note="Ticket 7")
    erasure.refresh_from_db()
    assert erasure.actor == desk and erasure.note == "Ticket 7"
    assert erasure.letter_ids == [letter.pk]
    assert erasure.address_hash == address_hash(ADDRESS) != address_hash("other@example.com")
    assert len(erasure.address_hash) == 64
    stored = everything_stored(WriterErasure.objects.all())
    assert "jane" not in stored and "example.com" not in stored


def test_the_erasure_note_may_not_hold_the_address():
    jane()
    with pytest.raises(ValueError, match="leave the address out"):
        moderation.erase_writer(ADDRESS, actor=editor(), note=f"From {ADDRESS.upper()}")
    assert Letter.objects.filter(email=ADDRESS).exists()
    assert not WriterErasure.objects.exists()


def test_erasing_twice_changes_nothing_and_records_one_erasure():
    desk = editor()
    published()
    jane()
    first, changed = moderation.erase_writer(ADDRESS, actor=desk)
    assert changed
    snapshot = everything_stored(Letter.objects.all(), LetterEvent.objects.all())
    again, changed = moderation.erase_writer(ADDRESS, actor=desk)
    assert (again, changed) == (first, False)
    assert WriterErasure.objects.count() == 1
    assert everything_stored(Letter.objects.all(), LetterEvent.objects.all()) == snapshot


def test_a_request_for_an_address_never_held_is_recorded_once_with_nothing_counted():
    erasure, changed = moderation.erase_writer("nobody@example.com", actor=editor())
    assert changed and set(erasure.counts.values()) == {0}
    assert moderation.erase_writer("nobody@example.com", actor=editor()) == (erasure, False)


def test_a_published_letter_stays_published_with_name_and_town_when_the_setting_says_keep(
    client, settings
):
    settings.LETTERS_ERASE_PUBLISHED = "keep"
    desk = editor()
    letter = published(edited_body="Sir, the bypass is a disgrace.")
    moderation.add_note(letter.pk, "Verified by phone.", actor=desk)
    Reply.objects.create(letter=letter, kind="publication", to=ADDRESS, subject="S", body="B")
    erasure, _ = moderation.erase_writer(ADDRESS, actor=desk)

    kept = Letter.objects.get(pk=letter.pk)
    assert kept.status == Status.PUBLISHED
    assert (kept.name, kept.town, kept.signature) == ("Jane Smith", "Hexham", "Jane Smith, Hexham")
    assert kept.body == "Sir, the bypass is a disgrace." and kept.edited_body == ""
    assert kept.email == f"erased-{letter.pk}@erased.invalid"
    assert (kept.phone, kept.address) == ("", "")
    assert not kept.notes.exists() and not kept.replies.exists()
    assert kept.events.last().action == "erased"
    assert erasure.counts["letters_kept_published"] == 1
    assert erasure.published_policy == "keep"
    page = client.get(letter.article.get_absolute_url()).content.decode()
    assert "Sir, the bypass is a disgrace." in page and "Jane Smith, Hexham" in page
    assert "council knows it" not in page


def test_a_published_letter_is_withdrawn_then_deleted_when_the_setting_says_withdraw(
    client, settings
):
    settings.LETTERS_ERASE_PUBLISHED = "withdraw"
    desk = editor()
    letter = jane(status=Status.APPROVED)
    edition = make_edition([letter])
    moderation.publish_edition(edition.pk, actor=desk)
    assert "council knows it" in client.get(letter.article.get_absolute_url()).content.decode()

    erasure, _ = moderation.erase_writer(ADDRESS, actor=desk)

    assert not Letter.objects.filter(pk=letter.pk).exists()
    assert not EditionLetter.objects.filter(edition=edition).exists()
    trail = LetterEvent.objects.filter(former_letter_id=letter.pk).order_by("id")
    assert [(e.action, e.to_status) for e in trail][-2:] == [
        ("withdrawn", Status.WITHDRAWN),
        ("deleted", ""),
    ]
    removed = EditionEvent.objects.get(edition=edition, action="letter removed")
    assert removed.actor == desk and str(letter.pk) in removed.note
    assert erasure.counts["letters_withdrawn"] == 1 and erasure.counts["letters_deleted"] == 1
    assert erasure.published_policy == "withdraw"
    assert "council knows it" not in client.get(letter.article.get_absolute_url()).content.decode()


def test_withdrawing_a_published_letter_needs_the_publishers_permission_or_nothing_is_erased(
    settings,
):
    settings.LETTERS_ERASE_PUBLISHED = "withdraw"
    letter, other = published(), jane()
    desk = editor()
    desk.groups.first().permissions.remove(
        *desk.groups.first().permissions.filter(codename="publish_letter")
    )
    desk = type(desk).objects.get(pk=desk.pk)  # fresh permission cache
    with pytest.raises(moderation.NotPermitted):
        moderation.erase_writer(ADDRESS, actor=desk)
    assert Letter.objects.filter(pk__in=[letter.pk, other.pk]).count() == 2
    assert not WriterErasure.objects.exists()


def test_erasing_empties_the_writers_mail_and_a_redelivery_does_not_bring_the_letter_back(
    mailoutbox,
):
    row = by_email(JANES_MESSAGE)
    send_acknowledgement(row.pk)
    assert EmailAcknowledgement.objects.filter(address=ADDRESS).exists()
    erasure, _ = moderation.erase_writer(ADDRESS, actor=editor())

    row.refresh_from_db()
    assert row.raw_bytes == b"" and row.raw_purged_at is not None
    assert (row.from_address, row.envelope_from, row.subject, row.letter_id) == ("", "", "", None)
    assert row.message_id == "jane-1@example.com"
    assert not EmailAcknowledgement.objects.exists()
    assert erasure.counts["emails"] == 1 and erasure.counts["acknowledgements"] == 1

    again, created = receive_email(JANES_MESSAGE, way_in=WayIn.SMTP, envelope_from=ADDRESS)
    assert (again.pk, created) == (row.pk, False)
    process_inbound_email(again.pk)
    assert not Letter.objects.exists()


def test_mail_from_the_writer_not_yet_read_never_becomes_a_letter_after_the_erasure():
    row, _ = receive_email(JANES_MESSAGE, way_in=WayIn.PIPE, envelope_from=ADDRESS)
    erasure, _ = moderation.erase_writer(ADDRESS, actor=editor())
    assert process_inbound_email(row.pk) is None
    row.refresh_from_db()
    assert row.status == InboundStatus.REJECTED and row.raw_bytes == b""
    assert not Letter.objects.exists() and erasure.counts["emails"] == 1


def test_a_follow_up_from_the_writer_is_emptied_with_the_letter():
    row = by_email(JANES_MESSAGE)
    follow_up = by_email(
        make_message(
            message_id="<jane-2@example.com>",
            sender=f"Jane Smith <{ADDRESS}>",
            subject="Re: my letter",
            body="Please change 'disgrace' to 'scandal'.\n",
            headers=["In-Reply-To: <jane-1@example.com>"],
        )
    )
    assert follow_up.follow_up_to_id == row.letter_id
    moderation.erase_writer(ADDRESS, actor=editor())
    follow_up.refresh_from_db()
    assert follow_up.raw_bytes == b"" and follow_up.follow_up_to_id is None
    assert "scandal" not in everything_stored(LetterEvent.objects.all())


def test_the_erase_command_asks_first_and_erases_only_on_yes(monkeypatch):
    jane()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing erased"):
        call_command("erase_writer", ADDRESS, stdout=io.StringIO())
    assert Letter.objects.filter(email=ADDRESS).exists()

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    out = io.StringIO()
    call_command("erase_writer", ADDRESS, note="Ticket 9", stdout=out)
    assert "Letters: 1 received." in out.getvalue() and "letters deleted: 1" in out.getvalue()
    assert not Letter.objects.filter(email=ADDRESS).exists()
    erasure = WriterErasure.objects.get()
    assert erasure.actor is None and erasure.actor_label.startswith("manage.py erase_writer")


def test_the_erase_command_with_no_input_erases_and_says_so_again_when_repeated(settings):
    settings.LETTERS_ERASE_PUBLISHED = "keep"
    published()
    call_command(
        "erase_writer", ADDRESS, "--no-input", "--published=withdraw", stdout=io.StringIO()
    )
    assert not Letter.objects.exists()
    assert WriterErasure.objects.get().published_policy == "withdraw"
    out = io.StringIO()
    call_command("erase_writer", ADDRESS, "--no-input", stdout=out)
    assert "erased before" in out.getvalue() and "already erased" in out.getvalue()


# The admin -------------------------------------------------------------------------------------


def test_the_letter_page_offers_export_and_erase_to_editors_and_not_to_sub_editors(client):
    letter = jane()
    url = reverse("admin:letters_letter_change", args=[letter.pk])
    client.force_login(editor())
    page = client.get(url).content.decode()
    assert 'value="export_writer_data"' in page and 'value="erase_writer_data"' in page
    client.force_login(sub_editor())
    page = client.get(url).content.decode()
    assert "export_writer_data" not in page and "erase_writer_data" not in page
    response = post_admin_action(client, QUEUE, "erase_writer_data", [letter], apply="1")
    assert Letter.objects.filter(pk=letter.pk).exists()
    assert response.status_code in (200, 302)


def test_the_export_action_downloads_the_writers_data_as_json(client):
    letter = jane()
    jane(email="JANE.smith@example.com")
    client.force_login(editor())
    response = post_admin_action(client, QUEUE, "export_writer_data", [letter])
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert len(data["letters"]) == 2 and data["letters"][0]["phone"] == "01434 600600"


def test_the_export_and_erase_actions_refuse_letters_from_two_writers(client):
    letters = [jane(), make_letter(email="other@example.com")]
    client.force_login(editor())
    for action in ("export_writer_data", "erase_writer_data"):
        response = post_admin_action(client, QUEUE, action, letters, follow=True, apply="1")
        said = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("one writer" in line for line in said)
    assert Letter.objects.count() == 2


def test_the_erase_action_shows_what_goes_and_erases_only_when_confirmed(client):
    desk = editor()
    letter = jane()
    published()
    client.force_login(desk)
    page = post_admin_action(client, QUEUE, "erase_writer_data", [letter]).content.decode()
    assert "1 published, 1 received" in page
    assert "stays on the site, signed with name and town" in page
    assert Letter.objects.filter(email=ADDRESS).count() == 2

    response = post_admin_action(
        client, QUEUE, "erase_writer_data", [letter], apply="1", note="Letter of 3 May"
    )
    assert response.status_code == 302
    assert not Letter.objects.filter(email=ADDRESS).exists()
    erasure = WriterErasure.objects.get()
    assert (erasure.actor, erasure.note) == (desk, "Letter of 3 May")


def test_deleting_a_letter_in_the_admin_keeps_its_trail_and_empties_its_mail(client):
    desk = editor()
    row = by_email(JANES_MESSAGE)
    letter = row.letter
    moderation.reject(letter.pk, reason="off_topic", actor=desk, note="Jane again")
    client.force_login(desk)
    url = reverse("admin:letters_letter_delete", args=[letter.pk])
    page = client.get(url).content.decode()
    assert "events stay" in page and "stored emails are emptied" in page
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302

    assert not Letter.objects.filter(pk=letter.pk).exists()
    trail = LetterEvent.objects.filter(former_letter_id=letter.pk).order_by("id")
    assert [e.action for e in trail] == ["received by email", "rejected", "deleted"]
    assert trail.last().actor == desk and trail.last().note == "Deleted by an editor."
    assert not any(e.note for e in trail[:2])
    row.refresh_from_db()
    assert row.raw_bytes == b"" and row.raw_purged_at is not None
    assert "jane" not in everything_stored()  # the admin's own log names it by number


def test_deleting_a_letter_in_a_draft_edition_takes_it_out_and_says_so_in_the_edition():
    desk = editor()
    letter, stays = make_letter(status=Status.APPROVED), make_letter(status=Status.APPROVED)
    edition = make_edition([letter, stays], lead=letter)
    moderation.delete_letter(letter.pk, actor=desk)
    assert [entry.letter for entry in edition.entries.all()] == [stays]
    event = EditionEvent.objects.get(edition=edition)
    assert (event.action, event.actor) == ("letter removed", desk)


def test_a_published_letter_cannot_be_deleted_until_it_is_withdrawn(client):
    desk = editor()
    letter = published()
    client.force_login(desk)
    url = reverse("admin:letters_letter_delete", args=[letter.pk])
    assert "withdraw or unpublish it first" in client.get(url).content.decode()
    client.post(url, {"post": "yes"})
    assert Letter.objects.filter(pk=letter.pk).exists()
    with pytest.raises(moderation.TransitionNotAllowed):
        moderation.delete_letter(letter.pk, actor=desk)
    moderation.withdraw(letter.pk, actor=desk)
    assert moderation.delete_letter(letter.pk, actor=desk)[1] is True


def test_deleting_a_letter_twice_is_harmless_and_a_sub_editor_may_not():
    letter = make_letter()
    with pytest.raises(moderation.NotPermitted):
        moderation.delete_letter(letter.pk, actor=sub_editor())
    desk = editor()
    assert moderation.delete_letter(letter.pk, actor=desk)[1] is True
    assert moderation.delete_letter(letter.pk, actor=desk) == (None, False)
    assert LetterEvent.objects.filter(former_letter_id=letter.pk, action="deleted").count() == 1


def test_the_article_page_still_works_after_its_letters_are_erased(client):
    article = make_article()
    published(article=article)
    jane(article=article)
    moderation.erase_writer(ADDRESS, actor=editor(), published="withdraw")
    assert client.get(article.get_absolute_url()).status_code == 200


def test_an_unknown_policy_for_published_letters_stops_the_desk_at_start_up():
    result = start_with({"LETTERS_ERASE_PUBLISHED": "hide"})
    assert result.returncode != 0
    assert "LETTERS_ERASE_PUBLISHED must be keep or withdraw, not 'hide'" in result.stderr
