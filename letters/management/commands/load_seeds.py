from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from letters.seeds import SeedError, load_seeds


class Command(BaseCommand):
    help = (
        "Load the seed articles in seeds/ (safe to run again: unchanged articles are left alone)."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", default=str(settings.BASE_DIR / "seeds"))

    def handle(self, folder, **options):
        try:
            result = load_seeds(folder)
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Seeds: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
        )
