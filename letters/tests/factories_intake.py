"""Helpers for the email intake tests: real .eml files and small generated messages."""

from email.utils import format_datetime
from pathlib import Path

from django.utils import timezone

from letters.models import Article

EMAILS = Path(__file__).parent / "emails"


def eml(name):
    return (EMAILS / name).read_bytes()


def make_article(**overrides):
    fields = {
        "headline": "Why the four-day week will not save the NHS",
        "slug": "four-day-week-nhs",
        "body": "Hospitals run on shifts. The four-day week would need more staff, not fewer.",
        "published_at": timezone.now(),
    }
    fields.update(overrides)
    return Article.objects.create(**fields)


def make_message(
    *,
    message_id="<letter-1@example.org>",
    sender="Ann Reader <ann@example.org>",
    to="letters@reaction.life",
    subject="Your article on trains",
    body="Dear Editor,\n\nThe trains are late again, and your article was right.\n\nAnn Reader\nLeeds\n",
    headers=(),
):
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(timezone.now())}",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += list(headers)
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", ""]
    return ("\r\n".join(lines) + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")
