"""The SMTP listener: accepts mail for the desk's addresses and stores it before saying 250.

A thin aiosmtpd handler over store.receive_email. Answers: 451 at MAIL FROM past the
per-address rate limit (LETTERS_RATE_LIMIT_SMTP_CLIENT: the sending server retries later, so
nothing is lost), 550 for any other recipient, 552 over the size limit (aiosmtpd enforces data_size_limit), 250 only once the raw message is
committed, 451 when it cannot be stored (the sending server keeps it and retries).
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from django.conf import settings
from django.db import close_old_connections, connections

from .. import limits
from ..addresses import normalise_address
from ..models import WayIn
from .store import NULL_SENDER, StorageUnavailable, receive_email

log = logging.getLogger(__name__)


def accepts_recipient(address, inbound_addresses=None):
    """True for an inbound address, or its +tag variant (letters+<slug>@...)."""
    inbound = inbound_addresses or settings.LETTERS_INBOUND_ADDRESSES
    address = normalise_address(address, drop_tag=True)
    return "@" in address and address in inbound


class LettersHandler:
    def __init__(self, inbound_addresses=None):
        self.inbound_addresses = [a.lower() for a in inbound_addresses or ()] or None
        # One thread: Django's database connection is per thread and reused between messages.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="letters-smtpd")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        loop = asyncio.get_running_loop()
        wait = await loop.run_in_executor(
            self.executor,
            limits.hit,
            "smtp",
            limits.client_key(peer),
            settings.LETTERS_RATE_LIMIT_SMTP_CLIENT,
        )
        if wait:
            log.warning("SMTP client %s over the rate limit; told to retry", peer)
            return f"451 4.7.1 Too many messages from {peer}; try again in {wait} seconds"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not accepts_recipient(address, self.inbound_addresses):
            return "550 5.1.1 Recipient address rejected: not a letters address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        sender = envelope.mail_from or NULL_SENDER
        loop = asyncio.get_running_loop()
        try:
            row = await loop.run_in_executor(
                self.executor, self._store, raw, sender, list(envelope.rcpt_tos)
            )
        except StorageUnavailable as exc:
            return f"451 4.3.0 {exc}; try again later"
        except Exception:
            log.exception("SMTP listener could not store a message")
            return "451 4.3.0 temporary failure; try again later"
        return f"250 2.0.0 OK stored as inbound email {row.pk}"

    def close(self):
        """Close the storing thread's database connection and end the thread (on stop)."""
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="letters-smtpd")

    @staticmethod
    def _store(raw, sender, recipients):
        close_old_connections()
        return receive_email(raw, way_in=WayIn.SMTP, envelope_from=sender, envelope_to=recipients)[
            0
        ]


class LettersSMTP(SMTP):
    # RFC 5321 caps lines at 1,000 octets, but real mail clients send longer ones and
    # Postfix accepts them; refusing would lose letters.
    line_length_limit = 1024 * 1024


class LettersController(Controller):
    def factory(self):
        return LettersSMTP(self.handler, **self.SMTP_kwargs)

    def stop(self, *args, **kwargs):
        super().stop(*args, **kwargs)
        self.handler.close()


def make_controller(host, port, *, max_bytes=None, inbound_addresses=None):
    return LettersController(
        LettersHandler(inbound_addresses),
        hostname=host,
        port=port,
        data_size_limit=max_bytes or settings.LETTERS_INBOUND_MAX_BYTES,
        enable_SMTPUTF8=True,
        decode_data=False,
        ident="letters desk",
    )
