"""Mail bytes and header values to text, never raising: charsets, RFC 2047, addresses, dates.

Part of letters.intake.parse (no Django, no database, no network).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import utils as email_utils

from ..addresses import normalise_address

# ---------------------------------------------------------------------------
# Charsets
# ---------------------------------------------------------------------------


# windows-1252 as the table of the 256 characters its bytes stand for (the table its own codec
# decodes with), the five bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) kept as
# Latin-1. An error handler for those five was a call into Python for each one: a megabyte of
# them took a third of a second.
_CP1252_OR_LATIN1 = "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256))

_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-sjis": "shift_jis",
    "windows-874": "cp874",
    "tis-620": "cp874",
}
# Treated as "really windows-1252 or UTF-8", as browsers do (WHATWG).
_WESTERN = frozenset(
    {
        "",
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "iso8859-1",
        "latin1",
        "latin-1",
        "l1",
        "iso_8859-1",
        "windows-1252",
        "cp1252",
        "x-user-defined",
        "unknown-8bit",
        "x-unknown",
        "unknown",
        "default",
        "8bit",
        "binary",
        "ansi_x3.4-1968",
        "iso-8859-15",
        "latin-9",
        "latin9",
    }
)
# Codecs Python knows that must never be applied to mail text.
_FORBIDDEN_CODECS = frozenset(
    {
        "unicode_escape",
        "raw_unicode_escape",
        "idna",
        "punycode",
        "undefined",
        "mbcs",
        "oem",
    }
)
_codec_cache: dict[str, str | None] = {}


def _codec_for(charset: str | None) -> str | None:
    """Return a usable Python codec name for a declared charset, or None."""
    cs = (charset or "").strip().strip("\"'").lower()
    if cs in _codec_cache:
        return _codec_cache[cs]
    name = _CHARSET_ALIASES.get(cs, cs)
    result: str | None
    if cs in _WESTERN:
        result = None
    else:
        try:
            info = codecs.lookup(name)
        except (LookupError, ValueError, TypeError):
            result = None
        else:
            ok = getattr(info, "_is_text_encoding", True) and info.name not in _FORBIDDEN_CODECS
            result = info.name if ok else None
    if len(_codec_cache) < 512:
        _codec_cache[cs] = result
    return result


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode mail text bytes, never raising.

    Western/undeclared/ASCII/Latin-1 labels are read as UTF-8 if the bytes are
    valid UTF-8, else as windows-1252 (so 0x93/0x94/0x96 become curly quotes
    and dashes even when labelled iso-8859-1 or us-ascii).  A declared UTF-8
    that is not valid UTF-8 falls back to windows-1252 too.  Other declared
    charsets are honoured, with the same fallbacks if they fail.
    """
    if data.isascii():
        return data.decode("ascii")
    codec = _codec_for(charset)
    if codec is not None and codec != "utf-8":
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError, ValueError, TypeError):
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return codecs.charmap_decode(data, "strict", _CP1252_OR_LATIN1)[0]
    return text.removeprefix("\ufeff")


def fix_8bit(value: str) -> str:
    """compat32 smuggles raw 8-bit header bytes in as surrogates; decode them."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", "surrogateescape"))


# ---------------------------------------------------------------------------
# Headers (RFC 2047, done by hand so broken input never raises)
# ---------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(r"\r?\n[ \t]*")


def _ew_payload(enc: str, text: str) -> bytes:
    if enc in "bB":
        t = re.sub(r"[^A-Za-z0-9+/]", "", text)
        t = t[: len(t) - (len(t) % 4)] if len(t) % 4 == 1 else t + "=" * (-len(t) % 4)
        try:
            return base64.b64decode(t)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    raw = text.replace("_", " ").encode("ascii", "replace")
    return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_header_value(value: object) -> str:
    """Unfold and decode one header value (RFC 2047, 8-bit, anything)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if "\n" in value:
        value = _FOLD.sub(" ", value)
    value = fix_8bit(value)
    if "=?" not in value:
        return value.strip()
    out: list[str] = []
    pos = 0
    pending: list[bytes] = []
    pending_cs: str | None = None

    def flush() -> None:
        nonlocal pending, pending_cs
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_cs))
            pending = []
            pending_cs = None

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        charset = m.group(1).split("*", 1)[0]
        if between and not (pending and between.isspace()):
            flush()
            out.append(between)
        elif pending and pending_cs != charset.lower():
            flush()
        pending.append(_ew_payload(m.group(2), m.group(3)))
        pending_cs = charset.lower()
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out).strip()


# Header values are read for addresses up to this many characters in all (To and Cc together,
# the envelope headers together, the From): the stdlib's address parser takes about a
# microsecond a character, and no letter has more addresses than fit. The raw message keeps
# the rest.
MAX_ADDRESS_CHARS = 16 * 1024

_ADDRESS = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_ADDRESS_AT = re.compile(_ADDRESS)
# Searched for as it is, the pattern is tried at every character of a run of local-part
# characters and reads to the run's end each time: quadratic in a long run with no "@". A
# match can only begin where such a run begins, so the search tries only there.
_ADDRESS_AT_RUN_START = re.compile(r"(?<![\w.+'-])" + _ADDRESS)


def address_matches(text: str) -> Iterator[re.Match[str]]:
    """The address-like words of `text`, as re.finditer finds them, in time linear in its
    length. finditer goes on from where the last match ended, which may be inside a run
    ("a@b.c+d@e.f"), so that point is tried too."""
    at = 0
    while True:
        match = (_ADDRESS_AT.match(text, at) if at else None) or _ADDRESS_AT_RUN_START.search(
            text, at
        )
        if match is None:
            return
        yield match
        at = match.end()


def _capped(values: list[str], budget: int = MAX_ADDRESS_CHARS) -> Iterator[str]:
    """The values, as many characters of them as the budget holds: the value that overflows it
    is cut after its last comma within it (the address the cut falls in is not read)."""
    for value in values:
        if len(value) > budget:
            yield value[:budget].rpartition(",")[0] or value[:budget]
            return
        budget -= len(value)
        yield value


def addresses(values: list[str]) -> list[str]:
    """The addresses in header values (To and Cc, or the envelope headers), normalised, each
    once, in order; read from the first MAX_ADDRESS_CHARS characters of them."""
    out: dict[str, None] = {}
    for v in _capped(values):
        try:
            pairs = email_utils.getaddresses([fix_8bit(_FOLD.sub(" ", v))])
        except Exception:  # noqa: BLE001 - the stdlib address parser has had crashes on junk
            pairs = []
        found = [a for _, a in pairs if "@" in a]
        if not found:
            found = [m.group(0) for m in address_matches(v)]
        for a in found:
            a = normalise_address(a)
            if a:
                out.setdefault(a)
    return list(out)


def parse_from(value: str) -> tuple[str, str]:
    value = fix_8bit(_FOLD.sub(" ", (value or "")[:MAX_ADDRESS_CHARS]))
    try:
        name, addr = email_utils.parseaddr(value)
    except Exception:  # noqa: BLE001
        name, addr = "", ""
    if "@" not in addr:
        m = next(address_matches(value), None)
        addr = m.group(0) if m else addr
        if m and not name:
            name = value[: m.start()].strip(" <\"'")
    name = decode_header_value(name).strip().strip("\"'").strip()
    if name.lower() == addr.lower():
        name = ""
    return name, normalise_address(addr)


def parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = email_utils.parsedate_to_datetime(fix_8bit(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt
