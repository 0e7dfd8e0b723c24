import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "For a new local desk: create an 'editor' superuser with a random password, once, "
        "and write the login to var/editor-login.txt. Does nothing if a superuser exists."
    )

    def handle(self, **options):
        User = get_user_model()
        login_file = settings.VAR_DIR / "editor-login.txt"
        if User.objects.filter(is_superuser=True).exists():
            if login_file.exists():
                self.stdout.write(f"Editor login: {login_file.read_text().strip()}")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("editor", "editor@localhost", password)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"user editor, password {password}\n")
        login_file.chmod(0o600)
        self.stdout.write(f"Editor login: user editor, password {password}")
