"""Django set up for a benchmark on a PostgreSQL database of its own, as production runs it.

BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/<default name>; the database is
created if missing. DEBUG off; static files named plainly (no collected manifest here).
Call setup() before importing anything that needs Django.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What the benches' letters are made of (status values as stored: Django is not set up yet).
TOWNS = ["Hexham", "Bath", "Leeds", "Truro", "Perth", "Ely", "Ludlow", "Oban", "Rye", "Wells"]
# A realistic spread: most letters decided long ago, a few thousand waiting.
STATUS_WEIGHTS = [
    ("received", 4),
    ("shortlisted", 1),
    ("unconfirmed", 2),
    ("approved", 0.5),
    ("published", 3.5),
    ("rejected", 60),
    ("spam", 9),
    ("expired", 20),
]


def ensure_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}")


def setup(default_name):
    sys.path.insert(0, str(ROOT))
    default_url = f"postgres://postgres@127.0.0.1:5432/{default_name}"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", default_url)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reaction_letters.settings")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
