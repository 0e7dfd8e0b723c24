"""manage.py export_writer EMAIL: everything the desk holds about a writer, as JSON."""

import json
import os

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from letters import moderation


class Command(BaseCommand):
    help = (
        "Write everything the desk holds about the writer at EMAIL (matched case-insensitively) "
        "as JSON: letters with every field, the email they sent, events, notes, replies and "
        "notices. To standard output, or to --output (created readable by its owner only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--output", "-o", help="A file to write instead of standard output.")

    def handle(self, *, email, output=None, **options):
        try:
            data = moderation.export_writer(email)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        # Personal data: the file is its owner's alone, from the moment it exists.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        self.stderr.write(
            f"Wrote {len(data['letters'])} letters and {len(data['emails'])} emails to {output}."
        )
