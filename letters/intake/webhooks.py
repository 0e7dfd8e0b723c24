"""Provider webhooks: django-anymail's inbound views, each handing the raw message to us.

Anymail checks the provider's signature (Mailgun, Postal, MailerSend) or HTTP basic auth
(LETTERS_WEBHOOK_SECRET; every other provider); a view whose provider has no signature
refuses everything until basic auth is configured. Answers: 200 once stored; 400 for a
refused (unsigned, badly signed) request, logged; 429 with Retry-After past the per-address
rate limit (LETTERS_RATE_LIMIT_WEBHOOK_IP) and 503 when storage fails, so the provider
retries (never 2xx, never 403, which stops provider retries).
"""

import base64
import logging

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.brevo import BrevoInboundWebhookView
from anymail.webhooks.mailersend import MailerSendInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.mailjet import MailjetInboundWebhookView
from anymail.webhooks.postal import PostalInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from anymail.webhooks.sparkpost import SparkPostInboundWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .. import limits
from ..models import WayIn
from .store import StorageUnavailable, receive_email

log = logging.getLogger(__name__)


def raw_message(event):
    """The message as the provider sent it, where it sent the raw MIME; else anymail's rebuild.

    Raw bytes keep the checksum equal to the same message's arriving another way.
    """
    esp_event = event.esp_event
    if isinstance(esp_event, HttpRequest):
        # Mailgun's inbound_mime ("body-mime"), SendGrid's "POST the raw, full MIME message".
        for name in ("body-mime", "email"):
            if name in esp_event.POST:
                return esp_event.POST[name].encode("utf-8", "surrogateescape")
    elif isinstance(esp_event, dict):
        if isinstance(esp_event.get("RawEmail"), str):  # Postmark, "include raw email"
            return esp_event["RawEmail"].encode("utf-8", "surrogateescape")
        action = esp_event.get("receipt", {}).get("action", {})
        if isinstance(esp_event.get("content"), str) and action.get("type") == "SNS":  # SES
            content = esp_event["content"]
            if action.get("encoding") == "BASE64":
                return base64.b64decode(content)
            return content.encode("utf-8", "surrogateescape")
    return event.message.as_bytes()


class _StoreInbound:
    """Stands in for anymail's `inbound` signal: stores each event's message, by name."""

    @staticmethod
    def send(sender, event, esp_name, **kwargs):
        message = event.message
        recipient = getattr(message, "envelope_recipient", None)
        receive_email(
            raw_message(event),
            way_in=WayIn.WEBHOOK,
            envelope_from=getattr(message, "envelope_sender", None) or "",
            envelope_to=[recipient] if recipient else [],
        )


class StoreInboundMixin:
    signal = _StoreInbound

    def validate_request(self, request):
        # Anymail only warns when basic auth is missing; the desk refuses.
        if getattr(self, "warn_if_no_basic_auth", True) and not self.basic_auth:
            raise AnymailWebhookValidationFailure(
                f"{self.esp_name} inbound webhook refused: LETTERS_WEBHOOK_SECRET is not set"
            )

    def post(self, request, *args, **kwargs):
        address = limits.client_ip(request)
        wait = limits.hit(
            "webhook", limits.client_key(address), settings.LETTERS_RATE_LIMIT_WEBHOOK_IP
        )
        if wait:
            log.warning("%s inbound webhook from %s over the rate limit", self.esp_name, address)
            return HttpResponse(
                "Too many requests.", status=429, headers={"Retry-After": str(wait)}
            )
        try:
            return super().post(request, *args, **kwargs)
        except AnymailWebhookValidationFailure as exc:
            log.warning(
                "Refused %s inbound webhook from %s: %s",
                self.esp_name,
                request.META.get("REMOTE_ADDR"),
                exc,
            )
            return HttpResponse("Refused.", status=400)
        except StorageUnavailable as exc:
            log.error(
                "%s inbound webhook: could not store (%s); asking to retry", self.esp_name, exc
            )
            return HttpResponse(
                "Temporarily unavailable.", status=503, headers={"Retry-After": "60"}
            )


def _view(base):
    return type(f"Letters{base.__name__}", (StoreInboundMixin, base), {})


PROVIDER_VIEWS = {
    "amazon_ses": _view(AmazonSESInboundWebhookView),
    "brevo": _view(BrevoInboundWebhookView),
    "mailersend": _view(MailerSendInboundWebhookView),
    "mailgun": _view(MailgunInboundWebhookView),
    "mailjet": _view(MailjetInboundWebhookView),
    "postal": _view(PostalInboundWebhookView),
    "postmark": _view(PostmarkInboundWebhookView),
    "sendgrid": _view(SendGridInboundWebhookView),
    "sparkpost": _view(SparkPostInboundWebhookView),
}
