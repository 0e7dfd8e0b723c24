"""Text helpers for the desk: a word-level diff of an edit, safe to put in a page.

Emailed letters have no length limit, and difflib's search for matches costs up to the product
of the two lengths, and nearer its cube when the matches are short and many (a paragraph
rewritten, only its spaces left in common). So the common beginning and end are set aside
first (linear), the rest is diffed word by word only while that product stays under
MAX_PAIRS, then paragraph by paragraph, and beyond that shown as one removal and one
insertion; and all the searches of one diff share MAX_DIFF_STEPS: a stretch left when they
run out is shown as one removal and one insertion too. The page stays fast at any length.
"""

import difflib
import re
from collections import Counter
from itertools import repeat

from django.utils.html import escape
from django.utils.safestring import mark_safe

# The most token pairs (the product of the two lengths) of a block diffed word by word: the
# edit, else each changed pair of its paragraphs.
MAX_PAIRS = 1_000_000
# Steps all the searches of one diff may take, about a fifth of a second: a search for the
# longest match walks a's tokens, b's, and each place in b where a token of a occurs.
MAX_DIFF_STEPS = 2_000_000


class _Budget:
    """The steps a diff has left."""

    def __init__(self, steps):
        self.steps = steps

    def spend(self, steps):
        """Take `steps` if there are that many left; whether there were."""
        if steps > self.steps:
            return False
        self.steps -= steps
        return True


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
    middle = before[head : len(before) - tail], after[head : len(after) - tail]
    parts += _diff(*middle, _Budget(MAX_DIFF_STEPS))
    parts.append(escape("".join(before[len(before) - tail :])))
    return mark_safe("".join(parts))


def _diff(before, after, budget):
    """HTML parts for the middle of an edit: word by word if small enough, else by paragraph."""
    if len(before) * len(after) <= MAX_PAIRS:
        return _opcodes_html(before, after, _word_block, budget)
    paragraphs_before, paragraphs_after = _paragraphs(before), _paragraphs(after)
    if len(paragraphs_before) * len(paragraphs_after) > MAX_PAIRS:
        return _word_block("replace", before, after)
    joined_before = ["".join(p) for p in paragraphs_before]
    joined_after = ["".join(p) for p in paragraphs_after]

    def paragraph_block(op, removed, added):
        return _paragraph_block(op, removed, added, budget)

    return _opcodes_html(joined_before, joined_after, paragraph_block, budget)


def _opcodes_html(before, after, block, budget):
    parts = []
    for op, a1, a2, b1, b2 in _opcodes(before, after, budget):
        parts += block(op, before[a1:a2], after[b1:b2])
    return parts


def _opcodes(a, b, budget):
    """difflib's opcodes for turning a into b (SequenceMatcher.get_opcodes, with its matching
    blocks found the same way), searching only while the budget lasts: a stretch it cannot
    pay for is left unsearched, and so replaced whole."""
    blocks, stretches = [], [(0, len(a), 0, len(b))]
    while stretches:
        alo, ahi, blo, bhi = stretches.pop()
        # The search walks a's tokens and, for each, the places it occurs in b: of the
        # stretch alone (a matcher of the whole of b would also walk those before blo).
        in_b = Counter(b[blo:bhi])
        steps = (ahi - alo) + (bhi - blo) + sum(map(in_b.get, a[alo:ahi], repeat(0)))
        if not budget.spend(steps):
            continue
        matcher = difflib.SequenceMatcher(a=a[alo:ahi], b=b[blo:bhi], autojunk=False)
        i, j, k = matcher.find_longest_match()
        if k:
            i, j = alo + i, blo + j
            blocks.append((i, j, k))
            if alo < i and blo < j:
                stretches.append((alo, i, blo, j))
            if i + k < ahi and j + k < bhi:
                stretches.append((i + k, ahi, j + k, bhi))
    i = j = 0
    for ai, bj, size in [*sorted(blocks), (len(a), len(b), 0)]:
        if i < ai and j < bj:
            yield "replace", i, ai, j, bj
        elif i < ai:
            yield "delete", i, ai, j, bj
        elif j < bj:
            yield "insert", i, ai, j, bj
        if size:
            yield "equal", ai, ai + size, bj, bj + size
        i, j = ai + size, bj + size


def _word_block(op, removed, added):
    if op == "equal":
        return [escape("".join(removed))]
    parts = []
    if removed:
        parts.append(f"<del>{escape(''.join(removed))}</del>")
    if added:
        parts.append(f"<ins>{escape(''.join(added))}</ins>")
    return parts


def _paragraph_block(op, removed, added, budget):
    """A block of whole paragraphs: a changed pair small enough is diffed word by word."""
    before, after = _tokens("".join(removed)), _tokens("".join(added))
    if op == "replace" and len(before) * len(after) <= MAX_PAIRS:
        return _opcodes_html(before, after, _word_block, budget)
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
