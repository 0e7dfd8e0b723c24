"""manage.py erase_writer EMAIL: erase a writer's personal data at their request."""

import getpass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from letters import moderation
from letters.moderation.erasure import KEEP, WITHDRAW, erasure_preview


class Command(BaseCommand):
    help = (
        "Erase everything the desk holds about the writer at EMAIL (matched case-insensitively), "
        "per the policy in README ('Personal data and retention'): letters deleted, published "
        "ones kept with name and town or withdrawn (LETTERS_ERASE_PUBLISHED, or --published), "
        "raw email emptied; recorded in the erasure log without the address. Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--published",
            choices=[KEEP, WITHDRAW],
            help=f"What happens to published letters (default: {settings.LETTERS_ERASE_PUBLISHED}).",
        )
        parser.add_argument(
            "--note", default="", help="The request's reference for the log (not the address)."
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(self, *, email, published=None, note="", interactive=True, **options):
        try:
            preview = erasure_preview(email, published)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        held = ", ".join(f"{n} {label.lower()}" for label, n in preview["letters"]) or "none"
        self.stdout.write(
            f"Letters: {held}. Emails: {preview['emails']}. "
            f"Published letters will be: {'kept' if preview['policy'] == KEEP else 'withdrawn'}."
        )
        for when in preview["earlier"]:
            self.stdout.write(f"This address was erased before, on {when:%Y-%m-%d %H:%M}.")
        if interactive and input("Type 'yes' to erase: ").strip().lower() != "yes":
            raise CommandError("Nothing erased.")
        try:
            erasure, changed = moderation.erase_writer(
                email,
                actor_label=f"manage.py erase_writer ({getpass.getuser()})",
                note=note,
                published=published,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not changed:
            self.stdout.write(f"Nothing held any more: already erased (erasure #{erasure.pk}).")
            return
        counts = ", ".join(f"{key.replace('_', ' ')}: {n}" for key, n in erasure.counts.items())
        self.stdout.write(f"Erased (erasure #{erasure.pk}): {counts}.")
