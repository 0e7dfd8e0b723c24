"""Mail to writers: editable reply templates, the replies rendered from them, and the record
that each kind of notice went to a writer once."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from .letters import Letter


class NotificationKind(models.TextChoices):
    PUBLISHED = "published", "Letter published"
    EDITED_VERSION = "edited_version", "Edited version sent for agreement"


class Notification(models.Model):
    """One row per mail of each kind to a letter's writer: the unique pair makes it once only.
    A worker claims the send (`claimed_at`; a claim older than LETTERS_SEND_CLAIM_SECONDS is
    taken again) and `sent_at` records that the SMTP server took it."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "kind"], name="notification_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({'sent' if self.sent_at else 'pending'})"


class ReplyKind(models.TextChoices):
    REJECTION = "rejection", "Rejection"
    EDITED_VERSION = "edited_version", "We plan to publish this edited version"
    PUBLICATION = "publication", "Publication notice"


class ReplyTemplate(models.Model):
    """A reply the desk sends writers, written by editors, rendered with the letter's fields.

    Subject and body are Django templates rendered as plain text with a fixed set of variables
    (see `context_for`), never the letter object itself, so a template cannot reach the
    writer's phone or address.
    """

    kind = models.CharField(max_length=20, choices=ReplyKind.choices)
    name = models.CharField(max_length=100, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    VARIABLES = (
        "name",
        "town",
        "signature",
        "headline",
        "article_headline",
        "article_url",
        "original_text",
        "edited_text",
        "word_count",
        "edited_word_count",
        "reason",
        "publication",
        "letter_url",
    )

    @staticmethod
    def context_for(letter, **extra):
        article = letter.article
        context = {
            "name": letter.name,
            "town": letter.town,
            "signature": letter.signature,
            "headline": letter.headline,
            "article_headline": article.headline if article else "",
            "article_url": settings.SITE_URL + article.get_absolute_url() if article else "",
            "original_text": letter.body,
            "edited_text": letter.publishable_text,
            "word_count": letter.word_count,
            "edited_word_count": letter.edited_word_count,
            "reason": letter.get_rejection_reason_display() if letter.rejection_reason else "",
            "publication": settings.LETTERS_PUBLICATION_NAME,
            "letter_url": "",
        }
        context.update(extra)
        return context

    def clean(self):
        for field in ("subject", "body"):
            try:
                Template(getattr(self, field))
            except TemplateSyntaxError as exc:
                raise ValidationError({field: f"This template has an error: {exc}"}) from None

    def render(self, letter, **extra):
        """(subject, body) for `letter`, as plain text (no HTML escaping: this is not a page)."""
        context = Context(self.context_for(letter, **extra), autoescape=False)
        subject = " ".join(Template(self.subject).render(context).split())
        return subject, Template(self.body).render(context)


class Reply(models.Model):
    """A reply rendered for one letter, sent by a task: claimed (`claimed_at`; a claim older
    than LETTERS_SEND_CLAIM_SECONDS is taken again), then `sent_at` once the SMTP server took it."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="replies")
    template = models.ForeignKey(ReplyTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=ReplyKind.choices)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "replies"

    def __str__(self):
        return self.subject
