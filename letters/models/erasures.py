"""The record of every erasure of a writer's personal data, without the data erased."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class WriterErasure(models.Model):
    """One writer's data erased at their request: who carried it out, when, under which
    policy, and how many items, with a keyed hash of the address (so a repeat request is
    recognised) and never the address itself. Written only by letters.moderation.erasure."""

    address_hash = models.CharField(
        max_length=64,
        db_index=True,
        editable=False,
        help_text="HMAC-SHA256 of the lower-cased address, keyed by SECRET_KEY.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.CharField(
        max_length=200, blank=True, help_text="The request's reference; never the address."
    )
    published_policy = models.CharField(max_length=10, editable=False)
    counts = models.JSONField(default=dict, editable=False)
    letter_ids = models.JSONField(
        default=list, editable=False, help_text="The letters erased (their events keep the id)."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "writer erasure"
        permissions = [
            ("export_writer", "Can export everything held about a writer"),
            ("erase_writer", "Can erase a writer's personal data"),
        ]

    def __str__(self):
        return f"Erasure of {self.created_at:%Y-%m-%d %H:%M} ({self.address_hash[:12]}…)"

    @property
    def who(self):
        return str(self.actor) if self.actor_id else self.actor_label
