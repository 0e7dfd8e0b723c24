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
    """Production runs several processes: rate limits and used proof-of-work challenges must be
    counted in one cache they all share (CACHE_URL), or each process counts on its own."""
    if settings.CACHE_URL or (
        not settings.LETTERS_RATE_LIMITS and not settings.LETTERS_BOT_CHALLENGE
    ):
        return []
    return [
        checks.Warning(
            "CACHE_URL is not set: rate limits and used proof-of-work challenges are kept in "
            "each process's own memory, so every gunicorn worker counts separately and a "
            "solved challenge can be used once per worker.",
            hint="Set CACHE_URL=redis://host:6379/1 (a Redis database of its own).",
            id="letters.W001",
        )
    ]
