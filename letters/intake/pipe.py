"""The MTA pipe: one message on standard input, exit 0 once stored, 75 to make the MTA retry.

Postfix's pipe(8) treats every exit code but 0 and EX_TEMPFAIL (75) as a permanent failure
and bounces the letter to its writer, so nothing here may end with any other code.
"""

import argparse
import os
import sys

import django
from django.conf import settings

EX_OK = 0
EX_TEMPFAIL = 75
READ_CHUNK = 1024 * 1024


def read_message(stream, limit):
    """Read the whole input; keep at most limit + 1 bytes. Returns (bytes, total size)."""
    kept, total = [], 0
    while chunk := stream.read(READ_CHUNK):
        if total <= limit:
            kept.append(chunk[: limit + 1 - total])
        total += len(chunk)
    return b"".join(kept), total


def deliver(stdin, stdout, *, sender=None, recipients=()):
    """Store the message on `stdin`; return the exit code for the MTA."""
    try:
        # Imported here, not at the top: `python -m letters.intake.pipe` loads this module
        # before Django is set up, and a broken settings file must still end in exit 75.
        from ..models import WayIn
        from .store import NULL_SENDER, StorageUnavailable, receive_email

        raw, total = read_message(stdin, settings.LETTERS_INBOUND_MAX_BYTES)
        if not raw.strip():
            stdout.write("5.6.0 empty message ignored\n")
            return EX_OK
        envelope_from = (sender or NULL_SENDER) if sender is not None else ""
        try:
            row, created = receive_email(
                raw,
                way_in=WayIn.PIPE,
                envelope_from=envelope_from,
                envelope_to=list(recipients),
                total_size=total,
            )
        except StorageUnavailable as exc:
            stdout.write(f"4.3.0 {exc}\n")
            return EX_TEMPFAIL
        stdout.write(f"stored as inbound email {row.pk}{'' if created else ' (duplicate)'}\n")
        return EX_OK
    except BaseException as exc:  # noqa: BLE001 - any escape would bounce the letter
        try:
            stdout.write(f"4.3.0 temporary failure: {type(exc).__name__}\n")
        except Exception:  # noqa: BLE001
            pass
        return EX_TEMPFAIL


def main():
    """`python -m letters.intake.pipe`: the same, guarded even against broken settings."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--sender")
    parser.add_argument("--recipient", action="append", default=[])
    try:
        args, _ = parser.parse_known_args()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
        django.setup()
    except BaseException as exc:  # noqa: BLE001
        sys.stdout.write(f"4.3.5 desk misconfigured: {type(exc).__name__}\n")
        sys.exit(EX_TEMPFAIL)
    sys.exit(deliver(sys.stdin.buffer, sys.stdout, sender=args.sender, recipients=args.recipient))


if __name__ == "__main__":
    main()
