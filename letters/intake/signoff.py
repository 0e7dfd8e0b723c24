"""The sign-off at the end of a letter: "Yours, / Name / Town / Tel" recognised and cut.

Part of letters.intake.parse (no Django, no database, no network).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .plain_text import tidy

_VALEDICTION = re.compile(
    r"^(?:yours(?: (?:sincerely|faithfully|truly|ever|aye|respectfully))?|sincerely(?: yours)?"
    r"|(?:with )?(?:best|kind|kindest|warm|warmest|warm(?:est)? best)? ?(?:regards|wishes)"
    r"|best|all the best|thanks|thank you|many thanks|with thanks|cheers|respectfully"
    r"|with (?:best )?wishes|regards|love)[,.!]*$",
    re.IGNORECASE,
)
_TITLES = frozenset(
    [
        "dr",
        "dr.",
        "prof",
        "prof.",
        "professor",
        "rev",
        "rev.",
        "revd",
        "revd.",
        "the",
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "miss",
        "mx",
        "sir",
        "dame",
        "lady",
        "lord",
        "cllr",
        "cllr.",
        "canon",
        "father",
        "fr",
        "fr.",
        "sister",
        "baroness",
        "baron",
    ]
)
_PARTICLES = frozenset(
    [
        "de",
        "van",
        "von",
        "der",
        "den",
        "la",
        "le",
        "du",
        "da",
        "di",
        "del",
        "dos",
        "bin",
        "al",
        "ap",
        "of",
        "y",
        "st",
        "st.",
    ]
)
_POSTNOMINALS = frozenset(
    [
        "obe",
        "mbe",
        "cbe",
        "kbe",
        "dbe",
        "mp",
        "msp",
        "ms",
        "frs",
        "fba",
        "phd",
        "md",
        "qc",
        "kc",
        "jp",
        "dl",
        "bem",
        "rn",
        "ma",
        "msc",
        "bsc",
        "ba",
        "frcp",
        "frcs",
        "fcgi",
        "fras",
        "frsa",
        "frics",
        "cbe.",
        "obe.",
        "mbe.",
        "rd",
        "rn(retd)",
        "(retd)",
        "retd",
    ]
)
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|[A-Z]{1,2}\d{1,2}[A-Z]?)\s*$")
_FULL_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$")
_STREET = re.compile(
    r"\b(?:road|rd|street|st|avenue|ave|lane|ln|close|drive|dr|way|crescent|place|pl|terrace"
    r"|gardens|court|ct|square|sq|grove|mews|row|walk|parade|park|hill|green|view|rise|cottages?"
    r"|house|farm|flat|apartment|apt|unit)\.?\b",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"^(?:(?:tel(?:ephone)?|phone|ph|mob(?:ile)?|m|t|cell|landline|day|evening)\.?\s*(?:no\.?)?"
    r"\s*[:.\-]?\s*)?(\+?\(?\d[\d\s().\-]{7,22}\d)$",
    re.IGNORECASE,
)
_EMAILISH = re.compile(
    r"^(?:e(?:-?mail)?\s*[:.]?\s*)?\S+@\S+\.\S+$|^(?:www\.|https?://)\S+$",
    re.IGNORECASE,
)


# A sign-off line is short: a longer line is letter text, and is never matched against the
# patterns below (some of which backtrack on long runs of spaces or "a@a." repeats).
MAX_SIGNOFF_LINE = 120


def _is_phone(line: str) -> str:
    m = _PHONE.match(line.strip())
    if m and sum(ch.isdigit() for ch in m.group(1)) >= 9:
        return m.group(1).strip()
    return ""


def _is_word(tok: str) -> bool:
    core = tok.strip(".,")
    if not core:
        return False
    if core.lower() in _PARTICLES:
        return True
    return core[0].isupper() and all(ch.isalpha() or ch in "'’-." for ch in core)


def _is_name(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > 60 or any(ch.isdigit() for ch in line) or line[-1] in ":;!?":
        return False
    if _VALEDICTION.match(line):
        return False
    main, _, post = line.partition(",")
    if post and not all(p.strip().lower().strip(".") in _POSTNOMINALS for p in post.split(",")):
        return False
    toks = main.split()
    while toks and toks[0].lower() in _TITLES:
        toks = toks[1:]
    while toks and toks[-1].lower().strip(".") in _POSTNOMINALS:
        toks = toks[:-1]
    if not 1 <= len(toks) <= 5:
        return False
    if line.endswith(".") and not (len(toks[-1]) <= 2 or toks[-1].lower() in _POSTNOMINALS):
        return False
    return all(_is_word(t) for t in toks) and toks[0].lower() not in _PARTICLES


def _is_locality(line: str) -> bool:
    line = _POSTCODE.sub("", line.strip()).strip(" ,")
    if not line or len(line) > 70 or any(ch.isdigit() for ch in line) or line.endswith("."):
        return False
    for part in line.split(","):
        toks = part.split()
        if not 1 <= len(toks) <= 4:
            return False
        if not all(
            _is_word(t) or t.lower() in ("upon", "on", "under", "by", "in", "the") for t in toks
        ):
            return False
    return True


def _is_address(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 90 or s.endswith((".", "?", "!", ":")) and not s.endswith(" St."):
        return False
    if _FULL_POSTCODE.match(s.upper()) and s == s.upper():
        return True
    words = s.replace(",", " ").split()
    if len(words) > 10:
        return False
    if s[0].isdigit() or _STREET.search(s):
        return all(w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in words)
    return bool(_POSTCODE.search(s)) and _is_locality(s)


@dataclass
class Signoff:
    name: str = ""
    town: str = ""
    address: str = ""
    phone: str = ""


def _split_name_town(line: str) -> tuple[str, str] | None:
    name, _, rest = line.partition(",")
    rest = rest.strip()
    if not rest or not _is_name(name) or len(name.split()) < 2:
        return None
    if all(p.strip().lower().strip(".") in _POSTNOMINALS for p in rest.split(",")):
        return None
    if _is_locality(rest):
        return name.strip(), rest
    return None


def _standalone_signoff_line(lines: list[str], i: int) -> bool:
    """Is lines[i] a one-line paragraph that looks like part of a sign-off?"""
    if i < 0:
        return False
    line = lines[i].strip()
    if not line or len(line) > MAX_SIGNOFF_LINE or _VALEDICTION.match(line):
        return False
    above = lines[i - 1].strip() if i > 0 else ""
    if above and not _VALEDICTION.match(above):
        return False
    return bool(_is_phone(line) or _is_name(line) or _is_locality(line) or _is_address(line))


def extract_signoff(text: str) -> tuple[str, Signoff]:
    """Pull "Yours, / Name / Town / Tel" off the end of the letter text."""
    lines = text.split("\n")
    start, end = _signoff_run(lines)
    block = [ln.strip() for ln in lines[start:end]]
    # the name is the first line of the block that looks like a name
    k = next((i for i, ln in enumerate(block) if _is_name(ln) or _split_name_town(ln)), None)
    if k is None:
        # maybe only a valediction at the end
        if end and _VALEDICTION.match(lines[end - 1].strip()):
            return tidy("\n".join(lines[: end - 1])), Signoff()
        return text, Signoff()
    start += k
    block = block[k:]
    valediction_at, own_paragraph = _above_block(lines, start)
    name_town = _split_name_town(block[0])
    if not (valediction_at is not None or own_paragraph or len(block) >= 2 or name_town):
        return text, Signoff()
    if start == 0 and len(block) == len(lines[:end]) and valediction_at is None:
        # the whole text is "sign-off-ish": keep it as the letter
        return text, Signoff()
    cut = valediction_at if valediction_at is not None else start
    return tidy("\n".join(lines[:cut])), _signoff_from(block, name_town)


def _signoff_run(lines: list[str]) -> tuple[int, int]:
    """(start, end) of the trailing run of short "sign-off-ish" lines (at most 8). Blank
    lines between one-line paragraphs of a sign-off are removed from `lines`."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and end - start < 8:
        line = lines[start - 1].strip()
        if not line and start < end and _standalone_signoff_line(lines, start - 2):
            # "Name\n\nTown" (documents often put every line in its own paragraph)
            del lines[start - 1]
            start -= 1
            end -= 1
            continue
        if not line or len(line) > MAX_SIGNOFF_LINE or _VALEDICTION.match(line):
            break
        if not (
            _is_phone(line)
            or _EMAILISH.match(line)
            or _is_name(line)
            or _is_locality(line)
            or _is_address(line)
            or _split_name_town(line)
        ):
            break
        start -= 1
    return start, end


def _above_block(lines: list[str], start: int) -> tuple[int | None, bool]:
    """What sits above the sign-off: the line of a valediction (maybe after one blank line)
    or None, and whether the sign-off is a paragraph of its own."""
    above = start - 1
    valediction_at = None
    if above >= 0 and _VALEDICTION.match(lines[above].strip()):
        valediction_at = above
    elif above >= 1 and not lines[above].strip() and _VALEDICTION.match(lines[above - 1].strip()):
        valediction_at = above - 1
    return valediction_at, above < 0 or not lines[above].strip()


def _signoff_from(block: list[str], name_town: tuple[str, str] | None) -> Signoff:
    """Name, town, address and phone from the sign-off's lines (the name first)."""
    s = Signoff()
    if name_town:
        s.name, s.town = name_town
    else:
        s.name = block[0]
    loc: list[str] = []
    addr: list[str] = []
    others: list[str] = []
    for line in block[1:]:
        phone = _is_phone(line)
        if phone:
            s.phone = s.phone or phone
        elif _EMAILISH.match(line):
            continue
        elif _is_address(line) and not (_is_locality(line) and not _POSTCODE.search(line)):
            addr.append(line)
            others.append(line)
        else:
            loc.append(line)
            others.append(line)
    if addr:
        s.address = ", ".join(others)
        s.town = s.town or _town_of_address(loc, addr)
    elif loc:
        s.town = s.town or ", ".join(loc)
    return s


def _town_of_address(loc: list[str], addr: list[str]) -> str:
    """The town of an address: a locality line without its postcode, else the part of an
    address line that is a locality and not a street."""
    town = next((_POSTCODE.sub("", x).strip(" ,") for x in loc), "")
    if town:
        return town
    for line in addr:
        for piece in line.split(","):
            piece = _POSTCODE.sub("", piece.strip()).strip(" ,")
            if piece and not _STREET.search(piece) and _is_locality(piece):
                return piece
    return ""
