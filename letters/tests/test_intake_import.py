"""Importing an inbox archive: mbox files and Maildir folders, in bulk, safe to repeat."""

import mailbox
import re
from email.utils import parsedate_to_datetime

import pytest
from django.core.management import call_command
from django.db import DataError

from letters import jobs, moderation
from letters.intake import process
from letters.intake.archive import import_messages
from letters.intake.store import receive_email
from letters.models import InboundEmail, InboundStatus, Letter, LetterEvent, Status, WayIn

from .factories import eml, make_four_day_week_article, make_message

pytestmark = pytest.mark.django_db

ARCHIVE = ["plain.eml", "html_only.eml", "docx_attachment.eml", "auto_reply.eml", "bounce.eml"]


def write_mbox(path, messages):
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()


def test_an_mbox_import_stores_every_message_and_makes_letters_for_the_real_ones(tmp_path, capsys):
    path = tmp_path / "inbox.mbox"
    write_mbox(path, [eml(name) for name in ARCHIVE])
    call_command("import_mailbox", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "5 stored (3 letters, 2 rejected, 0 failed), 0 duplicates" in out
    assert InboundEmail.objects.filter(way_in=WayIn.MAILBOX).count() == 5
    assert Letter.objects.filter(status=Status.RECEIVED).count() == 3
    assert LetterEvent.objects.count() == 3
    for row in InboundEmail.objects.filter(status=InboundStatus.ACCEPTED):
        assert row.letter.word_count == len(row.letter.body.split())


def test_importing_the_same_archive_again_adds_nothing(tmp_path, capsys):
    path = tmp_path / "inbox.mbox"
    write_mbox(path, [eml(name) for name in ARCHIVE])
    call_command("import_mailbox", str(path), "--no-progress")
    call_command("import_mailbox", str(path), "--no-progress")
    assert "0 stored (0 letters, 0 rejected, 0 failed), 5 duplicates" in capsys.readouterr().out
    assert Letter.objects.count() == 3


def test_a_maildir_folder_is_imported(tmp_path, capsys):
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(make_message(message_id="<m1@example.org>"))
    box.add(make_message(message_id="<m2@example.org>", body="A second letter about trams.\n"))
    call_command("import_mailbox", str(tmp_path / "Maildir"), "--no-progress")
    assert "2 stored (2 letters" in capsys.readouterr().out


def test_an_archive_message_already_received_by_the_pipe_is_a_duplicate():
    receive_email(eml("plain.eml"), way_in=WayIn.PIPE)
    summary = import_messages([eml("plain.eml"), eml("html_only.eml")], batch_size=10)
    assert (summary.stored, summary.duplicates) == (1, 1)


def test_a_reused_message_id_in_an_archive_goes_the_careful_way_and_makes_one_letter():
    raw = make_message()
    relayed = b"Received: from relay.example.net\r\n" + raw
    summary = import_messages([raw, relayed], batch_size=10)
    assert summary.stored == 2
    assert Letter.objects.count() == 1
    assert InboundEmail.objects.filter(message_id_reused=True).count() == 2


def test_imported_letters_are_matched_to_their_articles():
    article = make_four_day_week_article()
    import_messages([make_message(to=f"letters+{article.slug}@reaction.life")])
    letter = Letter.objects.get()
    assert letter.article == article
    assert letter.article_match_method == "address"


def test_a_message_that_crashes_the_parser_fails_alone(monkeypatch):
    real = process.parse_email

    def fragile(raw, **kwargs):
        if b"boom" in raw:
            raise ValueError("boom")
        return real(raw, **kwargs)

    monkeypatch.setattr(process, "parse_email", fragile)
    summary = import_messages(
        [make_message(message_id="<x@e.org>", body="boom\n"), make_message()], batch_size=10
    )
    assert (summary.accepted, summary.failed) == (1, 1)
    assert InboundEmail.objects.get(message_id="x@e.org").reason == "ValueError: boom"


def test_an_archived_letter_keeps_the_date_it_was_sent():
    sent = "Tue, 10 Sep 2024 08:15:00 +0100"
    raw = re.sub(rb"Date: [^\r]*", f"Date: {sent}".encode(), make_message())
    import_messages([raw])
    letter = Letter.objects.get()
    assert letter.created_at == parsedate_to_datetime(sent)


def test_a_batch_the_database_refuses_is_stored_one_message_at_a_time(monkeypatch):
    real = moderation.receive_many_by_email
    calls = []

    def refuse_once(letters):
        calls.append(len(letters))
        if len(calls) == 1:
            raise DataError("value refused")
        return real(letters)

    monkeypatch.setattr(moderation, "receive_many_by_email", refuse_once)
    summary = import_messages(
        [make_message(message_id=f"<batch-{i}@example.org>") for i in range(3)]
    )
    assert (summary.stored, summary.accepted) == (3, 3)
    assert Letter.objects.count() == 3


def test_an_import_asks_for_its_letters_analysis_a_hundred_at_a_time(
    tmp_path, enqueued, django_capture_on_commit_callbacks
):
    path = tmp_path / "inbox.mbox"
    messages = [
        make_message(message_id=f"<bulk-{i}@example.org>", body=f"Letter {i} about the trams.\n")
        for i in range(150)
    ]
    write_mbox(path, messages)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_mailbox", str(path), "--no-progress")
    batches = [batch for name, (batch,) in enqueued if name == jobs.ANALYSE_LETTERS]
    assert [len(batch) for batch in batches] == [100, 50]
    assert sorted(sum(batches, [])) == sorted(Letter.objects.values_list("pk", flat=True))
