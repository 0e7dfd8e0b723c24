"""README's "Running it in production", followed as written, in fresh processes.

The steps are read from README.md itself, so the README cannot drift from what is tested: the
exported variables (with real values for its `...` placeholders), then each command in order,
against a new PostgreSQL database and the Redis broker that .ci/run provides. Nothing the test
suite switches off for speed is off here: DEBUG off, the manifest static storage, HTTPS
redirects and Secure cookies, a real worker. Two things differ from a real deployment: mail is
written to files (Django's file backend) so the test can read it, and the static files and beat's
schedule go to a temporary folder. Then a reader posts a letter over "https" (behind the proxy
header), the worker mails the confirmation, the link confirms it, hashed static files carry a
long cache, and a missing page is the site's own plain 404.

Runs only with PostgreSQL and Redis (see letters/tests/environment.py); there it fails, never
skips, when something is missing.
"""

import http.client
import http.cookies
import os
import re
import secrets
import shlex
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.conf import settings

from letters.models import Status

from .factories import LETTER_TEXT, free_port

pytestmark = pytest.mark.production

BASE_DIR = Path(settings.BASE_DIR)
# The README's placeholders ("...") that the test fills in with real values.
FILLED_IN = {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"}
# Read only by the SMTP backend, which the test replaces by the file backend.
SMTP_ONLY = {"EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"}
A_YEAR = 365 * 24 * 3600
# A reader takes at least this long (LETTERS_MIN_SECONDS_TO_WRITE's default is 5).
SECONDS_TO_WRITE = 5.5


def redis_database(url, number):
    """The same Redis server as `url`, another database."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))


def test_the_readme_production_steps_serve_a_letter_from_the_form_to_its_confirmation(desk):
    reader = Browser(desk.port, desk.host)

    article_page = reader.get("/articles/" + desk.seed_slug + "/")
    assert article_page.status == 200, article_page.text
    hashed_static_files_are_served_for_a_year(reader, article_page)
    plain_http_is_redirected_to_https(desk)
    a_missing_page_is_the_sites_plain_404(reader)

    time.sleep(SECONDS_TO_WRITE)  # the form refuses a letter sent faster than a person writes
    thanks = reader.submit(article_page, form_with_id(article_page, "letter-form"), LETTER_FIELDS)
    assert thanks.status == 302, thanks.text
    assert reader.get(thanks.headers["Location"]).status == 200
    assert letter_status(desk) == Status.UNCONFIRMED

    link = confirmation_link_from_the_workers_mail(desk)
    assert link.startswith(f"https://{desk.host}/letters/confirm/")
    confirm_by_the_link(reader, urllib.parse.urlsplit(link).path)
    assert letter_status(desk) == Status.RECEIVED


LETTER_FIELDS = {
    "name": "Jane Smith",
    "town": "Hexham",
    "email": "jane@example.com",
    "body": LETTER_TEXT,
    "exclusive": "on",
    "consent": "on",
}


# --- The steps after start-up, in the order the test takes them -------------------------------


def hashed_static_files_are_served_for_a_year(reader, page):
    """The page names its stylesheet by a hashed name (the manifest storage), which whitenoise
    serves compressed and cacheable for at least a year (whitenoise gives ten)."""
    stylesheet = re.search(
        r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css)"', page.text
    )
    assert stylesheet, page.text
    response = reader.get(stylesheet.group(1), headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    cache = response.headers["Cache-Control"]
    max_age = int(re.search(r"max-age=(\d+)", cache).group(1))
    assert max_age >= A_YEAR and "immutable" in cache, cache


def plain_http_is_redirected_to_https(desk):
    response = Browser(desk.port, desk.host, proto="http").get("/letters/")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{desk.host}/letters/"


def a_missing_page_is_the_sites_plain_404(reader):
    response = reader.get("/no-such-page/")
    assert response.status == 404
    assert "We cannot find that page" in response.text
    assert "Traceback" not in response.text and "DEBUG" not in response.text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def confirmation_link_from_the_workers_mail(desk, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = sorted(desk.mail_dir.glob("*.log")) if desk.mail_dir.exists() else []
        # The file backend creates the file before it writes the message: read until it is all there.
        mail = re.sub(r"=\r?\n", "", mails[0].read_text()) if mails else ""  # soft breaks
        link = re.search(r"https://\S+/letters/confirm/\S+?/", mail)
        if link:
            return link.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no confirmation link in the worker's mail within {timeout} s: {mail!r}")


def confirm_by_the_link(reader, path):
    """Open the link; where the page asks for a press of "Confirm my letter" (a form, so that
    link scanners confirm nothing), press it."""
    page = reader.get(path)
    assert page.status == 200, page.text
    form = next((f for f in Forms.of(page.text) if "Confirm my letter" in f.buttons), None)
    if form is not None:
        response = reader.submit(page, form, {}, button="Confirm my letter")
        assert response.status in (200, 302), response.text


def form_with_id(page, form_id):
    return next(f for f in Forms.of(page.text) if f.id == form_id)


def letter_status(desk):
    with psycopg.connect(desk.database_url) as connection:
        (status,) = connection.execute("SELECT status FROM letters_letter").fetchone()
    return status


# --- The desk, started as the README says -----------------------------------------------------


@dataclass
class Desk:
    host: str
    port: int
    database_url: str
    mail_dir: Path
    seed_slug: str


def readme_production_steps():
    """The variables the README's production block exports, and its commands in order."""
    section = (BASE_DIR / "README.md").read_text().split("## Running it in production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    variables, commands = {}, []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            variables.update(word.split("=", 1) for word in words[1:])
        elif words:
            commands.append(words)
    return variables, commands


@pytest.fixture
def desk(tmp_path):
    variables, commands = readme_production_steps()
    placeholders = {name for name, value in variables.items() if "..." in value}
    assert placeholders <= FILLED_IN | SMTP_ONLY, "a new README placeholder the test cannot fill"
    database_url = fresh_database()
    port = free_port()
    env = {
        # The machine's own: where programs are, and pip's configuration for bin/setup.
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME"} or k.startswith("PIP_")},
        "PYTHONUNBUFFERED": "1",
        **variables,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        # The README's Redis host stands for the machine's: the one this run has, a database
        # of its own (rate-limit counters and used challenges).
        "CACHE_URL": redis_database(os.environ["CELERY_BROKER_URL"], 6),
        "STATIC_ROOT": str(tmp_path / "static"),
        "LETTERS_VAR_DIR": str(tmp_path / "var"),
    }
    # The worker, the one process that sends mail, writes it to files instead. Only the worker:
    # `check --deploy` rightly refuses the file backend (mail.E001) and must see the README's.
    worker_env = {
        **env,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    # Left over tasks from other tests must not reach this worker (not a README step).
    run(["python", "-m", "celery", "-A", "reaction_letters", "purge", "-f"], env, venv=True)

    servers = []
    try:
        for number, command in enumerate(commands):
            command = [
                f"127.0.0.1:{port}"
                if word == "127.0.0.1:8000"
                else str(tmp_path / Path(word).name)
                if word.startswith("/var/lib/letters/")
                else word
                for word in command
            ]
            if "worker" in command:
                servers.append(start(command, worker_env, tmp_path / f"{number}.log"))
            elif "gunicorn" in command[0] or "beat" in command:
                servers.append(start(command, env, tmp_path / f"{number}.log"))
            else:
                run(command, env)
        wait_for_port(port, servers)
        yield Desk(
            host=variables["ALLOWED_HOSTS"].split(",")[0],
            port=port,
            database_url=database_url,
            mail_dir=tmp_path / "mail",
            seed_slug=seed_slug(),
        )
    finally:
        for process in servers:
            process.terminate()
        for process in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-4000:]}")
        drop_database(database_url)


def run(command, env, *, venv=False):
    if venv:
        command = [str(BASE_DIR / ".venv" / "bin" / command[0]), *command[1:]]
    result = subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def start(command, env, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_port(port, servers, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in servers), "a server exited at start-up"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not listen on port {port} within {timeout} s")


def seed_slug():
    seed = next((BASE_DIR / "seeds").glob("*.txt")).read_text()
    return re.search(r"^Slug: (\S+)$", seed, re.M).group(1)


def fresh_database():
    """A new, empty database beside the test run's own (letters_ci -> letters_ci_production)."""
    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"{config['NAME']}_production"
    with _maintenance_connection(config) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name


def drop_database(database_url):
    config = dj_database_url.parse(database_url)
    with _maintenance_connection(config) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def _maintenance_connection(config):
    return psycopg.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"] or None,
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        autocommit=True,
    )


# --- A reader's browser behind the TLS-terminating proxy -------------------------------------


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    text: str
    path: str


class Browser:
    """Talks to gunicorn on 127.0.0.1 as the proxy would pass a browser's requests on: the
    public host name and X-Forwarded-Proto. Keeps its cookies, and insists that over https the
    desk marks them Secure."""

    def __init__(self, port, host, proto="https"):
        self.port, self.host, self.proto = port, host, proto
        self.cookies = {}

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers or {})

    def submit(self, page, form, fields, button=None):
        """Post the page's form as a browser would: its hidden and preset inputs (the CSRF
        token and any others), then `fields`, and the pressed button."""
        data = {**form.values, **fields}
        if button:
            data.update(form.buttons[button])
        return self.request("POST", form.action or page.path, data, {})

    def request(self, method, path, form, headers):
        url = urllib.parse.urljoin(f"{self.proto}://{self.host}/", path)
        parts = urllib.parse.urlsplit(url)
        assert parts.netloc == self.host, f"left the site: {url}"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": self.host, "X-Forwarded-Proto": self.proto, **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"{self.proto}://{self.host}"
            headers["Referer"] = f"{self.proto}://{self.host}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                assert morsel["secure"] or self.proto == "http", f"cookie {name} is not Secure"
                self.cookies[name] = morsel.value
        text = "" if response.headers.get("Content-Encoding") else content.decode()
        return Page(response.status, response.headers, text, path)


@dataclass
class Form:
    id: str
    action: str
    values: dict = field(default_factory=dict)
    buttons: dict = field(default_factory=dict)  # label -> {name: value} it sends


class Forms(HTMLParser):
    """The forms of a page: for each, the inputs a browser sends unless the reader changes them
    (hidden, text and ticked boxes; the test fills in textareas itself) and its buttons."""

    @classmethod
    def of(cls, html):
        parser = cls()
        parser.feed(html)
        return parser.forms

    def __init__(self):
        super().__init__()
        self.forms, self.button = [], None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(attrs.get("id", ""), attrs.get("action", "")))
        elif not self.forms or "name" not in attrs and tag != "button":
            return
        elif tag == "input" and attrs.get("type") == "submit":
            self.forms[-1].buttons[attrs.get("value", "")] = {attrs["name"]: attrs.get("value")}
        elif tag == "input" and attrs.get("type") not in {"checkbox", "radio"}:
            self.forms[-1].values[attrs["name"]] = attrs.get("value", "")
        elif tag == "input" and "checked" in attrs:
            self.forms[-1].values[attrs["name"]] = attrs.get("value", "on")
        elif tag == "button":
            self.button = {attrs["name"]: attrs.get("value", "")} if "name" in attrs else {}

    def handle_data(self, data):
        if self.button is not None and data.strip():
            self.forms[-1].buttons[data.strip()] = self.button
            self.button = None
