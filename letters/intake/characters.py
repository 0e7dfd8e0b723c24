"""Characters no letter needs: control characters and bidi controls.

The one definition used by every way in (the letter form refuses them in one-line fields and
strips them from the letter; email intake strips them from headers and body) and by the ways
out that must never break (the feeds, the published letter on a page), for letters stored
before these checks existed.

Why: a vertical tab or other C0/C1 control is not allowed in XML 1.0, so one in a published
letter breaks the Atom feeds; a bidi override (U+202E) reverses the text after it, so it can
turn a byline or an address around. Neither is ever part of what a writer meant to say.

Pure Python (part of the intake parsing layer: no Django).
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL and C1 controls, except TAB, LF and CR (the lines of a letter).
CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f"
# Bidi embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), the left-to-right
# and right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C).
BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"

# Stripped from a letter's text (which keeps its lines and tabs).
UNWANTED_IN_TEXT = re.compile(f"[{CONTROLS}{BIDI}]")
# Never in a one-line field (name, town, phone, email, subject): also TAB, LF and CR.
UNWANTED_IN_LINE = re.compile(f"[\t\n\r{CONTROLS}{BIDI}]")
_LINE_BREAKS = re.compile("[\t\n\r]+")


def clean_text(text: str) -> str:
    """`text` without control characters (but TAB, LF, CR) and bidi controls; the rest as is."""
    return UNWANTED_IN_TEXT.sub("", text) if text else text


def clean_line(text: str) -> str:
    """A one-line value (a header, a name): tabs and line breaks become one space, control
    characters and bidi controls are removed."""
    if not text:
        return text
    return UNWANTED_IN_TEXT.sub("", _LINE_BREAKS.sub(" ", text))


def unwanted_in_line(text: str) -> str:
    """The first character a one-line field may not hold, as "U+202E (RIGHT-TO-LEFT
    OVERRIDE)", or "" if there is none."""
    found = UNWANTED_IN_LINE.search(text or "")
    if not found:
        return ""
    char = found.group()
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
