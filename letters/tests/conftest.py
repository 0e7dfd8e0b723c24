import importlib

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from letters import views
from letters.intake import articles, smtp

from .factories import free_port, make_article
from .local_site import LocalSite

# The data migration that gives a new desk its role groups and default reply templates.
DESK_DEFAULTS = importlib.import_module("letters.migrations.0003_roles_and_reply_templates")


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with the per-process caches empty, whatever ran before it.

    The article index used to match mail (letters.intake.articles) is kept for five minutes
    under a key of (article count, newest id). Test databases roll back, so the next test's
    first article gets the same id: without this, a test could match mail against the
    articles of the test before it. The blank letter form (letters.views) is rendered once
    per word limit; the first page a test fetches renders it, so tests see the same thing
    however they are ordered. The cache holds rate-limit counts and used challenges.
    """
    articles._index_cache.update(key=None, index=None, at=0.0)
    views._blank_form_template.cache_clear()
    # Rate-limit counts and used proof-of-work challenges: each test's client starts afresh.
    cache.clear()


@pytest.fixture
def desk_defaults(db):
    """The rows `migrate` leaves in a new desk's database: the two role groups and the default
    reply templates (the publication notice's among them).

    A transactional test flushes the database when it ends, and these rows with it; a test that
    needs the desk as deployed asks for this fixture, which puts them back. Safe to repeat.
    """
    DESK_DEFAULTS.forwards(django_apps, None)


@pytest.fixture
def article(db):
    """The article most form and confirmation tests write about."""
    return make_article(
        headline="Putin warns the West",
        author="Reaction",
        body="Sir Keir Starmer is in Washington.",
    )


@pytest.fixture
def enqueued(monkeypatch):
    """Record each task enqueued, as (task name, args), instead of talking to a broker."""
    sent = []
    monkeypatch.setattr(
        "celery.app.task.Task.apply_async",
        lambda self, args=None, **kw: sent.append((self.name, tuple(args or ()))),
    )
    return sent


@pytest.fixture
def listener():
    """The desk's SMTP listener running on a free port of 127.0.0.1; yields the port."""
    controller = smtp.make_controller("127.0.0.1", port := free_port())
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def publisher():
    """The publication's own site on a free port of 127.0.0.1 (letters.tests.local_site)."""
    site = LocalSite().start()
    yield site
    site.stop()


@pytest.fixture
def latest_migrations_afterwards(transactional_db):
    """For a test that migrates the database back to test a migration: afterwards it is
    migrated forward to the latest migrations, whatever the test did, so the tests after it
    find every table and column."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
