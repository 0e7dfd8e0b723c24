"""Mail to writers, rendered from templates/emails/<name>-subject.txt and <name>-body.txt."""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Letter

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


def render_email(name, context):
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    body = render_to_string(f"emails/{name}-body.txt", context)
    return " ".join(subject.split()), body


def send_confirmation(letter_id):
    """Send the writer the link that confirms their letter.

    At most once per letter: the send is claimed by a conditional UPDATE whose row count says
    who won, so duplicate tasks (a retry, the sweeper) send nothing. If sending fails the claim
    is released and the error raised, so the task's retry sends it later.
    """
    now = timezone.now()
    claimed = Letter.objects.filter(pk=letter_id, confirmation_sent_at__isnull=True).update(
        confirmation_sent_at=now
    )
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
    message = EmailMessage(
        subject, body, to=[letter.email], headers={"Auto-Submitted": "auto-generated"}
    )
    try:
        message.send()
    except Exception:
        with transaction.atomic():
            Letter.objects.filter(pk=letter_id, confirmation_sent_at=now).update(
                confirmation_sent_at=None
            )
        raise
    return True


def send_reply(reply_id):
    """Send a reply the desk rendered for a writer (a rejection, an edited version...).

    At most once: claimed by a conditional UPDATE on sent_at; on failure the claim is
    released and the error raised so the task retries.
    """
    from .models import Reply

    now = timezone.now()
    if not Reply.objects.filter(pk=reply_id, sent_at__isnull=True).update(sent_at=now):
        return False
    reply = Reply.objects.get(pk=reply_id)
    # RFC 3834: our replies are automatic responses, so well-behaved mailers do not answer them.
    message = EmailMessage(
        reply.subject, reply.body, to=[reply.to], headers={"Auto-Submitted": "auto-replied"}
    )
    try:
        message.send()
    except Exception:
        with transaction.atomic():
            Reply.objects.filter(pk=reply_id, sent_at=now).update(sent_at=None)
        raise
    return True
