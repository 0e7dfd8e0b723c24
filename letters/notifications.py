"""Mail to writers, rendered from templates/emails/<name>-subject.txt and <name>-body.txt.

Every mail is sent at least once and, but for a worker dying at the worst moment, once. Its
send is claimed first by a conditional UPDATE whose row count says who won, so a duplicated
task sends nothing while the claim is fresh; it is recorded as sent only after the SMTP server
took it. If sending fails the claim is released and the error raised, so the task's retry
sends it. A worker killed mid-send releases nothing: its claim expires after
LETTERS_SEND_CLAIM_SECONDS and the sweeper (`enqueue_lost_sends`, run by beat) enqueues the
send again. A worker killed after the server took the mail but before recording it means the
writer gets it twice, with the same Message-ID (`SendClaim`, `send_claimed`).
"""

import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
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


# The writer's status page: a signed link in the confirmation and the acknowledgement, no login.
STATUS_SALT = "letters.status"


def status_token(letter):
    return signing.TimestampSigner(salt=STATUS_SALT).sign(str(letter.pk))


def letter_id_from_status_token(token):
    """The letter id in a status-page token; raises signing.SignatureExpired / BadSignature.
    Good for LETTERS_STATUS_LINK_DAYS."""
    max_age = settings.LETTERS_STATUS_LINK_DAYS * 24 * 3600
    return int(signing.TimestampSigner(salt=STATUS_SALT).unsign(token, max_age=max_age))


def status_url(letter):
    path = reverse("letters:status", kwargs={"token": status_token(letter)})
    return settings.SITE_URL + path


def promises():
    """What the desk's mail and pages may promise the writer, as the settings have it:
    `ask_first` (the edited version is sent before it runs), `notify_only` (we write only if
    we publish)."""
    return {
        "ask_first": settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING,
        "notify_only": settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED,
    }


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


def desk_message_id(letter_id, kind, key=None):
    """A Message-ID (with angle brackets) for a mail about `letter_id` of `kind`: new each
    time, or, given `key` (a string naming that one mail), the same for every attempt to send
    it, so a mail sent twice by a retry is recognisably one message."""
    nonce = secrets.token_hex(6) if key is None else _message_id_mac(f"nonce:{key}")[:12]
    value = f"letter-{int(letter_id)}.{kind}.{nonce}"
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


def desk_mail(subject, body, to, *, letter_id, kind, auto="auto-generated", headers=None, key=None):
    """An EmailMessage from the desk about letter `letter_id`: marked automatic (RFC 3834, so
    well-behaved mailers do not answer it) and with a Message-ID a reply can be threaded by
    (the same for every attempt when `key` names the mail: desk_message_id)."""
    headers = {
        "Auto-Submitted": auto,
        "Message-ID": desk_message_id(letter_id, kind, key),
        **(headers or {}),
    }
    return EmailMessage(subject, body, to=[to], headers=headers)


# --- Claims on sends ------------------------------------------------------------------------


def claim_expired_before(now=None):
    """A send claimed before this lost its worker (LETTERS_SEND_CLAIM_SECONDS ago)."""
    return (now or timezone.now()) - timedelta(seconds=settings.LETTERS_SEND_CLAIM_SECONDS)


class SendClaim:
    """The claim on one mail's send, held in two timestamps of one row: `claimed` (a worker is
    sending it) and `sent` (the SMTP server took it).

    `take()` wins the row if it is unsent and unclaimed, or claimed so long ago
    (LETTERS_SEND_CLAIM_SECONDS) that the claiming worker must have died; the conditional
    UPDATE's row count says who won, so two workers never both hold a fresh claim.
    """

    def __init__(self, model, pk, *, claimed="claimed_at", sent="sent_at", only_if=None):
        self.model, self.pk, self.claimed, self.sent = model, pk, claimed, sent
        self.only_if = only_if or Q()
        self.at = None

    def _unsent(self):
        return self.model.objects.filter(pk=self.pk, **{f"{self.sent}__isnull": True})

    def take(self, now=None):
        """Claim the send at `now`. Returns whether this caller won it."""
        now = now or timezone.now()
        free = Q(**{f"{self.claimed}__isnull": True}) | Q(
            **{f"{self.claimed}__lt": claim_expired_before(now)}
        )
        if not self._unsent().filter(self.only_if).filter(free).update(**{self.claimed: now}):
            return False
        self.at = now
        return True

    def release(self):
        """Undo this caller's claim (not one a later worker took over) after a failed send."""
        self._unsent().filter(**{self.claimed: self.at}).update(**{self.claimed: None})

    def mark_sent(self):
        """Record that the SMTP server took the mail; the first to record it wins."""
        self._unsent().update(**{self.sent: timezone.now()})

    def give_up_if_expired(self, now=None):
        """Drop a dead worker's claim on a mail that is no longer due (its letter was taken
        down, say), so the sweeper stops enqueuing it."""
        expired = {f"{self.claimed}__lt": claim_expired_before(now)}
        self._unsent().filter(**expired).update(**{self.claimed: None})


def send_claimed(message, claim):
    """Send `message`, whose send `claim` holds, then record it sent. If sending fails the
    claim is released (in its own transaction) and the error raised for the task's retry. A
    worker killed before `mark_sent` leaves the claim to expire, and the send is retried."""
    try:
        message.send()
    except Exception:
        with transaction.atomic():
            claim.release()
        raise
    claim.mark_sent()
    return True


def render_email(name, context):
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    body = render_to_string(f"emails/{name}-body.txt", context)
    return " ".join(subject.split()), body


def send_confirmation(letter_id):
    """Send the writer the link that confirms their letter. Returns whether it was sent.

    Once per letter, at least once (claimed on confirmation_claimed_at, recorded on
    confirmation_sent_at: see SendClaim). Only a letter still awaiting confirmation is mailed:
    one marked spam (the form's bot trap) or withdrawn before the task ran gets nothing. Safe
    to repeat.
    """
    claim = SendClaim(
        Letter,
        letter_id,
        claimed="confirmation_claimed_at",
        sent="confirmation_sent_at",
        only_if=Q(status=Status.UNCONFIRMED),
    )
    if not claim.take():
        return False
    letter = Letter.objects.select_related("article").get(pk=letter_id)
    context = {
        "letter": letter,
        "article": letter.article,
        "confirm_url": confirmation_url(letter),
        "status_url": status_url(letter),
        "max_age_days": settings.LETTERS_CONFIRM_MAX_AGE_DAYS,
        "status_days": settings.LETTERS_STATUS_LINK_DAYS,
        "publication": settings.LETTERS_PUBLICATION_NAME,
        **promises(),
    }
    subject, body = render_email("confirm", context)
    message = desk_mail(
        subject,
        body,
        letter.email,
        letter_id=letter.pk,
        kind="confirm",
        key=f"confirm:{letter.pk}:{letter.created_at.isoformat()}",
    )
    if settings.DEBUG:
        # Locally the mail is printed quoted-printable, which breaks long links: log it whole.
        log.info("Confirmation link for letter %s: %s", letter.pk, context["confirm_url"])
    return send_claimed(message, claim)


# Which task sends each kind of notice again.
NOTICE_JOBS = {
    NotificationKind.PUBLISHED: jobs.SEND_PUBLICATION_NOTICE,
    NotificationKind.EDITED_VERSION: jobs.SEND_EDITED_VERSION,
}


# How far back the sweeper looks for publication notices that never reached the broker: a
# letter published longer ago than this (an import, a desk restored from a backup) is not
# announced to its writer out of the blue.
NOTICE_SWEEP_WINDOW = timedelta(days=2)


def enqueue_lost_sends(older_than, now=None, limit=1000):
    """Enqueue the mail to writers that is due but unsent: the mail that never reached the
    broker (confirmations and replies written, letters published, before `older_than`; a
    publication notice only within NOTICE_SWEEP_WINDOW of it), and every send (confirmation,
    notice, reply) whose claim expired unsent because its worker died. Returns how many were
    enqueued. Safe to run at any time: each send is claimed, so a send enqueued twice goes out
    once."""
    expired = claim_expired_before(now)
    lost = [
        (jobs.SEND_CONFIRMATION, pk)
        for pk in Letter.objects.needing_confirmation_email(older_than, expired).values_list(
            "pk", flat=True
        )[:limit]
    ]
    notices = Notification.objects.filter(sent_at__isnull=True, claimed_at__lt=expired)
    lost += [
        (NOTICE_JOBS[kind], letter_id)
        for letter_id, kind in notices.values_list("letter_id", "kind")[:limit]
    ]
    unannounced = Letter.objects.filter(
        status=Status.PUBLISHED,
        published_at__lt=older_than,
        published_at__gte=older_than - NOTICE_SWEEP_WINDOW,
    ).exclude(notifications__kind=NotificationKind.PUBLISHED)
    lost += [
        (jobs.SEND_PUBLICATION_NOTICE, pk)
        for pk in unannounced.values_list("pk", flat=True)[:limit]
    ]
    replies = Reply.objects.filter(
        Q(claimed_at__isnull=True, created_at__lt=older_than) | Q(claimed_at__lt=expired),
        sent_at__isnull=True,
    )
    lost += [(jobs.SEND_REPLY, pk) for pk in replies.values_list("pk", flat=True)[:limit]]
    for name, pk in lost:
        jobs.send_now(name, pk)
    return len(lost)


# --- Notices of publication: each kind goes to a writer once per letter, claimed on a
# Notification row unique per (letter, kind).


def _send_once(letter_id, kind, template, extra_context):
    """Render emails/<template>-*.txt for the letter and send it, once per (letter, kind)."""
    notice, _ = Notification.objects.get_or_create(letter_id=letter_id, kind=kind)
    claim = SendClaim(Notification, notice.pk)
    if not claim.take():
        return False
    letter = Letter.objects.select_related("article").get(pk=letter_id)
    context = {
        "letter": letter,
        "article": letter.article,
        "publication": settings.LETTERS_PUBLICATION_NAME,
        **extra_context(letter),
    }
    subject, body = _render_notice(kind, template, letter, context)
    message = desk_mail(
        subject,
        body,
        letter.email,
        letter_id=letter.pk,
        kind=kind,
        key=f"notification:{notice.pk}:{notice.created_at.isoformat()}",
    )
    return send_claimed(message, claim)


def _give_up(letter_id, kind):
    """A notice no longer due: drop a dead worker's claim on it, if any (SendClaim)."""
    notice = Notification.objects.filter(letter_id=letter_id, kind=kind).first()
    if notice is not None:
        SendClaim(Notification, notice.pk).give_up_if_expired()


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
    """The full address where readers find the letter: under its article, else its edition,
    else (published on its own) its day on the letters page."""
    if letter.article_id:
        return settings.SITE_URL + letter.get_absolute_url()
    entry = (
        letter.edition_entries.filter(edition__status=EditionStatus.PUBLISHED)
        .select_related("edition")
        .order_by("-edition__date")
        .first()
    )
    if entry:
        return settings.SITE_URL + entry.edition.get_absolute_url()
    # Published on its own: the letters page shows it on its day's page.
    day = timezone.localdate(letter.published_at).isoformat()
    path = reverse("letters:edition", kwargs={"date": day})
    return f"{settings.SITE_URL}{path}#letter-{letter.pk}"


def notify_publication(letter_id):
    """Tell the writer their letter is published, with a link. Once per letter; a letter
    taken down before the task ran gets nothing. Safe to repeat."""
    if not Letter.objects.filter(pk=letter_id, status=Status.PUBLISHED).exists():
        _give_up(letter_id, NotificationKind.PUBLISHED)
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
    letter = Letter.objects.filter(pk=letter_id, status=Status.APPROVED).first()
    if not settings.LETTERS_ASK_WRITER_BEFORE_PUBLISHING or letter is None or not letter.was_edited:
        _give_up(letter_id, NotificationKind.EDITED_VERSION)
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
    """Send a reply the desk rendered for a writer (a rejection, an edited version...). Once,
    at least once (claimed on claimed_at, recorded on sent_at: see SendClaim). Safe to repeat."""
    claim = SendClaim(Reply, reply_id)
    if not claim.take():
        return False
    reply = Reply.objects.get(pk=reply_id)
    message = desk_mail(
        reply.subject,
        reply.body,
        reply.to,
        letter_id=reply.letter_id,
        kind="reply",
        auto="auto-replied",
        key=f"reply:{reply.pk}:{reply.created_at.isoformat()}",
    )
    return send_claimed(message, claim)
