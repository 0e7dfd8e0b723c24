"""The MTA pipe: one message on standard input, exit 0 once stored, 75 to make the MTA retry.

Postfix's pipe(8) treats every exit code but 0 and EX_TEMPFAIL (75) as a permanent failure
and bounces the letter to its writer, so nothing here may end with any other code.

The fast way (`python -m letters.intake.pipe` with LETTERS_PIPE_RELAY=host:port) hands the
message to the desk's running SMTP listener and exits with its answer: the process imports
the standard library only (no Django, no database driver, no broker), because on the
project's machines importing Django's ORM alone costs 0.2 s of CPU, psycopg and redis another
0.2 s each. When the listener cannot be reached (or refuses the message for good), the pipe
stores the message itself, in-process, as `manage.py receive_email` always does: slower, and
just as sure.
"""

import argparse
import logging
import os
import re
import smtplib
import sys

EX_OK = 0
EX_TEMPFAIL = 75
READ_CHUNK = 1024 * 1024

RELAY_VARIABLE = "LETTERS_PIPE_RELAY"
# The listener greets "220 <host> letters desk" (letters/intake/smtp.py, ident=): anything
# else on that port is not the desk, and must not be handed a letter.
LISTENER_IDENT = "letters desk"
RELAY_TIMEOUT_SECONDS = 60
# settings.LETTERS_INBOUND_MAX_BYTES, read before Django is loaded (same variable, same default).
DEFAULT_MAX_BYTES = 30 * 1024 * 1024
ENHANCED_CODE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\b")
STORED_AS = re.compile(r"stored as inbound email \d+")
# What the listener records as the envelope exactly as given; anything else (spaces, angle
# brackets, control characters) is stored by the pipe itself, verbatim.
PLAIN_ADDRESS = re.compile(r"[^\s<>()\x00-\x1f\x7f]*\Z")
LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")


class NotRelayed(Exception):
    """The listener did not take the message: the pipe stores it itself."""


def read_message(stream, limit):
    """Read the whole input; keep at most limit + 1 bytes. Returns (bytes, total size)."""
    kept, total = [], 0
    while chunk := stream.read(READ_CHUNK):
        if total <= limit:
            kept.append(chunk[: limit + 1 - total])
        total += len(chunk)
    return b"".join(kept), total


def relay_address(environ):
    """(host, port) from LETTERS_PIPE_RELAY, None when unset; ValueError when malformed."""
    value = environ.get(RELAY_VARIABLE, "").strip()
    if not value:
        return None
    host, colon, port = value.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{RELAY_VARIABLE} must be host:port, e.g. 127.0.0.1:2525, not {value!r}")
    return host, int(port)


def max_bytes(environ):
    """LETTERS_INBOUND_MAX_BYTES as the settings read it; ValueError when malformed."""
    value = environ.get("LETTERS_INBOUND_MAX_BYTES", "").strip()
    return int(value) if value else DEFAULT_MAX_BYTES


def relay(raw, *, sender, recipients, address, timeout=RELAY_TIMEOUT_SECONDS):
    """Hand `raw` to the desk's SMTP listener at `address`; return (exit code, status line).

    Raises NotRelayed when the pipe should store the message itself: nothing listens, the
    listener is not the desk's, or it refuses the message for good (5xx: the pipe never
    bounces). A temporary refusal (4xx: over the rate limit, database down) or a connection
    lost once the message was on its way is exit 75, so the MTA retries: the listener
    stores the same bytes once however often they come.
    """
    client = smtplib.SMTP(timeout=timeout)
    try:
        try:
            code, greeting = client.connect(*address)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotRelayed(f"listener unreachable: {type(exc).__name__}") from exc
        if code != 220 or LISTENER_IDENT not in greeting.decode("utf-8", "replace"):
            raise NotRelayed("not the desk's listener")
        return _send(client, raw, sender, recipients)
    except (OSError, smtplib.SMTPException) as exc:
        return EX_TEMPFAIL, f"4.4.2 lost the desk's listener: {type(exc).__name__}"
    finally:
        try:
            client.close()
        except OSError:
            pass


def _send(client, raw, sender, recipients):
    """One SMTP transaction on a connected client; (exit code, status line)."""
    client.ehlo_or_helo_if_needed()
    addresses = (sender, *recipients)
    if not all(PLAIN_ADDRESS.match(a) for a in addresses):
        raise NotRelayed("an envelope address SMTP cannot carry as it is")
    options = []
    if not all(a.isascii() for a in addresses):
        if not client.has_extn("smtputf8"):
            raise NotRelayed("the listener does not take SMTPUTF8")
        options.append("SMTPUTF8")
    replies = [client.mail(sender, options)]
    replies += [client.rcpt(recipient) for recipient in recipients]
    for code, text in replies:
        if code not in (250, 251):
            return _refused(code, text)
    # SMTP lines end in CRLF (RFC 5321); the MTA hands the pipe bare LFs.
    code, text = client.data(LINE_END.sub(b"\r\n", raw))
    if code != 250:
        return _refused(code, text)
    text = text.decode("utf-8", "replace")
    stored = STORED_AS.search(text)
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        pass  # stored already: the listener said so
    return EX_OK, stored.group(0) if stored else text


def _refused(code, text):
    if 400 <= code < 500:
        text = text.decode("utf-8", "replace").replace("\n", " ")
        return EX_TEMPFAIL, text if ENHANCED_CODE.match(text) else f"4.3.0 {text}"
    raise NotRelayed(f"listener refused: {code}")


def deliver(stdin, stdout, *, sender=None, recipients=()):
    """Store the message on `stdin` in this process; return the exit code for the MTA."""
    try:
        # Imported here, not at the top: the fast way (relay) must not pay for Django, and
        # `python -m letters.intake.pipe` loads this module before Django is set up.
        from django.conf import settings

        raw, total = read_message(stdin, settings.LETTERS_INBOUND_MAX_BYTES)
        return store(raw, total, stdout, sender=sender, recipients=recipients)
    except BaseException as exc:  # noqa: BLE001 - any escape would bounce the letter
        return _temporary_failure(stdout, exc)


def store(raw, total, stdout, *, sender=None, recipients=()):
    """Store `raw` (the first bytes of a message `total` bytes long) in this process."""
    try:
        # Imported here for the reason given in deliver(): only the slow way loads Django.
        from ..models import WayIn
        from .store import NULL_SENDER, StorageUnavailable, receive_email

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
        return _temporary_failure(stdout, exc)


def _temporary_failure(stdout, exc):
    try:
        stdout.write(f"4.3.0 temporary failure: {type(exc).__name__}\n")
    except Exception:  # noqa: BLE001
        pass
    return EX_TEMPFAIL


def run(argv, stdin, stdout, environ):
    """`python -m letters.intake.pipe`: relay when LETTERS_PIPE_RELAY is set, else (or when
    the listener does not take it) store in-process; guarded even against broken settings.
    Prints one status line and nothing else (the MTA puts it in its log). Returns the code."""
    try:
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--sender")
        parser.add_argument("--recipient", action="append", default=[])
        args, _ = parser.parse_known_args(argv)
        address = relay_address(environ)
        raw, total = read_message(stdin, max_bytes(environ))
    except BaseException as exc:  # noqa: BLE001
        stdout.write(f"4.3.5 desk misconfigured: {type(exc).__name__}\n")
        return EX_TEMPFAIL
    # Relayed only with a known envelope: without --sender the listener would record a null
    # sender (a bounce), and it needs a recipient.
    if address and args.sender is not None and args.recipient and total == len(raw):
        try:
            code, line = relay(raw, sender=args.sender, recipients=args.recipient, address=address)
        except NotRelayed:
            pass
        except BaseException as exc:  # noqa: BLE001 - a bug here must not bounce the letter
            return _temporary_failure(stdout, exc)
        else:
            stdout.write(f"{line}\n")
            return code
    try:
        # Nothing but the status line reaches the MTA's log: not Django's start-up chatter,
        # nor the broker's warnings; the status line names any error.
        logging.disable(logging.ERROR)
        environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
        import django  # here, not at the top: the relay above must never load Django

        django.setup()
    except BaseException as exc:  # noqa: BLE001
        stdout.write(f"4.3.5 desk misconfigured: {type(exc).__name__}\n")
        return EX_TEMPFAIL
    return store(raw, total, stdout, sender=args.sender, recipients=args.recipient)


def main():
    sys.exit(run(sys.argv[1:], sys.stdin.buffer, sys.stdout, os.environ))


if __name__ == "__main__":
    main()
