"""Signs that a letter was not written for this desk alone: it was addressed to other letters
desks at the same time (To/Cc), or it says so itself ("open letter", "also sent to").

Pure: addresses and text in, evidence (sentences for the editor) out.
"""

import re

from ..addresses import normalise_address

# Any address whose mailbox is one of these is a letters desk, whatever its domain.
DESK_MAILBOXES = frozenset(
    {"letters", "editor", "editors", "letters.editor", "letterseditor", "letters-editor"}
)
MAX_ADDRESSES = 200
MAX_TEXT = 100_000

_TEXT_SIGNS = [
    (re.compile(r"\bopen letter\b", re.IGNORECASE), "calls itself an open letter"),
    (
        re.compile(
            r"\b(?:also|simultaneously|likewise) (?:being )?(?:sent|sending|submitted|"
            r"submitting|copied|copying|forwarded|addressed) (?:it |this |this letter |the letter )?to\b",
            re.IGNORECASE,
        ),
        "says it was also sent elsewhere",
    ),
    (
        re.compile(
            r"\b(?:sent|sending|submitted|copied) (?:this |the same |my )?(?:letter )?to "
            r"(?:several|other|many|a number of|various|all the) (?:national )?"
            r"(?:papers|newspapers|publications|outlets|editors)\b",
            re.IGNORECASE,
        ),
        "says it was sent to other papers",
    ),
]


def _domain_matches(domain, desk_domains):
    """The desk domain `domain` is or is under (news.example.com is under example.com)."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        candidate = ".".join(parts[i:])
        if candidate in desk_domains:
            return candidate
    return ""


def header_evidence(addresses, *, own_addresses, desk_domains):
    """Evidence from the message's recipients (To and Cc): one sentence per other letters desk
    it was addressed to. `desk_domains` are lower-case domains of known letters desks."""
    own = {normalise_address(a) for a in own_addresses}
    desk_domains = {d.lower().strip(".") for d in desk_domains}
    evidence, seen = [], set()
    for address in list(addresses)[:MAX_ADDRESSES]:
        address = normalise_address(address)
        local, _, domain = address.rpartition("@")
        if not local or address in own or address in seen:
            continue
        seen.add(address)
        base = local.split("+", 1)[0]
        known = _domain_matches(domain, desk_domains)
        if known:
            evidence.append(f"Also addressed to {address} (the letters desk of {known})")
        elif base in DESK_MAILBOXES:
            evidence.append(f"Also addressed to {address} ({base}@ is a letters desk's mailbox)")
    return evidence


def text_evidence(text):
    """Evidence from the letter's own words: each sign quoted with a little context."""
    text = text[:MAX_TEXT]
    evidence = []
    for pattern, meaning in _TEXT_SIGNS:
        match = pattern.search(text)
        if match:
            start, end = max(match.start() - 40, 0), min(match.end() + 40, len(text))
            excerpt = " ".join(text[start:end].split())
            evidence.append(f"The letter {meaning}: “…{excerpt}…”")
    return evidence
