"""Near-duplicate detection, the text part: a letter's words and its 3-word shingles, their
exact Jaccard similarity, and the passages a letter shares with others marked for the editor.

Plain Python (no numpy, no datasketch): the admin's campaign page and every process that
loads the admin import this; the signatures (letters.checks.signatures) are loaded only by
the worker's analysis and the rebuild, so that the desk's other processes (the web, the pipe,
manage.py commands) start without them.
"""

import html
import re

SHINGLE_WORDS = 3
# Hostile input is capped before any work: letters are a few hundred words.
MAX_WORDS = 5000

_WORD = re.compile(r"\w+")


def words(text):
    """The letter's words, lower case, without punctuation (at most MAX_WORDS)."""
    return _WORD.findall(text[: MAX_WORDS * 20].lower())[:MAX_WORDS]


def shingles(text):
    """The set of SHINGLE_WORDS-word shingles of `text` (a shorter text is one shingle)."""
    found = words(text)
    if len(found) < SHINGLE_WORDS:
        return {" ".join(found)}  # no words at all: {""}, the same as every wordless text
    return {" ".join(gram) for gram in zip(found, found[1:], found[2:], strict=False)}


def jaccard(a, b):
    """The exact Jaccard similarity of two sets."""
    return len(a & b) / len(a | b) if a or b else 0.0


def shared_passages_html(text, shared):
    """`text`, HTML-escaped, with the runs of words that belong to a shingle in `shared` marked
    (<mark>): the passages a letter has in common with others."""
    matches = list(_WORD.finditer(text[: MAX_WORDS * 20]))[:MAX_WORDS]
    lowered = [m.group().lower() for m in matches]
    covered = [False] * len(matches)
    for i in range(max(len(matches) - SHINGLE_WORDS + 1, 0)):
        if " ".join(lowered[i : i + SHINGLE_WORDS]) in shared:
            covered[i : i + SHINGLE_WORDS] = [True] * SHINGLE_WORDS
    out, position, i = [], 0, 0
    while i < len(matches):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(matches) and covered[j + 1]:
            j += 1
        start, end = matches[i].start(), matches[j].end()
        out.append(html.escape(text[position:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
        i = j + 1
    out.append(html.escape(text[position:]))
    return "".join(out)
