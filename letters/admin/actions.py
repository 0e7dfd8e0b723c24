"""The queue's actions: each applies one moderation operation to each chosen letter and reports
on every one; those that need a reason, a time, an article or an edition ask for it on a page of
their own ("Add to edition…", at the end, puts letters in a draft edition for the builder in
letters.admin.editions)."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from .. import moderation
from ..models import (
    Article,
    Edition,
    EditionStatus,
    Letter,
    LetterEvent,
    RejectionReason,
    ReplyKind,
    ReplyTemplate,
    Status,
)


def safe_next(request, field="_next"):
    """The posted `_next` (or `field`) if it is a page of this site, else "" (no open
    redirect)."""
    target = request.POST.get(field, "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


# The letter page's decision buttons submit the edit form with this field naming the action:
# the pending edit is saved first (LetterAdmin.decide), then the decision taken.
DECIDE = "_decide"


def _redirect_to_next(request):
    target = safe_next(request)
    return HttpResponseRedirect(target) if target else None


# Each page that offers decisions posts the status it showed for each letter, as
# "_shown_status_<id>" (the queue in a hidden input beside each row's status, the letter page
# in its decision form), so a letter decided by someone else meanwhile is refused, not
# overridden (moderation.StaleDecision).
SHOWN_STATUS = "_shown_status_{}"


def shown_statuses(request, letter_ids):
    """{letter id: the status the editor's page showed} for the letters whose page said."""
    shown = {pk: request.POST.get(SHOWN_STATUS.format(pk)) for pk in letter_ids}
    return {pk: status for pk, status in shown.items() if status in Status.values}


def run_on_each(modeladmin, request, queryset, operation, done_verb, **kwargs):
    """Apply one moderation operation to each selected letter and report on every one.

    Letters the transitions table or the user's role refuses, and letters someone else has
    decided since the editor's page showed them, are named with the reason; the others are
    done. Each letter is its own transaction, so one refusal stops nothing.
    """
    names = dict(queryset.values_list("pk", "name"))
    shown = shown_statuses(request, names)
    done, unchanged, refused = 0, 0, [*_left_the_list(request, names)]
    for letter_id in sorted(names):
        try:
            _, changed = operation(
                letter_id,
                actor=request.user,
                expected_status=shown.get(letter_id),
                **kwargs,
            )
        except (moderation.TransitionNotAllowed, moderation.NotPermitted) as exc:
            refused.append(f"#{letter_id} ({names[letter_id]}): {exc}")
            continue
        done += changed
        unchanged += not changed
    if done == 1 and len(names) == 1:
        offer_undo(request, letter_id, names[letter_id])
    if done:
        modeladmin.message_user(
            request, f"{done_verb} {done} letter{'s' if done != 1 else ''}.", messages.SUCCESS
        )
    if unchanged:
        modeladmin.message_user(
            request, f"{unchanged} already {done_verb.lower()}: nothing changed.", messages.INFO
        )
    for line in refused[:25]:
        modeladmin.message_user(request, f"Refused {line}", messages.WARNING)
    if len(refused) > 25:
        modeladmin.message_user(
            request, f"... and {len(refused) - 25} more refused.", messages.WARNING
        )
    return _redirect_to_next(request)


UNDO = "desk_undo"  # in the session until the next page shows it


def offer_undo(request, letter_id, name):
    """After one letter's decision: if it is one the editor can take back (moderation.undo),
    the next page the editor sees offers "Undo" beside the message."""
    event = (
        LetterEvent.objects.filter(letter_id=letter_id)
        .exclude(to_status="")
        .order_by("-created_at", "-id")
        .first()
    )
    if event and event.actor_id == request.user.pk and moderation.undoable(event):
        request.session[UNDO] = {
            "letter": letter_id,
            "event": event.pk,
            "what": f"{event.action.capitalize()}: {name}",
        }


def undo_offered(request, filters=""):
    """The undo to offer on this page (taken from the session: shown once), or None; its
    form posts to the letter's undo, carrying the queue's `filters` back to the letter."""
    undo = request.session.pop(UNDO, None)
    if undo:
        url = reverse("admin:letters_letter_undo", args=[undo["letter"]])
        undo["url"] = f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url
    return undo


def _left_the_list(request, names):
    """A line for each letter ticked on a page that showed its status, but no longer in the
    list the action runs on (the queue's filter: someone else decided it meanwhile)."""
    if request.POST.get("select_across") == "1":
        return []
    ticked = {int(pk) for pk in request.POST.getlist("_selected_action") if pk.isdigit()}
    gone = shown_statuses(request, ticked - set(names))
    return [
        f"#{letter.pk} ({letter.name}): This letter is now {moderation.last_change(letter)}, "
        f"not {Status(gone[letter.pk]).label.lower()} as on your page, and has left this "
        "list: nothing was changed."
        for letter in Letter.objects.filter(pk__in=gone).only("pk", "name", "status")
        if letter.status != gone[letter.pk]
    ]


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectionReason.choices)
    reply_template = forms.ModelChoiceField(
        queryset=ReplyTemplate.objects.filter(kind=ReplyKind.REJECTION, active=True),
        required=False,
        empty_label="No reply",
        help_text="Sent to the writer after the decision is saved.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.LETTERS_NOTIFY_ONLY_IF_PUBLISHED:
            del self.fields["reply_template"]


class PublishForm(forms.Form):
    at = forms.DateTimeField(
        required=False,
        label="Publish at",
        help_text="Empty: publish now. Format: 2026-12-01 07:00.",
        widget=forms.DateTimeInput(attrs={"placeholder": "YYYY-MM-DD HH:MM"}),
    )

    def clean_at(self):
        at = self.cleaned_data["at"]
        if at and at < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError("That time has passed; leave it empty to publish now.")
        return at


class AssignForm(forms.Form):
    article = forms.ModelChoiceField(
        queryset=Article.objects.only("id", "headline", "published_at")
    )


def ask(modeladmin, request, queryset, form, title, action):
    """The intermediate page for an action that needs a reason, a time or an article."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "action": action,
        "letters": queryset.select_related(None).only("id", "name", "town", "status")[:200],
        "selected": queryset.values_list("pk", flat=True),
        # Carried to the apply step: the decision is checked against what the queue showed.
        "shown_statuses": [
            (SHOWN_STATUS.format(pk), status)
            for pk, status in shown_statuses(request, queryset.values_list("pk", flat=True)).items()
        ],
        "next": safe_next(request),  # after applying, the redirect (and the Cancel link)
        "back": safe_next(request, "_back"),  # the Cancel link, if the page says (letter page)
        # From the letter page (its edit already saved), the apply step goes to the queue's
        # action, over every status; from the queue, back to the queue as it was.
        "form_action": reverse("admin:letters_letter_changelist") + "?status=all"
        if DECIDE in request.POST
        else "",
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/letters/letter/action_form.html", context)


# The queue's "Add to edition…" action ---------------------------------------------------------


class AddToEditionForm(forms.Form):
    edition = forms.ModelChoiceField(
        queryset=Edition.objects.filter(status=EditionStatus.DRAFT).order_by("date"),
        required=False,
        empty_label="A new edition…",
        label="Add to",
        help_text="A draft edition, or a new one on the date below.",
    )
    date = forms.DateField(
        required=False,
        label="New edition's date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    title = forms.CharField(required=False, max_length=200, label="New edition's title")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("edition") and not cleaned.get("date"):
            self.add_error("date", "Choose a draft edition, or give the new edition's date.")
        return cleaned


@admin.action(description="Add to edition…", permissions=["arrange_edition"])
def add_to_edition(modeladmin, request, queryset):
    """Put the chosen letters at the end of a draft edition (picked, or created here)."""
    form = AddToEditionForm(
        request.POST if "apply" in request.POST else None,
        initial={"date": timezone.localdate() + timedelta(days=1)},
    )
    if form.is_valid():
        edition = form.cleaned_data["edition"]
        try:
            if edition is None:
                edition, _ = moderation.create_edition(
                    date=form.cleaned_data["date"],
                    title=form.cleaned_data["title"],
                    actor=request.user,
                )
            ids = list(queryset.order_by("created_at", "id").values_list("pk", flat=True))
            edition, added, refused = moderation.add_to_edition(edition.pk, ids, actor=request.user)
        except (moderation.EditionNotDraft, moderation.NotPermitted) as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        url = reverse("admin:letters_edition_change", args=[edition.pk])
        modeladmin.message_user(
            request,
            format_html(
                'Added {} letter{} to <a href="{}">{}</a>.',
                len(added),
                "" if len(added) == 1 else "s",
                url,
                edition,
            ),
            messages.SUCCESS if added else messages.INFO,
        )
        for letter, reason in refused[:25]:
            modeladmin.message_user(
                request, f"Not added: #{letter.pk} {letter.signature} ({reason}).", messages.WARNING
            )
        target = safe_next(request)
        return HttpResponseRedirect(target) if target else None
    return ask(modeladmin, request, queryset, form, "Add letters to an edition", "add_to_edition")
