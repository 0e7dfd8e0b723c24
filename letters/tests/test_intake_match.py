"""Tests for letters.intake.match (pure Python; run with -p no:django)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from letters.intake.match import ArticleIndex, ArticleRef, Match, match_article
from letters.intake.parse import parse_email

EMAILS = Path(__file__).parent / "emails"

ARTICLES = [
    ArticleRef(
        1,
        "the-case-for-a-four-day-week",
        "The case for a four-day week",
        "https://reaction.life/articles/the-case-for-a-four-day-week/",
        "Productivity, not hours, should be the measure of work. Trials in Iceland and "
        "Britain suggest employers lose nothing when staff work four days.",
    ),
    ArticleRef(
        2,
        "rewilding-the-north-pennines",
        "Rewilding the North Pennines",
        "https://reaction.life/articles/rewilding-the-north-pennines/",
        "Beavers, curlews and peat bogs: the uplands are changing. Hill farmers fear for "
        "their livelihoods as conservation charities buy land.",
    ),
    ArticleRef(
        3,
        "why-local-newspapers-still-matter",
        "Why local newspapers still matter",
        "https://reaction.life/articles/why-local-newspapers-still-matter/",
        "Without a local press, who reports on the planning committee and holds the "
        "council to account? Weekly papers are closing across the country.",
    ),
    ArticleRef(
        4,
        "the-trouble-with-smart-motorways",
        "The trouble with smart motorways",
        "https://reaction.life/articles/the-trouble-with-smart-motorways/",
        "Removing the hard shoulder was meant to ease congestion on the M25 and M6. "
        "Drivers stranded in live lanes tell a different story.",
    ),
]


def parse(name: str):
    return parse_email((EMAILS / name).read_bytes())


def letter(subject: str = "A letter", body: str = "Dear Editor, hello.", **kw):
    base = parse_email(f"From: a@example.org\nSubject: {subject}\n\n{body}\n".encode())
    return replace(base, **kw)


def test_plus_address_recipient_matches_by_address():
    assert match_article(parse("plus-address.eml"), ARTICLES) == Match(2, "address", 1.0)


def test_plus_address_with_unknown_slug_falls_through_to_other_methods():
    p = letter(to_addresses=["letters+no-such-article@reaction.life"])
    assert match_article(p, ARTICLES) == Match(None, "unmatched", 0.0)


def test_plus_address_for_another_local_part_is_ignored():
    p = letter(to_addresses=["news+rewilding-the-north-pennines@reaction.life"])
    assert match_article(p, ARTICLES).method == "unmatched"


def test_inbound_local_part_can_be_changed():
    p = letter(to_addresses=["editor+rewilding-the-north-pennines@example.org"])
    assert match_article(p, ARTICLES, inbound_local_part="editor") == Match(2, "address", 1.0)


def test_article_url_in_quoted_newsletter_matches_by_url():
    assert match_article(parse("reply_with_quote.eml"), ARTICLES) == Match(3, "url", 0.95)


def test_article_path_on_another_host_matches_by_url():
    p = letter(urls=["http://www.reaction.life/articles/the-trouble-with-smart-motorways?utm=x"])
    assert match_article(p, ARTICLES) == Match(4, "url", 0.95)


def test_address_wins_over_url():
    p = letter(
        to_addresses=["letters+the-case-for-a-four-day-week@reaction.life"],
        urls=["https://reaction.life/articles/rewilding-the-north-pennines/"],
    )
    assert match_article(p, ARTICLES).article_id == 1


def test_subject_with_letter_prefix_matches_the_headline():
    assert match_article(parse("plain.eml"), ARTICLES) == Match(1, "subject", 0.8)


def test_subject_with_re_fwd_prefixes_and_punctuation_matches():
    p = letter(subject="RE: Fwd: re: THE TROUBLE WITH SMART-MOTORWAYS!")
    assert match_article(p, ARTICLES) == Match(4, "subject", 0.8)


def test_subject_containing_the_headline_matches():
    p = letter(subject="Re: This week: Why local newspapers still matter (and more)")
    assert match_article(p, ARTICLES) == Match(3, "subject", 0.8)


def test_letter_about_an_article_matches_by_similarity():
    p = letter(
        subject="Your piece",
        body="Dear Editor, the hill farmers of the North Pennines are right to fear rewilding. "
        "Beavers and curlews matter, but so do livelihoods on the uplands.",
    )
    m = match_article(p, ARTICLES)
    assert (m.article_id, m.method) == (2, "similarity")
    assert 0.2 <= m.confidence < 0.8


def test_letter_about_nothing_in_particular_is_unmatched():
    p = letter(subject="Hello", body="Dear Editor, I enjoyed the crossword this weekend.")
    assert match_article(p, ARTICLES) == Match(None, "unmatched", 0.0)


def test_no_articles_means_unmatched():
    assert match_article(parse("plain.eml"), []) == Match(None, "unmatched", 0.0)


def test_index_built_once_matches_thousands_of_letters_quickly():
    articles = [
        ArticleRef(
            i,
            f"article-{i}",
            f"Headline number {i} about topic {i % 37}",
            "",
            f"text {i} " * 40,
        )
        for i in range(500)
    ]
    index = ArticleIndex([*ARTICLES, *articles])
    p = parse("signoff.eml")
    start = time.perf_counter()
    for _ in range(2000):
        m = index.match(p)
    elapsed = time.perf_counter() - start
    assert m.article_id == 2
    assert elapsed < 2.0  # ~1 ms per letter is plenty; measured far faster
