"""Inbound email webhooks, mounted at /inbound/: /inbound/<provider>/inbound/."""

from django.urls import path, re_path

from .webhooks import PROVIDER_VIEWS

app_name = "inbound"

urlpatterns = [
    # Mailgun posts parsed fields to .../inbound/ or the raw MIME to .../inbound_mime/.
    re_path(r"^mailgun/inbound(_mime)?/$", PROVIDER_VIEWS["mailgun"].as_view(), name="mailgun"),
    *[
        path(f"{name}/inbound/", view.as_view(), name=name)
        for name, view in PROVIDER_VIEWS.items()
        if name != "mailgun"
    ],
]
