"""IMAP polling: fetch new messages, store each raw copy, then flag (or move) it on the server.

Nothing is marked, moved or deleted on the server until its raw copy is committed here. Two
pollers running at once are harmless: the same bytes are stored once (unique Message-ID and
checksum) and flagging twice is a no-op.
"""

import logging
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..models import WayIn
from .store import StorageUnavailable, receive_email

log = logging.getLogger(__name__)

STORED_KEYWORD = "$LettersStored"
FETCH_BATCH = 25
# At most this many bytes of messages are fetched at once.
FETCH_BYTES = 32 * 1024 * 1024


@dataclass
class ImapConfig:
    host: str
    port: int
    ssl: bool
    user: str
    password: str
    folder: str = "INBOX"
    after_store: str = "flag"
    move_to: str = "Letters-stored"
    timeout: int = 30


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    error: str = ""
    uids_done: list = field(default_factory=list)


def config_from_settings():
    """The IMAP account in LETTERS_IMAP_URL (credentials there or in LETTERS_IMAP_USER/PASSWORD)."""
    url = urlsplit(settings.LETTERS_IMAP_URL)
    ssl = url.scheme == "imaps"
    return ImapConfig(
        host=url.hostname or "localhost",
        port=url.port or (993 if ssl else 143),
        ssl=ssl,
        user=settings.LETTERS_IMAP_USER or unquote(url.username or ""),
        password=settings.LETTERS_IMAP_PASSWORD or unquote(url.password or ""),
        folder=unquote(url.path.lstrip("/")) or "INBOX",
        after_store=settings.LETTERS_IMAP_AFTER_STORE,
        move_to=settings.LETTERS_IMAP_MOVE_TO,
        timeout=settings.LETTERS_IMAP_TIMEOUT,
    )


def poll_imap(config=None):
    """Fetch every message not yet stored, store it, then mark it on the server.

    Never raises for a server or login problem: it is logged at ERROR and reported in the
    result, and the next scheduled poll tries again. A storage failure stops the poll with
    the message left untouched on the server. Safe to run concurrently and to repeat.
    """
    if config is None:
        if not settings.LETTERS_IMAP_URL:
            return PollResult(error="LETTERS_IMAP_URL is not set")
        config = config_from_settings()
    result = PollResult()
    try:
        client = IMAPClient(config.host, port=config.port, ssl=config.ssl, timeout=config.timeout)
    except (OSError, IMAPClientError) as exc:
        result.error = f"cannot connect to {config.host}:{config.port}: {exc}"
        log.error("IMAP poll: %s", result.error)
        return result
    try:
        client.login(config.user, config.password)
        _poll(client, config, result)
    except LoginError as exc:
        result.error = f"login failed for {config.user!r}: {exc}"
        log.error("IMAP poll: %s", result.error)
    except StorageUnavailable as exc:
        result.error = f"stopped, could not store: {exc}"
        log.error("IMAP poll: %s", result.error)
    except (OSError, IMAPClientError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log.error("IMAP poll: %s", result.error)
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass
    return result


def _poll(client, config, result):
    client.select_folder(config.folder)
    uids = client.search(["NOT", "KEYWORD", STORED_KEYWORD, "NOT", "DELETED"])
    for start in range(0, len(uids), FETCH_BATCH):
        sizes = {
            uid: data.get(b"RFC822.SIZE", 0)
            for uid, data in client.fetch(
                uids[start : start + FETCH_BATCH], ["RFC822.SIZE"]
            ).items()
        }
        for group, whole in _fetch_groups(sizes, settings.LETTERS_INBOUND_MAX_BYTES):
            done = []
            try:
                for uid, raw in _fetch(client, group, whole):
                    result.fetched += 1
                    _, created = receive_email(raw, way_in=WayIn.IMAP, total_size=sizes[uid])
                    if created:
                        result.stored += 1
                    else:
                        result.duplicates += 1
                    done.append(uid)
            finally:
                # Whatever was committed before an error is marked, so it is not fetched again.
                if done:
                    _after_store(client, config, done)
                    result.uids_done.extend(done)


def _fetch_groups(sizes, max_bytes):
    """The uids to fetch together, and whether whole (under the size limit) or only their
    headers (over it: the desk keeps the headers and rejects the message, saying why). A
    group holds at most FETCH_BYTES, so a poll's memory is bounded whatever the mailbox."""
    group, total = [], 0
    for uid, size in sizes.items():
        if size > max_bytes:
            yield [uid], False
            continue
        if group and total + size > FETCH_BYTES:
            yield group, True
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group, True


def _fetch(client, uids, whole):
    """(uid, bytes) of each message still there (another poller may have moved it)."""
    part = "BODY.PEEK[]" if whole else "BODY.PEEK[HEADER]"
    key = b"BODY[]" if whole else b"BODY[HEADER]"
    for uid, data in client.fetch(uids, [part]).items():
        if data.get(key) is not None:
            yield uid, data[key]


def _after_store(client, config, uids):
    client.add_flags(uids, [STORED_KEYWORD], silent=True)
    if config.after_store == "move":
        if not client.folder_exists(config.move_to):
            try:
                client.create_folder(config.move_to)
            except IMAPClientError:
                pass  # Created by a concurrent poller.
        if client.has_capability("MOVE"):
            client.move(uids, config.move_to)
        else:
            client.copy(uids, config.move_to)
            client.delete_messages(uids, silent=True)
            _expunge(client, uids)
    elif config.after_store == "delete":
        client.delete_messages(uids, silent=True)
        _expunge(client, uids)


def _expunge(client, uids):
    """Remove our deleted messages. Without UIDPLUS a plain EXPUNGE would also remove every
    other message someone marked deleted in the folder, so ours are left marked instead."""
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        log.info("IMAP server lacks UIDPLUS: %d stored message(s) left marked deleted", len(uids))
