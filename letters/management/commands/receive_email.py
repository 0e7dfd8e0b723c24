import sys

from django.core.management.base import BaseCommand

from letters.intake.pipe import EX_OK, EX_TEMPFAIL, deliver


class Command(BaseCommand):
    help = (
        "Store one RFC 822 message read from standard input (an MTA pipe transport). "
        "Exits 0 once stored, 75 (EX_TEMPFAIL) when the MTA should retry; never anything else. "
        "Stores in this process (about 0.5 s of CPU a message, Django's start-up); the fast "
        "pipe is `python -m letters.intake.pipe` with LETTERS_PIPE_RELAY set, which hands the "
        "message to the running SMTP listener (docs/email-intake.md)."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--sender", help="Envelope sender (Postfix ${sender}); empty: <>.")
        parser.add_argument(
            "--recipient", action="append", default=[], help="Envelope recipient (repeatable)."
        )

    def run_from_argv(self, argv):
        # A usage error (exit 2) or any crash would make Postfix bounce the letter.
        try:
            super().run_from_argv(argv)
        except SystemExit as exc:
            if exc.code not in (EX_OK, EX_TEMPFAIL, None):
                sys.stdout.write("4.3.5 receive_email: bad arguments\n")
                sys.exit(EX_TEMPFAIL)
            raise
        except BaseException as exc:  # noqa: BLE001
            sys.stdout.write(f"4.3.0 temporary failure: {type(exc).__name__}\n")
            sys.exit(EX_TEMPFAIL)

    def handle(self, *, sender, recipient, **options):
        sys.stdout.flush()
        sys.exit(deliver(sys.stdin.buffer, sys.stdout, sender=sender, recipients=recipient))
