"""The "Write to us" block on the publication's own pages.

/embed.js         the one-line embed: a script that puts an iframe of /embed/ after itself and
                  sets its height from the block's messages (static/letters/embed.js)
/embed/?url=...   the iframe: the article page's block and form, for the article at that URL
                  (found, or created from the page's metadata on LETTERS_EMBED_DOMAINS);
                  CMSs that refuse scripts put this in an <iframe> themselves
/embed/thanks/... the thank-you page, inside the iframe

Only these pages may be framed by the publisher's domains (CSP frame-ancestors): every other
page keeps LETTERS_FRAME_ANCESTORS and X-Frame-Options DENY. The form keeps every guarantee of
the article page's (it is the same form and the same code: rate limits, the proof of work,
the signed timestamp, the honeypot, confirmation by email), with one change: CSRF.

CSRF inside a third-party iframe: the publisher's page is the top-level site, so the browser
treats the desk's cookies in the iframe as third-party. Django's CSRF cookie (SameSite=Lax) is
not sent with the iframe's POST, and browsers that block third-party cookies would refuse even
SameSite=None. So the embed does not use the cookie: its POST is exempt from the cookie check
and checked instead by the browser's own headers, as Go's net/http CrossOriginProtection does:
Sec-Fetch-Site must be same-origin (or none: typed by the user), else, for browsers without it,
Origin must be the desk's own origin. A page elsewhere that posts a forged form to the desk
is refused (403); the iframe's own form posts from the desk's origin and passes. A request from
something that is not a browser carries no cookie to abuse and is treated like any other.
"""

import functools
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import resolve, reverse
from django.utils.csp import CSP
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import bot_defence, limits, views
from .forms import LetterForm
from .models import Letter, new_client_token
from .syndication import pages

SCRIPT = Path(__file__).parent / "static" / "letters" / "embed.js"


@functools.cache
def _script_text():
    return SCRIPT.read_bytes()


@require_GET
def script(request):
    """embed.js: the same for every page and publisher, cached by browsers for an hour."""
    response = HttpResponse(_script_text(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def allow_publisher_frames(response):
    """Let `response` be shown in a frame on the publisher's domains (and the desk's own):
    its own frame-ancestors, and no X-Frame-Options (which cannot name a domain)."""
    response._csp_config = {
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *settings.LETTERS_EMBED_DOMAINS],
    }
    response.xframe_options_exempt = True
    return response


def _framed_by_the_publisher(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        return allow_publisher_frames(view(request, *args, **kwargs))

    return wrapped


def cross_site(request):
    """Whether this POST came from a page on another site (see the module: CSRF)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin != f"{request.scheme}://{request.get_host()}"


@csrf_exempt
@_framed_by_the_publisher
@require_http_methods(["GET", "HEAD", "POST"])
def frame(request):
    """The block and form for the article at ?url= (see the module)."""
    if request.method == "POST" and cross_site(request):
        return HttpResponseForbidden("This form can only be sent from its own page.")
    article = pages.article_for(request.GET.get("url", ""), may_fetch=lambda: _may_fetch(request))
    if article is None:
        return render(request, "letters/embed_unknown.html", status=404)
    open_for_letters = article.accepts_letters()
    form, blank_form, wait = None, "", 0
    if open_for_letters:
        if request.method == "POST":
            form, wait, stored = views._receive(request, article)
            if stored is not None:
                token = resolve(stored.url).kwargs["token"]
                return redirect(reverse("letters:embed_thanks", kwargs={"token": token}))
        else:
            form = LetterForm(initial={"client_token": new_client_token()})
            blank_form = views._blank_form_html(request, form)
    context = {
        "article": article,
        "form": form,
        "blank_form": blank_form,
        "open_for_letters": open_for_letters,
        "unsent_text": request.POST.get("body", "") if not open_for_letters else "",
        "bot_challenge": open_for_letters and bot_defence.enabled(),
        "word_limit": settings.LETTERS_WORD_LIMIT,
    }
    response = render(request, "letters/embed.html", context, status=429 if wait else 200)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _may_fetch(request):
    """Whether this client may make the desk read one more unknown page of the publisher's
    (each is a request to the publisher's site): LETTERS_RATE_LIMIT_EMBED_NEW_IP."""
    address = limits.client_key(limits.client_ip(request))
    return not limits.hit("embed-new", address, settings.LETTERS_RATE_LIMIT_EMBED_NEW_IP)


@_framed_by_the_publisher
@require_GET
def thanks(request, token):
    try:
        letter_id = signing.loads(token, salt=views.THANKS_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        raise Http404("No such letter.") from None
    letter = get_object_or_404(Letter.objects.select_related("article"), pk=letter_id)
    context = {"letter": letter, "confirm_days": settings.LETTERS_CONFIRM_MAX_AGE_DAYS}
    return render(request, "letters/embed_thanks.html", context)
