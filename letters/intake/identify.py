"""Name a raw message without parsing it: its Message-ID (or one derived from its checksum, for
a message that has none) and its SHA-256. Every way in and the parser name a message alike.

Pure Python: no Django, no database, no network. Reads only the header block, with patterns
that are linear in its length, and of an id header at most MAX_IDS_CHARS.
"""

import hashlib
import re
from dataclasses import dataclass

from .characters import clean_line

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)
_REFERENCES = re.compile(rb"^references:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.M)
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_RETURN_PATH = re.compile(rb"^return-path:[ \t]*([^\r\n]*)", re.IGNORECASE | re.M)

# The Message-ID made for a message that has none: the same bytes always get the same one.
DERIVED_DOMAIN = "letters.invalid"


@dataclass(frozen=True)
class Identity:
    message_id: str
    derived: bool
    checksum: str


def header_block(raw):
    match = _HEADER_END.search(raw)
    return raw[: match.start()] if match else raw


def without_controls(value):
    """`value` as one line of text without control or bidi characters (NUL among them:
    PostgreSQL's text columns refuse it), for header values the desk stores."""
    return clean_line(str(value or "")).strip()


# An id header is read from 16 KB of it (an id is at most 998 characters): the first 16 KB of
# a Message-ID or In-Reply-To, the last of References (its nearest ids, the ones threading
# and the acknowledgement use). Read whole, a header of millions of ids took seconds.
MAX_IDS_CHARS = 16 * 1024


def message_ids(value, *, nearest=False):
    """The message ids in a Message-ID, In-Reply-To or References value (text or raw bytes),
    read from its first MAX_IDS_CHARS characters, or its last with nearest=True (References):
    those in angle brackets, else any word with an "@", each without control characters."""
    value = value[-MAX_IDS_CHARS:] if nearest else value[:MAX_IDS_CHARS]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    ids = _ANGLE_ID.findall(value)
    if not ids:
        ids = [t.strip("<>,;") for t in value.split() if "@" in t]
    ids = (without_controls(i) for i in ids)
    return [i for i in ids if i]


def identify(raw):
    """Message-ID and SHA-256 of a raw message, read without parsing it.

    A message without a Message-ID gets one derived from its checksum.
    """
    checksum = hashlib.sha256(raw).hexdigest()
    match = _MESSAGE_ID.search(header_block(raw))
    ids = message_ids(match.group(1)) if match else []
    if ids:
        return Identity(ids[0][:995], False, checksum)
    return Identity(f"derived-{checksum[:32]}@{DERIVED_DOMAIN}", True, checksum)


def refused_identity(identity):
    """The name of a message whose own Message-ID the database refused: from its checksum."""
    return Identity(f"refused-{identity.checksum[:32]}@{DERIVED_DOMAIN}", True, identity.checksum)


def return_path_of(raw):
    """The first Return-Path header (the envelope sender the last MTA recorded): the address
    without brackets, "<>" for the null sender, or "" if there is none."""
    match = _RETURN_PATH.search(header_block(raw))
    if not match:
        return ""
    value = without_controls(match.group(1).decode("utf-8", "replace")).strip()
    return "<>" if value.replace(" ", "") == "<>" else value.strip("<>").strip()


def references_of(raw):
    """The References header's ids (for threading our acknowledgement)."""
    match = _REFERENCES.search(header_block(raw))
    return message_ids(match.group(1), nearest=True) if match else []
