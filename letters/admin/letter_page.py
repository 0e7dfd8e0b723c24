"""The letter page: the edit form beside the writer's untouched original, the diff, the flags,
the writer's history, the events, notes and replies, and the decision buttons."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

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
        fields = ["edited_body", "headline", "article"]
        widgets = {"edited_body": forms.Textarea(attrs={"rows": 14, "class": "vLargeTextField"})}
        labels = {"edited_body": "Version to publish"}

    user = None  # set by LetterAdmin.get_form
    refusal = None  # set by LetterAdmin.get_form: why moderation refused this very edit

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
        article = self.fields.get("article")
        if article is not None:
            article.required = False
            article.label = "Assign to article"
            article.help_text = "Type part of the headline to find the article."
            if not moderation.can(self.user, "assign_to_article"):
                article.disabled = True
            # Only the picker: no links to add, change or delete articles from a letter.
            for can in ("add", "change", "delete", "view"):
                setattr(article.widget, f"can_{can}_related", False)

    def clean_edited_body(self):
        edited_body = self.cleaned_data["edited_body"] or ""
        if "edited_body" in self.changed_data and edited_body.split() != self.instance.body.split():
            try:
                moderation.check_length(edited_body)
            except moderation.EditTooLong as exc:
                raise forms.ValidationError(str(exc)) from None
        return edited_body

    def clean(self):
        cleaned = super().clean()
        current = Letter.objects.only("edited_body", "headline").get(pk=self.instance.pk)
        if self.refusal:
            self._compare_with(current)
            raise forms.ValidationError(self.refusal)
        text_changed = {"edited_body", "headline"} & set(self.changed_data)
        if text_changed and cleaned.get("version") != moderation.text_version(current):
            self._compare_with(current)
            raise forms.ValidationError(str(moderation.EditConflict(current)))
        return cleaned

    def _compare_with(self, current):
        """Shown again with the editor's text after a refusal, the form carries the version
        now saved: once the editor has compared (the page's diff shows it), saving again
        replaces it deliberately instead of meeting the same conflict for ever."""
        self.data = self.data.copy()
        self.data["version"] = moderation.text_version(current)


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

# The letter page's keyboard shortcuts (letters/static/letters/admin-letter.js reads them from
# the buttons' data-key and lists them on the "?" overlay): action or link -> key.
SHORTCUTS = {
    "next": "j",
    "previous": "k",
    "shortlist_letters": "s",
    "approve_letters": "a",
    "reject_letters": "r",
    "mark_spam_letters": "x",
}


# The writer's data, offered under "Writer's history": (action, label, needed permission).
WRITER_ACTIONS = [
    ("export_writer_data", "Export everything held about this writer (JSON)", "export"),
    ("erase_writer_data", "Erase this writer's data…", "erase"),
]


def in_queue(name, letter_id, filters):
    """The URL `name` for a letter, carrying the queue's filters (Django's preserved filters)."""
    url = reverse(name, args=[letter_id])
    return f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url


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
    filters = request.GET.get("_changelist_filters", "")
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
        (action, label, SHORTCUTS.get(action, ""))
        for action, label, operation, target in DECISIONS
        if target in TRANSITIONS[letter.status] and moderation.can(user, operation)
    ]
    if letter.status == Status.PUBLISHED and moderation.can(user, "unpublish"):
        decisions = [("unpublish_letters", "Unpublish", "")]
    inbound = letter.inbound_emails.order_by("received_at", "id").first()
    flagged = Letter.objects.with_flags().get(pk=letter.pk)
    return {
        "letter": letter,
        "decisions": decisions,
        "changelist_url": reverse("admin:letters_letter_changelist") + "?status=all",
        "next_url": in_queue("admin:letters_letter_next", letter.pk, filters),
        "previous_url": in_queue("admin:letters_letter_previous", letter.pk, filters),
        "shortcuts": SHORTCUTS,
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
