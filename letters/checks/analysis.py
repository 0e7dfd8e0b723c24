"""The processing step every new letter goes through, on both channels, in a Celery task
(letters.tasks.analyse_letter, enqueued by id after commit): the similarity index, the
exclusivity signals and the quote check. Idempotent: a second run finds the same and writes
the same. Never run in a request."""

import logging
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..addresses import normalise_address
from ..models import DeskDomain, Letter, LetterChecks
from . import exclusivity, index, quotes

log = logging.getLogger(__name__)

# Only the headers are read (To and Cc); the stored message may be up to the inbound limit.
HEADER_BYTES = 64 * 1024


def recipients(inbound):
    """The addresses in the To and Cc headers of the stored message, lower case."""
    raw = inbound.raw_bytes[:HEADER_BYTES] if inbound is not None else b""
    if not raw:
        return []
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    headers = BytesParser(policy=policy.compat32).parsebytes(
        raw[: end if end >= 0 else len(raw)], headersonly=True
    )
    values = [str(v) for name in ("to", "cc") for v in headers.get_all(name, [])]
    return [normalise_address(a) for _, a in getaddresses(values) if "@" in a]


def check_letter(letter):
    """The exclusivity and quote checks of `letter`: (not exclusive, evidence, quotes)."""
    evidence = []
    if letter.channel == "email":
        inbound = letter.inbound_emails.order_by("received_at", "id").first()
        evidence += exclusivity.header_evidence(
            recipients(inbound),
            own_addresses=settings.LETTERS_OWN_ADDRESSES,
            desk_domains=DeskDomain.objects.values_list("domain", flat=True),
        )
    evidence += exclusivity.text_evidence(letter.body)
    found = []
    if letter.article_id:
        found = [
            {"text": q.text, "found": q.found, "score": q.score, "closest": q.closest}
            for q in quotes.check_quotes(letter.body, letter.article.body, letter.article.author)
        ]
    return bool(evidence), evidence, found


def analyse_letter(letter_id):
    """Index one letter and check it; returns its LetterChecks, or None if it is gone."""
    if index.index_letter(letter_id) is None:
        return None
    letter = Letter.objects.select_related("article").filter(pk=letter_id).first()
    if letter is None:
        return None
    not_exclusive, evidence, found = check_letter(letter)
    with transaction.atomic():
        if not list(Letter.objects.select_for_update().filter(pk=letter_id).values_list("pk")):
            return None  # deleted meanwhile
        checks, _ = LetterChecks.objects.update_or_create(
            letter_id=letter_id,
            defaults={
                "not_exclusive": not_exclusive,
                "exclusivity_evidence": evidence,
                "quotes": found,
                "quotes_not_found": sum(not q["found"] for q in found),
                "checked_at": timezone.now(),
            },
        )
    return checks


def analyse_letters(letter_ids):
    """analyse_letter for each of `letter_ids`. An OSError (the database or a file gone for a
    moment) is raised so the task retries them all (each analysis is idempotent); any other
    failure is logged and that letter skipped, left without checks for the sweeper."""
    for letter_id in letter_ids:
        try:
            analyse_letter(letter_id)
        except OSError:
            raise
        except Exception:
            log.exception("Analysis of letter %s failed; the sweeper will try it again", letter_id)
