"""Tests for letters.intake.match (pure Python; run with -p no:django)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from letters.intake.match import ArticleIndex, ArticleRef, Match, match_article, urls_in_subject
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


# --- Subjects as writers really send them ----------------------------------------------------

PUTIN = ArticleRef(
    5,
    "putin-warns-the-west",
    "Putin warns the West as Starmer and Biden weigh long-range strikes",
    "https://reaction.life/articles/putin-warns-the-west/",
    "The Kremlin threatens a response if Ukraine is allowed to fire Western missiles deep "
    "into Russia.",
)
NATO = ArticleRef(
    6,
    "putin-warns-nato",
    "Putin warns Nato over missiles in Poland",
    "https://reaction.life/articles/putin-warns-nato/",
    "Moscow says the deployment crosses a line.",
)
NEWS = [*ARTICLES, PUTIN, NATO]


def test_the_readme_example_subject_matches_the_longer_headline():
    p = letter(subject="Re: Putin warns the West")
    assert match_article(p, NEWS) == Match(5, "subject", 0.75)


@pytest.mark.parametrize(
    ("subject", "article_id"),
    [
        ("RE: Putin warns the West as Starmer and Biden weigh long-range strikes", 5),
        ("Fwd: Putin warns the West as Starm…", 5),
        ("Fw: Putin warns the West as Starmer and Biden weigh...", 5),
        ("AW: [Letters] Putin warns the West", 5),
        ("[Letters] Re: 'Putin warns the West'", 5),
        ('"Putin warns the West"', 5),
        ("Re: Your article “Putin warns the West”", 5),
        ("RE: RE: Re[3]: SV: (Putin warns the West)", 5),
        ("[EXTERNAL] Re: Putin warns Nato over missiles", 6),
        ("Letter: Re: Fwd: The case for a four-day …", 1),
        ("Re: Why local newspapers", 3),
        ("Re: https://reaction.life/articles/rewilding-the-north-pennines/", 2),
        ("Your piece reaction.life/articles/the-trouble-with-smart-motorways?utm_source=x", 4),
        ("In response to your article on The trouble with smart motorways", 4),
    ],
)
def test_real_world_subject_shapes_find_their_article(subject, article_id):
    p = letter(subject=subject, body="Dear Editor, a few words of my own.")
    assert match_article(p, NEWS).article_id == article_id


def test_a_subject_that_starts_two_headlines_matches_neither_by_subject():
    p = letter(subject="Re: Putin warns", body="Dear Editor, a few words of my own.")
    assert match_article(p, NEWS).method != "subject"


def test_a_subject_of_a_word_or_two_does_not_match_as_the_start_of_a_headline():
    p = letter(subject="Re: The trouble", body="Dear Editor, a few words of my own.")
    assert match_article(p, NEWS) == Match(None, "unmatched", 0.0)


def test_a_cut_word_matches_only_after_an_ellipsis():
    index = ArticleIndex(NEWS)
    cut = letter(subject="Re: Putin warns the West as Starm", body="Dear Editor, hello.")
    assert index.match(cut).method == "unmatched"
    cut_marked = letter(subject="Re: Putin warns the West as Starm...", body="Dear Editor, hello.")
    assert index.match(cut_marked) == Match(5, "subject", 0.75)


def test_an_article_url_in_the_body_with_a_query_and_fragment_matches_by_url():
    p = parse_email(
        b"From: a@example.org\nSubject: My letter\n\nDear Editor,\nabout "
        b"https://reaction.life/articles/putin-warns-the-west/?utm_source=newsletter#comments\n"
        b"it is wrong.\n"
    )
    assert match_article(p, NEWS) == Match(5, "url", 0.95)


def test_a_hostile_subject_is_matched_in_linear_time():
    index = ArticleIndex(NEWS)
    subjects = [
        "[Letters] " * 5_000 + "Putin warns the West",
        "Re: " * 20_000,
        "Putin warns the West " * 10_000,
        "http://" + "a" * 100_000,
        "“" * 50_000,
    ]
    start = time.perf_counter()
    for subject in subjects:
        index.by_subject(subject)
        index.by_urls(urls_in_subject(subject))
    assert time.perf_counter() - start < 0.1
    assert len(urls_in_subject("https://a.example/x " * 1_000)) == 5


def test_the_longest_headline_inside_a_subject_wins():
    short = ArticleRef(7, "smart-motorways", "Smart motorways", "", "")
    index = ArticleIndex([short, *ARTICLES])
    p = letter(subject="Re: Your view on the trouble with smart motorways, again")
    assert index.match(p) == Match(4, "subject", 0.8)
    assert index.match(letter(subject="Smart motorways again")) == Match(7, "subject", 0.8)


def test_the_subject_step_stays_fast_with_thousands_of_headlines():
    # Only the headlines starting with one of the subject's words are tried: not all 5,000.
    articles = [
        ArticleRef(i, f"a-{i}", f"Headline {i} about topic {i % 37}", "", "") for i in range(5000)
    ]
    index = ArticleIndex([*articles, PUTIN])
    start = time.perf_counter()
    for _ in range(200):
        assert index.by_subject("Re: Putin warns the West").article_id == 5
        assert index.by_subject("Re: the state of the nation, the economy and the weather") is None
    assert time.perf_counter() - start < 0.1  # a scan of every headline takes seconds here
