"""The publication's article feeds in the admin: read-only, how each one's last fetch went.

Feeds come from LETTERS_ARTICLE_FEEDS (or `manage.py sync_articles URL`), not from here."""

from django.contrib import admin


class ArticleFeedAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "status",
        "last_fetched_at",
        "last_changed_at",
        "item_count",
        "created_count",
        "updated_count",
        "error",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "url",
        "status",
        "error",
        "last_fetched_at",
        "last_changed_at",
        "item_count",
        "created_count",
        "updated_count",
        "etag",
        "last_modified",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
