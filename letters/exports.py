"""What goes out to the publication: a published edition as print-ready text, as an HTML
fragment for the CMS, and as JSON; a published letter as JSON (the read-only API).

Only what is printed leaves the desk: headline, edited text, name and town. Never an email
address, a phone number or a postal address. Every text is cleaned of control and bidi
characters on the way out, as the feeds do. Reads only; writes nothing.
"""

import re

from django.conf import settings
from django.db import models
from django.utils.html import format_html, linebreaks

from .intake.characters import clean_line, clean_text
from .models import PUBLIC_FIELDS, Edition, EditionLetter, Letter, Status, count_words

_BLANK_LINES = re.compile(r"\n{3,}")


def absolute(path):
    return settings.SITE_URL + path


def published_editions():
    """Published editions, newest first, each with `published_entries`: its still-published
    letters, lead first then in the editor's order (one query for all their letters)."""
    entries = (
        EditionLetter.objects.filter(letter__status=Status.PUBLISHED)
        .select_related("letter", "letter__article")
        .only(
            "edition_id",
            "position",
            "headline",
            "is_lead",
            *(f"letter__{name}" for name in PUBLIC_FIELDS),
        )
        .order_by("-is_lead", "position", "id")
    )
    return (
        Edition.objects.published()
        .prefetch_related(models.Prefetch("entries", queryset=entries, to_attr="published_entries"))
        .order_by("-date")
    )


def published_letters():
    return Letter.objects.published().for_readers()


def _text(letter):
    return _BLANK_LINES.sub("\n\n", clean_text(letter.publishable_text).replace("\r\n", "\n"))


def _article_url(letter):
    article = letter.article
    return article.canonical_url or absolute(article.get_absolute_url())


def _edition_heading(edition):
    day = edition.date.strftime("%A %-d %B %Y")
    return f"{day} — {clean_line(edition.title)}" if edition.title else day


# --- Plain text, for print -------------------------------------------------------------------


def edition_text(edition):
    """The edition as print-ready plain text: a heading, then each letter's headline, text,
    "Name, Town" and word count, lead letter first."""
    entries = edition.published_entries
    words = sum(count_words(_text(entry.letter)) for entry in entries)
    lines = [
        f"Letters to {settings.LETTERS_PUBLICATION_NAME}",
        _edition_heading(edition),
        f"{len(entries)} letter{'s' if len(entries) != 1 else ''}, {words} words",
    ]
    for entry in entries:
        letter = entry.letter
        text = _text(letter)
        headline = clean_line(entry.display_headline)
        lines += ["", "* * *", ""]
        if entry.is_lead:
            lines.append("LEAD LETTER")
        if headline:
            lines.append(headline.upper())
        if letter.article_id:
            lines.append(f"In response to: {clean_line(letter.article.headline)}")
        lines += ["", text, "", clean_line(letter.signature), f"({count_words(text)} words)"]
    return "\n".join(lines) + "\n"


# --- An HTML fragment, for the CMS -----------------------------------------------------------


def edition_html(edition):
    """The edition as an HTML fragment (no page around it, no styles, no scripts) for the
    publication's CMS: a section, a heading, an article element per letter."""
    parts = [
        format_html(
            '<section class="letters-edition" id="letters-{}">\n<h2>Letters, {}</h2>',
            edition.date.isoformat(),
            _edition_heading(edition),
        )
    ]
    for entry in edition.published_entries:
        letter = entry.letter
        headline = clean_line(entry.display_headline)
        parts.append(
            format_html(
                '<article class="letter{}" id="letter-{}">',
                " letter-lead" if entry.is_lead else "",
                letter.pk,
            )
        )
        if headline:
            parts.append(format_html("<h3>{}</h3>", headline))
        if letter.article_id:
            parts.append(
                format_html(
                    '<p class="letter-in-response">In response to <a href="{}">{}</a></p>',
                    _article_url(letter),
                    clean_line(letter.article.headline),
                )
            )
        parts.append(linebreaks(_text(letter), autoescape=True))
        parts.append(
            format_html('<p class="letter-signature">{}</p>', clean_line(letter.signature))
        )
        parts.append("</article>")
    parts.append("</section>")
    return "\n".join(parts) + "\n"


# --- JSON ------------------------------------------------------------------------------------


def letter_data(letter, *, headline=None, lead=None):
    """A published letter as the API gives it: what is printed, and where it appears."""
    text = _text(letter)
    data = {
        "id": letter.pk,
        "headline": clean_line(headline if headline is not None else letter.published_headline),
        "text": text,
        "html": linebreaks(text, autoescape=True),
        "name": clean_line(letter.name),
        "town": clean_line(letter.town),
        "signature": clean_line(letter.signature),
        "word_count": count_words(text),
        "published_at": letter.published_at.isoformat() if letter.published_at else None,
        "url": absolute(letter.get_absolute_url()),
        "article": None,
    }
    if lead is not None:
        data["lead"] = lead
    if letter.article_id:
        data["article"] = {
            "headline": clean_line(letter.article.headline),
            "url": _article_url(letter),
        }
    return data


def edition_data(edition):
    """The edition as JSON-ready data: its date, title, links, and its letters in order."""
    letters = [
        letter_data(entry.letter, headline=entry.display_headline, lead=entry.is_lead)
        for entry in edition.published_entries
    ]
    path = edition.get_absolute_url()
    return {
        "date": edition.date.isoformat(),
        "title": clean_line(edition.title),
        "url": absolute(path),
        "published_at": edition.published_at.isoformat() if edition.published_at else None,
        "formats": {
            "text": absolute(f"{path}edition.txt"),
            "html": absolute(f"{path}edition.html"),
            "json": absolute(f"{path}edition.json"),
        },
        "letter_count": len(letters),
        "word_count": sum(letter["word_count"] for letter in letters),
        "letters": letters,
    }


def edition_summary(edition):
    data = edition_data(edition)
    return {
        key: data[key]
        for key in ("date", "title", "url", "published_at", "formats", "letter_count", "word_count")
    }
