from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "The letters desk"
admin.site.site_title = "Letters desk"
admin.site.index_title = "Letters to the editor"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("inbound/", include("letters.intake.urls")),
    path("", include("letters.urls")),
]
