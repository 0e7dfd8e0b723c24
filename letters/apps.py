from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = "Letters to the editor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(check_shared_cache, checks.Tags.security, deploy=True)


def check_shared_cache(app_configs, **kwargs):
    """Production runs several processes: rate limits, used proof-of-work challenges and used
    Mailgun webhook tokens must be kept in one cache they all share (CACHE_URL), or each
    process keeps its own."""
    if settings.CACHE_URL or (
        not settings.LETTERS_RATE_LIMITS
        and not settings.LETTERS_BOT_CHALLENGE
        and "MAILGUN_WEBHOOK_SIGNING_KEY" not in settings.ANYMAIL
    ):
        return []
    return [
        checks.Warning(
            "CACHE_URL is not set: rate limits, used proof-of-work challenges and the Mailgun "
            "webhook's used tokens (its replay memory) are kept in each process's own memory, "
            "so every gunicorn worker counts separately, a solved challenge can be used once "
            "per worker, and a Mailgun token once per worker, with another message.",
            hint="Set CACHE_URL=redis://host:6379/1 (a Redis database of its own).",
            id="letters.W001",
        )
    ]
