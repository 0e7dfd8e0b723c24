from django.contrib import admin

from .models import Article, Letter, LetterEvent


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


from . import admin_intake  # noqa: E402, F401  (Inbound email admin, issue 3)
