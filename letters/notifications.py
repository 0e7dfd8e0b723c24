"""Mail to writers, rendered from templates/emails/<name>-subject.txt and <name>-body.txt.

Every mail is sent at most once: its send is claimed first by a conditional UPDATE whose row
count says who won, so a retried or duplicated task sends nothing; if sending fails the claim
is released and the error raised, so the task's retry sends it (`send_claimed`).
"""

import logging
import re
import secrets

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from . import jobs
from .models import (
    EditionStatus,
    Letter,
    Notification,
    NotificationKind,
    Reply,
    ReplyKind,
    ReplyTemplate,
    Status,
)

log = logging.getLogger(__name__)

CONFIRM_SALT = "letters.confirm"


def confirmation_token(letter):
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(str(letter.pk))


def letter_id_from_token(token):
    """The letter id in a confirmation token; raises signing.SignatureExpired / BadSignature."""
    max_age = settings.LETTERS_CONFIRM_MAX_AGE_DAYS * 24 * 3600
    return int(signing.TimestampSigner(salt=CONFIRM_SALT).unsign(token, max_age=max_age))


def confirmation_url(letter):
    path = reverse("letters:confirm", kwargs={"token": confirmation_token(letter)})
    return settings.SITE_URL + path


# --- Threading (follow-ups): the Message-ID of every mail the desk sends about a letter ---
# <letter-<id>.<kind>.<nonce>.<mac>@<domain of LETTERS_INBOUND_ADDRESS>>: a writer's reply names
# it in In-Reply-To/References, and letters.intake.follow_ups maps it back to the letter. The MAC
# (keyed by SECRET_KEY) means nobody can make up an id that points at someone else's letter.

MESSAGE_ID_SALT = "letters.message-id"
_DESK_MESSAGE_ID = re.compile(r"^letter-(\d+)\.([a-z_]+)\.([0-9a-f]+)\.([0-9a-f]{20})@(.+)$")


def _message_id_mac(value, secret=None):
    return salted_hmac(MESSAGE_ID_SALT, value, secret=secret, algorithm="sha256").hexdigest()[:20]


def _desk_domain():
    return settings.LETTERS_INBOUND_ADDRESS.rpartition("@")[2].lower()


def desk_message_id(letter_id, kind):
    """A new Message-ID (with angle brackets) for a mail about `letter_id` of `kind`."""
    value = f"letter-{int(letter_id)}.{kind}.{secrets.token_hex(6)}"
    return f"<{value}.{_message_id_mac(value)}@{_desk_domain()}>"


def letter_id_from_message_id(message_id):
    """The letter a Message-ID made by desk_message_id names (brackets optional), else None."""
    match = _DESK_MESSAGE_ID.match((message_id or "").strip().strip("<>").lower())
    if not match or match.group(5) != _desk_domain():
        return None
    value = f"letter-{match.group(1)}.{match.group(2)}.{match.group(3)}"
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        if constant_time_compare(_message_id_mac(value, secret), match.group(4)):
            return int(match.group(1))
    return None


def desk_mail(subject, body, to, *, letter_id, kind, auto="auto-generated", headers=None):
    """An EmailMessage from the desk about letter `letter_id`: marked automatic (RFC 3834, so
    well-behaved mailers do not answer it) and with a Message-ID a reply can be threaded by."""
    headers = {
        "Auto-Submitted": auto,
        "Message-ID": desk_message_id(letter_id, kind),
        **(headers or {}),
    }
    return EmailMessage(subject, body, to=[to], headers=headers)


def send_claimed(message, *, release):
    """Send `message`, whose send the caller has claimed. If sending fails, `release()` undoes
    the claim (in its own transaction) and the error is raised for the task's retry."""
    try:
        message.send()
    except Exception:
        with transaction.atomic():
            release()
        raise
    return True


def render_email(name, context):
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    body = render_to_string(f"emails/{name}-body.txt", context)
    return " ".join(subject.split()), body


def send_confirmation(letter_id):
    """Send the writer the link that confirms their letter.

    At most once per letter (claimed on confirmation_sent_at). Only a letter still awaiting
    confirmation is mailed: one marked spam (the form's bot trap) or withdrawn before the task
    ran gets nothing.
    """
    now = timezone.now()
    claimed = Letter.objects.filter(
        pk=letter_id, status=Status.UNCONFIRMED, confirmation_sent_at__isnull=True
    ).update(confirmation_sent_at=now)
    if not claimed:
        return False
    letter = Letter.objects.select_related("article").get(pk=letter_id)
    context = {
        "letter": letter,
        "article": letter.article,
        "confirm_url": confirmation_url(letter),
        "max_age_days": settings.LETTERS_CONFIRM_MAX_AGE_DAYS,
        "publication": settings.LETTERS_PUBLICATION_NAME,
    }
    subject, body = render_email("confirm", context)
    message = desk_mail(subject, body, letter.email, letter_id=letter.pk, kind="confirm")
    if settings.DEBUG:
        # Locally the mail is printed quoted-printable, which breaks long links: log it whole.
        log.info("Confirmation link for letter %s: %s", letter.pk, context["confirm_url"])
    return send_claimed(
        message,
        release=lambda: Letter.objects.filter(pk=letter_id, confirmation_sent_at=now).update(
            confirmation_sent_at=None
        ),
    )


def enqueue_lost_confirmations(older_than):
    """Enqueue confirmation emails that never reached the broker (written before
    `older_than` and still unsent). Safe to run at any time: sending is claimed."""
    ids = Letter.objects.needing_confirmation_email(older_than).values_list("pk", flat=True)
    for letter_id in ids[:1000]:
        jobs.send_now(jobs.SEND_CONFIRMATION, letter_id)


# --- Notices of publication: each kind goes to a writer at most once per letter, claimed on
# a Notification row unique per (letter, kind).


def _send_once(letter_id, kind, template, extra_context):
    """Render emails/<template>-*.txt for the letter and send it, once per (letter, kind)."""
    notice, _ = Notification.objects.get_or_create(letter_id=letter_id, kind=kind)
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=now)
    if not claimed:
        return False
    letter = Letter.objects.select_related("article").get(pk=letter_id)
    context = {
        "letter": letter,
        "article": letter.article,
        "publication": settings.LETTERS_PUBLICATION_NAME,
        **extra_context(letter),
    }
    subject, body = _render_notice(kind, template, letter, context)
    message = desk_mail(subject, body, letter.email, letter_id=letter.pk, kind=kind)
    return send_claimed(
        message,
        release=lambda: Notification.objects.filter(pk=notice.pk, sent_at=now).update(sent_at=None),
    )


# Which editable reply template (admin: Reply templates) speaks for each kind of notice.
TEMPLATE_KIND = {
    NotificationKind.PUBLISHED: ReplyKind.PUBLICATION,
    NotificationKind.EDITED_VERSION: ReplyKind.EDITED_VERSION,
}


def _render_notice(kind, template, letter, context):
    """The editors' active reply template for this kind, else the file templates/emails/."""
    editable = (
        ReplyTemplate.objects.filter(kind=TEMPLATE_KIND.get(kind), active=True)
        .order_by("-updated_at")
        .first()
    )
    if editable is None:
        return render_email(template, context)
    extra = {"letter_url": context.get("letter_url", "")}
    return editable.render(letter, **extra)


def published_letter_url(letter):
    """The full address where readers find the letter: under its article, else its edition."""
    if letter.article_id:
        return settings.SITE_URL + letter.get_absolute_url()
    entry = (
        letter.edition_entries.filter(edition__status=EditionStatus.PUBLISHED)
        .select_related("edition")
        .order_by("-edition__date")
        .first()
    )
    path = entry.edition.get_absolute_url() if entry else reverse("letters:letters_page")
    return settings.SITE_URL + path


def notify_publication(letter_id):
    """Tell the writer their letter is published, with a link. Once per letter; a letter
    taken down before the task ran gets nothing. Safe to repeat."""
    if not Letter.objects.filter(pk=letter_id, status=Status.PUBLISHED).exists():
        return False
    return _send_once(
        letter_id,
        NotificationKind.PUBLISHED,
        "published",
        lambda letter: {"letter_url": published_letter_url(letter)},
    )


def notify_edited_version(letter_id):
    """Send the writer the edited text we plan to publish, so they can object in time.

    Only when LETTERS_ASK_WRITER_BEFORE_PUBLISHING is on, the letter is approved and not yet
    published, and its text was edited. Once per letter. Safe to repeat."""
    if not settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING:
        return False
    letter = Letter.objects.filter(pk=letter_id, status=Status.APPROVED).first()
    if letter is None or not letter.was_edited:
        return False
    return _send_once(
        letter_id,
        NotificationKind.EDITED_VERSION,
        "edited_version",
        lambda letter: {"publish_at": _planned_publication(letter)},
    )


def _planned_publication(letter):
    """When the letter is due to run: its own time, else its scheduled edition's, else None."""
    if letter.publish_at:
        return letter.publish_at
    entry = (
        letter.edition_entries.filter(edition__status=EditionStatus.SCHEDULED)
        .select_related("edition")
        .order_by("edition__publish_at")
        .first()
    )
    return entry.edition.publish_at if entry else None


def send_reply(reply_id):
    """Send a reply the desk rendered for a writer (a rejection, an edited version...).
    At most once (claimed on sent_at)."""
    now = timezone.now()
    if not Reply.objects.filter(pk=reply_id, sent_at__isnull=True).update(sent_at=now):
        return False
    reply = Reply.objects.get(pk=reply_id)
    message = desk_mail(
        reply.subject,
        reply.body,
        reply.to,
        letter_id=reply.letter_id,
        kind="reply",
        auto="auto-replied",
    )
    return send_claimed(
        message,
        release=lambda: Reply.objects.filter(pk=reply_id, sent_at=now).update(sent_at=None),
    )
