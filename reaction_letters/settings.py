"""Settings for the letters desk, read from the environment.

Every variable is listed in the README. A malformed value stops the desk at start-up with
ImproperlyConfigured naming the variable, rather than surfacing later as a puzzling error.
Local defaults are safe (SQLite in WAL mode, an embedded Celery broker, console email);
production is strict (no default secret key; `manage.py check --deploy` is clean).
"""

import datetime
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import validate_email
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
# Absolute, so that the broker's folders (below) never depend on a process's working directory.
VAR_DIR = Path(os.environ.get("LETTERS_VAR_DIR", BASE_DIR / "var")).absolute()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def env_int(name, default, *, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_fraction(name, default):
    """A number between 0 and 1 (a share, a similarity)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a number between 0 and 1, not {raw!r}."
        ) from None
    if not 0 < value <= 1:
        raise ImproperlyConfigured(f"{name} must be more than 0 and at most 1, not {value}.")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_email(name, default):
    value = os.environ.get(name, default).strip()
    try:
        validate_email(value)
    except Exception:
        raise ImproperlyConfigured(f"{name} must be an email address, not {value!r}.") from None
    return value.lower()


def env_url(name, default, schemes):
    value = os.environ.get(name, default).strip()
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}, not {value!r}.")
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. For local use set DEBUG=1 (or run bin/run "
            "once: manage.py then uses var/development.env); in production set SECRET_KEY to a "
            "long random string."
        )
    SECRET_KEY = "dev-only-insecure-key-for-the-letters-desk-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public address of the site, used in links sent by email (confirmation, publication notices).
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "letters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "letters.middleware.LimitRequestBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reaction_letters.urls"
WSGI_APPLICATION = "reaction_letters.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "letters.context_processors.desk",
            ],
        },
    },
]

# Database: DATABASE_URL, or a SQLite file in the project (WAL mode, immediate transactions
# so that concurrent writers queue instead of failing with "database is locked").
_default_sqlite = f"sqlite:///{VAR_DIR / 'letters.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_sqlite) or _default_sqlite
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
except Exception as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL this desk understands ({exc}): {_database_url!r}"
    ) from None
if not _db.get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL has no known database scheme: {_database_url!r}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db["CONN_MAX_AGE"] = 0 if _db["NAME"] == ":memory:" else _db["CONN_MAX_AGE"]
    # wal_autocheckpoint: SQLite's default (1,000 pages) checkpoints, with an fsync, about
    # every hundred stored emails, which put receive_email's p99 at 4-6 ms; at 4,000 pages
    # it is about 1.5 ms (bench/bench_import.py; its receive_email latency).
    _db["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; "
            "PRAGMA wal_autocheckpoint=4000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so that a real Celery worker process can share the test database.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-letters.sqlite3")}
else:
    _db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: it pays off for long analytical queries, not for a desk's. The
    # queue's counts (a few thousand rows and their flags) spent 26 ms compiling against 25 ms
    # of work (bench/bench_admin.py). `?options=-c jit=on` in DATABASE_URL turns it back on.
    _options = _db.setdefault("OPTIONS", {})
    _options["options"] = f"-c jit=off {_options.get('options', '')}".strip()
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Production serves hashed, compressed files collected by `collectstatic`; DEBUG and the tests
# serve straight from the apps' static folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email out (Django 6.1 MAILERS). Console in DEBUG, so a new user sees the confirmation mail in
# the desk's output; SMTP otherwise. EMAIL_BACKEND names any backend class.
_SMTP = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG else _SMTP
)
_mail_options = {}
if EMAIL_BACKEND_PATH == _SMTP:
    _mail_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 30, minimum=1),
    }
    if _mail_options["use_tls"] and _mail_options["use_ssl"]:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
elif EMAIL_BACKEND_PATH == "django.core.mail.backends.filebased.EmailBackend":
    _mail_options = {"file_path": env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mail_options}}

# The letters desk itself.
LETTERS_INBOUND_ADDRESS = env_email("LETTERS_INBOUND_ADDRESS", "letters@reaction.life")
DEFAULT_FROM_EMAIL = env_email("DEFAULT_FROM_EMAIL", LETTERS_INBOUND_ADDRESS)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
LETTERS_PUBLICATION_NAME = env_str("LETTERS_PUBLICATION_NAME", "Reaction")
LETTERS_WORD_LIMIT = env_int("LETTERS_WORD_LIMIT", 300, minimum=1)
LETTERS_CONFIRM_MAX_AGE_DAYS = env_int("LETTERS_CONFIRM_MAX_AGE_DAYS", 7, minimum=1)
# Letters close this many days after an article is published (0: they never close by age).
LETTERS_CLOSE_AFTER_DAYS = env_int("LETTERS_CLOSE_AFTER_DAYS", 0, minimum=0)
# Publication: email writers the edited version of their letter when it is scheduled, so
# they can object before it runs. (Rejection replies are chosen per letter on the desk.)
LETTERS_ASK_WRITER_BEFORE_PUBLISHING = env_bool("LETTERS_ASK_WRITER_BEFORE_PUBLISHING", False)
# The writer's status page: its signed link (in the confirmation and the acknowledgement)
# works for this many days.
LETTERS_STATUS_LINK_DAYS = env_int("LETTERS_STATUS_LINK_DAYS", 180, minimum=1)
# Editions per page on the public letters page.
LETTERS_EDITIONS_PER_PAGE = env_int("LETTERS_EDITIONS_PER_PAGE", 5, minimum=1)
# The edition builder counts an edition's words against the space on the page.
LETTERS_EDITION_WORD_BUDGET = env_int("LETTERS_EDITION_WORD_BUDGET", 1200, minimum=1)
# The length editors aim for: longer letters are flagged on the desk (the form refuses only
# LETTERS_WORD_LIMIT; email letters are never refused for length).
LETTERS_SOFT_WORD_LIMIT = env_int("LETTERS_SOFT_WORD_LIMIT", LETTERS_WORD_LIMIT, minimum=1)
# The longest version to publish an editor can save (the writer's original is never refused).
LETTERS_HARD_WORD_LIMIT = env_int(
    "LETTERS_HARD_WORD_LIMIT", 2 * LETTERS_SOFT_WORD_LIMIT, minimum=LETTERS_SOFT_WORD_LIMIT
)
# One published letter per writer per this many days: later letters are flagged (0: no flag).
LETTERS_WRITER_FREQUENCY_DAYS = env_int("LETTERS_WRITER_FREQUENCY_DAYS", 14, minimum=0)
# Campaigns and repeats: each new letter is compared with the letters of this many days around
# it (letters.checks); letters whose estimated word-shingle Jaccard similarity is at least the
# threshold are near-duplicates and form a cluster (a campaign when several writers are in it).
LETTERS_CAMPAIGN_WINDOW_DAYS = env_int("LETTERS_CAMPAIGN_WINDOW_DAYS", 180, minimum=1)
LETTERS_CAMPAIGN_THRESHOLD = env_fraction("LETTERS_CAMPAIGN_THRESHOLD", 0.5)
# "We reply only if we publish": no rejection replies, and undecided letters expire silently.
LETTERS_NOTIFY_ONLY_IF_PUBLISHED = env_bool("LETTERS_NOTIFY_ONLY_IF_PUBLISHED", False)
# Undecided letters expire this many days after they arrived (0: never).
LETTERS_EXPIRE_AFTER_DAYS = env_int(
    "LETTERS_EXPIRE_AFTER_DAYS", 14 if LETTERS_NOTIFY_ONLY_IF_PUBLISHED else 0, minimum=0
)
# Retention: a decided letter's phone and address (kept only for verification) are deleted
# this many days after the decision (published letters: after publication). 0: never.
LETTERS_PURGE_CONTACT_DETAILS_DAYS = env_int("LETTERS_PURGE_CONTACT_DETAILS_DAYS", 30, minimum=0)
# ... and an undecided letter's (unconfirmed, received, shortlisted) this many days after it
# was written, so a letter nobody decides on does not keep them for ever. 0: never.
LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS = env_int(
    "LETTERS_PURGE_UNDECIDED_CONTACT_DETAILS_DAYS", 90, minimum=0
)

# --- Email intake ------------------------------------------------------------------
# Every address the desk takes letters at (letters+<slug>@ variants are accepted too).
LETTERS_INBOUND_ADDRESSES = [
    a.lower() for a in env_list("LETTERS_INBOUND_ADDRESSES", [LETTERS_INBOUND_ADDRESS])
]
# Mail from these is a forwarding loop, never a letter.
LETTERS_OWN_ADDRESSES = sorted(
    {*LETTERS_INBOUND_ADDRESSES, DEFAULT_FROM_EMAIL}
    | {a.lower() for a in env_list("LETTERS_OWN_ADDRESSES")}
)
LETTERS_INBOUND_MAX_BYTES = env_int("LETTERS_INBOUND_MAX_BYTES", 30 * 1024 * 1024, minimum=1024)
LETTERS_INBOUND_MAX_PARTS = env_int("LETTERS_INBOUND_MAX_PARTS", 100, minimum=1)
LETTERS_INBOUND_MAX_DEPTH = env_int("LETTERS_INBOUND_MAX_DEPTH", 10, minimum=1)
LETTERS_INBOUND_MAX_ATTACHMENT_BYTES = env_int(
    "LETTERS_INBOUND_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=1024
)
# A message whose processing never finishes (its worker killed: time limit, out of memory) is
# tried this many times, then marked failed with the reason for an editor.
LETTERS_INBOUND_MAX_ATTEMPTS = env_int("LETTERS_INBOUND_MAX_ATTEMPTS", 3, minimum=1)
# Raw messages are emptied this many days after they were processed (the letter keeps its text).
LETTERS_RAW_EMAIL_RETENTION_DAYS = env_int("LETTERS_RAW_EMAIL_RETENTION_DAYS", 30, minimum=1)
# One acknowledgement per emailed letter (never to automatic mail, one per sender per day).
LETTERS_EMAIL_ACKNOWLEDGE = env_bool("LETTERS_EMAIL_ACKNOWLEDGE", True)
# IMAP polling: off unless LETTERS_IMAP_URL is set, e.g. imaps://user:password@imap.example.com/INBOX
LETTERS_IMAP_URL = env_str("LETTERS_IMAP_URL")
LETTERS_IMAP_USER = env_str("LETTERS_IMAP_USER")
LETTERS_IMAP_PASSWORD = env_str("LETTERS_IMAP_PASSWORD")
LETTERS_IMAP_INTERVAL_SECONDS = env_int("LETTERS_IMAP_INTERVAL_SECONDS", 60, minimum=5)
# After the raw copy is stored: "flag" it (keyword $LettersStored), "move" it to
# LETTERS_IMAP_MOVE_TO, or "delete" it (only if you really mean it).
LETTERS_IMAP_AFTER_STORE = env_str("LETTERS_IMAP_AFTER_STORE", "flag").strip().lower()
if LETTERS_IMAP_AFTER_STORE not in {"flag", "move", "delete"}:
    raise ImproperlyConfigured("LETTERS_IMAP_AFTER_STORE must be flag, move or delete.")
LETTERS_IMAP_MOVE_TO = env_str("LETTERS_IMAP_MOVE_TO", "Letters-stored")
LETTERS_IMAP_TIMEOUT = env_int("LETTERS_IMAP_TIMEOUT", 30, minimum=1)
# The SMTP listener (manage.py run_smtpd) binds here; the port is given on the command line.
LETTERS_SMTP_HOST = env_str("LETTERS_SMTP_HOST", "127.0.0.1")
# Provider webhooks under /inbound/<provider>/inbound/: HTTP basic auth "user:password" that
# the provider is configured with. Without it (and without a signing key) webhooks refuse all.
# A provider webhook (Mailgun) whose signed timestamp is further than this from now is refused.
LETTERS_WEBHOOK_MAX_AGE_SECONDS = env_int("LETTERS_WEBHOOK_MAX_AGE_SECONDS", 3600, minimum=60)
ANYMAIL = {
    "WEBHOOK_SECRET": env_list("LETTERS_WEBHOOK_SECRET"),
    # A subscription confirmation reaches out to AWS; allow it only when asked.
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": env_bool("LETTERS_SES_AUTO_CONFIRM", False),
}
# Signing keys only when set: an empty key would "verify" signatures anyone can make.
for _name, _key in [
    ("LETTERS_MAILGUN_WEBHOOK_SIGNING_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY"),
    ("LETTERS_POSTAL_WEBHOOK_KEY", "POSTAL_WEBHOOK_KEY"),
    ("LETTERS_MAILERSEND_INBOUND_SECRET", "MAILERSEND_INBOUND_SECRET"),
]:
    if env_str(_name):
        ANYMAIL[_key] = env_str(_name)
# Webhook posts carry a whole message (base64 or JSON-escaped: up to ~1.4 times its size).
# LimitRequestBodyMiddleware keeps every other URL at Django's usual 2.5 MB.
LETTERS_MAX_REQUEST_BYTES = env_int("LETTERS_MAX_REQUEST_BYTES", 2621440, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = LETTERS_INBOUND_MAX_BYTES * 14 // 10 + 1024 * 1024

# Celery. The default broker is kombu's filesystem transport under var/celery: embedded, so
# the desk runs with no server installed. Production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", "filesystem://", ("filesystem", "redis", "rediss", "amqp", "memory")
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Every folder is named, absolute and under VAR_DIR: kombu's defaults ("data_in",
    # "data_out", "processed", "control") are relative, so any process that declares a queue
    # (worker, producer, `celery inspect`) would write them into the directory it was started
    # from. Kombu creates the control folder without its parents, so both are made here.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _control_dir = VAR_DIR / "celery" / "control"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _control_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A letter must never wait on a sick broker: publishing fails fast and the sweeper catches up.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
LETTERS_SWEEP_INTERVAL_SECONDS = env_int("LETTERS_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
# How often beat looks for scheduled editions and letters to publish.
LETTERS_PUBLISH_INTERVAL_SECONDS = env_int("LETTERS_PUBLISH_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "enqueue-lost-work": {
        "task": "letters.tasks.enqueue_lost_work",
        "schedule": LETTERS_SWEEP_INTERVAL_SECONDS,
    },
    # Publication: scheduled editions and letters whose time has come.
    "publish-due": {
        "task": "letters.tasks.publish_due",
        "schedule": LETTERS_PUBLISH_INTERVAL_SECONDS,
    },
    "expire-undecided-letters": {
        "task": "letters.tasks.expire_undecided_letters",
        "schedule": 3600,
    },
    # Email intake.
    "enqueue-stuck-inbound-email": {
        "task": "letters.tasks.enqueue_stuck_inbound_email",
        "schedule": LETTERS_SWEEP_INTERVAL_SECONDS,
    },
    "purge-raw-email": {"task": "letters.tasks.purge_raw_email", "schedule": 3600},
    # Retention: phone and address of decided letters (LETTERS_PURGE_CONTACT_DETAILS_DAYS).
    "purge-contact-details": {
        "task": "letters.tasks.purge_contact_details",
        "schedule": 24 * 3600,
    },
}
if LETTERS_IMAP_URL:
    CELERY_BEAT_SCHEDULE["poll-imap"] = {
        "task": "letters.tasks.poll_imap",
        "schedule": LETTERS_IMAP_INTERVAL_SECONDS,
        # A slow poll must not pile up behind itself.
        "options": {"expires": LETTERS_IMAP_INTERVAL_SECONDS},
    }

# --- The publication: its article feeds, the embedded form, what goes out --------------------
# RSS, Atom or JSON Feed addresses of the publication's articles, polled by Celery beat every
# LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS (and by `manage.py sync_articles`).
LETTERS_ARTICLE_FEEDS = env_list("LETTERS_ARTICLE_FEEDS")
for _feed_url in LETTERS_ARTICLE_FEEDS:
    env_url("LETTERS_ARTICLE_FEEDS", _feed_url, ("http", "https"))
LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS = env_int(
    "LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS", 300, minimum=30
)
# A feed or article page that takes longer, or is larger, is refused (and retried next time).
LETTERS_FEED_TIMEOUT_SECONDS = env_int("LETTERS_FEED_TIMEOUT_SECONDS", 10, minimum=1)
LETTERS_FEED_MAX_BYTES = env_int("LETTERS_FEED_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
if LETTERS_ARTICLE_FEEDS:
    CELERY_BEAT_SCHEDULE["sync-article-feeds"] = {
        "task": "letters.tasks.sync_article_feeds",
        "schedule": LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS,
        "options": {"expires": LETTERS_ARTICLE_FEEDS_INTERVAL_SECONDS},
    }

# Production hardening: on whenever DEBUG is off (what `check --deploy` asks for).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading HSTS is a decision for the publisher, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The dashboard's covering index (Letter.Meta: letter_dashboard) INCLUDEs the columns it
    # counts on PostgreSQL; SQLite makes it a plain index on created_at, as it warns.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# --- Content-Security-Policy (the public doors) ------------------------------------------
# Every page, public and admin, runs only scripts and styles from our own static files: our
# templates have no inline <script>, <style> or style="". Django's admin marks its few inline
# tags with the per-request nonce (the csp context processor above). Bootstrap draws its check
# boxes and select arrows as data: images. LETTERS_FRAME_ANCESTORS names the sites that may
# show the desk's pages (the letter form) in a frame: 'self' by default; "none" for nowhere.
_FRAME_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9.-]+(:[0-9]{1,5})?$", re.IGNORECASE)


def env_frame_ancestors(name, default):
    values = []
    for item in env_list(name, default):
        keyword = item.strip("'").lower()
        if keyword in {"self", "none"}:
            values.append(CSP.SELF if keyword == "self" else CSP.NONE)
        elif _FRAME_ORIGIN.match(item):
            values.append(item)
        else:
            raise ImproperlyConfigured(
                f"{name} must list origins such as https://www.reaction.life, or self or none, "
                f"not {item!r}."
            )
    if CSP.NONE in values and len(values) > 1:
        raise ImproperlyConfigured(f"{name}: none cannot be combined with other values.")
    return values or [CSP.NONE]


LETTERS_FRAME_ANCESTORS = env_frame_ancestors("LETTERS_FRAME_ANCESTORS", ["self"])


def env_embed_domains(name):
    """The publisher's sites, as origins: "www.reaction.life" stands for https://www.reaction.life;
    a full origin (http://localhost:8001, https://*.reaction.life) is kept as it is."""
    origins = []
    for item in env_list(name):
        origin = item if "://" in item else f"https://{item}"
        if not _FRAME_ORIGIN.match(origin):
            raise ImproperlyConfigured(
                f"{name} must list domains such as www.reaction.life or origins such as "
                f"https://www.reaction.life, not {item!r}."
            )
        origins.append(origin.lower().rstrip("/"))
    return origins


# How long the CMS and feed readers may keep the JSON API, the edition exports and the JSON
# Feed before asking again (they carry an ETag: asking again costs a 304).
LETTERS_API_CACHE_SECONDS = env_int("LETTERS_API_CACHE_SECONDS", 300, minimum=0)
# The publisher's domains, where the "Write to us" block may be embedded (embed.js and its
# iframe; their pages' frame-ancestors) and where an unknown article is created from its page.
# Every other page keeps LETTERS_FRAME_ANCESTORS.
LETTERS_EMBED_DOMAINS = env_embed_domains("LETTERS_EMBED_DOMAINS")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": LETTERS_FRAME_ANCESTORS,
}

# --- Public doors: content filtering -----------------------------------------------------
# A letter (form or email) with at least this many links is marked suspect (0: never).
LETTERS_SUSPECT_LINKS = env_int("LETTERS_SUSPECT_LINKS", 3, minimum=0)
# A spam service the publisher may add: the dotted path of a function (text, sender) -> reason
# or "" (letters.moderation.screening). Called by the worker, never in a web request.
LETTERS_SPAM_CHECK = env_str("LETTERS_SPAM_CHECK", "").strip()
if LETTERS_SPAM_CHECK and not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+", LETTERS_SPAM_CHECK):
    raise ImproperlyConfigured(
        f"LETTERS_SPAM_CHECK must be a dotted path such as mypackage.spam.check, "
        f"not {LETTERS_SPAM_CHECK!r}."
    )

# --- Abuse: bot defence, rate limits, admin login throttling ------------------------------
# The shared cache: rate-limit counters, used proof-of-work challenges and used Mailgun webhook
# tokens. CACHE_URL=redis://... in production, so every gunicorn worker and machine counts
# together. Without it, local
# memory: shared by the threads of one process (bin/run's runserver), not between processes.
CACHE_URL = env_str("CACHE_URL").strip()
if CACHE_URL:
    CACHE_URL = env_url("CACHE_URL", CACHE_URL, ("redis", "rediss", "unix"))
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "letters",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Used challenges must stay until they expire: LocMem's default of 300 entries
            # would cull them early and let a solution be used again.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# The letter form: a signed timestamp (refuses a post sent faster than a person could write)
# and an ALTCHA proof of work solved by the reader's browser (without it the letter is held as
# suspect). `off` is for load tests only; the honeypot field stays on regardless.
LETTERS_BOT_CHALLENGE = env_bool("LETTERS_BOT_CHALLENGE", True)
LETTERS_MIN_SECONDS_TO_WRITE = env_int("LETTERS_MIN_SECONDS_TO_WRITE", 5, minimum=0)


def env_rate(name, default):
    """A rate such as "5/10m": that many in that many seconds (s), minutes (m), hours (h) or
    days (d). Returns (count, seconds)."""
    raw = os.environ.get(name, default).strip()
    match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([smhd])", raw)
    if not match or int(match[1]) < 1 or match[2] == "0":
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 5/10m (count/period, s m h or d), not {raw!r}."
        )
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[3]]
    return int(match[1]), int(match[2] or 1) * unit


# Rate limits, counted in CACHES. `off` is for load tests only.
LETTERS_RATE_LIMITS = env_bool("LETTERS_RATE_LIMITS", True)
LETTERS_RATE_LIMIT_FORM_IP = env_rate("LETTERS_RATE_LIMIT_FORM_IP", "10/10m")
LETTERS_RATE_LIMIT_FORM_EMAIL = env_rate("LETTERS_RATE_LIMIT_FORM_EMAIL", "5/h")
LETTERS_RATE_LIMIT_WEBHOOK_IP = env_rate("LETTERS_RATE_LIMIT_WEBHOOK_IP", "300/m")
LETTERS_RATE_LIMIT_SMTP_CLIENT = env_rate("LETTERS_RATE_LIMIT_SMTP_CLIENT", "120/m")
# Embeds on pages the desk does not know yet (each makes the desk read the publisher's page).
LETTERS_RATE_LIMIT_EMBED_NEW_IP = env_rate("LETTERS_RATE_LIMIT_EMBED_NEW_IP", "30/h")
# How many proxies in front of the desk add themselves to X-Forwarded-For. 0: the client is
# REMOTE_ADDR and X-Forwarded-For is ignored (anyone can write it); 1: the address the
# proxy saw, the last entry it appended.
LETTERS_TRUSTED_PROXY_COUNT = env_int("LETTERS_TRUSTED_PROXY_COUNT", 0, minimum=0)
# The admin's address, and django-axes: after this many failed logins for one user name from
# one address, that pair is locked out for the cool-off time.
LETTERS_ADMIN_PATH = env_str("LETTERS_ADMIN_PATH", "admin/").strip().strip("/") + "/"
if LETTERS_ADMIN_PATH == "/":
    raise ImproperlyConfigured("LETTERS_ADMIN_PATH must not be empty, e.g. desk/.")
INSTALLED_APPS.append("axes")
# Last, as django-axes asks: it turns a lock-out into the lock-out page.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LETTERS_ADMIN_LOGIN_ATTEMPTS", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env_int("LETTERS_ADMIN_LOCKOUT_MINUTES", 15, minimum=1)
)
# One user name from one address: a colleague's typos elsewhere lock nobody else out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "letters.limits.client_ip"
# Failed attempts only: no row per successful login.
AXES_DISABLE_ACCESS_LOG = True

# --- Personal data: a writer's export and erasure (letters.moderation.erasure) -------------
# What erasing a writer does to their published letters: "keep" leaves each on the site as
# published, signed with name and town (everything else about the writer goes); "withdraw"
# takes it off the site and erases it like their other letters.
LETTERS_ERASE_PUBLISHED = env_str("LETTERS_ERASE_PUBLISHED", "keep").strip().lower()
if LETTERS_ERASE_PUBLISHED not in ("keep", "withdraw"):
    raise ImproperlyConfigured(
        f"LETTERS_ERASE_PUBLISHED must be keep or withdraw, not {LETTERS_ERASE_PUBLISHED!r}."
    )

# --- Claims on work: sends and processing that outlive their worker ---------------------------
# Every mail to a writer is claimed before the SMTP call and recorded as sent only after it. A
# claim older than this belongs to a worker that died mid-send (killed, out of memory, machine
# lost): the sweeper enqueues the send again and the next worker takes the claim over. Keep it
# above CELERY_TASK_TIME_LIMIT, so a live send is never taken over (at-least-once: a worker
# killed after the server took the mail, before recording it, means the writer gets it twice,
# with the same Message-ID).
LETTERS_SEND_CLAIM_SECONDS = env_int(
    "LETTERS_SEND_CLAIM_SECONDS", CELERY_TASK_TIME_LIMIT + 60, minimum=1
)
# The same for an emailed letter being processed: a message claimed longer ago than this lost
# its worker and is processed again (LETTERS_INBOUND_MAX_ATTEMPTS times at most).
LETTERS_INBOUND_CLAIM_SECONDS = env_int(
    "LETTERS_INBOUND_CLAIM_SECONDS", CELERY_TASK_TIME_LIMIT + 60, minimum=1
)

# --- Faults: the database unreachable ------------------------------------------------------
# A view that cannot reach the database answers 503 with Retry-After (the letter form shows the
# writer's text back, to send again) instead of a 500 (letters.middleware).
MIDDLEWARE.append("letters.middleware.DatabaseUnavailableMiddleware")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
