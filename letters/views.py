import datetime
import functools
import uuid

from crispy_forms.utils import render_crispy_form
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from . import bot_defence, limits, moderation, notifications
from .forms import LetterForm
from .models import (
    Article,
    Letter,
    Status,
    new_client_token,
    publication_dates,
    published_days,
)

THANKS_SALT = "letters.thanks"


def home(request):
    articles = Article.objects.published().only(
        "headline", "slug", "standfirst", "author", "published_at"
    )
    return render(request, "letters/home.html", {"articles": articles})


@require_http_methods(["GET", "HEAD", "POST"])
def article(request, slug):
    articles = Article.objects.published()
    if request.method == "POST":
        # A letter's post needs the article's dates, not its text (loaded only to show the
        # form again).
        articles = articles.defer("body", "standfirst")
    article = get_object_or_404(articles, slug=slug)
    open_for_letters = article.accepts_letters()
    form = None
    blank_form = ""
    wait = 0
    if open_for_letters:
        if request.method == "POST":
            form, wait, stored = _receive(request, article)
            if stored is not None:
                return stored
        else:
            form = LetterForm(initial={"client_token": new_client_token()})
            blank_form = _blank_form_html(request, form)
    # Letters closed while the reader was writing: show their text back so nothing is lost.
    unsent_text = request.POST.get("body", "") if not open_for_letters else ""
    context = {
        "unsent_text": unsent_text,
        "article": article,
        "form": form,
        "blank_form": blank_form,
        "open_for_letters": open_for_letters,
        "bot_challenge": open_for_letters and bot_defence.enabled(),
        "published_letters": article.letters.in_publication_order().only(
            "headline", "body", "edited_body", "name", "town", "published_at"
        ),
        "word_limit": settings.LETTERS_WORD_LIMIT,
    }
    response = render(request, "letters/article.html", context, status=429 if wait else 200)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _receive(request, article):
    """A posted letter: (form, seconds to wait, redirect). The redirect once it is stored;
    else the form to show again, with the seconds to wait when a rate limit refused it. Every
    post counts against the client's address, a valid one also against its writer's email.
    A refused post keeps its text; a letter without a valid proof of work is held as suspect."""
    form = LetterForm(request.POST)
    address = limits.client_key(limits.client_ip(request))
    wait = limits.hit("form-ip", address, settings.LETTERS_RATE_LIMIT_FORM_IP)
    valid = form.is_valid()
    if valid and not wait:
        email = form.cleaned_data["email"]
        wait = limits.hit("form-email", email, settings.LETTERS_RATE_LIMIT_FORM_EMAIL)
    if wait:
        form.add_error(
            None,
            "We have received several letters from you in a short time. Please send this one "
            f"again {limits.describe_wait(wait)}: your text is kept below.",
        )
        return form, wait, None
    if not valid:
        return form, 0, None
    suspect_reason = bot_defence.problem_with(request.POST.get(bot_defence.SOLUTION_FIELD))
    return form, 0, _submit(request, article, form, suspect_reason=suspect_reason)


# The blank letter form is the same for every reader but for its per-view values: the CSRF
# token, the client_token, the signed timestamp and the proof-of-work challenge. Rendering it
# through crispy-forms costs more than the rest of the article page put together, so each
# worker renders it once (per word limit, the only setting it shows, and per challenge switch)
# with placeholders, and every page fills in the reader's own values.
_CSRF_PLACEHOLDER = "csrf-token-placeholder"
_CLIENT_TOKEN_PLACEHOLDER = uuid.UUID(int=0)
_STARTED_PLACEHOLDER = "started-token-placeholder"
_CHALLENGE_PLACEHOLDER = "altcha-challenge-placeholder"


@functools.lru_cache(maxsize=4)
def _blank_form_template(word_limit, bot_challenge):
    form = LetterForm(initial={"client_token": _CLIENT_TOKEN_PLACEHOLDER})
    form.started_token = _STARTED_PLACEHOLDER
    form.challenge_json = _CHALLENGE_PLACEHOLDER if bot_challenge else ""
    return render_crispy_form(form, context={"csrf_token": _CSRF_PLACEHOLDER})


def _blank_form_html(request, form):
    html = _blank_form_template(settings.LETTERS_WORD_LIMIT, bot_defence.enabled())
    html = html.replace(_CSRF_PLACEHOLDER, get_token(request))
    html = html.replace(str(_CLIENT_TOKEN_PLACEHOLDER), str(form.initial["client_token"]))
    html = html.replace(_STARTED_PLACEHOLDER, escape(form.started_token))
    if form.challenge_json:
        html = html.replace(_CHALLENGE_PLACEHOLDER, escape(form.challenge_json))
    return mark_safe(html)


def _submit(request, article, form, *, suspect_reason=None):
    fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
    fields["client_token"] = form.cleaned_data.get("client_token")
    if suspect_reason:
        fields.update(suspect=True, suspect_reason=suspect_reason)
    # One transaction: a bot's letter is spam before its confirmation task is enqueued.
    with transaction.atomic():
        letter = moderation.submit(article=article, **fields)
        # A post that joins an earlier letter (sent again after Back) must not mark that
        # letter spam: only the post that made the letter speaks for it.
        if form.is_bot and not getattr(letter, "joined_earlier", False):
            moderation.mark_spam(
                letter.pk, actor_label="form trap", note="Hidden field was filled in."
            )
    token = signing.dumps(letter.pk, salt=THANKS_SALT)
    return redirect(reverse("letters:thanks", kwargs={"token": token}))


def thanks(request, token):
    try:
        letter_id = signing.loads(token, salt=THANKS_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return render(request, "letters/link_problem.html", {"expired": False}, status=404)
    letter = get_object_or_404(Letter.objects.select_related("article"), pk=letter_id)
    context = {
        "letter": letter,
        "confirm_days": settings.LETTERS_CONFIRM_MAX_AGE_DAYS,
        "status_url": notifications.status_url(letter),
        **notifications.promises(),
    }
    return render(request, "letters/thanks.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def letter_status(request, token):
    """The writer's status page, reached by the signed link in their confirmation or
    acknowledgement (no login): where the letter stands, as far as the desk tells writers
    (Letter.status_for_writer), and a button to withdraw it before publication (POST, with the
    page's CSRF token and a ticked box, through moderation.withdraw_by_writer)."""
    try:
        letter_id = notifications.letter_id_from_status_token(token)
    except signing.SignatureExpired:
        return render(request, "letters/status_link_problem.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "letters/status_link_problem.html", {"expired": False}, status=404)
    letter = get_object_or_404(Letter.objects.select_related("article"), pk=letter_id)
    refused = ""
    if request.method == "POST":
        if request.POST.get("confirm_withdraw") != "yes":
            refused = "Tick the box to confirm that you want to withdraw your letter."
        else:
            try:
                moderation.withdraw_by_writer(letter.pk)
            except moderation.TransitionNotAllowed as exc:
                refused = str(exc)
            else:
                return redirect(request.path)
        letter.refresh_from_db()
    context = {
        "letter": letter,
        "shown": letter.status_for_writer(),
        "published_url": notifications.published_letter_url(letter)
        if letter.status == Status.PUBLISHED
        else "",
        "may_withdraw": letter.status in moderation.WITHDRAWABLE_BY_WRITER,
        "refused": refused,
        **notifications.promises(),
    }
    return render(request, "letters/status.html", context, status=409 if refused else 200)


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """The link in the confirmation email. Opening it (GET) only shows the letter's first
    lines and a "Confirm my letter" button: mail scanners that fetch every link in a message
    must not confirm anything. The button POSTs here and confirms (safe to repeat)."""
    try:
        letter_id = notifications.letter_id_from_token(token)
    except signing.SignatureExpired:
        return render(request, "letters/link_problem.html", {"expired": True}, status=410)
    except signing.BadSignature:
        return render(request, "letters/link_problem.html", {"expired": False}, status=404)
    letter = get_object_or_404(Letter.objects.select_related("article"), pk=letter_id)
    if request.method == "POST":
        letter, changed = moderation.confirm(letter.pk)
        return _confirmed(request, letter, already=not changed)
    if letter.status != Status.UNCONFIRMED:
        return _confirmed(request, letter, already=True)
    return render(request, "letters/confirm.html", {"letter": letter})


def _confirmed(request, letter, *, already):
    context = {
        "letter": letter,
        "already": already,
        "status_url": notifications.status_url(letter),
        **notifications.promises(),
    }
    return render(request, "letters/confirmed.html", context)


# --- publication: the letters page ---


# The letters page is paged by day; a page number past this is refused, not computed.
LAST_PAGE = 1000


def letters_page(request):
    """The latest days with letters published, newest first: each day's edition with its
    letters in order, and the letters published on their own that day."""
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() else 0
    if not 1 <= number <= LAST_PAGE:
        raise Http404("No such page of letters.")
    dates, earlier = publication_dates(number, settings.LETTERS_EDITIONS_PER_PAGE)
    if not dates and number > 1:
        raise Http404("No such page of letters.")
    context = {
        "days": published_days(dates),
        "earlier_page": number + 1 if earlier else None,
        "later_page": number - 1 if number > 1 else None,
    }
    return render(request, "letters/letters_page.html", context)


def edition(request, date):
    """One day of the letters page: its published edition and the letters published on their
    own that day (a draft edition is not shown: staff preview it from the admin)."""
    try:
        day = datetime.date.fromisoformat(date)
    except ValueError:
        raise Http404("No letters on that date.") from None
    (found,) = published_days([day])
    if found.edition is None and not found.letters:
        raise Http404("No letters on that date.")
    return render(
        request, "letters/edition.html", {"day": found, "date": day, "edition": found.edition}
    )
