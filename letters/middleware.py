"""Request body limits, and a 503 instead of a 500 when the database cannot be reached."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render

from . import bot_defence, embed
from .forms import LetterForm

log = logging.getLogger(__name__)

# Paths that receive whole email messages from providers.
LARGE_BODY_PREFIX = "/inbound/"
# What a 503 asks the client (a browser, a provider's webhook, a monitor) to wait, in seconds.
RETRY_AFTER_SECONDS = 60


class LimitRequestBodyMiddleware:
    """Refuse (413) a body over LETTERS_MAX_REQUEST_BYTES except on the inbound webhooks.

    DATA_UPLOAD_MAX_MEMORY_SIZE is raised so that a provider can post a message up to the
    intake size limit; this keeps every other URL (forms, admin) at the ordinary limit. The
    WSGI input stream never yields more than Content-Length, so checking it is enough.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(LARGE_BODY_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.LETTERS_MAX_REQUEST_BYTES:
                return HttpResponse("Request body too large.", status=413)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach the database answers 503 with Retry-After, never a bare 500.

    A letter posted from the form is shown back in the form, with the writer's text and a
    "send it again in a minute" message: nothing was stored (the letter and its event are one
    transaction), and nothing the writer typed is lost. Its hidden client_token goes back
    unchanged, so sending it again can never store it twice. Every other page gets a short
    "unavailable just now" page. Needs no database itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.error(
            "Database unavailable for %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            str(exception).strip().splitlines()[0] if str(exception).strip() else "",
        )
        form = _unsent_letter(request)
        context = {"form": form, "word_limit": settings.LETTERS_WORD_LIMIT}
        context["bot_challenge"] = form is not None and bool(form.challenge_json)
        response = render(request, "letters/unavailable.html", context, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        if _view_name(request) == "letters:embed":  # shown inside the publisher's iframe
            embed.allow_publisher_frames(response)
        return response


def _view_name(request):
    return request.resolver_match.view_name if request.resolver_match else ""


def _unsent_letter(request):
    """The letter form filled in with what the writer posted (unbound: validating a model form
    would ask the database), or None when this request was not a letter."""
    if request.method != "POST" or _view_name(request) not in ("letters:article", "letters:embed"):
        return None
    fields = [*LetterForm.Meta.fields, "client_token"]
    form = LetterForm(initial={name: request.POST[name] for name in fields if name in request.POST})
    # The writer has already taken their time: their form's signed timestamp still holds.
    if request.POST.get(bot_defence.STARTED_FIELD):
        form.started_token = request.POST[bot_defence.STARTED_FIELD]
    return form
