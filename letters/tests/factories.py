"""The tests' one set of helpers: articles, letters, editions, desk users, form data, emails.

Each `make_*` saves a row with plain, unique defaults; a test passes what it depends on.
"""

import datetime
import html
import itertools
import json
import re
import socket
import time
import uuid
from email.utils import format_datetime
from pathlib import Path

import altcha
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.utils import timezone

from letters import bot_defence, jobs, moderation, roles
from letters.models import (
    Article,
    Channel,
    Edition,
    EditionLetter,
    Letter,
    ReplyTemplate,
    Status,
)

_numbers = itertools.count(1)

# --- Articles, letters, editions -------------------------------------------------------------


def make_article(**overrides):
    """A published article (yesterday) that takes letters."""
    n = next(_numbers)
    fields = {
        "headline": f"Article {n}",
        "slug": f"article-{n}",
        "body": "The article's text.",
        "published_at": timezone.now() - datetime.timedelta(days=1),
    }
    fields.update(overrides)
    return Article.objects.create(**fields)


def make_four_day_week_article(**overrides):
    """A real-looking article for the email intake tests, which match mail on its words."""
    fields = {
        "headline": "Why the four-day week will not save the NHS",
        "slug": "four-day-week-nhs",
        "body": "Hospitals run on shifts. The four-day week would need more staff, not fewer.",
        "published_at": timezone.now(),
    }
    fields.update(overrides)
    return make_article(**fields)


def make_letter(**overrides):
    """A web letter saved directly in `status` (default received), about a new article unless
    `article` is given. Every letter past confirmation has `confirmed_at` set."""
    n = next(_numbers)
    fields = {
        "channel": Channel.WEB,
        "status": Status.RECEIVED,
        "body": f"Sir, letter number {n} has something to say about the article.",
        "name": f"Writer {n}",
        "email": f"writer{n}@example.com",
        "town": "Hexham",
        "exclusive": True,
        "consent": True,
    }
    fields.update(overrides)
    if "confirmed_at" not in fields and fields["status"] != Status.UNCONFIRMED:
        fields["confirmed_at"] = timezone.now()
    if "article" not in fields:
        fields["article"] = make_article()
    return Letter.objects.create(**fields)


def make_approved_letter(**overrides):
    """A letter the desk has approved: where the publication tests start."""
    return make_letter(**{"status": Status.APPROVED, **overrides})


def make_edition(letters=(), *, date=None, lead=None, **overrides):
    """An edition holding `letters` in the order given; `lead` (a letter) is the lead."""
    edition = Edition.objects.create(
        date=date or datetime.date(2026, 5, 1) + datetime.timedelta(days=next(_numbers)),
        **overrides,
    )
    for position, letter in enumerate(letters, start=1):
        EditionLetter.objects.create(
            edition=edition,
            letter=letter,
            position=position,
            headline=f"Headline for {letter.name}",
            is_lead=letter == lead,
        )
    return edition


# --- The desk's people -----------------------------------------------------------------------


def make_user(role=None, username=None):
    """A staff user in the given role: roles.EDITOR, roles.SUB_EDITOR, or "superuser"."""
    username = username or f"user{next(_numbers)}"
    if role == "superuser":
        return User.objects.create_superuser(username, f"{username}@example.com", "pw")
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    if role:
        if not Group.objects.filter(name=role).exists():  # flushed by a transactional test
            roles.sync_groups(django_apps)
        user.groups.add(Group.objects.get(name=role))
    return user


def editor():
    return make_user(roles.EDITOR)


def sub_editor():
    return make_user(roles.SUB_EDITOR)


def rejection_template():
    return ReplyTemplate.objects.get_or_create(
        name="Rejection (test)",
        defaults={
            "kind": "rejection",
            "subject": "Your letter to {{ publication }}",
            "body": "Dear {{ name }}, sorry: {{ reason }}. About {{ article_headline }}.",
        },
    )[0]


def post_admin_action(client, changelist_url, action, objects, *, follow=False, **extra):
    """Run an admin changelist action on `objects`, as ticking them and pressing Go does."""
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(changelist_url, data, follow=follow)


# --- What readers send: the form, and email ---------------------------------------------------

LETTER_TEXT = (
    "Sir, your piece on long-range missiles was right: the help comes too little, too late.\r\n\r\n"
    "We should have acted a year ago."
)


def form_data(**overrides):
    """The letter form's POST data; an override of None leaves that field out.

    As a reader's browser without JavaScript sends it: the form was shown a minute ago
    (its signed timestamp), and no proof-of-work solution (such a letter is held as suspect).
    """
    data = {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "town": "Hexham",
        "body": LETTER_TEXT,
        "phone": "",
        "exclusive": "on",
        "consent": "on",
        "client_token": str(uuid.uuid4()),
        "website": "",
        "started": bot_defence.started_token(at=time.time() - 60),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


EMAILS = Path(__file__).parent / "emails"


def eml(name):
    """The bytes of a real message under letters/tests/emails/."""
    return (EMAILS / name).read_bytes()


def make_message(
    *,
    message_id="<letter-1@example.org>",
    sender="Ann Reader <ann@example.org>",
    to="letters@reaction.life",
    subject="Your article on trains",
    body="Dear Editor,\n\nThe trains are late again, and your article was right.\n\nAnn Reader\nLeeds\n",
    headers=(),
):
    """A small plain-text email as bytes, CRLF line ends."""
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


_CHALLENGE = re.compile(r'<altcha-widget name="altcha" challenge="([^"]+)"')


def solved_challenge(page_html):
    """What the reader's browser posts once the ALTCHA widget has solved the page's challenge."""
    challenge = altcha.Challenge.from_dict(
        json.loads(html.unescape(_CHALLENGE.search(page_html)[1]))
    )
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def browser_form_data(client, article, **overrides):
    """form_data() as a reader's browser sends it: with the article page's challenge solved."""
    page = client.get(article.get_absolute_url()).content.decode()
    return form_data(altcha=solved_challenge(page), **overrides)


def free_port():
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_submitted_work(enqueued):
    """Do what the worker does with each letters.tasks.letter_submitted message recorded in
    `enqueued` (conftest's fixture): start the letter's confirmation, analysis and spam check,
    recorded in `enqueued` in turn. Returns what was enqueued but those messages."""
    for _, args in [sent for sent in enqueued if sent[0] == jobs.LETTER_SUBMITTED]:
        moderation.start_submitted_work(*args)
    return [sent for sent in enqueued if sent[0] != jobs.LETTER_SUBMITTED]
