"""Text helpers for the desk: a word-level diff of an edit, safe to put in a page."""

import difflib
import re

from django.utils.html import escape
from django.utils.safestring import mark_safe


def _tokens(text):
    # Words and the whitespace between them, so the diff keeps the writer's line breaks.
    return [token for token in re.split(r"(\s+)", text.replace("\r\n", "\n")) if token]


def word_diff_html(original, edited):
    """The edit as HTML: removed words in <del>, added words in <ins>, everything escaped."""
    before, after = _tokens(original), _tokens(edited)
    parts = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(before[a1:a2])))
            continue
        if op in ("delete", "replace"):
            parts.append(f"<del>{escape(''.join(before[a1:a2]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{escape(''.join(after[b1:b2]))}</ins>")
    return mark_safe("".join(parts))
