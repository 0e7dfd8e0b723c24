from django.urls import path, re_path

from . import api, embed, feeds, views

app_name = "letters"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("letters/thanks/<str:token>/", views.thanks, name="thanks"),
    path("letters/confirm/<str:token>/", views.confirm, name="confirm"),
    path("letters/status/<str:token>/", views.letter_status, name="status"),
    # --- publication ---
    path("letters/", views.letters_page, name="letters_page"),
    path("letters/feed/", feeds.LettersFeed(), name="letters_feed"),
    re_path(r"^letters/(?P<date>\d{4}-\d{2}-\d{2})/$", views.edition, name="edition"),
    path("articles/<slug:slug>/letters/feed/", feeds.ArticleLettersFeed(), name="article_feed"),
    # --- the publication's own pages: the embedded block ---
    path("embed.js", embed.script, name="embed_script"),
    path("embed/", embed.frame, name="embed"),
    path("embed/thanks/<str:token>/", embed.thanks, name="embed_thanks"),
    # --- what goes out: edition exports, the JSON Feed, the read-only API (docs/api.md) ---
    re_path(
        r"^letters/(?P<date>\d{4}-\d{2}-\d{2})/edition\.txt$", api.edition_text, name="edition_text"
    ),
    re_path(
        r"^letters/(?P<date>\d{4}-\d{2}-\d{2})/edition\.html$",
        api.edition_html,
        name="edition_html",
    ),
    re_path(
        r"^letters/(?P<date>\d{4}-\d{2}-\d{2})/edition\.json$",
        api.edition_json,
        name="edition_json",
    ),
    path("letters/feed.json", feeds.json_feed, name="json_feed"),
    path("api/v1/letters/", api.letters, name="api_letters"),
    path("api/v1/editions/", api.editions, name="api_editions"),
    re_path(
        r"^api/v1/editions/(?P<date>\d{4}-\d{2}-\d{2})/$", api.edition_json, name="api_edition"
    ),
]
