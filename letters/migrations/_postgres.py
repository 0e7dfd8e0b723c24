"""Migration operations for PostgreSQL only (a module the migration loader skips: its name
starts with an underscore)."""

from django.db import migrations


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """An index made on PostgreSQL and skipped elsewhere (SQLite has no GIN, no to_tsvector, no
    INCLUDE columns).

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
