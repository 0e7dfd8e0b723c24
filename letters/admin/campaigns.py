"""Campaigns: the clusters of near-duplicate letters (letters.checks), each on a page that
shows its letters side by side with the passages they share highlighted, and settles it in
one act (keep one letter, reject the rest: letters.moderation.settle_campaign). Also the list
of other outlets' letters desks the exclusivity check knows."""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Min
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import moderation
from ..checks import shingles as sh
from ..models import Cluster, Letter, RejectionReason, ReplyKind, ReplyTemplate

# Letters shown in full, side by side; the rest of a big campaign is listed below them.
CARDS = 24
LISTED = 1000


class SettleForm(forms.Form):
    keep = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.ChoiceField(choices=RejectionReason.choices, initial=RejectionReason.CAMPAIGN)
    reply_template = forms.ModelChoiceField(
        queryset=ReplyTemplate.objects.filter(kind=ReplyKind.REJECTION, active=True),
        required=False,
        empty_label="No reply",
        help_text="Sent to each rejected writer after the decisions are saved.",
    )


def shared_passages(letters):
    """{letter id: its text as HTML with the shingles it shares with another letter marked}."""
    sets = {letter.pk: sh.shingles(letter.body) for letter in letters}
    counts = Counter(shingle for shingles in sets.values() for shingle in shingles)
    shared = {shingle for shingle, n in counts.items() if n > 1}
    return {
        letter.pk: mark_safe(sh.shared_passages_html(letter.body, shared)) for letter in letters
    }


class ClusterAdmin(admin.ModelAdmin):
    list_display = ("cluster", "size", "writers", "campaign", "first_letter", "updated_at")
    list_display_links = ("cluster",)
    ordering = ("-writers", "-size", "-id")
    list_per_page = 50
    change_form_template = "admin/letters/cluster/cluster_page.html"

    class Media:
        css = {"all": ["letters/admin-letters.css", "letters/admin-campaigns.css"]}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(first_id=Min("members__letter_id"))

    @admin.display(description="cluster", ordering="id")
    def cluster(self, cluster):
        return f"Cluster #{cluster.pk}"

    @admin.display(description="campaign", boolean=True)
    def campaign(self, cluster):
        return cluster.is_campaign

    @admin.display(description="first letter")
    def first_letter(self, cluster):
        letter = Letter.objects.filter(pk=cluster.first_id).only("id", "name", "body").first()
        if letter is None:
            return "-"
        return format_html("{}: {}…", letter.name, letter.body[:80])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        cluster = get_object_or_404(Cluster, pk=object_id)
        members = list(
            Letter.objects.filter(similarity__cluster=cluster)
            .select_related("article")
            .order_by("created_at", "id")[:LISTED]
        )
        can_settle = moderation.can(request.user, "approve") and moderation.can(
            request.user, "reject"
        )
        form = SettleForm(request.POST or None)
        if request.method == "POST":
            if not can_settle:
                raise PermissionDenied
            if form.is_valid() and form.cleaned_data["keep"]:
                return self._settle(request, cluster, members, form)
            messages.error(request, "Choose the letter to keep.")
        cards = members[:CARDS]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Cluster #{cluster.pk}: {cluster.size} letters from {cluster.writers} writers",
            "cluster": cluster,
            "cards": cards,
            "texts": shared_passages(cards),
            "listed": members,
            "more": max(cluster.size - len(members), 0),
            "form": form,
            "can_settle": can_settle,
            "media": self.media,
        }
        for letter in cards:
            letter.marked = context["texts"][letter.pk]
        return TemplateResponse(request, self.change_form_template, context)

    def _settle(self, request, cluster, members, form):
        try:
            result = moderation.settle_campaign(
                cluster.pk,
                form.cleaned_data["keep"],
                letter_ids=[letter.pk for letter in members],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                reply_template=form.cleaned_data.get("reply_template"),
            )
        except (moderation.NotInCluster, moderation.TransitionNotAllowed) as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        kept = form.cleaned_data["keep"]
        messages.success(
            request,
            f"Letter #{kept} {'approved' if result['kept'] else 'kept as it was'}; "
            f"{len(result['rejected'])} rejected; {len(result['left'])} left as they were "
            "(already decided or not confirmed).",
        )
        return redirect(reverse("admin:letters_letter_change", args=[kept]))


class DeskDomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "outlet", "added_at")
    search_fields = ("domain", "outlet")
    fields = ("domain", "outlet")
