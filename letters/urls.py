from django.urls import path

from . import views

app_name = "letters"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("letters/thanks/<str:token>/", views.thanks, name="thanks"),
    path("letters/confirm/<str:token>/", views.confirm, name="confirm"),
]
