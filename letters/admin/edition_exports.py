"""A published edition's exports on its admin page: the print-ready text in a box with a
"Copy" button (static/letters/copy-export.js), and links to the HTML fragment and the JSON."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .. import exports
from ..models import EditionStatus


class EditionExportsMixin:
    """Adds the read-only field `for_print` to an Edition admin (add it to fields and
    readonly_fields)."""

    class Media:
        js = ["letters/copy-export.js"]
        css = {"all": ["letters/admin-export.css"]}

    @admin.display(description="for print and the CMS")
    def for_print(self, edition):
        if edition.pk is None or edition.status != EditionStatus.PUBLISHED:
            return "Once the edition is published: its text for print, HTML and JSON."
        edition = exports.published_editions().get(pk=edition.pk)
        date = edition.date.isoformat()
        return format_html(
            '<textarea id="edition-export" class="edition-export" rows="18" cols="80" readonly>'
            "{}</textarea><br>"
            '<button type="button" class="button" data-copy-target="edition-export">Copy the text</button> '
            '<span class="copy-done" role="status" aria-live="polite"></span> · '
            '<a href="{}">Plain text</a> · <a href="{}">HTML fragment</a> · <a href="{}">JSON</a>',
            exports.edition_text(edition),
            reverse("letters:edition_text", kwargs={"date": date}),
            reverse("letters:edition_html", kwargs={"date": date}),
            reverse("letters:edition_json", kwargs={"date": date}),
        )
