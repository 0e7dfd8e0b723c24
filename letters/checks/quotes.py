"""The quote check: passages a letter presents as the article's words, looked up in the
article's text, tolerant of punctuation, case and small edits (rapidfuzz).

A passage is presented as the article's words when it is
- in quotation marks, with a cue nearby that names the article or its author ("you wrote",
  "your article", "the author", "claims", the author's surname...), or
- what follows "you wrote that", "you say that", "your article states that" and the like.

Found means the closest passage of the article scores FOUND_SCORE or more and has the same
figures: punctuation, case and a word or letter changed are tolerated, a changed number is not.

Pure: texts in, results out. Linear in the texts' lengths (both capped).
"""

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

MIN_WORDS = 4
MAX_QUOTES = 20
MAX_LETTER = 20_000
MAX_ARTICLE = 200_000
# A quote is found when the closest passage of the article scores at least this (0-100) on
# rapidfuzz's partial ratio, after lower-casing and dropping punctuation.
FOUND_SCORE = 90

_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{10,600})[\"“”«»„]|‘([^‘’\n]{10,600})’")
_CUES = (
    r"\byou(?:r)?\b|\bthe (?:article|piece|author|writer|columnist|correspondent|report)\b"
    r"|\b(?:wrote|writes|written|claims?|claimed|states?|stated|asserts?|asserted|says|said"
    r"|argues|argued|suggests|suggested)\b"
)
_REPORTED = re.compile(
    r"(?i:\b(?:you|your (?:article|piece|columnist|correspondent|writer|author)|the (?:article|"
    r"piece|author|writer)))\s+(?i:(?:also |even )?(?:wrote|writes|say|says|said|state|states|"
    r"stated|claim|claims|claimed|assert|asserts|asserted)\s+that)\s+([^.!?\n]{10,400})",
)


@dataclass
class Quote:
    text: str  # as the letter has it
    found: bool
    score: float  # 0-100: how close the best passage of the article is
    closest: str  # that passage of the article


def normalise(text):
    """Lower case, words only, single spaces: punctuation and case do not count ("%" is
    "per cent")."""
    return " ".join(re.findall(r"\w+", text.lower().replace("%", " per cent")))


def claimed_quotes(letter, author=""):
    """The passages `letter` presents as the article's words, in order, without repeats."""
    letter = letter[:MAX_LETTER]
    cues = _CUES
    surname = (author or "").split()[-1:] or []
    if surname and len(surname[0]) > 2:
        cues += r"|\b" + re.escape(surname[0]) + r"\b"
    cue = re.compile(cues, re.IGNORECASE)
    found = []
    for match in _QUOTED.finditer(letter):
        passage = match.group(1) or match.group(2)
        before = letter[max(match.start() - 120, 0) : match.start()]
        sentence_start = max(before.rfind(". "), before.rfind("\n"))
        context = before[sentence_start + 1 :] + letter[match.end() : match.end() + 40]
        if len(passage.split()) >= MIN_WORDS and cue.search(context):
            found.append(passage.strip())
    for match in _REPORTED.finditer(letter):
        passage = match.group(1).strip().strip("\"“”‘’'«»„ ")
        if len(passage.split()) >= MIN_WORDS:
            found.append(passage)
    unique, seen = [], set()
    for passage in found:
        if normalise(passage) not in seen:
            seen.add(normalise(passage))
            unique.append(passage)
    return unique[:MAX_QUOTES]


def look_up(quote, article_text):
    """Whether `quote` is in `article_text` (normalised), exactly or nearly."""
    needle, haystack = normalise(quote), normalise(article_text[:MAX_ARTICLE])
    if not needle:
        return Quote(quote, True, 100.0, "")
    if needle in haystack:
        return Quote(quote, True, 100.0, needle)
    alignment = fuzz.partial_ratio_alignment(needle, haystack)
    if alignment is None:
        return Quote(quote, False, 0.0, "")
    closest = haystack[alignment.dest_start : alignment.dest_end]
    # A small edit is tolerated, a changed figure is not: "12%" is not "9%".
    figures_agree = set(re.findall(r"\d+", needle)) <= set(re.findall(r"\d+", closest))
    found = alignment.score >= FOUND_SCORE and figures_agree
    return Quote(quote, found, round(alignment.score, 1), closest)


def check_quotes(letter, article_text, author=""):
    """Each passage the letter attributes to the article, looked up in `article_text`."""
    return [look_up(quote, article_text) for quote in claimed_quotes(letter, author)]
