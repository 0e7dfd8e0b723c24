"""The editor's queue: its default list read in order from a partial index, the duplicate and
"published recently" probes from their own indexes, and (PostgreSQL only) a GIN index for the queue's full-text search."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models
from django.db.models.functions import Upper


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """An index made on PostgreSQL and skipped elsewhere (SQLite has no GIN or to_tsvector).

    Kept out of the model's state, so the model declares no index SQLite cannot build; the
    queue's search (letters.admin.queue.search_letters) builds the very same expression."""

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(to_state.apps.get_model(app_label, self.model_name), self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(
                from_state.apps.get_model(app_label, self.model_name), self.index
            )

    def describe(self):
        return f"Create index {self.index.name} on PostgreSQL only"


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0007_send_claims"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="letter",
            name="letter_fingerprint",
        ),
        migrations.AddIndex(
            model_name="letter",
            index=models.Index(fields=["fingerprint", "id"], name="letter_fingerprint_id"),
        ),
        migrations.AddIndex(
            model_name="letter",
            index=models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(status__in=("received", "shortlisted")),
                name="letter_awaiting_newest",
            ),
        ),
        migrations.AddIndex(
            model_name="letter",
            index=models.Index(
                Upper("email"),
                models.F("published_at"),
                condition=models.Q(status="published"),
                name="letter_published_writer",
            ),
        ),
        AddIndexOnPostgreSQL(
            model_name="letter",
            index=GinIndex(
                SearchVector("name", "email", "body", config="english"), name="letter_search"
            ),
        ),
    ]
