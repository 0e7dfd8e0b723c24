"""Template filters for reader-supplied text on the site's pages."""

from django import template

from ..intake.characters import clean_line, clean_text

register = template.Library()


@register.filter
def printable(text):
    """The text without control or bidi characters (letters.intake.characters): the ways in
    refuse or strip them, and this keeps letters stored before that from turning a byline
    around on the page."""
    return clean_text(text)


@register.filter
def printable_line(text):
    """One line without control or bidi characters, tabs and line breaks made spaces."""
    return clean_line(text)
