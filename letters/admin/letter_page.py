"""The letter page: the edit form beside the writer's untouched original, the diff, the flags,
the writer's history, the events, notes and replies, and the decision buttons."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .. import moderation
from ..models import TRANSITIONS, Letter, LetterChecks, SimilarPair, Status
from ..word_diff import word_diff_html


class LetterEditForm(forms.ModelForm):
    """The editable part of a letter: the version to publish, its headline, a new note."""

    version = forms.CharField(widget=forms.HiddenInput)
    new_note = forms.CharField(
        required=False,
        label="Add an internal note",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Letter
        fields = ["edited_body", "headline"]
        widgets = {"edited_body": forms.Textarea(attrs={"rows": 14, "class": "vLargeTextField"})}
        labels = {"edited_body": "Version to publish"}

    user = None  # set by LetterAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        letter = self.instance
        self.fields["version"].initial = moderation.text_version(letter)
        if not letter.edited_body:
            self.initial["edited_body"] = letter.body
        self.fields["edited_body"].required = False
        self.fields["edited_body"].widget.attrs.update(
            {
                "data-word-limit": settings.LETTERS_SOFT_WORD_LIMIT,
                "data-original-words": letter.word_count,
                "aria-describedby": "edited-word-count",
            }
        )
        can_edit = moderation.can(self.user, "edit_text") and letter.status != Status.WITHDRAWN
        if letter.status == Status.PUBLISHED:
            can_edit = can_edit and moderation.can(self.user, "publish")
        if not can_edit:
            self.fields["edited_body"].disabled = True
            self.fields["headline"].disabled = True
        if not moderation.can(self.user, "add_note"):
            self.fields["new_note"].disabled = True

    def clean(self):
        cleaned = super().clean()
        text_changed = {"edited_body", "headline"} & set(self.changed_data)
        if text_changed:
            current = Letter.objects.only("edited_body", "headline").get(pk=self.instance.pk)
            if cleaned.get("version") != moderation.text_version(current):
                raise forms.ValidationError(str(moderation.EditConflict(current)))
        return cleaned


def flag_badges(letter):
    """(css, explanation, label) for each flag the letter carries, for the badges."""
    return [(flag.name, why, letter.badge(flag)) for flag, why in letter.carried_flags()]


# Which buttons the letter page offers: (action, label, needed permission, target status).
DECISIONS = [
    ("shortlist_letters", "Shortlist", "shortlist", Status.SHORTLISTED),
    ("approve_letters", "Approve", "approve", Status.APPROVED),
    ("reject_letters", "Reject…", "reject", Status.REJECTED),
    ("mark_spam_letters", "Spam", "mark_spam", Status.SPAM),
    ("reconsider_letters", "Back to queue", "reconsider", Status.RECEIVED),
    ("publish_letters", "Publish…", "publish", Status.PUBLISHED),
    ("withdraw_letters", "Withdraw", "withdraw", Status.WITHDRAWN),
]


# The writer's data, offered under "Writer's history": (action, label, needed permission).
WRITER_ACTIONS = [
    ("export_writer_data", "Export everything held about this writer (JSON)", "export"),
    ("erase_writer_data", "Erase this writer's data…", "erase"),
]


def checks_context(flagged):
    """What the processing step found (letters.checks) for a letter read with_flags():
    exclusivity evidence, quotes, its near-duplicates and their cluster. One query, two when
    the letter is in a cluster."""
    similar, cluster = [], None
    if flagged.cluster_pk:  # every near-duplicate pair puts its letters in a cluster
        similar = list(
            SimilarPair.objects.filter(letter=flagged)
            .select_related("other")
            .only("jaccard", "same_writer", "other__id", "other__name", "other__status")
            .order_by("-jaccard")[:10]
        )
        cluster = {
            "pk": flagged.cluster_pk,
            "size": flagged.cluster_size,
            "writers": flagged.cluster_writers,
        }
    return {
        "checks": LetterChecks.objects.filter(letter=flagged).first(),
        "similar": similar,
        "cluster": cluster,
    }


def letter_page_context(request, letter):
    """What the letter page shows beside the form: a handful of small queries."""
    user = request.user
    days = settings.LETTERS_WRITER_FREQUENCY_DAYS
    history = list(
        Letter.objects.filter(email__iexact=letter.email)
        .exclude(pk=letter.pk)
        .select_related("article")
        .only("id", "status", "created_at", "published_at", "article__headline", "word_count")
        .order_by("-created_at")[:25]
    )
    since = timezone.now() - timedelta(days=days) if days else None
    recent = [
        other for other in history if since and other.published_at and other.published_at >= since
    ]
    decisions = [
        (action, label)
        for action, label, operation, target in DECISIONS
        if target in TRANSITIONS[letter.status] and moderation.can(user, operation)
    ]
    if letter.status == Status.PUBLISHED and moderation.can(user, "unpublish"):
        decisions = [("unpublish_letters", "Unpublish")]
    inbound = letter.inbound_emails.order_by("received_at", "id").first()
    flagged = Letter.objects.with_flags().get(pk=letter.pk)
    return {
        "letter": letter,
        "decisions": decisions,
        "changelist_url": reverse("admin:letters_letter_changelist") + "?status=all",
        "diff": word_diff_html(letter.body, letter.publishable_text),
        "edited": bool(letter.edited_body),
        "edited_word_count": letter.edited_word_count,
        "soft_limit": settings.LETTERS_SOFT_WORD_LIMIT,
        "flags": flag_badges(flagged),
        "history": history,
        "recently_published": recent,
        "writer_actions": [
            (action, label)
            for action, label, operation in WRITER_ACTIONS
            if moderation.can(user, operation)
        ],
        "frequency_days": days,
        "events": letter.events.select_related("actor").order_by("created_at", "id"),
        "notes": letter.notes.select_related("author"),
        "replies": letter.replies.all(),
        "inbound": inbound,
        "raw_message": inbound.raw_text() if inbound else "",
        **checks_context(flagged),
    }
