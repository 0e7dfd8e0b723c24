from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from . import moderation
from .models import Article, Edition, EditionLetter, EditionStatus, Letter, LetterEvent


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "author", "published_at", "letters_open", "letters_close_at"]
    prepopulated_fields = {"slug": ["headline"]}
    search_fields = ["headline"]


class LetterEventInline(admin.TabularInline):
    model = LetterEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_status", "to_status", "who", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ["name", "town", "article", "channel", "status", "word_count", "created_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["article"]
    search_fields = ["name", "email", "body"]
    readonly_fields = ["status", "body", "word_count", "channel", "created_at", "confirmed_at"]
    inlines = [LetterEventInline]

    # --- placeholder approve action, replaced at merge ---
    # The moderation half of issue 4 brings the real actions; this one lets the browser test
    # approve a letter through the admin.
    actions = ["approve_letters"]

    @admin.action(description="Approve")
    def approve_letters(self, request, queryset):
        for letter_id in queryset.values_list("pk", flat=True):
            try:
                moderation.approve(letter_id, actor=request.user)
            except moderation.TransitionNotAllowed as exc:
                self.message_user(request, str(exc), messages.ERROR)

    # --- end placeholder approve action ---


# --- publication: editions of the letters page ---


class EditionLetterInline(admin.TabularInline):
    model = EditionLetter
    extra = 3
    fields = ["letter", "position", "headline", "is_lead"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only letters that can run: a desk has hundreds of letters a day but few approved.
        if db_field.name == "letter":
            kwargs["queryset"] = Letter.objects.filter(status__in=moderation.PUBLISHABLE).order_by(
                "-decided_at", "-id"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "date", "status", "publish_at", "published_at", "letter_count"]
    list_filter = ["status"]
    date_hierarchy = "date"
    fields = ["title", "date", "publish_at", "status", "published_at", "created_by"]
    readonly_fields = ["status", "published_at", "created_by"]
    inlines = [EditionLetterInline]
    actions = ["publish_now", "schedule", "back_to_draft"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(letters=models.Count("entries"))

    @admin.display(description="letters", ordering="letters")
    def letter_count(self, edition):
        return edition.letters

    def has_publish_permission(self, request):
        return request.user.has_perm("letters.publish_edition")

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
        self._each(request, queryset, moderation.unschedule_edition, "back to draft")


# --- end publication ---
