"""letters.word_diff: the edit shown word by word, escaped, fast at any length."""

import difflib
import html
import random
import re
import time

from letters.word_diff import MAX_DIFF_STEPS, _Budget, _opcodes, _word_block, word_diff_html

WORDS = ["the", "a", "letter", "editor", "trains", "late", "again", "sir", "why", "we"]


def original_of(diff):
    return html.unescape(
        re.sub(r"<ins>.*?</ins>", "", diff, flags=re.S).replace("<del>", "").replace("</del>", "")
    )


def edited_of(diff):
    return html.unescape(
        re.sub(r"<del>.*?</del>", "", diff, flags=re.S).replace("<ins>", "").replace("</ins>", "")
    )


def test_a_cut_is_shown_as_removed_words_and_the_rest_kept():
    diff = word_diff_html("Sir, the trains are late again.", "Sir, the trains are late.")
    assert diff == "Sir, the trains are <del>late again.</del><ins>late.</ins>"


def test_everything_is_escaped():
    diff = word_diff_html("<b>bold</b> & fine", "<i>new</i> & fine")
    assert "<b>" not in diff and "<i>" not in diff
    assert "&lt;i&gt;new&lt;/i&gt;" in diff


def test_the_diff_always_holds_both_texts_whatever_their_length():
    rng = random.Random(7)
    for words, paragraph in ((40, 0), (3000, 0), (3000, 60), (12000, 0)):
        tokens = [rng.choice(WORDS) for _ in range(words)]
        if paragraph:
            text = "\n\n".join(
                " ".join(tokens[i : i + paragraph]) for i in range(0, words, paragraph)
            )
        else:
            text = " ".join(tokens)
        edited = " ".join(w for i, w in enumerate(text.split(" ")) if i % 9)
        diff = word_diff_html(text, edited)
        assert original_of(diff) == text
        assert edited_of(diff) == edited


def test_a_24000_word_letter_cut_everywhere_is_diffed_in_well_under_a_second():
    rng = random.Random(1)
    words = [rng.choice(WORDS) for _ in range(24_000)]
    original = " ".join(words)
    edited = " ".join(w for i, w in enumerate(words) if i % 7)
    started = time.perf_counter()
    diff = word_diff_html(original, edited)
    assert time.perf_counter() - started < 1.0
    assert original_of(diff) == original


def paragraphs_of(words, size):
    return [" ".join(words[i : i + size]) for i in range(0, len(words), size)]


def test_a_48000_word_letter_with_every_other_paragraph_cut_is_diffed_in_under_half_a_second():
    rng = random.Random(1)
    paragraphs = paragraphs_of([rng.choice(WORDS) for _ in range(48_000)], 500)
    original = "\n\n".join(paragraphs)
    edited = "\n\n".join(
        p if n % 2 else " ".join(w for i, w in enumerate(p.split(" ")) if i % 9)
        for n, p in enumerate(paragraphs)
    )
    started = time.perf_counter()
    diff = word_diff_html(original, edited)
    assert time.perf_counter() - started < 0.5  # 0.2 s; 3.3 s with a budget for each paragraph
    assert (original_of(diff), edited_of(diff)) == (original, edited)


def test_a_48000_word_letter_with_every_other_paragraph_rewritten_is_diffed_in_under_half_a_second():
    # Rewritten, a paragraph keeps only its spaces: difflib's matches are one token long, and
    # its search nearer the cube of the length (a 500-word paragraph: 3 s; all of these: 145 s).
    rng = random.Random(2)
    paragraphs = paragraphs_of([f"w{rng.randrange(5_000)}" for _ in range(48_000)], 500)
    rewritten = paragraphs_of([f"x{rng.randrange(5_000)}" for _ in range(48_000)], 500)
    original = "\n\n".join(paragraphs)
    edited = "\n\n".join(p if n % 2 else rewritten[n] for n, p in enumerate(paragraphs))
    started = time.perf_counter()
    diff = word_diff_html(original, edited)
    assert time.perf_counter() - started < 0.5
    assert (original_of(diff), edited_of(diff)) == (original, edited)


def test_within_its_budget_the_diff_is_the_one_difflib_makes():
    def as_html(opcodes, a, b):
        return "".join(
            part for op, a1, a2, b1, b2 in opcodes for part in _word_block(op, a[a1:a2], b[b1:b2])
        )

    rng = random.Random(3)
    for _ in range(2_000):
        tokens = rng.choice([["a", "b"], ["a", " ", "b", "  "], WORDS])
        a = [rng.choice(tokens) for _ in range(rng.randrange(30))]
        b = [rng.choice(tokens) for _ in range(rng.randrange(30))]
        expected = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
        assert as_html(_opcodes(a, b, _Budget(MAX_DIFF_STEPS)), a, b) == as_html(expected, a, b)


def test_a_stretch_the_budget_cannot_pay_for_is_shown_removed_and_inserted_whole():
    a, b = ["sir", " ", "the", " ", "trains"], ["sir", " ", "a", " ", "trains"]
    assert list(_opcodes(a, b, _Budget(0))) == [("replace", 0, 5, 0, 5)]
