"""Request body limits: large for the inbound email webhooks, Django's usual elsewhere."""

from django.conf import settings
from django.http import HttpResponse

# Paths that receive whole email messages from providers.
LARGE_BODY_PREFIX = "/inbound/"


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
