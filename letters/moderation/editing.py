"""Editing for length: the version to publish and its headline (the writer's original is never
touched), with conflict detection between editors; and the desk's internal notes."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Note, Status, count_words
from .rules import TransitionNotAllowed, check, lock, record, signed_in


class EditConflict(Exception):
    """Someone else changed the letter's text since this editor loaded it."""

    def __init__(self, letter):
        self.letter = letter
        super().__init__(
            "Another editor changed this letter's text while you were editing it. "
            "Their version is now saved; compare it with yours before saving again."
        )


class EditTooLong(ValueError):
    """The version to publish is longer than the desk's hard limit (LETTERS_HARD_WORD_LIMIT)."""

    def __init__(self, words):
        self.words = words
        limit = settings.LETTERS_HARD_WORD_LIMIT
        super().__init__(
            f"The version to publish has {words} words: the most the desk can save is {limit}. "
            "Cut it further, then save."
        )


def check_length(edited_body):
    """Raise EditTooLong if an edited version (not the writer's original) is over the hard
    limit. An empty edit means "publish the original", which is never refused."""
    words = count_words(edited_body)
    if edited_body and words > settings.LETTERS_HARD_WORD_LIMIT:
        raise EditTooLong(words)


def text_version(letter):
    """A token for the letter's editable text, carried by the edit form to detect conflicts."""
    raw = f"{letter.edited_body}\x00{letter.headline}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@transaction.atomic
def edit_text(letter_id, *, edited_body, headline=None, actor=None, expected_version=None):
    """Save the version to publish (and its headline); the writer's original is never touched.

    Records an "edited" event with the word counts. Not a status change. `expected_version`
    is the text_version() the editor started from: if someone else saved a different text in
    the meantime, EditConflict is raised rather than losing their change; an edit over
    LETTERS_HARD_WORD_LIMIT raises EditTooLong. Either way nothing is saved. Saving the same
    text again (a double click) changes and records nothing.
    """
    check(actor, "edit_text")
    letter = lock(letter_id)
    if letter.status == Status.WITHDRAWN:
        raise TransitionNotAllowed(letter, letter.status, "A withdrawn letter cannot be edited.")
    if letter.status == Status.PUBLISHED:
        check(actor, "publish")  # editing a published letter changes what readers see
    edited_body = edited_body.replace("\r\n", "\n")
    if edited_body.strip() == letter.body.replace("\r\n", "\n").strip():
        edited_body = ""  # unchanged from the original: nothing to keep
    headline = letter.headline if headline is None else headline.strip()
    if edited_body == letter.edited_body and headline == letter.headline:
        return letter, False
    if expected_version is not None and expected_version != text_version(letter):
        raise EditConflict(letter)
    check_length(edited_body)
    before = count_words(letter.publishable_text)
    changes = []
    if edited_body != letter.edited_body:
        after = count_words(edited_body or letter.body)
        changes.append(f"{before} -> {after} words (original {letter.word_count}).")
    if headline != letter.headline:
        changes.append(f"Headline: {headline!r}.")
    letter.edited_body = edited_body
    letter.headline = headline
    letter.save(update_fields=["edited_body", "headline", "updated_at"])
    record(letter, "edited", actor=actor, note=" ".join(changes))
    return letter, True


@transaction.atomic
def add_note(letter_id, text, *, actor=None):
    """Add an internal note. The same note from the same person within a minute (a double
    click, a resubmitted form) is stored once."""
    check(actor, "add_note")
    text = text.strip()
    if not text:
        raise ValueError("A note needs some text.")
    letter = lock(letter_id)
    author = signed_in(actor)
    recent = timezone.now() - timedelta(minutes=1)
    existing = letter.notes.filter(author=author, text=text, created_at__gte=recent).first()
    if existing:
        return existing, False
    return Note.objects.create(letter=letter, author=author, text=text), True
