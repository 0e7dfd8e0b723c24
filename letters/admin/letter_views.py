"""The letter page's own views, mixed into LetterAdmin: its form saved through
letters.moderation, the decision buttons that save the pending edit first (decide), the step to
the next or previous letter of the queue the editor came from, and undo.

The queue's filters travel as Django's preserved filters (`_changelist_filters`): from the
queue to the letter, through a decision, to the next letter, and back.
"""

import copy

from django.contrib import messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.views.main import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.urls import path, reverse

from .. import moderation
from ..models import Letter, LetterEvent, Status
from .actions import DECIDE, undo_offered
from .letter_page import in_queue, letter_page_context


class LetterPageViews:
    """The letter page of LetterAdmin (a ModelAdmin mixin)."""

    def save_model(self, request, obj, form, change):
        """Saved through letters.moderation (never obj.save()): the edit, the article and the
        note are recorded with who made them, and the writer's original is left alone."""
        refusal = self.save_page(request, obj, form)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)

    def save_page(self, request, letter, form):
        """Save what the letter page's form changed, each through letters.moderation: the
        version to publish and headline (with the version check), the article, a new note.
        Returns the reason the text was refused (nothing else is saved then), or None."""
        if {"edited_body", "headline"} & set(form.changed_data):
            try:
                moderation.edit_text(
                    letter.pk,
                    edited_body=form.cleaned_data["edited_body"] or "",
                    headline=form.cleaned_data["headline"],
                    actor=request.user,
                    expected_version=form.cleaned_data["version"],
                )
            except (
                moderation.EditConflict,
                moderation.EditTooLong,
                moderation.NotPermitted,
                moderation.TransitionNotAllowed,
            ) as exc:
                return str(exc)
        article = form.cleaned_data.get("article")
        if "article" in form.changed_data and article is not None:
            moderation.assign_to_article(letter.pk, article.pk, actor=request.user)
        note = form.cleaned_data.get("new_note", "").strip()
        if note:
            moderation.add_note(letter.pk, note, actor=request.user)
        return None

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(
            form.__name__,
            (form,),
            {"user": request.user, "refusal": getattr(request, "desk_refusal", None)},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and request.POST.get(DECIDE):
            response = self.decide(request, object_id)
            if response is not None:
                return response
            # Not decided: the page again, with the editor's text and the reason.
        letter = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if letter is not None:
            extra.update(letter_page_context(request, letter))
            extra["undo"] = undo_offered(request, self.queue_filters(request))
            extra["title"] = f"Letter from {letter.name}"
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def decide(self, request, object_id):
        """A decision button on the letter page: save the pending edit first, through
        letters.moderation with the version check, then take the decision (the queue's own
        action, so the same checks and messages) and open the next letter of the queue.

        Returns None when the edit is refused (a conflict, over the hard limit, a form error):
        nothing is decided and the page shows again with the editor's text and the reason.
        """
        letter = self.get_object(request, object_id)
        action = self.get_actions(request).get(request.POST[DECIDE])
        if letter is None or action is None or not self.has_change_permission(request, letter):
            raise PermissionDenied
        form = self.get_form(request, letter, change=True)(request.POST, instance=letter)
        if not form.is_valid():
            return None
        refusal = self.save_page(request, letter, form)
        if refusal:
            request.desk_refusal = refusal
            return None
        shown = letter.status
        response = action.func(self, request, Letter.objects.filter(pk=letter.pk))
        if response is not None and not isinstance(response, HttpResponseRedirect):
            return response  # a page asking for a reason or a time (reject, publish)
        if Letter.objects.filter(pk=letter.pk, status=shown).exists():
            return HttpResponseRedirect(self.letter_url(letter.pk, request))  # refused: stay
        return HttpResponseRedirect(self.step_url(letter.pk, request))

    # The letter page's neighbours in the queue the editor came from, and undo
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/next/", view(self.next_view), name="letters_letter_next"),
            path(
                "<int:object_id>/previous/",
                view(self.previous_view),
                name="letters_letter_previous",
            ),
            path("<int:object_id>/undo/", view(self.undo_view), name="letters_letter_undo"),
            *super().get_urls(),
        ]

    @staticmethod
    def queue_filters(request):
        """The queue's query string the editor came from (Django's preserved filters)."""
        return request.GET.get("_changelist_filters", "")

    def letter_url(self, letter_id, request):
        return in_queue("admin:letters_letter_change", letter_id, self.queue_filters(request))

    def step_url(self, letter_id, request):
        return in_queue("admin:letters_letter_next", letter_id, self.queue_filters(request))

    def next_view(self, request, object_id):
        return self.step(request, object_id, forward=True)

    def previous_view(self, request, object_id):
        return self.step(request, object_id, forward=False)

    def step(self, request, object_id, *, forward):
        """Open the letter after (or before) this one in the queue the editor came from: same
        filters, same order. At the end of the list, back to the queue, saying so."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        filters = self.queue_filters(request)
        queue_url = reverse("admin:letters_letter_changelist") + (f"?{filters}" if filters else "")
        as_queue = copy.copy(request)
        as_queue.GET = QueryDict(filters)
        as_queue.GET._mutable = False
        as_queue.desk_neighbours_only = True
        if IS_POPUP_VAR in as_queue.GET:
            return HttpResponseRedirect(queue_url)
        try:
            other = self.get_changelist_instance(as_queue).neighbour(object_id, forward=forward)
        except IncorrectLookupParameters:
            other = None
        if other is None:
            self.message_user(
                request,
                "No more letters in this list."
                if forward
                else "This is the first letter of the list.",
                messages.INFO,
            )
            return HttpResponseRedirect(queue_url)
        return HttpResponseRedirect(self.letter_url(other, request))

    def undo_view(self, request, object_id):
        """Take back the decision just made on this letter (moderation.undo), then show it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            letter, changed = moderation.undo(
                object_id, int(request.POST.get("event", "")), actor=request.user
            )
        except (ValueError, LetterEvent.DoesNotExist, Letter.DoesNotExist):
            self.message_user(request, "There is no such decision to undo.", messages.ERROR)
        except (moderation.TransitionNotAllowed, moderation.NotPermitted) as exc:
            self.message_user(request, f"Not undone: {exc}", messages.WARNING)
        else:
            status = Status(letter.status).label.lower()
            self.message_user(
                request,
                f"Undone: {letter.name}'s letter is {status} again."
                if changed
                else "Already undone: nothing changed.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self.letter_url(object_id, request))
