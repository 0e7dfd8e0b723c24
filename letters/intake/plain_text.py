"""Letter text: HTML to plain text, quotes/signatures/footers removed, URLs found.

Part of letters.intake.parse (no Django, no database, no network).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser

import nh3

from . import characters

# ---------------------------------------------------------------------------
# HTML to text
# ---------------------------------------------------------------------------

_SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "head",
        "title",
        "template",
        "noscript",
        "svg",
        "object",
        "iframe",
        "xml",
    }
)
_PARA_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "dl",
        "figure",
        "hr",
    }
)
_LINE_TAGS = frozenset(
    {
        "div",
        "br",
        "tr",
        "li",
        "dt",
        "dd",
        "figcaption",
        "caption",
        "center",
        "tbody",
        "main",
    }
)
_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "meta",
        "link",
        "input",
        "area",
        "base",
        "col",
        "embed",
        "source",
        "wbr",
    }
)
_Q_OPEN, _Q_CLOSE, _SIG = "\x00QOPEN\x00", "\x00QCLOSE\x00", "\x00SIG\x00"
_NH3_TAGS = frozenset(_PARA_TAGS | _LINE_TAGS | {"a", "blockquote", "td", "th", "span", "b", "i"})
_NH3_ATTRS = {"a": {"href"}, "div": {"class"}, "blockquote": {"class", "type"}}


class _HTMLToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.skip = 0
        self.pre = 0
        # stack of ("quote"|"sig"|None) for div/blockquote so we close correctly
        self.div_stack: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "a":
            for k, v in attrs:
                if k == "href" and v and v.lower().startswith(("http://", "https://")):
                    self.hrefs.append(v.strip())
        elif tag == "pre":
            self.pre += 1
        if tag in ("blockquote", "div"):
            cls = " ".join(v or "" for k, v in attrs if k == "class").lower()
            if tag == "blockquote" or "gmail_quote" in cls or "yahoo_quoted" in cls:
                kind = "quote"
                self.parts.append("\n" + _Q_OPEN + "\n")
            elif "signature" in cls:
                kind = "sig"
                self.parts.append("\n" + _SIG + "\n")
            else:
                kind = None
                self.parts.append("\n")
            self.div_stack.append(kind)
            return
        if tag in _PARA_TAGS:
            self.parts.append("\n\n")
        elif tag in _LINE_TAGS:
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> etc.; a self-closed container (<div/>) opens and closes at once
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if self.skip:
                self.skip -= 1
            return
        if self.skip:
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in ("blockquote", "div"):
            kind = self.div_stack.pop() if self.div_stack else None
            self.parts.append("\n" + _Q_CLOSE + "\n" if kind == "quote" else "\n")
            return
        if tag in _PARA_TAGS:
            self.parts.append("\n\n")
        elif tag in _LINE_TAGS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)


# nh3 (Rust, so a task's time limit cannot stop it) takes time that grows with the square of
# the nesting depth, and the text walk after it about a second a megabyte, or two
# microseconds a tag. So HTML is cut to MAX_HTML_CHARS, for a whole message (parse shares it
# among the message's HTML parts; a letter's HTML is a few thousand; the raw message keeps the
# rest), and HTML nested deeper than MAX_HTML_DEPTH or with more than MAX_HTML_TAGS tags (no
# letter is, or has: a long one has a few thousand) has its tags dropped before nh3 sees it:
# the words are kept.
MAX_HTML_CHARS = 300_000
MAX_HTML_DEPTH = 100
MAX_HTML_TAGS = 20_000
# Possessive (*+): a "<" that no ">" closes fails at once. Backtracking, the name and the
# attributes traded characters, the square of the run's length ("<a" + 300 KB: minutes).
_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/<>]*+)[^<>]*+>")
_UNNESTED = frozenset(
    "area base br col embed hr img input link meta param source track wbr p li td th tr "
    "option dt dd".split()
)


def _tangled(markup: str) -> bool:
    """Whether the markup has more than MAX_HTML_TAGS tags or nests elements deeper than
    MAX_HTML_DEPTH: counted in one pass over the tags, which stops at the first of those."""
    depth = 0
    for count, match in enumerate(_TAG.finditer(markup), 1):
        if count > MAX_HTML_TAGS:
            return True
        closing, name = match.group(1), match.group(2).lower()
        if name in _UNNESTED or match.group(0).endswith("/>"):
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > MAX_HTML_DEPTH:
            return True
    return False


def _flattened(markup: str) -> str:
    """The markup without its tags, and without what script and style elements hold. One pass:
    each search starts where the last one ended."""
    lower = markup.lower()
    kept, at = [], 0
    while True:
        starts = [i for i in (lower.find("<script", at), lower.find("<style", at)) if i >= 0]
        if not starts:
            kept.append(markup[at:])
            break
        start = min(starts)
        kept.append(markup[at:start])
        closing = "</script" if lower.startswith("<script", start) else "</style"
        end = lower.find(closing, start)
        if end < 0:
            break  # unclosed: the rest is script or style
        at = lower.find(">", end)
        at = len(markup) if at < 0 else at + 1
    return _TAG.sub(" ", " ".join(kept))


def html_to_text(markup: str) -> tuple[str, list[str]]:
    """Return (plain text, http(s) hrefs).  Blockquotes come back '>'-prefixed."""
    markup = markup[:MAX_HTML_CHARS]
    if _tangled(markup):
        markup = _flattened(markup)
    try:
        cleaned = nh3.clean(
            markup,
            tags=set(_NH3_TAGS),
            attributes={k: set(v) for k, v in _NH3_ATTRS.items()},
            clean_content_tags={
                "script",
                "style",
                "title",
                "head",
                "template",
                "noscript",
            },
            strip_comments=True,
            link_rel=None,
        )
    except Exception:  # noqa: BLE001 - nh3 is Rust; be defensive about odd input
        cleaned = markup
    p = _HTMLToText()
    try:
        p.feed(cleaned)
        p.close()
    except Exception:  # noqa: BLE001, S110 - html.parser on garbage; keep what we have
        pass
    text = "".join(p.parts).replace("\xa0", " ")
    out: list[str] = []
    depth = 0
    for line in text.split("\n"):
        s = line.strip()
        if s == _Q_OPEN.strip("\n"):
            depth += 1
            continue
        if s == _Q_CLOSE.strip("\n"):
            depth = max(0, depth - 1)
            continue
        if s == _SIG:
            out.append("-- ")
            continue
        out.append(("> " * depth + s) if depth and s else s)
    return "\n".join(out), p.hrefs


# ---------------------------------------------------------------------------
# Cleaning: quotes, signatures, footers, sign-off
# ---------------------------------------------------------------------------

# Control and bidi characters (letters.intake.characters), and the invisible zero-width space
# and byte-order mark that mail programs leave behind.
CONTROL = re.compile(f"[{characters.CONTROLS}{characters.BIDI}\u200b\ufeff]")
_ATTRIB = re.compile(
    r"^\s*(?:On\b.{0,250}\b(?:wrote|writes)|Le\b.{0,250}a écrit|Am\b.{0,250}schrieb"
    r"|El\b.{0,250}escribió|Il giorno\b.{0,250}ha scritto|Op\b.{0,250}schreef)\s*:\s*$",
    re.IGNORECASE,
)
_LOOSE_ATTRIB = re.compile(r"^.{1,200}\bwrote:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*(?:-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Reply message\s*-{2,}|_{10,}"
    r"|-{5,}\s*Oorspronkelijk bericht\s*-{5,}|-{2,}\s*Message d'origine\s*-{2,})\s*$",
    re.IGNORECASE,
)
_HDR_FROM = re.compile(r"^\s*\*?(?:From|De|Von|Van)\s*:\*?\s", re.IGNORECASE)
_HDR_NEXT = re.compile(r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|To|Subject)\s*:", re.IGNORECASE)
_FOOTER = re.compile(
    r"^\s*(?:Sent from my \S.{0,60}|Sent from (?:Outlook|Mail|Yahoo|Gmail|AOL|my |Samsung|Proton)"
    r".{0,80}|Get Outlook for \S.{0,60}|Sent via \S.{0,60}|Sent using \S.{0,60}"
    r"|Envoyé de mon .{1,60}|Von meinem .{1,60} gesendet\.?|Enviado desde mi .{1,60})\s*$",
    re.IGNORECASE,
)
_SIG_LINE = re.compile(r"^--\s?$")
_BLANKS = re.compile(r"\n{3,}")


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def strip_quotes(text: str) -> tuple[str, str]:
    """Return (letter text, signature block) with quotes and footers removed."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " "))
    lines = [ln.rstrip() if not _SIG_LINE.match(ln) else "-- " for ln in text.split("\n")]
    lines = _cut_top_posting(lines)
    lines = _cut_attributions(lines)
    # Remaining '>' lines (interleaved replies keep their own text).
    lines = [x for x in lines if not _is_quote(x)]
    lines, sig = _split_signature(lines)
    # "Sent from my iPhone" and friends.
    lines = [x for x in lines if not _FOOTER.match(x)]
    return tidy("\n".join(lines)), sig


def _cut_top_posting(lines: list[str]) -> list[str]:
    """Outlook-style top-posting: cut from the original-message marker on."""
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line):
            return lines[:i]
        if _HDR_FROM.match(line) and any(_HDR_NEXT.match(x) for x in lines[i + 1 : i + 4]):
            return lines[:i]
    return lines


def _attribution_span(lines: list[str], i: int, next_text: list[int]) -> int:
    """How many lines an "On <date>, X wrote:" attribution at line i takes (0: none)."""
    line = lines[i]
    if _ATTRIB.match(line):
        return 1
    if (
        i + 1 < len(lines)
        and line.lstrip()[:3].lower() in ("on ", "le ", "am ")
        and _ATTRIB.match(line + " " + lines[i + 1])
    ):
        return 2
    if _LOOSE_ATTRIB.match(line):
        following = next_text[i + 1]
        return 1 if following < len(lines) and _is_quote(lines[following]) else 0
    return 0


def _cut_attributions(lines: list[str]) -> list[str]:
    """Drop attributions (possibly wrapped over two lines): with what follows them when that
    is the unprefixed original or a purely trailing quote block, else just the line.

    Linear: what follows each line (its next non-blank line, whether only quotes follow) is
    worked out once, from the end."""
    n = len(lines)
    next_text = [n] * (n + 1)  # index of the next non-blank line at or after i (n: none)
    only_quotes = [True] * (n + 1)  # every non-blank line from i on is a quote
    for k in range(n - 1, -1, -1):
        blank = not lines[k].strip()
        next_text[k] = next_text[k + 1] if blank else k
        only_quotes[k] = only_quotes[k + 1] and (blank or _is_quote(lines[k]))
    kept = []
    i = 0
    while i < n:
        span = _attribution_span(lines, i, next_text)
        if not span:
            kept.append(lines[i])
            i += 1
            continue
        following = next_text[i + span]
        if following == n or not _is_quote(lines[following]) or only_quotes[i + span]:
            return kept  # unprefixed original below, or a purely trailing quote block
        i += span
    return kept


def _split_signature(lines: list[str]) -> tuple[list[str], str]:
    """The lines above a "-- " signature separator, and the signature below it."""
    for i, line in enumerate(lines):
        if line == "-- ":
            return lines[:i], "\n".join(lines[i + 1 :]).strip()
    return lines, ""


def tidy(text: str) -> str:
    text = "\n".join(ln.rstrip() for ln in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip("\n").strip()


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)


def find_urls(text: str, extra: Iterable[str] = ()) -> list[str]:
    out: list[str] = []
    for u in [*_URL.findall(text), *extra]:
        u = u.rstrip(".,;:!?*'\"")
        while u.endswith(")") and u.count("(") < u.count(")"):
            u = u[:-1]
        u = html.unescape(u) if "&" in u else u
        if len(u) > 10 and u not in out:
            out.append(u)
    return out
