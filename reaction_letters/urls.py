from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "The letters desk"
admin.site.site_title = "Letters desk"
admin.site.index_title = "Letters to the editor"

urlpatterns = [
    # LETTERS_ADMIN_PATH: somewhere other than /admin/ keeps the admin out of every bot's
    # first guess (django-axes throttles the sign-in wherever it is).
    # The desk's own pages (dashboard, writers) under the admin's path, behind its sign-in.
    path(settings.LETTERS_ADMIN_PATH, include("letters.admin.pages")),
    path(settings.LETTERS_ADMIN_PATH, admin.site.urls),
    path("inbound/", include("letters.intake.urls")),
    path("", include("letters.urls")),
]
