from django.urls import path, re_path

from . import feeds, views

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
]
