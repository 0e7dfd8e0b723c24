"""Benchmark letters.intake.parse / match on an mbox made by bench/make_mbox.py.

    python bench/make_mbox.py --count 5000 --out /tmp/letters.mbox
    python bench/bench_parse.py /tmp/letters.mbox

Reports messages/second (median of --runs runs) for:
  * parse_email (compat32 BytesParser + our own header decoding)
  * the same fields pulled out with email.policy.default (the alternative we rejected)
  * match_article against an ArticleIndex of --articles fake articles
and the p99 per-message parse_email time.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import random
import statistics
import sys
import time
from collections import Counter
from email import message_from_bytes, policy
from email.utils import getaddresses, parsedate_to_datetime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.make_mbox import DEFAULT_SLUGS
from letters.intake.match import ArticleIndex, ArticleRef
from letters.intake.parse import ParseError, parse_email

WORDS = [
    "government",
    "council",
    "housing",
    "railway",
    "climate",
    "farming",
    "school",
    "hospital",
    "tax",
    "budget",
    "election",
    "village",
    "river",
    "bridge",
    "museum",
    "library",
    "theatre",
    "church",
    "football",
    "cricket",
    "teacher",
    "doctor",
    "nurse",
    "pension",
    "energy",
    "wind",
    "solar",
    "nuclear",
    "water",
    "drought",
    "flood",
    "coast",
    "fishing",
    "tourism",
    "heritage",
    "planning",
    "parliament",
    "minister",
    "europe",
    "america",
    "china",
    "ukraine",
    "science",
    "university",
    "student",
    "motorway",
    "bus",
    "cycling",
    "pub",
    "newspaper",
    "journalism",
    "television",
    "radio",
    "music",
    "poetry",
    "novel",
    "garden",
]


def fake_articles(n: int, slugs: list[str], seed: int = 7) -> list[ArticleRef]:
    r = random.Random(seed)
    out = []
    for i in range(n):
        if i < len(slugs):
            slug = slugs[i]
            headline = slug.replace("-", " ").capitalize()
        else:
            words = r.sample(WORDS, 4)
            headline = " ".join(words).capitalize()
            slug = "-".join(words) + f"-{i}"
        text = " ".join(r.choice(WORDS) for _ in range(60))
        out.append(
            ArticleRef(i + 1, slug, headline, f"https://reaction.life/articles/{slug}/", text)
        )
    return out


def parse_with_policy_default(raw: bytes) -> dict:
    """Roughly the same fields as parse_email, the 'obvious' way with policy.default."""
    msg = message_from_bytes(raw, policy=policy.default)
    out = {
        "message_id": str(msg.get("Message-ID", "")),
        "subject": str(msg.get("Subject", "")),
        "from": getaddresses([str(msg.get("From", ""))]),
        "to": getaddresses([str(v) for v in msg.get_all("To", [])]),
        "in_reply_to": str(msg.get("In-Reply-To", "")),
        "references": str(msg.get("References", "")),
        "received": len(msg.get_all("Received", [])),
        "auto": [msg.get(h) for h in ("Auto-Submitted", "Precedence", "List-Id", "Return-Path")],
    }
    try:
        out["date"] = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError):
        out["date"] = None
    body = msg.get_body(("plain", "html"))
    try:
        out["body"] = body.get_content() if body is not None else ""
    except (LookupError, ValueError, AttributeError):
        out["body"] = ""
    out["attachments"] = [(a.get_filename(), a.get_content_type()) for a in msg.iter_attachments()]
    return out


def timed(fn, items) -> float:
    t = time.perf_counter()
    for x in items:
        fn(x)
    return time.perf_counter() - t


def safe_parse(raw: bytes):
    try:
        return parse_email(raw, own_addresses=["letters@reaction.life"])
    except ParseError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mbox", nargs="?", default="/tmp/letters.mbox")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--articles", type=int, default=500)
    ap.add_argument("--slugs", default=",".join(DEFAULT_SLUGS))
    args = ap.parse_args()

    box = mailbox.mbox(args.mbox, create=False)
    raws = [box.get_bytes(k) for k in box.iterkeys()]
    n = len(raws)
    mb = sum(map(len, raws)) / 1024 / 1024
    print(f"{n} messages, {mb:.1f} MB, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")

    # warm-up (imports, regex compilation, codec caches)
    for raw in raws[:200]:
        safe_parse(raw)
        parse_with_policy_default(raw)

    ours = [n / timed(safe_parse, raws) for _ in range(args.runs)]
    default = [n / timed(parse_with_policy_default, raws) for _ in range(args.runs)]

    per_msg = []
    parsed = []
    errors: Counter[str] = Counter()
    for raw in raws:
        t = time.perf_counter()
        try:
            p = parse_email(raw, own_addresses=["letters@reaction.life"])
            parsed.append(p)
        except ParseError as e:
            errors[e.reason] += 1
        per_msg.append(time.perf_counter() - t)
    per_msg.sort()
    p99 = per_msg[int(len(per_msg) * 0.99) - 1] * 1000
    p50 = per_msg[len(per_msg) // 2] * 1000

    slugs = [s for s in args.slugs.split(",") if s]
    articles = fake_articles(args.articles, slugs)
    t = time.perf_counter()
    index = ArticleIndex(articles)
    build_ms = (time.perf_counter() - t) * 1000
    matching = [len(parsed) / timed(index.match, parsed) for _ in range(args.runs)]
    methods = Counter(index.match(p).method for p in parsed)
    auto = Counter(p.auto_reason or "letter" for p in parsed)

    print(
        f"parse_email (compat32):        median {statistics.median(ours):7.0f} msg/s  "
        f"runs {[round(x) for x in ours]}"
    )
    print(
        f"policy.default equivalent:     median {statistics.median(default):7.0f} msg/s  "
        f"runs {[round(x) for x in default]}"
    )
    print(
        f"parse_email per message:       p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
        f"max {per_msg[-1] * 1000:.3f} ms"
    )
    print(f"ArticleIndex({args.articles}) build: {build_ms:.1f} ms")
    print(
        f"match (index reused):          median {statistics.median(matching):7.0f} msg/s  "
        f"runs {[round(x) for x in matching]}"
    )
    print(
        f"parse+match combined:          ~{1 / (1 / statistics.median(ours) + 1 / statistics.median(matching)):7.0f} msg/s"
    )
    print(f"ParseErrors: {dict(errors) or 'none'}")
    print(f"auto_reason: {dict(auto)}")
    print(f"match methods: {dict(methods)}")


if __name__ == "__main__":
    main()
