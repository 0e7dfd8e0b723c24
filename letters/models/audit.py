"""The shape every audit record shares: what was done, by whom, when, and why."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One act in an object's history. Written only by the code that performs the act."""

    action = models.CharField(max_length=50)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(
        max_length=100, blank=True, help_text="Who acted when it was not a user: writer, system."
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    @property
    def who(self):
        return str(self.actor) if self.actor_id else self.actor_label
