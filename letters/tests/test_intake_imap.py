"""IMAP polling against a real Dovecot server on 127.0.0.1 (Debian package dovecot-imapd)."""

import logging
import shutil
import tempfile
import threading
from unittest import mock

import pytest
from django.db import connection
from imapclient import IMAPClient

from letters import tasks
from letters.intake import imap
from letters.intake.imap import STORED_KEYWORD, ImapConfig, poll_imap
from letters.intake.store import StorageUnavailable
from letters.models import InboundEmail, WayIn

from . import dovecot_intake
from .factories import make_message

pytestmark = [
    pytest.mark.imap,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not dovecot_intake.available(),
        reason="needs Dovecot: apt-get install dovecot-imapd (package dovecot-core comes with it)",
    ),
]


@pytest.fixture(scope="module")
def dovecot():
    # Not pytest's tmp_path: its parents are private (0700) and Dovecot's own users must
    # reach the passwd file and the mail folder.
    tmp = tempfile.mkdtemp(prefix="letters-dovecot-")
    server = dovecot_intake.Dovecot(tmp).start()
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot):
    """A clean INBOX; yields a function that appends a message and the server for config."""
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login(dovecot.user, dovecot.password)
    for folder in ("INBOX", "Letters-stored"):
        if client.folder_exists(folder):
            client.select_folder(folder)
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
    client.select_folder("INBOX")

    def append(raw, folder="INBOX"):
        client.append(folder, raw)

    append.client = client
    yield append
    client.logout()


def config(dovecot, **overrides):
    fields = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "ssl": False,
        "user": dovecot.user,
        "password": dovecot.password,
        "timeout": 10,
    }
    fields.update(overrides)
    return ImapConfig(**fields)


def server_flags(client, folder="INBOX"):
    client.select_folder(folder)
    uids = client.search(["ALL"])
    return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}


def test_new_messages_are_stored_then_flagged_and_not_fetched_again(dovecot, mailbox):
    first, second = (
        make_message(message_id="<imap-1@example.org>"),
        make_message(message_id="<imap-2@example.org>"),
    )
    mailbox(first)
    mailbox(second)
    result = poll_imap(config(dovecot))
    assert result.error == ""
    assert (result.fetched, result.stored) == (2, 2)
    rows = InboundEmail.objects.order_by("message_id")
    assert [r.raw_bytes for r in rows] == [first, second]
    assert {r.way_in for r in rows} == {WayIn.IMAP}
    flags = server_flags(mailbox.client)
    assert len(flags) == 2  # kept on the server, not deleted
    assert all(STORED_KEYWORD.encode() in f for f in flags.values())
    assert all(b"\\Seen" not in f for f in flags.values())  # the staff inbox keeps "unread"
    again = poll_imap(config(dovecot))
    assert (again.fetched, again.stored) == (0, 0)


def test_a_message_that_cannot_be_stored_is_left_unflagged_for_the_next_poll(dovecot, mailbox):
    mailbox(make_message(message_id="<imap-3@example.org>"))
    with mock.patch.object(imap, "receive_email", side_effect=StorageUnavailable("db down")):
        result = poll_imap(config(dovecot))
    assert "could not store" in result.error
    assert not any(STORED_KEYWORD.encode() in f for f in server_flags(mailbox.client).values())
    assert poll_imap(config(dovecot)).stored == 1


def test_a_login_failure_is_reported_not_raised(dovecot, mailbox, caplog):
    mailbox(make_message())
    with caplog.at_level(logging.ERROR):
        result = poll_imap(config(dovecot, password="wrong"))
    assert "login failed" in result.error
    assert "login failed" in caplog.text
    assert InboundEmail.objects.count() == 0


def test_the_beat_task_survives_an_unreachable_server(settings, caplog):
    port = dovecot_intake.free_port()
    settings.LETTERS_IMAP_URL = f"imap://desk:x@127.0.0.1:{port}/INBOX"
    with caplog.at_level(logging.ERROR):
        result = tasks.poll_imap.apply()  # runs the task body in this process
    assert result.successful(), result.traceback
    assert f"cannot connect to 127.0.0.1:{port}" in caplog.text
    assert InboundEmail.objects.count() == 0


def test_two_pollers_at_once_store_each_message_once(dovecot, mailbox):
    for i in range(20):
        mailbox(make_message(message_id=f"<race-{i}@example.org>"))
    results = []

    def poll():
        try:
            results.append(poll_imap(config(dovecot)))
        finally:
            connection.close()  # each thread has its own; leave none open on the test database

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r.error == "" for r in results), [r.error for r in results]
    assert InboundEmail.objects.count() == 20
    assert sum(r.stored for r in results) == 20


def test_move_mode_moves_stored_messages_to_the_archive_folder(dovecot, mailbox):
    mailbox(make_message(message_id="<move-1@example.org>"))
    result = poll_imap(config(dovecot, after_store="move", move_to="Letters-stored"))
    assert result.stored == 1
    assert server_flags(mailbox.client, "INBOX") == {}
    assert len(server_flags(mailbox.client, "Letters-stored")) == 1


def test_settings_give_the_account_and_folder(settings):
    settings.LETTERS_IMAP_URL = "imaps://desk%40reaction.life:p%40ss@imap.example.org/Letters"
    cfg = imap.config_from_settings()
    assert (cfg.host, cfg.port, cfg.ssl) == ("imap.example.org", 993, True)
    assert (cfg.user, cfg.password, cfg.folder) == ("desk@reaction.life", "p@ss", "Letters")


def test_a_message_over_the_size_limit_is_fetched_as_headers_only_and_kept_rejected(
    dovecot, mailbox, settings
):
    settings.LETTERS_INBOUND_MAX_BYTES = 50_000
    big = make_message(message_id="<big@example.org>", body="word " * 40_000)
    small = make_message(message_id="<small@example.org>")
    mailbox(big)
    mailbox(small)
    result = poll_imap(config(dovecot))
    assert (result.error, result.stored) == ("", 2)
    row = InboundEmail.objects.get(message_id="big@example.org")
    assert row.raw_truncated and row.size >= len(big)
    assert row.raw_bytes.startswith(b"From: Ann Reader") and b"word word" not in row.raw_bytes
    assert "too large" in row.reason
    assert InboundEmail.objects.get(message_id="small@example.org").raw_bytes == small
    assert all(STORED_KEYWORD.encode() in f for f in server_flags(mailbox.client).values())


def test_a_poll_fetches_messages_in_groups_of_bounded_size(monkeypatch):
    monkeypatch.setattr(imap, "FETCH_BYTES", 100)
    groups = list(imap._fetch_groups({1: 60, 2: 30, 3: 60, 4: 500, 5: 10}, max_bytes=400))
    assert groups == [([1, 2], True), ([4], False), ([3, 5], True)]


class ServerWithoutUidplus:
    """Stands in for an IMAP server without UIDPLUS (Dovecot has it): records the calls."""

    def __init__(self):
        self.calls = []

    def has_capability(self, name):
        return False

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


def test_without_uidplus_other_deleted_messages_are_never_expunged():
    server = ServerWithoutUidplus()
    imap._after_store(server, ImapConfig("h", 143, False, "u", "p", after_store="delete"), [7])
    assert "delete_messages" in server.calls
    assert "expunge" not in server.calls
