"""Loaded by pytest before Django (see `-p` in pyproject.toml): the test run's environment.

Tests run as production does (DEBUG off) with a throwaway key, and keep their SQLite database
and Celery queue in a fresh folder, away from a desk running in the same checkout. A caller
may override any of these, as .ci/run does for PostgreSQL and Redis.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("LETTERS_VAR_DIR", tempfile.mkdtemp(prefix="letters-test-"))


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` (row locks, real concurrency) run only against PostgreSQL, and
    tests marked `production` (the README's production steps) only with PostgreSQL and Redis.

    Elsewhere they are deselected, and said so, rather than skipped: the SQLite run is
    complete for what SQLite can show. Where they are selected they fail, never skip, when a
    service is missing.
    """
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    on_redis = os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://"))
    _deselect(config, items, "postgres", on_postgres, "PostgreSQL-only", "set DATABASE_URL")
    _deselect(
        config,
        items,
        "production",
        on_postgres and on_redis,
        "production-path",
        "set DATABASE_URL to PostgreSQL and CELERY_BROKER_URL to Redis",
    )


def _deselect(config, items, marker, runs_here, what, how):
    if runs_here:
        return
    marked = [item for item in items if item.get_closest_marker(marker)]
    if marked:
        config.hook.pytest_deselected(items=marked)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]
        print(f"\n{len(marked)} {what} tests deselected ({how}).")


# With LETTERS_NO_SKIPS=1 (as .ci/run sets) a skipped test fails the run: CI must never pass
# because a browser, an IMAP server or a database was missing.
_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("LETTERS_NO_SKIPS") == "1" and _skipped:
        print(f"\nLETTERS_NO_SKIPS=1: {len(_skipped)} test(s) skipped, which fails this run:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1
