"""Screening a letter's content as it arrives: the same check for both ways in.

A letter with LETTERS_SUSPECT_LINKS links or more, or a phrase of bulk spam
(letters.suspect_text.SPAM_MARKERS), is marked suspect with the reason; never dropped, never
refused. `screen` is cheap (two regular expressions) and runs where the letter is built: in
the form's request (moderation.submit) and in the worker that turns an email into a letter
(intake.process).

The publisher's own spam service, if any, is named by LETTERS_SPAM_CHECK: the dotted path of
a function `check(text, sender) -> str` that returns a short reason when the letter is spam,
else "". It is called only by the worker: for an email while the message is processed, for a
web letter by a task enqueued when the letter is stored (check_with_spam_service). A service
that raises is logged and marks nothing: the letter goes on to the desk as usual. Being
suspect is not a status: the editor sees the flag and its reason, and decides.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from ..models import Letter
from ..suspect_text import suspect_content
from .rules import lock, record

log = logging.getLogger(__name__)

REASON_CHARS = Letter._meta.get_field("suspect_reason").max_length


def mark_suspect(letter, reasons):
    """Add `reasons` to the letter's suspect flag (in memory; the caller saves). Returns
    whether anything was added: a reason the letter already carries is not added twice."""
    new = [reason for reason in reasons if reason and reason not in letter.suspect_reason]
    if not new:
        return False
    letter.suspect = True
    letter.suspect_reason = "; ".join(filter(None, [letter.suspect_reason, *new]))[:REASON_CHARS]
    return True


def screen(letter, *, subject="", ask_spam_service=False):
    """Mark an unsaved letter suspect if its subject or text looks like spam. With
    `ask_spam_service` (the worker only) the publisher's spam service is asked too."""
    text = f"{subject}\n\n{letter.body}" if subject else letter.body
    reasons = suspect_content(text, max_links=settings.LETTERS_SUSPECT_LINKS)
    if ask_spam_service:
        reasons.append(spam_service_reason(letter.body, letter.email))
    mark_suspect(letter, reasons)
    return letter


def spam_service_reason(text, sender):
    """ "spam check: <reason>" if LETTERS_SPAM_CHECK's function calls the letter spam, else "".
    A function that cannot be imported raises (a configuration error, not a letter's); one
    that raises is logged and counts as "not spam"."""
    if not settings.LETTERS_SPAM_CHECK:
        return ""
    check = import_string(settings.LETTERS_SPAM_CHECK)
    try:
        reason = check(text, sender)
    except Exception:
        log.exception("The spam check %s failed; the letter is not marked", check.__name__)
        return ""
    reason = " ".join(str(reason or "").split())
    return f"spam check: {reason}" if reason else ""


def check_with_spam_service(letter_id):
    """Ask the spam service about a stored letter (a web letter: the worker runs this after
    the form stored it) and mark it suspect with the reason, recording a "marked suspect"
    event. Returns whether it was marked. Safe to repeat: the same reason is added once. The
    service is asked outside any transaction, so a slow one holds no lock."""
    letter = Letter.objects.only("body", "email").get(pk=letter_id)
    reason = spam_service_reason(letter.body, letter.email)
    if not reason:
        return False
    with transaction.atomic():
        letter = lock(letter_id)
        if not mark_suspect(letter, [reason]):
            return False
        letter.save(update_fields=["suspect", "suspect_reason", "updated_at"])
        record(letter, "marked suspect", actor_label="spam check", note=reason)
    return True
