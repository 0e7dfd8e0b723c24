"""The queue's search where editors search most, among letters awaiting a decision: on
PostgreSQL, a GIN index of those letters alone (a few thousand entries where the whole table's
holds every letter ever sent), which the planner picks when the list is filtered to them as
the queue's default is. Same expression as letter_search (migration 0010)."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models

from ._postgres import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0011_campaigns"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="letter",
            index=GinIndex(
                SearchVector("name", "email", "body", config="english"),
                condition=models.Q(status__in=("received", "shortlisted")),
                name="letter_search_awaiting",
            ),
        ),
    ]
