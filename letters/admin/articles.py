"""Articles in the admin."""

from django.contrib import admin


class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "author", "published_at", "letters_open", "letters_close_at"]
    prepopulated_fields = {"slug": ["headline"]}
    search_fields = ["headline"]
