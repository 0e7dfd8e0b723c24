"""Work out which article a letter is about.  Pure Python, no Django.

Build an ``ArticleIndex`` once from the article refs and reuse it for every
message; ``match_article`` builds a throwaway index when given a plain list
(fine for one message, wasteful for thousands).

Methods, first that matches wins:
  address     a recipient letters+<slug>@any-domain            confidence 1.0
  url         an article URL, or its path, among parsed.urls   0.95
  subject     subject (minus Re:/Fwd:/Letter:) equals/contains the headline  0.8
  similarity  TF-IDF cosine between letter and headline+text   the score
  unmatched   Match(None, "unmatched", 0.0)
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from letters.intake.parse import ParsedEmail

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

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|aw|sv|vs|tr|wg|antw|letters?|reply|response)\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)
MAX_SUBJECT = 998  # RFC 5322's longest line
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "even",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "dear",
        "editor",
        "sir",
        "madam",
        "letter",
        "article",
        "piece",
        "yours",
        "faithfully",
        "sincerely",
        "regards",
        "wrote",
        "write",
        "writing",
        "read",
        "one",
        "two",
        "may",
        "might",
        "must",
        "shall",
        "much",
        "many",
        "us",
        "well",
        "still",
        "however",
    ]
)


def normalise_title(text: str) -> str:
    """Lower-case, accents and punctuation removed, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").lower().replace("'", "")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def strip_subject_prefixes(subject: str) -> str:
    # Spaces folded first: the prefix pattern backtracks on a long run of them ("Re      ...").
    subject = " ".join(subject[:MAX_SUBJECT].split())
    prev = None
    while prev != subject:
        prev = subject
        subject = _PREFIX.sub("", subject)
    return subject.strip()


def tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    out = []
    for w in _WORD.findall(text):
        w = w.removesuffix("'s")
        if len(w) < 3 or w in _STOP or w.isdigit():
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
        s = normalise_title(strip_subject_prefixes(subject))
        if not s:
            return None
        a = self.headline_exact.get(s)
        if a is None:
            padded = f" {s} "
            for h, art in self.headlines:
                # a one-word headline must match exactly; longer ones may be contained
                if " " in h and f" {h} " in padded:
                    a = art
                    break
        return Match(a.id, "subject", 0.8) if a is not None else None

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
