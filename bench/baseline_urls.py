"""The desk's URLs plus a bare Django ModelForm POST, the benchmark's baseline.

The bare view does what any Django form does and nothing the desk adds: look up the article,
validate a ModelForm over the letter's fields (CSRF on, through the same middleware), save the
row and redirect. No moderation, no audit event, no Celery enqueue, no crispy rendering.
"""

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import engines
from django.urls import path

from letters.models import Article, Letter
from reaction_letters.urls import urlpatterns as desk_urlpatterns

PAGE = engines["django"].from_string(
    '<form method="post">{% csrf_token %}{{ form }}<button>Send</button></form>'
)


class BareLetterForm(forms.ModelForm):
    class Meta:
        model = Letter
        fields = ["name", "email", "town", "body", "phone", "exclusive", "consent"]


def bare(request, slug):
    article = get_object_or_404(Article, slug=slug)
    form = BareLetterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        letter = form.save(commit=False)
        letter.article = article
        letter.save()
        return redirect(f"/bench/bare/{slug}/?letter={letter.pk}")
    return HttpResponse(PAGE.render({"form": form}, request))


urlpatterns = [
    path("bench/bare/<slug:slug>/", bare),
    *desk_urlpatterns,
]
