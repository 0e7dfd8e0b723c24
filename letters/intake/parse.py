"""Turn one raw inbound e-mail (bytes) into a plain ``ParsedEmail``.

Pure Python: no Django, no database, no network.  Everything here must cope
with hostile or broken input; the only exception that escapes is
``ParseError`` (size/part/depth limits, or no letter text at all).

Parser policy, chosen by measurement.  Command (5,000 generated letters,
10.4 MB, Python 3.13.0, 2 CPUs, median of 5 runs):

    python bench/make_mbox.py --count 5000 --out /tmp/letters.mbox
    python bench/bench_parse.py /tmp/letters.mbox

    parse_email (BytesParser(policy=compat32) + own header decoding): 3,588 msg/s
        (p50 0.25 ms, p99 0.60 ms per message)
    policy.default equivalent (message_from_bytes + header objects +
        get_body/get_content + iter_attachments):                      859 msg/s

``policy.default`` builds header objects and re-parses them on every access,
so we use ``compat32`` and decode only the headers we need (RFC 2047 by hand,
tolerant of unknown charsets, 8-bit bytes and split multi-byte characters).

This module holds the public types, the MIME walk and ``parse_email``; the
pieces it calls live beside it: ``mime`` (the stdlib's parser, bounded: lines,
depth, header parameters), ``decoding`` (charsets, headers, addresses, dates),
``plain_text`` (HTML to text, quotes, signatures, footers, URLs), ``signoff``
(name, town, address and phone under the letter), ``attachments``
(.docx/.odt/.txt text) and ``hygiene`` (auto-replies, bounces, lists, loops,
suspect mail). What each reads is capped before the work starts; the caps are
listed in docs/email-intake.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import utils as email_utils
from email.message import Message
from email.policy import compat32

from ..addresses import normalise_address
from .attachments import attachment_kind, attachment_text
from .decoding import (
    addresses,
    decode_bytes,
    decode_header_value,
    fix_8bit,
    parse_date,
    parse_from,
)
from .hygiene import auto_reason, suspect_reasons
from .identify import message_ids
from .mime import MAX_LINES, TooDeep, line_count, message_from_bytes
from .plain_text import CONTROL, MAX_HTML_CHARS, find_urls, html_to_text, strip_quotes, tidy
from .signoff import extract_signoff

__all__ = ["Attachment", "ParseError", "ParsedEmail", "decode_bytes", "parse_email"]

MB = 1024 * 1024
# The most text read from one part, and kept as the letter's text: a letter is a few thousand
# words, and every step after this one is linear in it, about half a second a million
# characters of short lines (the raw message keeps everything).
MAX_TEXT_CHARS = 300_000
# Zipped documents (.docx, .odt) opened for a letter sent as one: each may take a fifth of a
# second at the inflated-size cap (attachments.py).
MAX_DOCUMENTS = 1


# ---------------------------------------------------------------------------
# Public data types
# ---------------------------------------------------------------------------


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int
    text_extracted: bool = False


@dataclass
class ParsedEmail:
    subject: str
    from_name: str
    from_address: str
    to_addresses: list[str]
    date: datetime | None
    in_reply_to: str
    references: list[str]
    body: str
    signoff_name: str = ""
    signoff_town: str = ""
    signoff_address: str = ""
    signoff_phone: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    auto_reason: str = ""
    suspect_reasons: list[str] = field(default_factory=list)
    # Envelope recipients seen in Delivered-To / X-Original-To / Envelope-To (letters that
    # were Bcc'd), plus those the way in reported.
    delivered_to: list[str] = field(default_factory=list)


class ParseError(Exception):
    """Raised only for messages we refuse to read; ``reason`` is for editors."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------
# MIME walking
# ---------------------------------------------------------------------------


@dataclass
class _Leaf:
    part: Message
    ctype: str
    filename: str
    is_attachment: bool
    inside_message: bool


def _part_filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - RFC 2231 junk
        name = None
    if not name:
        try:
            name = part.get_param("name")
        except Exception:  # noqa: BLE001
            name = None
        if isinstance(name, tuple):
            name = email_utils.collapse_rfc2231_value(name)
    if not name:
        return ""
    name = decode_header_value(name)
    # never let a path through
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch >= " ")[:255]


def _disposition(part: Message) -> str:
    value = part.get("Content-Disposition")
    if not value:
        return ""
    return str(value).split(";", 1)[0].strip().lower()


_EMBEDDED_MESSAGE = frozenset({"message/rfc822", "message/global"})


def _collect(msg: Message, max_parts: int, max_depth: int) -> list[_Leaf]:
    leaves: list[_Leaf] = []
    count = 0
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    while stack:
        part, depth, inside = stack.pop()
        count += 1
        if count > max_parts:
            raise ParseError(f"too many parts (more than {max_parts})")
        if depth > max_depth:
            raise ParseError(f"nesting too deep (more than {max_depth} levels)")
        ctype = part.get_content_type()
        payload = part._payload
        if isinstance(payload, list):
            if ctype.startswith("message/") and ctype not in _EMBEDDED_MESSAGE:
                continue  # delivery-status and friends: header blocks, not content
            is_msg = ctype in _EMBEDDED_MESSAGE
            if is_msg and depth > 0:
                # an attached e-mail: list it, and look inside only as a fallback
                leaves.append(_Leaf(part, ctype, _part_filename(part), True, inside))
            children = [c for c in payload if isinstance(c, Message)]
            for child in reversed(children):
                stack.append((child, depth + 1, inside or (is_msg and depth > 0)))
            continue
        filename = _part_filename(part)
        disp = _disposition(part)
        is_att = (
            disp == "attachment"
            or bool(filename)
            or part.get_content_maintype() not in ("text", "message", "multipart")
        )
        leaves.append(_Leaf(part, ctype, filename, is_att, inside))
    return leaves


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - odd CTEs on broken parts
        data = None
    if isinstance(data, bytes):
        return data
    raw = part._payload
    if isinstance(raw, str):
        return raw.encode("ascii", "surrogateescape")
    return b""


def _charset(part: Message) -> str | None:
    try:
        cs = part.get_param("charset")
    except Exception:  # noqa: BLE001
        return None
    if isinstance(cs, tuple):
        cs = cs[2]
    return cs if isinstance(cs, str) else None


def _part_text(part: Message, limit: int = MAX_TEXT_CHARS) -> str:
    data = _payload_bytes(part)[: 4 * limit]  # UTF-8 takes at most 4 bytes a character
    text = decode_bytes(data, _charset(part))[:limit]
    try:
        fmt = (part.get_param("format") or "").lower()
        delsp = (part.get_param("delsp") or "").lower() == "yes"
    except Exception:  # noqa: BLE001
        fmt, delsp = "", False
    if fmt == "flowed":
        text = _unflow(text, delsp)
    return text


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: join soft line breaks (lines ending in a space)."""
    out: list[str] = []
    buf = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.removeprefix(" ")  # space-stuffing
        if line.endswith(" ") and line != "-- " and not line.startswith(">"):
            buf += line[:-1] if delsp else line
            continue
        out.append(buf + line)
        buf = ""
    if buf:
        out.append(buf)
    return "\n".join(out)


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------


def _size(n: float) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{int(n)} bytes"


def _headers(msg: Message) -> dict[str, list[str]]:
    h: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        if not isinstance(value, str):
            value = str(value)
        h.setdefault(name.strip().lower(), []).append(value)
    return h


def parse_email(
    raw: bytes,
    *,
    own_addresses: Iterable[str] = (),
    max_bytes: int = 30 * MB,
    max_parts: int = 100,
    max_depth: int = 10,
    max_attachment_bytes: int = 10 * MB,
    max_lines: int = MAX_LINES,
) -> ParsedEmail:
    """Parse one raw message into a ParsedEmail; raises only ParseError."""
    msg = _read(raw, max_bytes=max_bytes, max_lines=max_lines, max_depth=max_depth)
    h = _headers(msg)
    leaves = _collect(msg, max_parts, max_depth)
    body_text, hrefs, cut = _body_text(leaves)
    attachments = _attachments(leaves)
    cleaned, sig = strip_quotes(body_text) if body_text.strip() else ("", "")
    # A letter sent as a document: empty body, or a short "please see attached" note.
    if not cleaned or (len(cleaned) < 400 and "attach" in cleaned.lower()):
        text = _text_from_attachments(attachments, max_attachment_bytes)
        if text:
            body_text, hrefs = text, []
            cleaned, sig = strip_quotes(text)
    if not body_text.strip():
        raise ParseError("no letter text found")
    body, signoff = _body_and_signoff(body_text, cleaned, sig)
    own = {normalise_address(a, drop_tag=True) for a in own_addresses if a}
    parsed = _parsed(h, msg, body, signoff, body_text, hrefs, [a for a, _, _ in attachments], own)
    if cut:
        parsed.suspect_reasons.append(CUT_REASON)
    return parsed


# What an editor sees on a letter whose text reached a cap: the rest is in the raw message.
CUT_REASON = "text cut at the intake's limit: the whole message is under Inbound email"


def _read(raw: bytes, *, max_bytes: int, max_lines: int, max_depth: int) -> Message:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise ParseError(f"message too large ({_size(len(raw))}, limit {_size(max_bytes)})")
    if (lines := line_count(raw)) > max_lines:
        raise ParseError(f"too many lines ({lines:,}, limit {max_lines:,})")
    try:
        return message_from_bytes(raw, max_depth=max_depth)
    except (TooDeep, RecursionError):
        raise ParseError(f"nesting too deep (more than {max_depth} levels)") from None


def _body_text(leaves: list[_Leaf]) -> tuple[str, list[str], bool]:
    """The letter's text, and the links of its HTML: the plain parts, else the HTML parts
    turned into text; those of an attached message only if the message itself has none.
    Parts are read until MAX_TEXT_CHARS of text, and MAX_HTML_CHARS of HTML in all (see
    CUT_REASON for what an editor is told). The third value: whether a cap cut the text."""
    html_left = MAX_HTML_CHARS
    for inside in (False, True):
        texts = [lf for lf in leaves if not lf.is_attachment and lf.inside_message == inside]
        plain, length = [], 0  # length: of the plain parts joined by blank lines
        for lf in texts:
            if lf.ctype == "text/plain" and length < MAX_TEXT_CHARS:
                text = _part_text(lf.part)
                if text.strip():
                    length += len(text) + 2 * bool(plain)
                    plain.append(text)
        if plain:
            return "\n\n".join(plain)[:MAX_TEXT_CHARS], [], length >= MAX_TEXT_CHARS
        converted, hrefs = [], []
        for lf in texts:
            if lf.ctype != "text/html" or html_left <= 0:
                continue
            markup = _part_text(lf.part, limit=html_left)
            html_left -= len(markup)
            text, links = html_to_text(markup)
            if text.strip():
                converted.append(text)
                hrefs.extend(links)
        if converted:
            text = "\n\n".join(converted)
            return text[:MAX_TEXT_CHARS], hrefs, len(text) >= MAX_TEXT_CHARS or html_left <= 0
    return "", [], False


def _attachments(leaves: list[_Leaf]) -> list[tuple[Attachment, bytes, str | None]]:
    """Each attachment of the message itself, with its bytes and charset."""
    found = []
    for i, lf in enumerate(leaves):
        if not lf.is_attachment or lf.inside_message:
            continue
        if lf.ctype.startswith("message/") and isinstance(lf.part._payload, list):
            try:
                data = lf.part.as_bytes(policy=compat32)
            except Exception:  # noqa: BLE001
                data = b""
            name = lf.filename or "forwarded-message.eml"
        else:
            data = _payload_bytes(lf.part)
            name = lf.filename or f"attachment-{i + 1}"
        attachment = Attachment(filename=name, content_type=lf.ctype, size=len(data))
        found.append((attachment, data, _charset(lf.part)))
    return found


def _text_from_attachments(attachments, max_attachment_bytes: int) -> str:
    """The text of the first document attachment that has some (marked text_extracted); of
    the zipped ones, only the first MAX_DOCUMENTS are opened."""
    documents = 0
    for attachment, data, charset in attachments:
        kind = attachment_kind(attachment.filename, attachment.content_type)
        if kind is None or attachment.size > max_attachment_bytes:
            continue
        if kind != "txt":
            documents += 1
            if documents > MAX_DOCUMENTS:
                continue
        text = attachment_text(kind, data, charset)[:MAX_TEXT_CHARS]
        if text.strip():
            attachment.text_extracted = True
            return text
    return ""


def _body_and_signoff(body_text: str, cleaned: str, sig: str):
    """The letter without its sign-off, and the sign-off (name, town, address, phone)."""
    body, signoff = extract_signoff(cleaned)
    if not signoff.name and sig:
        _, sig_signoff = extract_signoff("\n\n" + sig)
        if sig_signoff.name:
            signoff = sig_signoff
    if not body:
        # Everything looked like quote/signature: better to show the editor something.
        body = tidy(CONTROL.sub("", body_text.replace("\r\n", "\n")))
    return body, signoff


def _parsed(h, msg, body, signoff, body_text, hrefs, attachments, own) -> ParsedEmail:
    def one(name: str) -> str:
        v = h.get(name)
        return decode_header_value(v[0]) if v else ""

    from_name, from_address = parse_from(h.get("from", [""])[0])
    in_reply = message_ids(fix_8bit(h.get("in-reply-to", [""])[0]))
    try:
        report_type = str(msg.get_param("report-type") or "").lower()
    except Exception:  # noqa: BLE001
        report_type = ""
    return ParsedEmail(
        subject=one("subject"),
        from_name=from_name,
        from_address=from_address,
        to_addresses=addresses(h.get("to", []) + h.get("cc", [])),
        date=parse_date(h.get("date", [""])[0]),
        in_reply_to=in_reply[0] if in_reply else "",
        references=message_ids(fix_8bit(" ".join(h.get("references", []))), nearest=True),
        body=body,
        signoff_name=signoff.name,
        signoff_town=signoff.town,
        signoff_address=signoff.address,
        signoff_phone=signoff.phone,
        attachments=attachments,
        urls=find_urls(body_text, hrefs),
        auto_reason=auto_reason(h, msg.get_content_type(), report_type, from_address, own),
        suspect_reasons=suspect_reasons(h),
        delivered_to=addresses(
            h.get("delivered-to", []) + h.get("x-original-to", []) + h.get("envelope-to", [])
        ),
    )
