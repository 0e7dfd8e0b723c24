#!/usr/bin/env python
"""Django's command-line utility for the letters desk."""

import logging
import os
import sys
from pathlib import Path


def use_development_settings():
    """Take DEBUG=1 (and whatever else) from var/development.env, which only bin/run writes.

    Only when the environment says nothing about DEBUG or SECRET_KEY: production always sets
    both, so it never reads the file, and without the file nothing changes (the settings still
    refuse to start without SECRET_KEY). Exported variables always win over the file. The web
    server (wsgi.py) and Celery never call this.
    """
    if "DEBUG" in os.environ or "SECRET_KEY" in os.environ:
        return
    # The same folder as settings.VAR_DIR, which cannot be imported before DEBUG is known.
    var_dir = Path(os.environ.get("LETTERS_VAR_DIR", Path(__file__).resolve().parent / "var"))
    path = var_dir / "development.env"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        name, equals, value = line.strip().partition("=")
        if equals and not name.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip())
    print(
        f"manage.py: DEBUG and SECRET_KEY are not set, so using the development settings in {path}"
        " (written by bin/run)",
        file=sys.stderr,
    )


# An MTA pipe runs `manage.py receive_email`; Postfix and Exim bounce the letter to its writer
# on any exit code but 0 (stored) and 75 (EX_TEMPFAIL: keep it and retry).
MTA_COMMANDS = {"receive_email"}
EX_TEMPFAIL = 75


def run_for_mta(execute):
    """Run a command an MTA pipe calls so that it ends only in 0 or 75, even when the settings
    cannot load (a missing or malformed environment), with a 4.3.0 status line. Nothing else
    is printed (the MTA puts the output in its log): not Django's start-up chatter, nor the
    broker's warnings; the status line names any error."""
    logging.disable(logging.ERROR)
    try:
        execute()
    except SystemExit as exc:
        if exc.code in (0, EX_TEMPFAIL, None):
            raise
        print(f"4.3.0 temporary failure: exit {exc.code}", flush=True)
        sys.exit(EX_TEMPFAIL)
    except BaseException as exc:  # noqa: BLE001 - any escape would bounce the letter
        print(f"4.3.0 temporary failure: {type(exc).__name__}", flush=True)
        sys.exit(EX_TEMPFAIL)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
    use_development_settings()
    from django.core.management import execute_from_command_line

    if sys.argv[1:2] and sys.argv[1] in MTA_COMMANDS:
        run_for_mta(lambda: execute_from_command_line(sys.argv))
    else:
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
