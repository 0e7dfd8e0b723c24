"""The letters admin: the moderation queue (list) and the letter page (change form).

Status is never editable: it changes only through the actions, which call letters.moderation
one letter at a time and report on each. Text and notes are saved through moderation too, and
deleting a letter goes through letters.moderation.erasure (its trail stays, anonymised), as do
a writer's export and erasure (actions on one writer's letters, offered on the letter page).
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import ActionLocation
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from .. import moderation
from ..moderation.erasure import deletion_summary, erasure_preview
from .actions import (
    SHOWN_STATUS,
    AssignForm,
    PublishForm,
    RejectForm,
    add_to_edition,
    ask,
    run_on_each,
    undo_offered,
)
from .letter_page import LetterEditForm, flag_badges
from .letter_views import LetterPageViews
from .queue import (
    ArticleFilter,
    FlagFilter,
    QueueChangeList,
    QueuePaginator,
    StatusFilter,
    cell,
    search_letters,
)


class LetterAdmin(LetterPageViews, admin.ModelAdmin):
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
    # 50 rows: editors work down the list a letter at a time (each decision opens the next), and
    # a page of 50 draws in half the time of 100 and half the scrolling on a phone; "Show all"
    # lists up to 500 for a bulk action.
    list_per_page = 50
    list_max_show_all = 500
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = QueuePaginator
    ordering = ["-created_at", "-id"]
    form = LetterEditForm
    fields = ["edited_body", "headline", "version", "new_note", "article"]
    autocomplete_fields = ["article"]
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
        add_to_edition,
        "export_writer_data",
        "erase_writer_data",
    ]
    delete_confirmation_template = "admin/letters/letter/delete_confirmation.html"

    class Media:
        css = {"all": ["letters/admin-letters.css", "letters/admin-campaigns.css"]}
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

    def has_arrange_edition_permission(self, request):
        return moderation.can(request.user, "arrange_edition")

    def has_export_permission(self, request):
        return request.user.has_perm(moderation.PERMISSIONS["export"])

    def has_erase_permission(self, request):
        return request.user.has_perm(moderation.PERMISSIONS["erase"])

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def get_search_results(self, request, queryset, search_term):
        """Full-text search on PostgreSQL (GIN index), Django's icontains elsewhere."""
        searched = search_letters(queryset, search_term)
        if searched is None:
            return super().get_search_results(request, queryset, search_term)
        return searched, False

    def changelist_view(self, request, extra_context=None):
        extra = {"undo": undo_offered(request, request.GET.urlencode()), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)  # deleting letters is done one at a time
        return actions

    # Columns (every value comes from the page's single query; cell() is format_html for them)
    def action_checkbox(self, letter):
        # Django's default labels the box with str(letter), which reads the letter's full text,
        # and renders a form widget through the template engine for each row (0.08 ms a row);
        # this is the same markup, written out.
        return cell(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {} ({})">',
            ACTION_CHECKBOX_NAME,
            letter.pk,
            letter.name,
            letter.pk,
        )

    @admin.display(description="received", ordering="created_at")
    def received(self, letter):
        return timezone.localtime(letter.created_at).strftime("%d %b %H:%M")

    @admin.display(description="writer", ordering="name")
    def writer(self, letter):
        return cell(
            '{}<span class="desk-town">{}</span><div class="desk-excerpt">{}</div>',
            letter.name,
            f", {letter.town}" if letter.town else "",
            getattr(letter, "excerpt", ""),
        )

    @admin.display(description="article")
    def article_link(self, letter):
        if not letter.article_id:
            return cell('<a href="?article=none&status=all">{}</a>', "No article")
        return cell(
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
            return cell(
                '<span class="desk-over" title="Over the {}-word limit">{} / {}</span>',
                limit,
                letter.word_count,
                limit,
            )
        return f"{letter.word_count} / {limit}"

    @admin.display(description="flags")
    def flags(self, letter):
        return mark_safe(
            " ".join(
                cell('<span class="desk-flag desk-flag-{}" title="{}">{}</span>', *badge)
                for badge in flag_badges(letter)
            )
        )

    @admin.display(description="status", ordering="status")
    def status_label(self, letter):
        # The hidden input posts the status shown with the queue's actions (SHOWN_STATUS).
        return cell(
            '<span class="desk-status desk-status-{}">{}</span>'
            '<input type="hidden" name="{}" value="{}">',
            letter.status,
            letter.get_status_display(),
            SHOWN_STATUS.format(letter.pk),
            letter.status,
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
        return ask(self, request, queryset, form, "Reject letters", "reject_letters")

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
            if at is None:
                return run_on_each(self, request, queryset, moderation.publish, "Published")
            verb = f"Scheduled for {timezone.localtime(at):%d %b %H:%M}:"
            return run_on_each(self, request, queryset, moderation.schedule, verb, at=at)
        return ask(self, request, queryset, form, "Publish letters", "publish_letters")

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

            def assign(letter_id, actor, expected_status):
                # Not a decision on the letter: which article it answers holds in any status.
                return moderation.assign_to_article(letter_id, article_id, actor=actor)

            return run_on_each(self, request, queryset, assign, "Assigned")
        return ask(self, request, queryset, form, "Assign letters to an article", "assign_letters")

    # A writer's personal data: one writer at a time (a deliberate act, per request)
    def _one_writer(self, request, queryset):
        """The address of the one writer whose letters are selected, else None (said why)."""
        addresses = {email.lower() for email in queryset.values_list("email", flat=True)}
        if len(addresses) == 1:
            return addresses.pop()
        self.message_user(
            request,
            "Choose letters from one writer (one email address) to export or erase their data.",
            messages.ERROR,
        )
        return None

    @admin.action(description="Export the writer's data (JSON)", permissions=["export"])
    def export_writer_data(self, request, queryset):
        address = self._one_writer(request, queryset)
        if address is None:
            return None
        data = moderation.export_writer(address, actor=request.user)
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        name = f"writer-of-letter-{min(queryset.values_list('pk', flat=True))}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Erase the writer's data…", permissions=["erase"])
    def erase_writer_data(self, request, queryset):
        address = self._one_writer(request, queryset)
        if address is None:
            return None
        form = EraseForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                erasure, changed = moderation.erase_writer(
                    address, actor=request.user, note=form.cleaned_data["note"]
                )
            except ValueError as exc:
                form.add_error("note", str(exc))
            except (moderation.TransitionNotAllowed, moderation.NotPermitted) as exc:
                self.message_user(request, f"Nothing erased: {exc}", messages.ERROR)
                return None
            else:
                counts = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in erasure.counts.items())
                done = "Erased the writer's data" if changed else "Already erased: nothing held"
                self.message_user(
                    request, f"{done} (erasure #{erasure.pk}: {counts}).", messages.SUCCESS
                )
                # The letter page may be gone with the letter: back to the whole list.
                return HttpResponseRedirect(
                    reverse("admin:letters_letter_changelist") + "?status=all"
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase a writer's data",
            "form": form,
            "preview": erasure_preview(address),
            "selected": queryset.values_list("pk", flat=True),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/letters/letter/erase_writer.html", context)

    # Deleting one letter: through letters.moderation.erasure, which keeps its trail
    def get_deleted_objects(self, objs, request):
        lines, refusal = [], []
        for letter in objs:
            summary, problem = deletion_summary(letter)
            lines += summary
            refusal += [problem] if problem else []
        return lines, {}, set(), refusal

    def delete_model(self, request, obj):
        moderation.delete_letter(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            moderation.delete_letter(pk, actor=request.user)

    # The letter page (its views: letter_views.LetterPageViews)
    def get_queryset(self, request):
        return super().get_queryset(request).select_related("article")


class EraseForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=200,
        label="Reference",
        help_text="Kept in the erasure log, e.g. where the request came from; not the address.",
    )
