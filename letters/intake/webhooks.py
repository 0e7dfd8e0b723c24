"""Provider webhooks: django-anymail's inbound views, each handing the raw message to us.

Anymail checks the provider's signature (Postal, MailerSend: over the whole message) and HTTP
basic auth (LETTERS_WEBHOOK_SECRET): every provider but those two needs basic auth, Mailgun
too, because its signature covers only a timestamp and a token, not the message. A Mailgun
request with a timestamp older than LETTERS_WEBHOOK_MAX_AGE_SECONDS, or a token used (or being
used that moment) for another message, is a replay and refused. Answers: 200 once stored; 400
for a refused (unsigned, badly signed, replayed) request or a provider whose key is not
configured, logged; 429 with Retry-After past the per-address rate limit
(LETTERS_RATE_LIMIT_WEBHOOK_IP) and 503 when storage fails, so the provider retries (never 2xx,
never 403, which stops retries).
"""

import base64
import functools
import hashlib
import json
import logging
import secrets
import time

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
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
from django.core.cache import cache
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

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)

        @functools.wraps(view)
        def refusing_unconfigured(request, *args, **kwargs):
            # Anymail makes the view per request and raises if the provider's key is not
            # set: that is the sender's request refused, not the desk's error.
            try:
                return view(request, *args, **kwargs)
            except AnymailConfigurationError as exc:
                log.warning("Refused %s: the provider is not configured (%s)", cls.__name__, exc)
                return HttpResponse("Refused: this provider is not configured.", status=400)

        return refusing_unconfigured

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


class RefuseMailgunReplays:
    """Mailgun signs a timestamp and a token, not the message: a signed request could be sent
    again with another message. Basic auth is required too; a stale timestamp is refused; and
    before its message is stored, the request claims its token in the shared cache with a
    digest of itself. The token is refused with any other request, even one racing the first;
    the same request again (the provider delivering twice) goes on and is stored once, as any
    duplicate is. A token is remembered only with a stored message: a claim whose message was
    not stored (503, so the provider retries) is let go."""

    warn_if_no_basic_auth = True

    def parse_events(self, request):
        timestamp, token = _mailgun_signature(request)
        max_age = settings.LETTERS_WEBHOOK_MAX_AGE_SECONDS
        if abs(time.time() - timestamp) > max_age:
            raise AnymailWebhookValidationFailure(
                f"Mailgun webhook timestamp more than {max_age} seconds away"
            )
        self.token, self.digest = token, _digest(request)
        self.claim = _claim_token(token, self.digest)
        return super().parse_events(request)

    def post(self, request, *args, **kwargs):
        self.token = self.claim = None
        stored = False
        try:
            response = super().post(request, *args, **kwargs)
            stored = response.status_code == 200
            return response
        finally:
            if stored and self.token:
                _remember_token(self.token, self.digest)
            elif self.claim:
                _release_token(self.token, self.claim)


def _claim_token(token, digest):
    """Claims a Mailgun token for the request whose digest this is, before its message is
    stored. Returns the claim (to let go of if the message is not stored), or None when the
    same request holds the token already (delivered again: it goes on, stored once); raises
    AnymailWebhookValidationFailure when another request holds it. cache.add is atomic (SET NX
    in Redis, a lock in LocMem), so of two requests racing with one token only one claims it.
    """
    key = _token_key(token)
    # "digest:nonce" while the message is being stored, the bare digest once it is: either way
    # the digest comes first, and a claim is told from a stored message's memory.
    claim = f"{digest}:{secrets.token_hex(8)}"
    # A claim can be let go between our add and our get (its message not stored): then the
    # token is free again, and one more add settles it.
    for _ in range(2):
        if cache.add(key, claim, timeout=_token_timeout()):
            return claim
        held = cache.get(key)
        if held is not None:
            if held.partition(":")[0] != digest:
                raise AnymailWebhookValidationFailure(
                    "Mailgun webhook token used for another message"
                )
            return None
    raise StorageUnavailable("Mailgun webhook token claimed and let go twice meanwhile")


def _remember_token(token, digest):
    """Remembers a token whose message is stored, with no claim in it: a claim of the same
    request whose storing failed then finds nothing of its own to let go of."""
    cache.set(_token_key(token), digest, timeout=_token_timeout())


def _release_token(token, claim):
    """Lets go of this request's claim on a token, so the provider's retry goes through; only
    if the cache still holds this very claim, not the memory of its message stored by the same
    request delivered again. Get then delete is not atomic, but before a claim expires nothing
    replaces it except that memory, which is written with no claim to match."""
    key = _token_key(token)
    try:
        if cache.get(key) == claim:
            cache.delete(key)
    except Exception:
        # The answer (a 503, or the error being raised) matters more than the claim, which
        # expires on its own.
        log.warning("Could not let go of a Mailgun webhook token's claim", exc_info=True)


def _token_timeout():
    # A request is accepted up to LETTERS_WEBHOOK_MAX_AGE_SECONDS either side of its
    # timestamp, so its token must be remembered for twice that from now.
    return 2 * settings.LETTERS_WEBHOOK_MAX_AGE_SECONDS


def _mailgun_signature(request):
    """(timestamp, token) of a Mailgun request (whose signature anymail has checked)."""
    try:
        if request.content_type == "application/json":
            block = json.loads(request.body.decode("utf-8"))["signature"]
            timestamp, token = block["timestamp"], block["token"]
        else:
            timestamp, token = request.POST["timestamp"], request.POST["token"]
        return float(timestamp), str(token)
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise AnymailWebhookValidationFailure("Mailgun webhook without timestamp") from exc


def _digest(request):
    """A digest of what the request carries: its JSON body, or its form fields and files."""
    digest = hashlib.sha256()
    if request.content_type == "application/json":
        digest.update(request.body)
        return digest.hexdigest()
    for name, values in sorted(request.POST.lists()):
        digest.update(json.dumps([name, values]).encode())
    for name, upload in sorted(request.FILES.items()):
        digest.update(name.encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def _token_key(token):
    return f"letters:mailgun-token:{token}"


def _view(base, *guards):
    return type(f"Letters{base.__name__}", (*guards, StoreInboundMixin, base), {})


PROVIDER_VIEWS = {
    "amazon_ses": _view(AmazonSESInboundWebhookView),
    "brevo": _view(BrevoInboundWebhookView),
    "mailersend": _view(MailerSendInboundWebhookView),
    "mailgun": _view(MailgunInboundWebhookView, RefuseMailgunReplays),
    "mailjet": _view(MailjetInboundWebhookView),
    "postal": _view(PostalInboundWebhookView),
    "postmark": _view(PostmarkInboundWebhookView),
    "sendgrid": _view(SendGridInboundWebhookView),
    "sparkpost": _view(SparkPostInboundWebhookView),
}
