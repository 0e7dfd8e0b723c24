"""The letters desk in Django admin: the moderation queue and the letter page.

The queue opens on what awaits a decision, newest first, and costs a fixed handful of queries
whatever the page size or the number of letters: flags are EXISTS probes in the page's one
query, and the count is capped (see CappedCountPaginator). Status is never editable: it
changes only through the actions, which call letters.moderation one letter at a time and
report on each.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models.functions import Substr
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

# admin_editions and admin_intake register the Edition and Inbound email admins.
from . import admin_editions, admin_intake, moderation  # noqa: F401
from .models import (
    TRANSITIONS,
    Article,
    Letter,
    RejectionReason,
    Reply,
    ReplyKind,
    ReplyTemplate,
    Status,
)
from .text import word_diff_html


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "author", "published_at", "letters_open", "letters_close_at"]
    prepopulated_fields = {"slug": ["headline"]}
    search_fields = ["headline"]


# The queue: filters ---------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """Status, defaulting to what awaits a decision (received or shortlisted)."""

    title = "status"
    parameter_name = "status"
    AWAITING = "awaiting"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.AWAITING, "Awaiting decision"), *Status.choices]

    def value(self):
        return super().value() or self.AWAITING

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.AWAITING:
            return queryset.awaiting_decision()
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset

    def choices(self, changelist):
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": "All",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class FlagFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [
            ("over_limit", "Over the word limit"),
            ("unconfirmed", "Unconfirmed"),
            ("suspect", "Suspect"),
            ("published_recently", "Writer published recently"),
            ("duplicate", "Possible duplicate"),
            ("late", "Arrived after letters closed"),
        ]

    def queryset(self, request, queryset):
        if self.value() in dict(self.lookup_choices):
            return queryset.flagged(self.value())
        return queryset


class ArticleFilter(admin.SimpleListFilter):
    """The most recent articles (one small query), plus the chosen one. Any article can be
    chosen from the queue itself: each row's article links here."""

    title = "article"
    parameter_name = "article"
    RECENT = 12

    def lookups(self, request, model_admin):
        articles = list(Article.objects.only("id", "headline")[: self.RECENT])
        chosen = self.value()
        if chosen and chosen.isdigit() and all(str(a.pk) != chosen for a in articles):
            articles += list(Article.objects.filter(pk=chosen).only("id", "headline"))
        return [(str(a.pk), a.headline[:60]) for a in articles]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(article_id=value)
        if value == "none":
            return queryset.filter(article__isnull=True)
        return queryset


# The queue: cheap counting and a lean page -------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows, so counting costs the same at 10,000 letters or 10 million.

    An exact COUNT(*) over the whole table is what makes big admin lists slow; an editor needs
    to know "about how many", and filters narrow a longer list.
    """

    CAP = 5000

    @cached_property
    def count(self):
        return self.object_list.values("pk").order_by()[: self.CAP + 1].count()

    @property
    def capped(self):
        return self.count > self.CAP


QUEUE_FIELDS = (
    "id",
    "article_id",
    "channel",
    "status",
    "word_count",
    "name",
    "email",
    "town",
    "suspect",
    "suspect_reason",
    "created_at",
    "confirmed_at",
    "fingerprint",
    "article__headline",
    "article__published_at",
    "article__letters_close_at",
)


class QueueChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Only the columns the queue shows: letters' and articles' full texts stay in the database.
        return (
            queryset.select_related("article")
            .only(*QUEUE_FIELDS)
            .with_flags()
            .annotate(excerpt=Substr("body", 1, 160))
        )


# Actions ------------------------------------------------------------------------------------------


def _safe_next(request):
    """The posted `_next` if it is a page of this site, else "" (no open redirect)."""
    target = request.POST.get("_next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _redirect_to_next(request):
    target = _safe_next(request)
    return HttpResponseRedirect(target) if target else None


def run_on_each(modeladmin, request, queryset, operation, done_verb, **kwargs):
    """Apply one moderation operation to each selected letter and report on every one.

    Letters the transitions table or the user's role refuses are named with the reason; the
    others are done. Each letter is its own transaction, so one refusal stops nothing.
    """
    names = dict(queryset.values_list("pk", "name"))
    done, unchanged, refused = 0, 0, []
    for letter_id in sorted(names):
        try:
            _, changed = operation(letter_id, actor=request.user, **kwargs)
        except (moderation.TransitionNotAllowed, moderation.NotPermitted) as exc:
            refused.append(f"#{letter_id} ({names[letter_id]}): {exc}")
            continue
        done += changed
        unchanged += not changed
    if done:
        modeladmin.message_user(
            request, f"{done_verb} {done} letter{'s' if done != 1 else ''}.", messages.SUCCESS
        )
    if unchanged:
        modeladmin.message_user(
            request, f"{unchanged} already {done_verb.lower()}: nothing changed.", messages.INFO
        )
    for line in refused[:25]:
        modeladmin.message_user(request, f"Refused {line}", messages.WARNING)
    if len(refused) > 25:
        modeladmin.message_user(
            request, f"... and {len(refused) - 25} more refused.", messages.WARNING
        )
    return _redirect_to_next(request)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectionReason.choices)
    reply_template = forms.ModelChoiceField(
        queryset=ReplyTemplate.objects.filter(kind=ReplyKind.REJECTION, active=True),
        required=False,
        empty_label="No reply",
        help_text="Sent to the writer after the decision is saved.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED:
            del self.fields["reply_template"]


class PublishForm(forms.Form):
    at = forms.DateTimeField(
        required=False,
        label="Publish at",
        help_text="Empty: publish now. Format: 2026-12-01 07:00.",
        widget=forms.DateTimeInput(attrs={"placeholder": "YYYY-MM-DD HH:MM"}),
    )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at and at < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError("That time has passed; leave it empty to publish now.")
        return at


class AssignForm(forms.Form):
    article = forms.ModelChoiceField(
        queryset=Article.objects.only("id", "headline", "published_at")
    )


def _ask(modeladmin, request, queryset, form, title, action):
    """The intermediate page for an action that needs a reason, a time or an article."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "action": action,
        "letters": queryset.select_related(None).only("id", "name", "town", "status")[:200],
        "selected": queryset.values_list("pk", flat=True),
        "next": _safe_next(request),  # the Cancel link and, after applying, the redirect
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/letters/letter/action_form.html", context)


# The letter page -----------------------------------------------------------------------------------


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


# The letter admin ----------------------------------------------------------------------------------


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = [
        "received",
        "writer",
        "article_link",
        "channel_label",
        "words",
        "flags",
        "status_label",
    ]
    list_display_links = ["writer"]
    list_filter = [
        StatusFilter,
        FlagFilter,
        ArticleFilter,
        "channel",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["name", "email", "body"]
    search_help_text = "Search the writer's name, email address and letter text."
    list_per_page = 100
    list_max_show_all = 500
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    ordering = ["-created_at", "-id"]
    form = LetterEditForm
    fields = ["edited_body", "headline", "version", "new_note"]
    actions = [
        "shortlist_letters",
        "approve_letters",
        "reject_letters",
        "mark_spam_letters",
        "reconsider_letters",
        "publish_letters",
        "unpublish_letters",
        "withdraw_letters",
        "assign_letters",
    ]

    class Media:
        css = {"all": ["letters/admin-letters.css"]}
        js = ["letters/admin-letter.js"]

    # Permissions: the actions ask these; letters.moderation checks again in every operation.
    def has_add_permission(self, request):
        return False  # letters come from writers, by the form or by email

    def has_shortlist_permission(self, request):
        return request.user.has_perm(moderation.PERMISSIONS["shortlist"])

    def has_decide_permission(self, request):
        return request.user.has_perm(moderation.PERMISSIONS["approve"])

    def has_publish_permission(self, request):
        return request.user.has_perm(moderation.PERMISSIONS["publish"])

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)  # deleting letters is done one at a time
        return actions

    # Columns (every value comes from the page's single query)
    def action_checkbox(self, letter):
        # The default labels the box with str(letter), which reads the letter's full text.
        return super().action_checkbox(_Labelled(letter.pk, f"{letter.name} ({letter.pk})"))

    @admin.display(description="received", ordering="created_at")
    def received(self, letter):
        return timezone.localtime(letter.created_at).strftime("%d %b %H:%M")

    @admin.display(description="writer", ordering="name")
    def writer(self, letter):
        return format_html(
            '{}<span class="desk-town">{}</span><div class="desk-excerpt">{}</div>',
            letter.name,
            f", {letter.town}" if letter.town else "",
            getattr(letter, "excerpt", ""),
        )

    @admin.display(description="article")
    def article_link(self, letter):
        if not letter.article_id:
            return format_html('<a href="?article=none&status=all">{}</a>', "No article")
        return format_html(
            '<a href="?article={}" title="Letters on this article">{}</a>',
            letter.article_id,
            letter.article.headline[:70],
        )

    @admin.display(description="via", ordering="channel")
    def channel_label(self, letter):
        return letter.get_channel_display()

    @admin.display(description="words", ordering="word_count")
    def words(self, letter):
        limit = settings.LETTERS_SOFT_WORD_LIMIT
        if letter.word_count > limit:
            return format_html(
                '<span class="desk-over" title="Over the {}-word limit">{} / {}</span>',
                limit,
                letter.word_count,
                limit,
            )
        return f"{letter.word_count} / {limit}"

    @admin.display(description="flags")
    def flags(self, letter):
        return format_html_join(
            " ",
            '<span class="desk-flag desk-flag-{}" title="{}">{}</span>',
            letter_flags(letter),
        )

    @admin.display(description="status", ordering="status")
    def status_label(self, letter):
        return format_html(
            '<span class="desk-status desk-status-{}">{}</span>',
            letter.status,
            letter.get_status_display(),
        )

    # Actions
    @admin.action(description="Shortlist", permissions=["shortlist"])
    def shortlist_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.shortlist, "Shortlisted")

    @admin.action(description="Approve", permissions=["decide"])
    def approve_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.approve, "Approved")

    @admin.action(description="Reject (with a reason)…", permissions=["decide"])
    def reject_letters(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            return run_on_each(
                self,
                request,
                queryset,
                moderation.reject,
                "Rejected",
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                reply_template=form.cleaned_data.get("reply_template"),
            )
        return _ask(self, request, queryset, form, "Reject letters", "reject_letters")

    @admin.action(description="Mark as spam", permissions=["decide"])
    def mark_spam_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.mark_spam, "Marked as spam:")

    @admin.action(description="Back to the queue (reconsider)", permissions=["decide"])
    def reconsider_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.reconsider, "Returned to queue:")

    @admin.action(description="Publish now or schedule…", permissions=["publish"])
    def publish_letters(self, request, queryset):
        form = PublishForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            at = form.cleaned_data["at"]
            verb = f"Scheduled for {timezone.localtime(at):%d %b %H:%M}:" if at else "Published"
            return run_on_each(self, request, queryset, moderation.publish, verb, at=at)
        return _ask(self, request, queryset, form, "Publish letters", "publish_letters")

    @admin.action(description="Unpublish", permissions=["publish"])
    def unpublish_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.unpublish, "Unpublished")

    @admin.action(description="Withdraw", permissions=["decide"])
    def withdraw_letters(self, request, queryset):
        return run_on_each(self, request, queryset, moderation.withdraw, "Withdrew")

    @admin.action(description="Assign to article…", permissions=["decide"])
    def assign_letters(self, request, queryset):
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            article_id = form.cleaned_data["article"].pk

            def assign(letter_id, actor):
                return moderation.assign_to_article(letter_id, article_id, actor=actor)

            return run_on_each(self, request, queryset, assign, "Assigned")
        return _ask(self, request, queryset, form, "Assign letters to an article", "assign_letters")

    # The letter page
    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("article")

    def save_model(self, request, obj, form, change):
        """Saved through letters.moderation (never obj.save()): the edit and the note are
        recorded with who made them, and the writer's original is left alone."""
        if {"edited_body", "headline"} & set(form.changed_data):
            try:
                moderation.edit_text(
                    obj.pk,
                    edited_body=form.cleaned_data["edited_body"] or "",
                    headline=form.cleaned_data["headline"],
                    actor=request.user,
                    expected_version=form.cleaned_data["version"],
                )
            except (moderation.EditConflict, moderation.NotPermitted) as exc:
                self.message_user(request, str(exc), messages.ERROR)
        note = form.cleaned_data.get("new_note", "").strip()
        if note:
            moderation.add_note(obj.pk, note, actor=request.user)

    def save_related(self, request, form, formsets, change):
        pass

    def change_view(self, request, object_id, form_url="", extra_context=None):
        letter = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if letter is not None:
            extra.update(letter_page_context(request, letter))
        return super().change_view(request, object_id, form_url, extra_context=extra)


class _Labelled:
    def __init__(self, pk, label):
        self.pk, self.label = pk, label

    def __str__(self):
        return self.label


def letter_flags(letter):
    """(css, explanation, label) for each flag the letter carries, for the queue's badges."""
    found = []
    if letter.confirmed_at is None:
        found.append(("unconfirmed", "The writer has not confirmed the address", "unconfirmed"))
    if letter.suspect:
        found.append(("suspect", letter.suspect_reason or "Marked suspect at intake", "suspect"))
    if getattr(letter, "writer_published_recently", False):
        days = settings.LETTERS_WRITER_FREQUENCY_DAYS
        found.append(("recent", f"Published in the last {days} days", "published recently"))
    if getattr(letter, "possible_duplicate", False):
        found.append(("duplicate", "Another letter has the same words", "duplicate?"))
    if letter.arrived_late:
        found.append(("late", "Arrived after letters closed on the article", "late"))
    return found


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
    return {
        "letter": letter,
        "decisions": decisions,
        "changelist_url": reverse("admin:letters_letter_changelist") + "?status=all",
        "diff": word_diff_html(letter.body, letter.publishable_text),
        "edited": bool(letter.edited_body),
        "edited_word_count": letter.edited_word_count,
        "soft_limit": settings.LETTERS_SOFT_WORD_LIMIT,
        "flags": letter_flags(Letter.objects.with_flags().get(pk=letter.pk)),
        "history": history,
        "recently_published": recent,
        "frequency_days": days,
        "events": letter.events.select_related("actor").order_by("created_at", "id"),
        "notes": letter.notes.select_related("author"),
        "replies": letter.replies.all(),
        "inbound": inbound,
        "raw_message": inbound.raw_text() if inbound else "",
    }


# Replies ------------------------------------------------------------------------------------------


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "subject", "active", "updated_at"]
    list_filter = ["kind", "active"]
    readonly_fields = ["variables"]
    fields = ["kind", "name", "subject", "body", "active", "variables"]

    @admin.display(description="Variables you can use")
    def variables(self, obj):
        return format_html_join(
            ", ", "<code>{{{{ {} }}}}</code>", ((v,) for v in ReplyTemplate.VARIABLES)
        )


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "kind", "created_at", "sent_at"]
    list_filter = ["kind"]
    readonly_fields = [
        "letter",
        "template",
        "kind",
        "to",
        "subject",
        "body",
        "created_by",
        "created_at",
        "sent_at",
    ]
    list_select_related = ["letter"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
