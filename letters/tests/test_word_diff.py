"""letters.word_diff: the edit shown word by word, escaped, fast at any length."""

import html
import random
import re
import time

from letters.word_diff import word_diff_html

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
