from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.html import escape

from . import bot_defence
from .intake import characters
from .models import Letter, count_words


def refuse_line_breaks(value):
    """Names and towns go into mail headers and sign-offs: a line break there is an attack."""
    if any(ch in value for ch in "\r\n\x00"):
        raise ValidationError("Please write this on one line.", code="line_break")


_NAMED_BY_REFUSE_LINE_BREAKS = str.maketrans("", "", "\r\n\x00")


def refuse_invisible_characters(value):
    """A control character or a bidi override in a name or a town would break a feed or turn
    a byline around (letters.intake.characters); the writer is asked to retype the field."""
    found = characters.unwanted_in_line(value.translate(_NAMED_BY_REFUSE_LINE_BREAKS))
    if found:
        raise ValidationError(
            f"This contains an invisible character, {found}, that we cannot print. "
            "Please retype it.",
            code="invisible_character",
        )


AUTOCOMPLETE = {"name": "name", "email": "email", "town": "address-level2", "phone": "tel"}


class LetterForm(forms.ModelForm):
    exclusive = forms.BooleanField(
        label="This letter is written only for this publication and has not been sent elsewhere.",
        error_messages={"required": "Please confirm the letter is exclusive to us."},
    )
    consent = forms.BooleanField(
        label="I agree that my letter may be edited for length and clarity and published "
        "with my name and town.",
        error_messages={"required": "We can only consider letters we may edit and publish."},
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput, required=False)
    # A field people never see: bots fill it in.
    website = forms.CharField(required=False, label="Leave this empty", max_length=200)

    class Meta:
        model = Letter
        fields = ["name", "email", "town", "body", "phone", "exclusive", "consent"]
        labels = {
            "name": "Your name",
            "email": "Your email",
            "town": "Town",
            "body": "Your letter",
            "phone": "Daytime phone (optional)",
        }
        help_texts = {
            "email": "We will email you a link to confirm your letter.",
            "town": 'Printed with your name: "Jane Smith, Hexham".',
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.word_limit = settings.LETTERS_WORD_LIMIT
        self.fields["body"].strip = False  # kept exactly as written
        self.fields["town"].required = True
        self.fields["body"].widget.attrs.update(
            {"data-word-limit": self.word_limit, "aria-describedby": "word-count"}
        )
        for name in ("name", "town", "phone"):
            self.fields[name].validators += [refuse_line_breaks, refuse_invisible_characters]
        # Hints for the browser's autofill (WHATWG autocomplete tokens); a phone keypad on phones.
        for name, hint in AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = hint
        self.fields["phone"].widget.input_type = "tel"

    @cached_property
    def helper(self):
        """The crispy-forms layout, built only when the form is rendered."""
        helper = FormHelper()
        helper.form_id = "letter-form"
        helper.layout = Layout(
            Div(
                Div("name", css_class="col-md-6"),
                Div("town", css_class="col-md-6"),
                css_class="row",
            ),
            "email",
            Field("body"),
            # The count shown as the writer types; screen readers hear it from the polite live
            # region below only when the writer pauses or crosses the limit (word-count.js).
            HTML(
                f'<p id="word-count" class="form-text">Up to {self.word_limit} words.</p>'
                '<p id="word-count-announce" class="visually-hidden" aria-live="polite"></p>'
            ),
            "phone",
            "exclusive",
            "consent",
            "client_token",
            Div("website", css_class="visually-hidden", aria_hidden="true"),
            HTML(self._bot_defence_html()),
            Submit("submit", "Send your letter", css_class="btn-dark"),
        )
        return helper

    # Per page view, unlike the rest of the form: the view renders the blank form once with
    # placeholders here and fills in each reader's own (see views._blank_form_html).
    @cached_property
    def started_token(self):
        return bot_defence.started_token()

    @cached_property
    def challenge_json(self):
        return bot_defence.new_challenge() if bot_defence.enabled() else ""

    def _bot_defence_html(self):
        """The signed timestamp, and the ALTCHA widget (solved invisibly once the reader is in
        the form; without JavaScript it is an unknown, empty element). Escaped values only,
        which the crispy HTML template leaves as they are."""
        html = (
            f'<input type="hidden" name="{bot_defence.STARTED_FIELD}" '
            f'value="{escape(self.started_token)}">'
        )
        if self.challenge_json:
            html += (
                f'<altcha-widget name="{bot_defence.SOLUTION_FIELD}" '
                f'challenge="{escape(self.challenge_json)}" auto="onfocus" display="invisible">'
                "</altcha-widget>"
            )
        return html

    def clean(self):
        cleaned_data = super().clean()
        if bot_defence.too_fast(self.data.get(bot_defence.STARTED_FIELD)):
            raise ValidationError(
                "Your letter arrived within seconds of the page opening, faster than we "
                "expect anyone to write. Please check it and send it again.",
                code="too_fast",
            )
        return cleaned_data

    def clean_email(self):
        email = self.cleaned_data["email"]
        refuse_line_breaks(email)
        refuse_invisible_characters(email)
        return email.strip()

    def clean_body(self):
        body = characters.clean_text(self.cleaned_data["body"])
        if not body.strip():
            raise ValidationError("Please write your letter.", code="required")
        words = count_words(body)
        if words > self.word_limit:
            raise ValidationError(
                f"Your letter has {words} words; the limit is {self.word_limit}. "
                f"Please cut {words - self.word_limit}.",
                code="too_long",
            )
        return body

    @property
    def is_bot(self):
        return bool(self.cleaned_data.get("website"))
