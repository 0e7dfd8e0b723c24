import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from letters.intake.smtp import make_controller


class Command(BaseCommand):
    help = "Run the SMTP listener that turns mail to the desk's addresses into letters."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--host", default=settings.LETTERS_SMTP_HOST)

    def handle(self, *, port, host, **options):
        # aiosmtpd logs every SMTP command (writers' addresses) at INFO; keep only problems.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        controller = make_controller(host, port)
        controller.start()
        addresses = ", ".join(settings.LETTERS_INBOUND_ADDRESSES)
        self.stdout.write(
            f"SMTP listener on {host}:{port}, taking mail for {addresses} (and +tag variants), "
            f"up to {settings.LETTERS_INBOUND_MAX_BYTES:,} bytes.",
        )
        self.stdout.flush()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        self.stdout.write("SMTP listener stopped.")
