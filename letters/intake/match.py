"""Work out which article a letter is about.  Pure Python, no Django.

Build an ``ArticleIndex`` once from the article refs and reuse it for every
message; ``match_article`` builds a throwaway index when given a plain list
(fine for one message, wasteful for thousands).

Methods, first that matches wins:
  address     a recipient letters+<slug>@any-domain            confidence 1.0
  url         an article URL, or its path, among parsed.urls   0.95
  url         ... or an article URL in the subject                   0.95
  subject     subject (minus Re:/Fwd:/AW:/Letter:, [tags], quotes) equals or
              contains the headline                                  0.8
  subject     ... or is the start of exactly one headline (at least two words and
              SUBJECT_PREFIX_MIN_CHARS; a trailing "…" allows a cut word)  0.75
  similarity  TF-IDF cosine between letter and headline+text   the score
  unmatched   Match(None, "unmatched", 0.0)
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from letters.intake.parse import ParsedEmail
from letters.intake.stop_words import STOP_WORDS

__all__ = ["ArticleIndex", "ArticleRef", "Match", "match_article"]


@dataclass(frozen=True)
class ArticleRef:
    id: int
    slug: str
    headline: str
    url: str
    text: str = ""  # standfirst + the beginning of the body


@dataclass(frozen=True)
class Match:
    article_id: int | None
    method: str
    confidence: float


UNMATCHED = Match(None, "unmatched", 0.0)

# Reply and forward markers ("Re:", "RE[2]:", "Fwd:", "AW:"...) and list or filter tags
# ("[Letters]", "[EXTERNAL]") at the start, in any mix. Possessive: no backtracking on hostile
# subjects (spaces are folded to one first).
_PREFIX = re.compile(
    r"^(?: ?(?:(?:re|fwd?|fw|aw|sv|vs|tr|wg|antw|letters?|reply|response) ?(?:\[\d+\])? ?:"
    r"|\[[^\[\]]{0,40}\]))++ ?",
    re.IGNORECASE,
)
# What a writer puts before the headline they answer: "Your article", "In response to".
_LEAD_IN = re.compile(
    r"^(?:(?:in )?(?:response|reply|responding|replying) to |re )?"
    r"(?:(?:your|the|today s|yesterday s) (?:article|piece|leader|editorial|column|report)"
    r"(?: on| about| headlined| entitled| titled)? )?"
)
# A headline quoted in the subject: 'Re: your article "Putin warns the West"'.
_QUOTED = re.compile(r"[\"“«„]([^\"“”«»„]{1,300})[\"”»“]")
_QUOTES = ('"', "“", "«", "„")
_ELLIPSIS = ("…", "...")
MAX_SUBJECT = 998  # RFC 5322's longest line
MAX_SUBJECT_URLS = 5
# A subject shorter than this (normalised) never matches as the start of a headline.
SUBJECT_PREFIX_MIN_CHARS = 12
# Headlines read per subject when looking for the one it starts (ambiguity check).
_PREFIX_CANDIDATES = 8
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalise_title(text: str) -> str:
    """Lower-case, accents and punctuation removed, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").lower().replace("'", "")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def strip_subject_prefixes(subject: str) -> str:
    """The subject without reply/forward markers and [tags] at its start. Capped at
    MAX_SUBJECT characters; one linear pass."""
    # Spaces folded first, so the pattern needs to know only one.
    subject = " ".join(subject[:MAX_SUBJECT].split())
    return _PREFIX.sub("", subject, count=1).strip()


def urls_in_subject(subject: str) -> list[str]:
    """Article addresses pasted into a subject: words with a scheme, "www." or a host and a
    path ("reaction.life/articles/..."). At most MAX_SUBJECT_URLS, from the capped subject."""
    if "/" not in subject[:MAX_SUBJECT]:
        return []
    found = []
    for word in subject[:MAX_SUBJECT].split():
        word = word.strip("<>()[]\"'“”‘’.,;:!?")
        lower = word.lower()
        if lower.startswith(("http://", "https://")):
            found.append(word)
        elif "/" in word and "." in word.partition("/")[0]:
            found.append("https://" + word)
        if len(found) == MAX_SUBJECT_URLS:
            break
    return found


def _subject_candidates(subject: str) -> list[tuple[str, bool]]:
    """What in a subject may be a headline, normalised, each with whether it may end in a cut
    word (the subject ended in an ellipsis): the subject itself, without a lead-in ("Your
    article on ..."), and the first quoted phrase."""
    stripped = strip_subject_prefixes(subject)
    cut = stripped.endswith(_ELLIPSIS)
    whole = normalise_title(stripped)
    candidates = [(whole, cut)]
    without_lead_in = _LEAD_IN.sub("", whole, count=1)
    if without_lead_in != whole:
        candidates.append((without_lead_in, cut))
    quoted = _QUOTED.search(stripped) if any(q in stripped for q in _QUOTES) else None
    if quoted:
        text = quoted.group(1).strip()
        candidates.append((normalise_title(text), text.endswith(_ELLIPSIS)))
    return [(c, cut) for c, cut in candidates if c]


def tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    out = []
    for w in _WORD.findall(text):
        w = w.removesuffix("'s")
        if len(w) < 3 or w in STOP_WORDS or w.isdigit():
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]  # crude plural folding: "motorways" ~ "motorway"
        out.append(w)
    return out


def _url_path(url: str) -> str:
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return ""
    return unquote(path).rstrip("/").lower()


class ArticleIndex:
    """Precomputed lookups for many messages against the same articles."""

    def __init__(self, articles: Sequence[ArticleRef], *, threshold: float = 0.2):
        self.articles = list(articles)
        self.threshold = threshold
        self.by_slug: dict[str, ArticleRef] = {}
        self.by_url: dict[str, ArticleRef] = {}
        self.by_path: dict[str, ArticleRef] = {}
        self.headlines: list[tuple[str, ArticleRef]] = []
        for a in self.articles:
            self.by_slug.setdefault(a.slug.lower(), a)
            if a.url:
                self.by_url.setdefault(a.url.strip().rstrip("/").lower(), a)
                path = _url_path(a.url)
                if path:
                    self.by_path.setdefault(path, a)
            self.by_path.setdefault(f"/articles/{a.slug.lower()}", a)
            h = normalise_title(a.headline)
            if h:
                self.headlines.append((h, a))
        # longest headline first, so "Smart motorways" loses to "The trouble with smart motorways"
        self.headlines.sort(key=lambda pair: -len(pair[0]))
        self.headline_exact = {}
        for h, a in self.headlines:
            self.headline_exact.setdefault(h, a)
        # Headlines of two words or more by their first word, with their rank in `headlines`:
        # a subject is searched for the headlines starting at one of its words, not for all.
        self.by_first_word: dict[str, list[tuple[int, str, ArticleRef]]] = {}
        for rank, (h, a) in enumerate(self.headlines):
            first, space, _rest = h.partition(" ")
            if space:
                self.by_first_word.setdefault(first, []).append((rank, h, a))
        # In alphabetical order, for the headlines a subject is the start of (a bisect away).
        self.headlines_sorted = sorted(self.headlines, key=lambda pair: pair[0])
        self.headline_keys = [h for h, _a in self.headlines_sorted]

        # TF-IDF: headline words count double.
        docs: list[Counter[str]] = []
        df: Counter[str] = Counter()
        for a in self.articles:
            c = Counter(tokens(a.headline) * 2 + tokens(a.text))
            docs.append(c)
            df.update(c.keys())
        n = max(1, len(self.articles))
        self.idf = {t: math.log((n + 1) / (d + 1)) + 1.0 for t, d in df.items()}
        self.default_idf = math.log(n + 1) + 1.0
        self.postings: dict[str, list[tuple[int, float]]] = {}
        self.norms: list[float] = []
        for i, c in enumerate(docs):
            weights = {t: (1.0 + math.log(f)) * self.idf[t] for t, f in c.items()}
            self.norms.append(math.sqrt(sum(w * w for w in weights.values())) or 1.0)
            for t, w in weights.items():
                self.postings.setdefault(t, []).append((i, w))

    # -- individual methods -------------------------------------------------

    def by_address(self, parsed: ParsedEmail, inbound_local_part: str = "letters") -> Match | None:
        prefix = inbound_local_part.lower() + "+"
        for addr in [*parsed.to_addresses, *getattr(parsed, "delivered_to", [])]:
            local, at, _domain = addr.lower().rpartition("@")
            if at and local.startswith(prefix):
                a = self.by_slug.get(local[len(prefix) :].strip())
                if a is not None:
                    return Match(a.id, "address", 1.0)
        return None

    def by_urls(self, urls: Sequence[str]) -> Match | None:
        for url in urls:
            a = self.by_url.get(url.strip().rstrip("/").lower())
            if a is None:
                path = _url_path(url)
                a = self.by_path.get(path) if path else None
            if a is not None:
                return Match(a.id, "url", 0.95)
        return None

    def by_subject(self, subject: str) -> Match | None:
        candidates = _subject_candidates(subject)
        if not candidates:
            return None
        for s, _cut in candidates:
            a = self.headline_exact.get(s)
            if a is not None:
                return Match(a.id, "subject", 0.8)
        # The longest headline inside the whole subject (a one-word headline must match
        # exactly): only headlines starting with one of the subject's words are tried, each once.
        whole = candidates[0][0]
        padded = f" {whole} "
        best = None
        for word in set(whole.split()):
            for rank, h, art in self.by_first_word.get(word, ()):
                if (best is None or rank < best[0]) and f" {h} " in padded:
                    best = (rank, art)
        if best is not None:
            return Match(best[1].id, "subject", 0.8)
        for s, cut in candidates:
            a = self.headline_starting(s, cut_word=cut)
            if a is not None:
                return Match(a.id, "subject", 0.75)
        return None

    def headline_starting(self, s: str, *, cut_word: bool = False) -> ArticleRef | None:
        """The one article whose headline starts with `s` (normalised; at least two words and
        SUBJECT_PREFIX_MIN_CHARS), at a word boundary unless `cut_word`. None when no headline
        or several articles' headlines start so. A bisect and a few comparisons."""
        if len(s) < SUBJECT_PREFIX_MIN_CHARS or " " not in s:
            return None
        found = None
        start = bisect.bisect_left(self.headline_keys, s)
        for h, art in self.headlines_sorted[start : start + _PREFIX_CANDIDATES]:
            if not h.startswith(s):
                break
            if not cut_word and len(h) > len(s) and h[len(s)] != " ":
                continue
            if found is not None and found.id != art.id:
                return None  # ambiguous: the subject starts two headlines
            found = art
        return found

    def by_similarity(self, text: str) -> Match | None:
        c = Counter(tokens(text))
        if not c or not self.articles:
            return None
        scores: dict[int, float] = {}
        qnorm = 0.0
        for t, f in c.items():
            w = (1.0 + math.log(f)) * self.idf.get(t, self.default_idf)
            qnorm += w * w
            for i, dw in self.postings.get(t, ()):
                scores[i] = scores.get(i, 0.0) + w * dw
        if not scores:
            return None
        qnorm = math.sqrt(qnorm) or 1.0
        best_i, best = max(
            ((i, s / (qnorm * self.norms[i])) for i, s in scores.items()),
            key=lambda p: p[1],
        )
        if best < self.threshold:
            return None
        return Match(self.articles[best_i].id, "similarity", round(min(best, 1.0), 4))

    # -- all together -------------------------------------------------------

    def match(self, parsed: ParsedEmail, *, inbound_local_part: str = "letters") -> Match:
        return (
            self.by_address(parsed, inbound_local_part)
            or self.by_urls(parsed.urls)
            or self.by_urls(urls_in_subject(parsed.subject))
            or self.by_subject(parsed.subject)
            or self.by_similarity(parsed.body)
            or UNMATCHED
        )


def match_article(
    parsed: ParsedEmail,
    articles: Sequence[ArticleRef] | ArticleIndex,
    *,
    inbound_local_part: str = "letters",
) -> Match:
    index = articles if isinstance(articles, ArticleIndex) else ArticleIndex(articles)
    return index.match(parsed, inbound_local_part=inbound_local_part)
