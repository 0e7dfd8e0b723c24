"""The editor's queue: the duplicate and "published recently" probes from their own indexes;
on PostgreSQL only, the default list (awaiting a decision) and its counts from one covering
partial index, and a GIN index for the queue's full-text search."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models
from django.db.models.functions import Upper

from ._postgres import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0009_reader_resubmission_key"),
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
        # The queue's default list, newest first, with the columns its counts and flags read:
        # the list and its counts never touch the table (a covering index: PostgreSQL only).
        AddIndexOnPostgreSQL(
            model_name="letter",
            index=models.Index(
                fields=["-created_at", "-id"],
                include=[
                    "status",
                    "word_count",
                    "confirmed_at",
                    "suspect",
                    "email",
                    "fingerprint",
                    "article_id",
                ],
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
