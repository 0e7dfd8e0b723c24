"""The intake under attack, end to end: every hostile message of the parser's worst cases
delivered to a running desk (two real worker processes), then a plain letter. The plain letter
is processed in seconds, and every hostile message ends in a final state: accepted, rejected or
failed with its reason, none left pending or processing.

Before the parser was made linear, twenty such messages tied up both workers: a plain letter
sent next was still unprocessed three minutes later.
"""

import time

import pytest

from letters.intake.store import receive_email
from letters.models import InboundEmail, InboundStatus, WayIn

from .factories import make_message
from .test_intake_hostile import PAYLOADS
from .test_worker_kills import wait_until, workers  # noqa: F401 - the fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FINAL = (InboundStatus.ACCEPTED, InboundStatus.REJECTED, InboundStatus.FAILED)


def test_a_plain_letter_sent_after_every_hostile_message_is_processed_in_seconds(
    workers,  # noqa: F811
    tmp_path,
):
    mail = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    workers.start(mail)
    workers.start(mail)
    hostile = [receive_email(build(), way_in=WayIn.PIPE)[0].pk for build in PAYLOADS.values()]
    sent = time.monotonic()
    plain, _ = receive_email(make_message(message_id="<plain@example.org>"), way_in=WayIn.PIPE)

    wait_until(
        lambda: InboundEmail.objects.filter(pk=plain.pk, status=InboundStatus.ACCEPTED).exists(),
        "the plain letter processed",
        timeout=120,
    )
    waited = time.monotonic() - sent
    wait_until(
        lambda: not InboundEmail.objects.filter(pk__in=hostile).exclude(status__in=FINAL).exists(),
        "every hostile message in a final state",
        timeout=60,
    )

    print(f"{len(hostile)} hostile messages, then a plain letter processed {waited:.1f} s after")
    assert len(hostile) >= 20
    assert waited < 60  # each hostile message parses in under a second; two workers share them
    failed = InboundEmail.objects.filter(pk__in=hostile, status=InboundStatus.FAILED)
    assert all(row.reason for row in failed)  # a failure says why, for the editors
