from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = "Letters to the editor"
    default_auto_field = "django.db.models.BigAutoField"
