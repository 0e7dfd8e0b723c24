"""Exclusivity signals (the message's recipients, the letter's own words), the quote check, and
the processing step that stores them for the desk, on both channels."""

import pytest

from letters import jobs, moderation
from letters.checks import analysis
from letters.checks.exclusivity import header_evidence, text_evidence
from letters.checks.quotes import check_quotes, claimed_quotes, look_up
from letters.intake.process import process_inbound_email
from letters.intake.store import receive_email
from letters.models import DeskDomain, Letter, LetterChecks, WayIn

from .factories import make_article, make_letter, make_message, run_submitted_work

ARTICLE = (
    "The government, for all its promises, has built fewer homes than any since the war. "
    "Rents rose by 9% last year, the fastest rise on record. Planning reform is overdue."
)
OWN = ["letters@reaction.life"]


# --- Exclusivity --------------------------------------------------------------------------------


def test_a_letter_also_addressed_to_a_known_desk_or_a_letters_mailbox_is_not_exclusive():
    evidence = header_evidence(
        [
            "letters@reaction.life",
            "letters@news.thetimes.co.uk",
            "editor@gazette.example",
            "friend@example.org",
        ],
        own_addresses=OWN,
        desk_domains=["thetimes.co.uk"],
    )
    assert evidence == [
        "Also addressed to letters@news.thetimes.co.uk (the letters desk of thetimes.co.uk)",
        "Also addressed to editor@gazette.example (editor@ is a letters desk's mailbox)",
    ]


def test_a_letter_sent_to_us_and_a_friend_is_exclusive():
    assert not header_evidence(
        ["letters@reaction.life", "friend@example.org"], own_addresses=OWN, desk_domains=[]
    )


@pytest.mark.parametrize(
    "text",
    [
        "An open letter to the Secretary of State for Health.",
        "I have also sent this letter to the Guardian.",
        "This letter has been sent to several national newspapers.",
    ],
)
def test_a_letter_that_says_it_went_elsewhere_is_not_exclusive(text):
    (evidence,) = text_evidence(f"Sir, {text} The trains are late.")
    assert text.split()[1].lower() in evidence.lower() or "open letter" in evidence


def test_an_ordinary_letter_says_nothing_of_the_kind():
    assert text_evidence("Sir, I opened your letters page and sent my son to school.") == []


# --- Quotes -------------------------------------------------------------------------------------


def test_a_quote_in_the_article_is_found_whatever_the_punctuation_and_case():
    (quote,) = check_quotes('Sir, you wrote that "RENTS ROSE by 9% last year!"', ARTICLE)
    assert quote.found and quote.score == 100


def test_a_quote_with_small_edits_is_found():
    (quote,) = check_quotes(
        "Sir, your article claims “the government, for all its promise, has built fewer homes "
        "then any since the war”.",
        ARTICLE,
    )
    assert quote.found and 90 <= quote.score < 100


def test_a_quote_the_article_never_said_is_not_found():
    (quote,) = check_quotes(
        'Sir, your columnist says "immigration is the only cause of high rents".', ARTICLE
    )
    assert not quote.found
    assert quote.score < 90


def test_a_quote_with_a_changed_figure_is_not_found():
    (quote,) = check_quotes('Sir, you wrote that "rents rose by 12% last year".', ARTICLE)
    assert not quote.found and quote.score >= 90


def test_reported_words_count_and_unattributed_quotes_do_not():
    found = claimed_quotes(
        'Sir, you say that planning reform is long overdue. My grandmother called it "a '
        'scandal from start to finish", and she was right.',
        author="Jane Smith",
    )
    assert found == ["planning reform is long overdue"]
    assert look_up(found[0], ARTICLE).found


def test_the_authors_name_is_a_cue():
    found = claimed_quotes('Sir, Smith tells us "rents rose by 9% last year".', author="Jane Smith")
    assert found == ["rents rose by 9% last year"]


# --- The processing step ------------------------------------------------------------------------


@pytest.fixture
def article(db):
    return make_article(body=ARTICLE, author="Jane Smith")


def test_an_emailed_letter_copied_to_another_desk_is_flagged_with_the_evidence(
    article, enqueued, django_capture_on_commit_callbacks
):
    DeskDomain.objects.get_or_create(domain="thetimes.co.uk")  # seeded; flushed by some tests
    raw = make_message(
        to="letters@reaction.life, Letters <letters@thetimes.co.uk>",
        headers=["Cc: friend@example.org"],
        body='Dear Editor,\n\nYou wrote that "rents rose by 12% last year". Not so.\n\nAnn\n',
    )
    with django_capture_on_commit_callbacks(execute=True):
        row, _ = receive_email(raw, way_in=WayIn.PIPE)
        process_inbound_email(row.pk)
    letter = Letter.objects.get()
    assert (jobs.ANALYSE_LETTER, (letter.pk,)) in enqueued
    checks = analysis.analyse_letter(letter.pk)
    assert checks.not_exclusive
    assert checks.exclusivity_evidence == [
        "Also addressed to letters@thetimes.co.uk (the letters desk of thetimes.co.uk)"
    ]
    assert set(Letter.objects.flagged("not_exclusive")) == {letter}
    letter.article = article
    letter.save()
    checks = analysis.analyse_letter(letter.pk)
    assert checks.quotes_not_found == 1
    assert set(Letter.objects.flagged("misquote")) == {letter}
    assert LetterChecks.objects.count() == 1  # analysed twice, one row


def test_a_web_letter_is_analysed_after_it_is_submitted(
    article, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        letter = moderation.submit(
            article=article,
            body='Sir, this open letter says you wrote that "rents rose by 9% last year".',
            name="Ann",
            email="ann@example.org",
            consent=True,
        )
    assert (jobs.ANALYSE_LETTER, (letter.pk,)) in run_submitted_work(enqueued)
    checks = analysis.analyse_letter(letter.pk)
    assert checks.not_exclusive and checks.quotes_not_found == 0
    assert checks.quotes[0]["found"]


def test_a_letter_gone_before_its_analysis_is_skipped(article):
    letter = make_letter(article=article)
    pk = letter.pk
    letter.delete()
    assert analysis.analyse_letter(pk) is None
