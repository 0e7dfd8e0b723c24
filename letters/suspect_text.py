"""Letters that look like spam by their content: many links, or the phrases of bulk spam.

Such a letter is marked suspect with the reason for the editor, never dropped: a reader may
well quote three sources, or write about a casino. Used by both ways in, through
letters.moderation.screening (the form and email intake).

Pure Python, held to the intake parsing layer's rules (no Django), but outside letters.intake:
letters.moderation uses it, and letters.intake uses letters.moderation.
"""

from __future__ import annotations

import re

# Phrases that are, in a letter to the editor, almost always bulk spam. Kept short and sober:
# each is matched as whole words, case-insensitively, across any spacing. Add with care: a
# marker that a real letter may use flags real letters.
SPAM_MARKERS = (
    "viagra",
    "cialis",
    "casino",
    "crypto investment",
    "bitcoin investment",
    "forex signals",
    "SEO services",
    "backlinks",
    "click here to unsubscribe",
)

_MARKERS = re.compile(
    r"\b(?:"
    + "|".join(r"\s+".join(map(re.escape, marker.split())) for marker in SPAM_MARKERS)
    + r")\b",
    re.IGNORECASE,
)
# The first word of each marker: most letters hold none, and a substring test on the lowered
# text is far cheaper than the regular expression (this runs in the form's request).
_FIRST_WORDS = tuple({marker.split()[0].lower() for marker in SPAM_MARKERS})
# A link as a reader types or pastes one: with a scheme, or starting "www.".
LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)


def suspect_content(text: str, *, max_links: int) -> list[str]:
    """Why `text` looks like spam: "4 links" (when it holds `max_links` or more; 0: never),
    "spam phrases: casino, viagra"; an empty list if nothing."""
    lowered = text.lower()
    reasons = []
    if max_links and ("http" in lowered or "www." in lowered):
        links = len(LINK.findall(text))
        if links >= max_links:
            reasons.append(f"{links} links")
    if any(word in lowered for word in _FIRST_WORDS):
        found = sorted({" ".join(match.lower().split()) for match in _MARKERS.findall(text)})
        if found:
            reasons.append("spam phrases: " + ", ".join(found))
    return reasons
