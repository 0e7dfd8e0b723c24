"""Rebuild the similarity index (campaigns and repeats) from the letters in the database."""

import time

from django.core.management.base import BaseCommand

from letters.checks import rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the near-duplicate index from the letters of the window "
        "(LETTERS_CAMPAIGN_WINDOW_DAYS): signatures, band keys, pairs and clusters."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        progress = self.stdout.write if options["verbosity"] > 1 else None
        result = rebuild.rebuild(progress=progress)
        self.stdout.write(
            f"Indexed {result['letters']} letters: {result['pairs']} near-duplicate pairs in "
            f"{result['clusters']} clusters ({time.monotonic() - started:.1f} s)."
        )
