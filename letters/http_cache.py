"""Caching headers for what the publication's CMS and readers' feed readers fetch again and
again: an ETag (a 304 when it still matches), Cache-Control public for
LETTERS_API_CACHE_SECONDS, and CORS open to every origin (public, read-only, no cookies)."""

import functools

from django.conf import settings
from django.middleware.http import ConditionalGetMiddleware
from django.utils.cache import patch_cache_control


def public_and_cached(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=settings.LETTERS_API_CACHE_SECONDS)
        response["Access-Control-Allow-Origin"] = "*"
        # Sets the ETag from the body and answers 304 to a matching If-None-Match.
        return ConditionalGetMiddleware(lambda request: response)(request)

    return wrapped
