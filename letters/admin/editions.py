"""Editions of the letters page in the admin: the edition builder.

Letters come in from the queue ("Add to edition…", letters.admin.actions). On the edition page they are shown
with writer, town, article, words and flags, put in order by dragging or with the keyboard (the
first is the lead), given headlines and taken out again; the page counts the words against
LETTERS_EDITION_WORD_BUDGET. From there the editor previews the draft as readers will see it,
and publishes or schedules it after a page that says what will happen.

Every change goes through letters.moderation (editions.py for the letters, publication.py for
publishing), which records it; the edition page shows that history. Nothing here deletes a
letter: taking one out of an edition removes its place in the edition only.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import moderation
from ..models import Edition, EditionStatus, Letter, Status, count_words
from .edition_exports import EditionExportsMixin


class EditionAdmin(EditionExportsMixin, admin.ModelAdmin):
    list_display = ["__str__", "date", "status", "publish_at", "published_at", "letter_count"]
    list_filter = ["status"]
    date_hierarchy = "date"
    fields = ["title", "date", "publish_at", "status", "published_at", "created_by", "history"]
    fields += ["for_print"]
    readonly_fields = ["status", "published_at", "created_by", "history", "for_print"]
    actions = ["publish_now", "schedule", "back_to_draft"]
    change_form_template = "admin/letters/edition/change_form.html"

    class Media:
        css = {
            "all": [
                "letters/admin-letters.css",
                "letters/admin-editions.css",
                *EditionExportsMixin.Media.css["all"],
            ]
        }
        js = ["letters/admin-edition.js", *EditionExportsMixin.Media.js]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(letters=models.Count("entries"))

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        name = "letters_edition_"
        return [
            path("<int:edition_id>/preview/", view(self.preview_view), name=name + "preview"),
            path("<int:edition_id>/publish/", view(self.publish_view), name=name + "publish"),
            path("<int:edition_id>/schedule/", view(self.schedule_view), name=name + "schedule"),
            path("<int:edition_id>/to-draft/", view(self.to_draft_view), name=name + "to_draft"),
            path("<int:edition_id>/remove/", view(self.remove_view), name=name + "remove"),
            *super().get_urls(),
        ]

    @admin.display(description="letters", ordering="letters")
    def letter_count(self, edition):
        return edition.letters

    @admin.display(description="history")
    def history(self, edition):
        events = edition.events.select_related("actor") if edition.pk else []
        lines = (
            (
                timezone.localtime(event.created_at).strftime("%d %b %Y %H:%M"),
                event.action,
                event.who or "-",
                event.note,
            )
            for event in events
        )
        return format_html_join("", "<div>{} · {} · {} <i>{}</i></div>", lines) or "-"

    def view_on_site(self, edition):
        # A draft has no public page yet: staff see its preview instead of a 404.
        if edition.status == EditionStatus.PUBLISHED:
            return edition.get_absolute_url()
        return reverse("admin:letters_edition_preview", args=[edition.pk])

    def has_publish_permission(self, request):
        return moderation.can(request.user, "publish")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and "order" in request.POST:
            self._arrange(request, form.instance)

    def _arrange(self, request, edition):
        """The order and headlines posted with the edition page's Save."""
        order = request.POST.getlist("order")
        headlines = {
            letter_id: request.POST.get(f"headline_{letter_id}", "")
            for letter_id in order
            if f"headline_{letter_id}" in request.POST
        }
        try:
            moderation.arrange_edition(edition.pk, order, headlines=headlines, actor=request.user)
        except (moderation.EditionChanged, moderation.EditionNotDraft, ValueError) as exc:
            self.message_user(request, f"The order was not saved: {exc}", messages.ERROR)

    def has_change_permission(self, request, obj=None):
        # A published edition is the public record: change its letters by withdrawing them.
        if obj is not None and obj.status == EditionStatus.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        edition = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if edition is not None:
            extra.update(self._builder_context(request, edition))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _builder_context(self, request, edition):
        entries = edition_entries(edition)
        total = 0
        for entry in entries:
            total += entry.words
            entry.running = total
        budget = settings.LETTERS_EDITION_WORD_BUDGET
        can_arrange = edition.status == EditionStatus.DRAFT and moderation.can(
            request.user, "arrange_edition"
        )
        return {
            "edition": edition,
            "entries": entries,
            "total_words": total,
            "word_budget": budget,
            "over_budget": total > budget,
            "can_arrange": can_arrange,
            "can_publish": self.has_publish_permission(request)
            and edition.status != EditionStatus.PUBLISHED,
            "preview_url": reverse("admin:letters_edition_preview", args=[edition.pk]),
            "approved_queue_url": reverse("admin:letters_letter_changelist") + "?status=approved",
        }

    # The edition's own pages -----------------------------------------------------------------

    def _edition(self, request, edition_id, *, publish=False):
        edition = get_object_or_404(Edition, pk=edition_id)
        if not self.has_view_permission(request, edition):
            raise PermissionDenied
        if publish and not self.has_publish_permission(request):
            raise PermissionDenied
        return edition

    def _back(self, edition):
        return HttpResponseRedirect(reverse("admin:letters_edition_change", args=[edition.pk]))

    def _page(self, request, edition, template, **context):
        return TemplateResponse(
            request,
            f"admin/letters/edition/{template}.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": edition,
                "edition": edition,
                **context,
            },
        )

    def preview_view(self, request, edition_id):
        """The edition as readers will see it, drafts included; staff only (admin_view)."""
        edition = self._edition(request, edition_id)
        edition = Edition.objects.with_entries_to_preview().get(pk=edition.pk)
        context = {
            "edition": edition,
            "day": None,
            "date": edition.date,
            "preview": True,
            "change_url": reverse("admin:letters_edition_change", args=[edition.pk]),
        }
        return TemplateResponse(request, "letters/edition.html", context)

    def publish_view(self, request, edition_id):
        """Publish now, after a page that says which letters go out and who is told."""
        edition = self._edition(request, edition_id, publish=True)
        if edition.status == EditionStatus.PUBLISHED:
            self.message_user(request, f"{edition} is already published.", messages.INFO)
            return self._back(edition)
        plan = moderation.publication_plan(edition)
        if request.method == "POST" and "confirm" in request.POST:
            try:
                _, changed = moderation.publish_edition(edition.pk, actor=request.user)
            except moderation.EditionNotReady as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return self._back(edition)
            if changed:
                self.message_user(
                    request,
                    format_html(
                        "Published {}: {} letter{}, {} writer{} told. "
                        '<a href="{}">See it on the site</a>.',
                        edition,
                        len(plan.letters),
                        "s" if len(plan.letters) != 1 else "",
                        len(plan.notified),
                        "s" if len(plan.notified) != 1 else "",
                        edition.get_absolute_url(),
                    ),
                    messages.SUCCESS,
                )
            return self._back(edition)
        return self._page(
            request, edition, "publish", title=f"Publish {edition} now", plan=plan, form=None
        )

    def schedule_view(self, request, edition_id):
        """Schedule, after a page that says which letters go out when and who is told."""
        edition = self._edition(request, edition_id, publish=True)
        plan = moderation.publication_plan(edition)
        form = ScheduleForm(
            request.POST if request.method == "POST" else None,
            initial={"at": _local_input(edition.publish_at)},
        )
        if request.method == "POST" and form.is_valid():
            at = form.cleaned_data["at"]
            try:
                _, changed = moderation.schedule_edition(edition.pk, at=at, actor=request.user)
            except moderation.EditionNotReady as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return self._back(edition)
            if changed:
                when = timezone.localtime(at).strftime("%-d %B %Y %H:%M")
                self.message_user(
                    request,
                    f"Scheduled {edition} for {when}: {len(plan.letters)} letters.",
                    messages.SUCCESS,
                )
            return self._back(edition)
        return self._page(
            request, edition, "publish", title=f"Schedule {edition}", plan=plan, form=form
        )

    def to_draft_view(self, request, edition_id):
        edition = self._edition(request, edition_id, publish=True)
        if request.method == "POST":
            _, changed = moderation.unschedule_edition(edition.pk, actor=request.user)
            if changed:
                self.message_user(request, f"{edition} is a draft again.", messages.SUCCESS)
        return self._back(edition)

    def remove_view(self, request, edition_id):
        """Take one letter out of the edition (the letter itself stays as it is)."""
        edition = self._edition(request, edition_id)
        letter_id = request.POST.get("remove", "")
        if request.method != "POST" or not letter_id.isdigit():
            return self._back(edition)
        try:
            _, changed = moderation.remove_from_edition(
                edition.pk, int(letter_id), actor=request.user
            )
        except (moderation.EditionNotDraft, moderation.NotPermitted) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return self._back(edition)
        if changed:
            letter = Letter.objects.only("name", "town", "status").get(pk=letter_id)
            self.message_user(
                request,
                f"Took {letter.signature} out of {edition}. The letter itself is unchanged "
                f"({Status(letter.status).label.lower()}).",
                messages.SUCCESS,
            )
        return self._back(edition)

    # The list's actions ---------------------------------------------------------------------

    def _each(self, request, queryset, operation, done):
        count = 0
        for edition_id in queryset.values_list("pk", flat=True):
            try:
                _, changed = operation(edition_id)
            except moderation.EditionNotReady as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            count += changed
        if count:
            self.message_user(request, f"{count} edition(s) {done}.", messages.SUCCESS)

    @admin.action(description="Publish now", permissions=["publish"])
    def publish_now(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda pk: moderation.publish_edition(pk, actor=request.user),
            "published",
        )

    @admin.action(description="Schedule for the set time", permissions=["publish"])
    def schedule(self, request, queryset):
        now = timezone.now()
        for edition in queryset.filter(
            models.Q(publish_at__isnull=True) | models.Q(publish_at__lte=now)
        ):
            self.message_user(
                request,
                f"{edition}: set a future publication time first, or use Publish now.",
                messages.WARNING,
            )
        self._each(
            request,
            queryset.filter(publish_at__gt=now),
            lambda pk: moderation.schedule_edition(
                pk, at=Edition.objects.get(pk=pk).publish_at, actor=request.user
            ),
            "scheduled",
        )

    @admin.action(description="Back to draft (cancel the schedule)", permissions=["publish"])
    def back_to_draft(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda pk: moderation.unschedule_edition(pk, actor=request.user),
            "back to draft",
        )


def edition_entries(edition):
    """The edition's letters for its page, lead first then in order, each with `words` (of the
    version to publish) and `flags` ((css, explanation, label) badges): two queries."""
    entries = list(
        edition.entries.select_related("letter", "letter__article")
        .only(
            "edition_id",
            "position",
            "headline",
            "is_lead",
            "letter__id",
            "letter__status",
            "letter__name",
            "letter__town",
            "letter__headline",
            "letter__body",
            "letter__edited_body",
            "letter__word_count",
            "letter__suspect",
            "letter__suspect_reason",
            "letter__confirmed_at",
            "letter__created_at",
            "letter__article_id",
            "letter__article__headline",
            "letter__article__slug",
            "letter__article__published_at",
            "letter__article__letters_close_at",
        )
        .order_by("-is_lead", "position", "id")
    )
    flagged = Letter.objects.filter(pk__in=[entry.letter_id for entry in entries]).with_flags()
    probes = {
        row["pk"]: row
        for row in flagged.values("pk", "writer_published_recently", "possible_duplicate")
    }
    for entry in entries:
        letter = entry.letter
        probe = probes.get(letter.pk, {})
        letter.writer_published_recently = probe.get("writer_published_recently", False)
        letter.possible_duplicate = probe.get("possible_duplicate", False)
        entry.words = count_words(letter.publishable_text)
        entry.flags = [(flag.name, why, flag.badge) for flag, why in letter.carried_flags()]
        if letter.was_edited:
            entry.flags.append(("edited", "The desk edited the writer's text", "edited"))
        entry.ready = letter.status in (Status.APPROVED, Status.PUBLISHED)
    return entries


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label="Publish at",
        help_text="Your local time. A time already past publishes at once.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _local_input(at):
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M") if at else None
