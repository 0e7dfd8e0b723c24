"""The "Inbound email" admin: every message as it arrived, why it was rejected, the raw text."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import moderation
from ..intake.process import process_again
from ..models import InboundStatus

RAW_SHOWN_BYTES = 1024 * 1024


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [
            ("received", "Received (made a letter)"),
            ("rejected", "Rejected"),
            ("failed", "Failed"),
            ("waiting", "Waiting (pending or processing)"),
            ("reused", "Message-ID reused"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "received":
            return queryset.filter(status=InboundStatus.ACCEPTED)
        if value in ("rejected", "failed"):
            return queryset.filter(status=value)
        if value == "waiting":
            return queryset.filter(status__in=(InboundStatus.PENDING, InboundStatus.PROCESSING))
        if value == "reused":
            return queryset.filter(message_id_reused=True)
        return queryset


class InboundEmailAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "from_address",
        "subject",
        "way_in",
        "status",
        "reason",
        "letter_link",
        "size",
    ]
    list_filter = [OutcomeFilter, "way_in", "received_at"]
    search_fields = ["message_id", "from_address", "subject", "reason"]
    list_select_related = ["letter"]
    actions = ["process_again_action"]
    date_hierarchy = "received_at"
    exclude = ["raw"]

    class Media:
        # The raw message's box (.desk-raw): a class, since the CSP refuses style attributes.
        css = {"all": ["letters/admin-letters.css"]}

    readonly_fields = [
        "message_id",
        "message_id_derived",
        "checksum",
        "way_in",
        "envelope_from",
        "envelope_to",
        "received_at",
        "deliveries",
        "message_id_reused",
        "status",
        "reason",
        "attempts",
        "claimed_at",
        "processed_at",
        "subject",
        "from_address",
        "attachment_list",
        "letter_link",
        "size",
        "raw_truncated",
        "raw_purged_at",
        "history",
        "raw_message",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw")

    @admin.display(description="Letter")
    def letter_link(self, obj):
        if not obj.letter_id and obj.follow_up_to_id:  # threading: a reply that joined a letter
            url = reverse("admin:letters_letter_change", args=[obj.follow_up_to_id])
            return format_html('<a href="{}">Follow-up to #{}</a>', url, obj.follow_up_to_id)
        if not obj.letter_id:
            return "-"
        url = reverse("admin:letters_letter_change", args=[obj.letter_id])
        return format_html('<a href="{}">Letter #{}</a>', url, obj.letter_id)

    @admin.display(description="Attachments")
    def attachment_list(self, obj):
        if not obj.attachments:
            return "-"
        return format_html_join(
            "",
            "<div>{} ({}, {} bytes){}</div>",
            (
                (
                    a.get("filename", ""),
                    a.get("content_type", ""),
                    a.get("size", 0),
                    " - text used as the letter" if a.get("text_extracted") else "",
                )
                for a in obj.attachments
            ),
        )

    @admin.display(description="Raw message (as text, never rendered)")
    def raw_message(self, obj):
        text = obj.raw_text(RAW_SHOWN_BYTES)
        return format_html('<pre class="desk-raw">{}</pre>', text)

    @admin.display(description="History")
    def history(self, obj):
        events = obj.events.select_related("actor")
        lines = (
            (timezone.localtime(e.created_at).strftime("%d %b %Y %H:%M"), e.action, e.who or "-")
            for e in events
        )
        return format_html_join("", "<div>{} · {} · {}</div>", lines) or "-"

    def has_process_permission(self, request):
        return moderation.can(request.user, "process_again")

    @admin.action(
        description="Process again (messages that made no letter)", permissions=["process"]
    )
    def process_again_action(self, request, queryset):
        count = process_again(list(queryset.values_list("pk", flat=True)), actor=request.user)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} message(s) queued to be processed again.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: they already made a letter, or their raw copy is gone.",
                messages.WARNING,
            )
