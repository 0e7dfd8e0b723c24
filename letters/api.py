"""The read-only JSON API and the edition exports (docs/api.md), for the publication's CMS.

/api/v1/letters/?article=<url>     published letters answering the article at that address
/api/v1/letters/?date=YYYY-MM-DD   letters published on that day
/api/v1/editions/                  the latest published editions (?limit=, at most 50)
/api/v1/editions/YYYY-MM-DD/       one published edition with its letters
/letters/YYYY-MM-DD/edition.txt    the edition as print-ready plain text
/letters/YYYY-MM-DD/edition.html   the edition as an HTML fragment for the CMS
/letters/YYYY-MM-DD/edition.json   the edition as JSON (as /api/v1/editions/YYYY-MM-DD/)

GET only; public; name and town are the only personal data; cached (http_cache).
"""

import datetime

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from . import exports
from .http_cache import public_and_cached
from .models import Article
from .syndication.parse import normalise_url

MAX_LETTERS = 100
MAX_EDITIONS = 50


def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _day(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _article_at(url):
    """The article at a publication address (its canonical URL) or at its desk address."""
    desk_prefix = f"{settings.SITE_URL}/articles/"
    if url.startswith(desk_prefix):
        slug = url[len(desk_prefix) :].split("/")[0]
        return Article.objects.published().filter(slug=slug).first()
    normal = normalise_url(url)
    return normal and Article.objects.published().filter(canonical_url=normal).first()


@require_safe
@public_and_cached
def letters(request):
    article_url = request.GET.get("article", "").strip()
    date_text = request.GET.get("date", "").strip()
    if not article_url and not date_text:
        return _json({"error": "Give ?article=<the article's URL> or ?date=YYYY-MM-DD."}, 400)
    found = exports.published_letters().in_publication_order()
    data = {}
    if date_text:
        day = _day(date_text)
        if day is None:
            return _json({"error": "date must be YYYY-MM-DD."}, 400)
        found = found.filter(published_at__date=day)
        data["date"] = day.isoformat()
    if article_url:
        article = _article_at(article_url)
        found = found.filter(article=article) if article else found.none()
        data["article"] = (
            {
                "headline": article.headline,
                "url": article.canonical_url or exports.absolute(article.get_absolute_url()),
            }
            if article
            else None
        )
    data["letters"] = [exports.letter_data(letter) for letter in found[:MAX_LETTERS]]
    return _json(data)


@require_safe
@public_and_cached
def editions(request):
    try:
        limit = min(max(int(request.GET.get("limit", 10)), 1), MAX_EDITIONS)
    except ValueError:
        return _json({"error": "limit must be a whole number."}, 400)
    latest = exports.published_editions()[:limit]
    return _json({"editions": [exports.edition_summary(edition) for edition in latest]})


def _edition(date):
    day = _day(date)
    if day is None:
        raise Http404("No edition on that date.")
    return get_object_or_404(exports.published_editions(), date=day)


@require_safe
@public_and_cached
def edition_json(request, date):
    return _json(exports.edition_data(_edition(date)))


@require_safe
@public_and_cached
def edition_text(request, date):
    return HttpResponse(
        exports.edition_text(_edition(date)), content_type="text/plain; charset=utf-8"
    )


@require_safe
@public_and_cached
def edition_html(request, date):
    return HttpResponse(
        exports.edition_html(_edition(date)), content_type="text/html; charset=utf-8"
    )
