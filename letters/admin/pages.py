"""The desk's own admin pages beyond the models': the dashboard and the writer page (with the
merge of two addresses). Mounted under the admin's path by reaction_letters.urls, behind the
admin's sign-in (admin_view) and the letters' view permission."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from .. import moderation
from ..checks import dashboard
from ..models import LetterChecks, Status
from ..moderation import writers
from ..moderation.writer_data import writer_address
from . import charts

MAX_DAYS = 400


class RangeForm(forms.Form):
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def dates(self, days=30):
        """(start, end): the dates asked for, else the last `days` days to today."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=days - 1)
        if start > end:
            start, end = end, start
        return max(start, end - timedelta(days=MAX_DAYS - 1)), end


def _needs_view(request):
    if not request.user.has_perm("letters.view_letter"):
        raise PermissionDenied


def _duration(value):
    if value is None:
        return "-"
    hours = value.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def headline_figures(figures):
    """[(figure, what it is)] for the row of boxes at the top of the dashboard."""
    rate = figures["acceptance_rate"]
    return [
        (str(figures["total"]), "letters received"),
        (
            f"{figures['campaign_share']:.1%}",
            f"flagged campaign ({figures['campaign']} letters)",
        ),
        (f"{figures['suspect_share']:.1%}", f"flagged suspect ({figures['suspect']} letters)"),
        (_duration(figures["median_to_decision"]), "median time from arrival to decision"),
        (
            "-" if rate is None else f"{rate:.0%}",
            f"accepted ({figures['accepted']} approved or published, "
            f"{figures['rejected']} rejected)",
        ),
        (str(sum(n for _, n in figures["awaiting_by_age"])), "awaiting a decision now"),
    ]


def dashboard_view(request):
    _needs_view(request)
    form = RangeForm(request.GET or None)
    days = request.GET.get("days", "")
    start, end = form.dates(int(days) if days.isdigit() and 0 < int(days) <= MAX_DAYS else 30)
    if not form.is_bound or days:
        form = RangeForm(initial={"start": start, "end": end})
    figures = dashboard.figures(start, end)
    context = {
        **admin.site.each_context(request),
        "title": "The desk in figures",
        "form": form,
        "figures": figures,
        "days_chart": charts.stacked_days(figures["per_day"]),
        "articles_chart": charts.horizontal(
            [(headline, n) for _, headline, n in figures["per_article"]]
        ),
        "ages_chart": charts.horizontal(figures["awaiting_by_age"], label_width=100),
        "headline": headline_figures(figures),
        "shortcuts": [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days")],
    }
    return TemplateResponse(request, "admin/letters/dashboard/dashboard.html", context)


class MergeForm(forms.Form):
    address = forms.EmailField(
        label="Same person as", help_text="Their letters from that address show here too."
    )
    note = forms.CharField(required=False, max_length=500, label="Why (kept in the record)")


def writer_view(request, address):
    _needs_view(request)
    try:
        main = writers.canonical(address)
    except ValueError as exc:
        raise PermissionDenied(str(exc)) from None
    if main != writer_address(address):
        return redirect("letters_writer", address=main)
    form = MergeForm(request.POST or None)
    if request.method == "POST":
        if not moderation.can(request.user, "reconsider"):
            raise PermissionDenied
        if form.is_valid():
            moderation.merge_writers(
                form.cleaned_data["address"],
                main,
                actor=request.user,
                note=form.cleaned_data["note"],
            )
            messages.success(request, f"{form.cleaned_data['address']} is now shown with {main}.")
            return redirect("letters_writer", address=main)
    letters = list(
        writers.letters_of(main)
        .with_flags()
        .select_related("article")
        .order_by("-created_at")[:200]
    )
    summary = writers.letters_of(main).aggregate(
        last_published=Max("published_at"), last_letter=Max("created_at")
    )
    outcomes = {}
    for letter in letters:
        outcomes[letter.get_status_display()] = outcomes.get(letter.get_status_display(), 0) + 1
    checks = dict(
        LetterChecks.objects.filter(letter__in=letters).values_list("letter_id", "quotes_not_found")
    )
    for letter in letters:
        letter.badges = [
            (flag.name, why, letter.badge(flag)) for flag, why in letter.carried_flags()
        ]
        letter.misquotes = checks.get(letter.pk, 0)
    context = {
        **admin.site.each_context(request),
        "title": f"Writer: {main}",
        "address": main,
        "addresses": writers.addresses(main),
        "merges": writers.merges_of(main),
        "letters": letters,
        "summary": summary,
        "published": sum(letter.status == Status.PUBLISHED for letter in letters),
        "outcomes": sorted(outcomes.items()),
        "form": form,
        "can_merge": moderation.can(request.user, "reconsider"),
    }
    return TemplateResponse(request, "admin/letters/writer/writer.html", context)


urlpatterns = [
    path("desk/dashboard/", admin.site.admin_view(dashboard_view), name="letters_dashboard"),
    path(
        "desk/writers/<str:address>/",
        admin.site.admin_view(writer_view),
        name="letters_writer",
    ),
]
