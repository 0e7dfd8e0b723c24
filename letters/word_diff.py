"""Text helpers for the desk: a word-level diff of an edit, safe to put in a page.

Emailed letters have no length limit, and a word-level diff costs the product of the two
lengths. So the common beginning and end are set aside first (linear), the rest is diffed
word by word only while that product stays under MAX_PAIRS, then paragraph by paragraph, and
beyond that shown as one removal and one insertion: the page stays fast at any length.
"""

import difflib
import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Token pairs a word-level diff may compare (about a tenth of a second).
MAX_PAIRS = 1_000_000


def _tokens(text):
    # Words and the whitespace between them, so the diff keeps the writer's line breaks.
    return [token for token in re.split(r"(\s+)", text.replace("\r\n", "\n")) if token]


def word_diff_html(original, edited):
    """The edit as HTML: removed words in <del>, added words in <ins>, everything escaped."""
    before, after = _tokens(original), _tokens(edited)
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - head
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    parts = [escape("".join(before[:head]))]
    parts += _diff(before[head : len(before) - tail], after[head : len(after) - tail])
    parts.append(escape("".join(before[len(before) - tail :])))
    return mark_safe("".join(parts))


def _diff(before, after):
    """HTML parts for the middle of an edit: word by word if small enough, else by paragraph."""
    if len(before) * len(after) <= MAX_PAIRS:
        return _opcodes_html(before, after, _word_block)
    paragraphs_before, paragraphs_after = _paragraphs(before), _paragraphs(after)
    if len(paragraphs_before) * len(paragraphs_after) > MAX_PAIRS:
        return _word_block("replace", before, after)
    joined_before = ["".join(p) for p in paragraphs_before]
    joined_after = ["".join(p) for p in paragraphs_after]
    return _opcodes_html(joined_before, joined_after, _paragraph_block)


def _opcodes_html(before, after, block):
    parts = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        parts += block(op, before[a1:a2], after[b1:b2])
    return parts


def _word_block(op, removed, added):
    if op == "equal":
        return [escape("".join(removed))]
    parts = []
    if removed:
        parts.append(f"<del>{escape(''.join(removed))}</del>")
    if added:
        parts.append(f"<ins>{escape(''.join(added))}</ins>")
    return parts


def _paragraph_block(op, removed, added):
    """A block of whole paragraphs: a changed pair small enough is diffed word by word."""
    before, after = _tokens("".join(removed)), _tokens("".join(added))
    if op == "replace" and len(before) * len(after) <= MAX_PAIRS:
        return _opcodes_html(before, after, _word_block)
    return _word_block(op, before, after)


def _paragraphs(tokens):
    """Tokens grouped into paragraphs, each ending with the blank line that closes it."""
    paragraphs, current = [], []
    for token in tokens:
        current.append(token)
        if token.isspace() and token.count("\n") >= 2:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs
