"""Reply templates (editable by editors) and the replies sent from them (read-only)."""

from django.contrib import admin
from django.utils.html import format_html_join

from ..models import ReplyTemplate


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
