"""Editions of the letters page in the admin: assemble, order, choose a lead, publish.

Status changes go through letters.moderation (publish_edition, schedule_edition,
unschedule_edition), which records each one; the edition page shows that history."""

from django.contrib import admin, messages
from django.db import models
from django.utils import timezone
from django.utils.html import format_html_join

from .. import moderation
from ..models import PUBLISHABLE, Edition, EditionLetter, EditionStatus, Letter
from .edition_exports import EditionExportsMixin


class EditionLetterInline(admin.TabularInline):
    model = EditionLetter
    extra = 3
    fields = ["letter", "position", "headline", "is_lead"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only letters that can run: a desk has hundreds of letters a day but few approved.
        if db_field.name == "letter":
            kwargs["queryset"] = Letter.objects.filter(status__in=PUBLISHABLE).order_by(
                "-decided_at", "-id"
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "letter":
            # Every row's select would run the query again (one per row, plus the extra and
            # empty rows): read the choices once per request and share them.
            if not hasattr(request, "_edition_letter_choices"):
                request._edition_letter_choices = list(field.choices)
            field.choices = request._edition_letter_choices
        return field


class EditionAdmin(EditionExportsMixin, admin.ModelAdmin):
    list_display = ["__str__", "date", "status", "publish_at", "published_at", "letter_count"]
    list_filter = ["status"]
    date_hierarchy = "date"
    fields = ["title", "date", "publish_at", "status", "published_at", "created_by", "history"]
    fields += ["for_print"]
    readonly_fields = ["status", "published_at", "created_by", "history", "for_print"]
    inlines = [EditionLetterInline]
    actions = ["publish_now", "schedule", "back_to_draft"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(letters=models.Count("entries"))

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

    def has_publish_permission(self, request):
        return moderation.can(request.user, "publish")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None):
        # A published edition is the public record: change its letters by withdrawing them.
        if obj is not None and obj.status == EditionStatus.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

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
