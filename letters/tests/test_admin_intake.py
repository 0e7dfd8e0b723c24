"""The Inbound email admin: filters, reasons, the raw message shown as text, process again."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from letters.intake.process import process_again, process_inbound_email
from letters.intake.store import receive_email
from letters.models import InboundEmail, InboundEmailEvent, InboundStatus, Letter, WayIn
from letters.moderation import NotPermitted

from .factories import editor, eml, make_message, make_user, post_admin_action, sub_editor

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:letters_inboundemail_changelist")


def stored(raw):
    row, _ = receive_email(raw, way_in=WayIn.PIPE)
    process_inbound_email(row.pk)
    return InboundEmail.objects.get(pk=row.pk)


def test_the_list_filters_received_rejected_and_failed_and_shows_the_reason(admin_client):
    stored(eml("plain.eml"))
    stored(eml("auto_reply.eml"))
    rejected = admin_client.get(CHANGELIST, {"outcome": "rejected"}).content.decode()
    assert "auto-reply" in rejected
    assert "Peter Fenwick" not in rejected
    received = admin_client.get(CHANGELIST, {"outcome": "received"}).content.decode()
    assert "Letter #" in received
    assert "auto-reply" not in received
    assert admin_client.get(CHANGELIST, {"outcome": "failed"}).status_code == 200


def test_the_raw_message_is_shown_escaped_never_rendered(admin_client):
    raw = make_message(body='<script>alert("x")</script><img src=x onerror=alert(1)>\n')
    row = stored(raw)
    page = admin_client.get(reverse("admin:letters_inboundemail_change", args=[row.pk]))
    html = page.content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")</script>' not in html
    assert "<img src=x" not in html


def test_process_again_requeues_a_rejected_message_that_made_no_letter(admin_client):
    row = stored(make_message(body="\n"))
    assert row.status == InboundStatus.REJECTED
    response = post_admin_action(
        admin_client, CHANGELIST, "process_again_action", [row], follow=True
    )
    assert "1 message(s) queued" in response.content.decode()
    row.refresh_from_db()
    assert row.status == InboundStatus.PENDING


def test_process_again_skips_a_message_that_already_made_a_letter(admin_client):
    row = stored(eml("plain.eml"))
    post_admin_action(admin_client, CHANGELIST, "process_again_action", [row])
    row.refresh_from_db()
    assert row.status == InboundStatus.ACCEPTED
    assert Letter.objects.count() == 1


def test_processing_again_is_recorded_with_who_asked_and_shown_on_the_message(admin_client):
    row = stored(make_message(body="\n"))
    post_admin_action(admin_client, CHANGELIST, "process_again_action", [row])
    event = InboundEmailEvent.objects.get(inbound_email=row)
    assert (event.action, event.who) == ("processed again", "admin")
    page = admin_client.get(reverse("admin:letters_inboundemail_change", args=[row.pk]))
    assert "processed again" in page.content.decode()


def test_a_sub_editor_cannot_process_mail_again():
    row = stored(make_message(body="\n"))
    with pytest.raises(NotPermitted):
        process_again([row.pk], actor=sub_editor())
    row.refresh_from_db()
    assert row.status == InboundStatus.REJECTED
    assert not InboundEmailEvent.objects.exists()


def test_staff_without_the_permission_are_not_offered_process_again(client):
    user = make_user()
    user.user_permissions.add(Permission.objects.get(codename="view_inboundemail"))
    client.force_login(user)
    page = client.get(CHANGELIST).content.decode()
    assert "Inbound email" in page
    assert "process_again_action" not in page


def test_a_letters_editor_may_process_mail_again():
    row = stored(make_message(body="\n"))
    assert process_again([row.pk], actor=editor()) == 1
