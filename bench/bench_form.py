"""How many letters a second does the desk's form accept, and how fast is the article page?

Sets up a fresh desk in a temporary LETTERS_VAR_DIR (SQLite in WAL mode and the embedded
filesystem Celery broker, the defaults), loads the seed article with 20 published letters under
it, and starts two gunicorn servers (2 sync workers each, 127.0.0.1, production-like settings:
DEBUG=0, SECURE_SSL_REDIRECT=0, STATIC_MANIFEST=0, LOG_LEVEL=WARNING):

  - the desk itself (reaction_letters.settings);
  - the baseline (bench.baseline_settings): the desk plus /bench/bare/<slug>/, a bare Django
    ModelForm over the letter's fields that saves the row (CSRF on; no moderation, audit event
    or Celery enqueue).

Then, with 16 concurrent clients driven by wrk (one thread, so the load generator takes little
of the 2 CPUs from gunicorn), three rounds of:

  1. desk: POST complete valid letters (~150 words, exclusive and consent ticked, a unique
     client_token per request, the reader's csrftoken cookie, csrfmiddlewaretoken and Referer)
     to the article page; only 302 responses (accepted letters) count;
  2. bare: the same POSTs to the bare ModelForm;
  3. the article page: GET, counting 200 responses.

Each measurement is a 2 s warm-up then 10 s timed. No Celery worker runs: each letter's one
task (letters.tasks.letter_submitted, which starts its confirmation and analysis in the worker)
is left in the filesystem queue, and afterwards the script checks that there is exactly one
queued per accepted letter and that every letter is stored with its exact text.
Prints medians of the three rounds, the desk/bare ratio, and PASS/FAIL against the targets.

Usage: .venv/bin/python bench/bench_form.py [--duration 10] [--warmup 2] [--runs 3] [--keep]
       (needs `apt-get install wrk`; without it a slower Python client is used, and says so)
"""

import argparse
import base64
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

CLIENTS = 16
# Solved proofs of work prepared ahead (0.13 ms each): more than three runs of 12 s can use
# at the desk's rate and at the bare form's (which ignores them).
PAYLOADS = 80_000
PUBLISHED_LETTERS = 20
TARGET_LETTERS_PER_SECOND = 450
TARGET_P99_MS = 80
TARGET_CPU_RATIO = 1.5
TARGET_PAGE_PER_SECOND = 200

# Settings a developer may have exported that would point the benchmark elsewhere.
INHERITED_SETTINGS_DROPPED = (
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "CELERY_BROKER_URL",
    "EMAIL_BACKEND",
    "LETTERS_CLOSE_AFTER_DAYS",
    "LETTERS_WORD_LIMIT",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
)

PARAGRAPHS = [
    "Sir, your correspondent is right that the West has been slow to decide, but wrong to "
    "think that speed alone would have changed the outcome on the ground. What matters far "
    "more is whether our allies, and our adversaries, believe that we will stay the course "
    "once the headlines have moved on to something else.",
    "Long-range weapons are useful only if the targets are still within reach when permission "
    "finally arrives. Your own report notes that many of Russia's key assets have already been "
    "moved back out of range, which rather suggests that the debate itself has done some of "
    "the enemy's work for him.",
    "I served for twenty years and learnt that hesitation is read as weakness by friend and "
    "foe alike. Ministers should decide, explain their decision plainly to the public, and "
    "then stick to it. Anything less invites exactly the escalation they say they fear.",
    "Ref. CLIENT_TOKEN",
]
# As a browser sends a textarea: paragraphs separated by CRLF.
LETTER_TEXT = "\r\n\r\n".join(PARAGRAPHS)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir, settings_module):
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS_DROPPED}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        LETTERS_VAR_DIR=str(var_dir),
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-" + "k" * 48,
        SECURE_SSL_REDIRECT="0",
        STATIC_MANIFEST="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        # The rate limits stay on, each post still counted, with limits raised for the
        # benchmark's one client and one writer.
        LETTERS_RATE_LIMIT_FORM_IP="1000000000/m",
        LETTERS_RATE_LIMIT_FORM_EMAIL="1000000000/m",
    )
    return env


# --- setting up the desk ---


def prepare_database(var_dir):
    """Migrate, load the seeds and publish 20 letters under the seed article; returns its path."""
    env = server_env(var_dir, "reaction_letters.settings")
    os.environ.clear()
    os.environ.update(env)
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from letters.models import Article, Letter, Status

    call_command("migrate", verbosity=0)
    call_command("load_seeds", verbosity=0)
    article = Article.objects.published().first()
    now = timezone.now()
    for i in range(PUBLISHED_LETTERS):
        text = LETTER_TEXT.replace("CLIENT_TOKEN", f"published-{i}")
        Letter(
            article=article,
            status=Status.PUBLISHED,
            body=text,
            edited_body=text,
            headline=f"Stay the course ({i + 1})",
            name=f"Published Writer {i + 1}",
            email=f"writer{i}@example.com",
            town="Hexham",
            exclusive=True,
            consent=True,
            published_at=now - datetime.timedelta(minutes=PUBLISHED_LETTERS - i),
        ).save()
    connections.close_all()
    return article.get_absolute_url()


class Server:
    """A gunicorn serving one settings module with 2 sync workers on a free port."""

    def __init__(self, name, var_dir, settings_module):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(var_dir) / f"gunicorn-{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "reaction_letters.wsgi",
            "--workers=2",
            "--no-control-socket",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{self.port}",
            "--log-level=warning",
            f"--chdir={ROOT}",
        ]
        self.process = subprocess.Popen(
            command,
            env=server_env(var_dir, settings_module),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_ready(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                status, _, _ = http_get(self.base + path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"gunicorn ({self.name}) did not start:\n{self.log_path.read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def cpu_seconds(self):
        """CPU time used so far by gunicorn and its workers (user + system)."""
        pids = {self.process.pid}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # the parent's pid
                pids.add(int(stat.parent.name))
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def problems(self):
        """Lines of the server log that mention an error (empty when all went well)."""
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]


def http_get(url, headers=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path or "/", headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Set-Cookie") or "", response.read()
    finally:
        conn.close()


def reader_session(page_url):
    """What a reader's browser holds after opening the article: the csrftoken cookie and the
    form's csrfmiddlewaretoken."""
    status, set_cookie, body = http_get(page_url)
    if status != 200:
        sys.exit(f"GET {page_url} answered {status}")
    cookie = set_cookie.split(";", 1)[0]
    if not cookie.startswith("csrftoken="):
        sys.exit(f"GET {page_url} set no csrftoken cookie: {set_cookie!r}")
    marker = b'name="csrfmiddlewaretoken" value="'
    start = body.index(marker) + len(marker)
    token = body[start : body.index(b'"', start)].decode()
    return cookie, token


def form_template(csrf_token):
    """The url-encoded POST body of one letter, with CLIENT_TOKEN where each request's unique
    client_token goes (in the hidden field and in the letter's last line).

    The form's signed timestamp says it was shown an hour ago (signed with the bench desk's
    SECRET_KEY: prepare_database set this process up as the desk). ALTCHA_PAYLOAD is where
    each request's own solved proof of work goes (solved_challenges).
    """
    from letters import bot_defence

    fields = {
        "csrfmiddlewaretoken": csrf_token,
        "name": "Colonel Jane Smith",
        "town": "Hexham",
        "email": "jane.smith@example.com",
        "body": LETTER_TEXT,
        "phone": "",
        "exclusive": "on",
        "consent": "on",
        "client_token": "CLIENT_TOKEN",
        "website": "",
        "started": bot_defence.started_token(at=time.time() - 3600),
        "altcha": "ALTCHA_PAYLOAD",
    }
    return urllib.parse.urlencode(fields, safe="")


def solved_challenges(count):
    """`count` proof-of-work solutions, url-encoded, each for its own challenge, solved ahead of
    time as the issue allows. The challenges are the desk's own (signed with its key, verified
    and used up by the desk as a browser's would be) but for their secret counter, drawn from
    the first few numbers instead of up to 100,000: the browser's search is not what is
    measured, and the desk's check costs the same whatever the counter."""
    import altcha

    from letters import bot_defence

    keys = {
        "hmac_secret": bot_defence._key("challenge"),
        "hmac_key_secret": bot_defence._key("derived-key"),
    }
    expires_at = int(time.time()) + 3 * 3600
    payloads = []
    for n in range(count):
        challenge = altcha.create_challenge(
            bot_defence.ALGORITHM, 1, counter=n % 4, expires_at=expires_at, **keys
        )
        solution = altcha.solve_challenge(challenge)
        payload = altcha.Payload(challenge, solution).to_base64()
        payloads.append(urllib.parse.quote(payload, safe=""))
    return payloads


# --- load generation ---


class Measurement:
    def __init__(self, ok, other, errors, seconds, p50_ms, p99_ms, sent=None):
        self.ok, self.other, self.errors = ok, other, errors
        self.seconds, self.p50_ms, self.p99_ms = seconds, p50_ms, p99_ms
        # Requests sent, answered or not: wrk stops with up to 16 letters in flight, which the
        # desk stores but wrk never counts.
        self.sent = ok + other + errors if sent is None else sent
        self.cpu_ms = None  # gunicorn's CPU time per counted response, set by the caller

    @property
    def per_second(self):
        return self.ok / self.seconds


def run_wrk(url, seconds, script, args):
    command = ["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(script), url, "--", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    return Measurement(
        data["ok"],
        data["other"],
        data["errors"],
        data["duration_us"] / 1e6,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
        data.get("sent"),
    )


def run_python_client(url, seconds, method, body_for, headers, ok_status):
    """Fallback when wrk is missing: 16 threads with http.client (takes far more CPU)."""
    parts = urllib.parse.urlsplit(url)
    latencies, statuses, errors = [], [], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n):
        i = 0
        while time.monotonic() < deadline:
            i += 1
            body = body_for(n, i) if body_for else None
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request(method, parts.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
            except OSError:
                with lock:
                    errors[0] += 1
                continue
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    ok = sum(1 for status in statuses if status == ok_status)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return Measurement(
        ok, len(statuses) - ok, errors[0], duration, cuts[49] * 1000, cuts[98] * 1000
    )


class Load:
    """Runs one measurement (warm-up, then timed) with wrk, or the Python fallback."""

    def __init__(self, cookie, csrf_token, var_dir):
        self.cookie = cookie
        self.use_wrk = shutil.which("wrk") is not None
        self.template = form_template(csrf_token)
        self.template_file = Path(var_dir) / "letter-form.txt"
        self.template_file.write_text(self.template)
        self.prefixes = []  # one per POST run: the first 18 characters of its client_tokens
        # Every desk letter of every run carries a solution no other letter used.
        self.payloads = solved_challenges(PAYLOADS)
        self.payload_file = Path(var_dir) / "altcha-payloads.txt"
        self.payload_file.write_text("\n".join(self.payloads) + "\n")
        self.payloads_used = 0

    def _new_prefix(self):
        hex_ = uuid.uuid4().hex
        prefix = f"{hex_[:8]}-{hex_[8:12]}-4{hex_[13:16]}"
        self.prefixes.append(prefix)
        return prefix

    def post_letters(self, url, seconds):
        prefix = self._new_prefix()
        path = urllib.parse.urlsplit(url).path
        first = self.payloads_used
        if self.use_wrk:
            args = [path, self.cookie, prefix, str(self.template_file)]
            args += [str(self.payload_file), str(first)]
            measured = run_wrk(url, seconds, BENCH / "wrk_post_letter.lua", args)
        else:
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": self.cookie,
                "Referer": url,
            }
            taken = iter(range(first, len(self.payloads)))
            lock = threading.Lock()

            def body_for(n, i):
                with lock:
                    payload = self.payloads[next(taken)]
                body = self.template.replace("CLIENT_TOKEN", f"{prefix}-{n + 1:04x}-{i:012x}")
                return body.replace("ALTCHA_PAYLOAD", payload)

            measured = run_python_client(url, seconds, "POST", body_for, headers, 302)
        self.payloads_used += measured.sent
        if self.payloads_used > len(self.payloads):
            sys.exit(f"More letters posted than the {len(self.payloads)} solutions prepared")
        return measured

    def get_page(self, url, seconds):
        if self.use_wrk:
            return run_wrk(url, seconds, BENCH / "wrk_get_page.lua", [self.cookie])
        return run_python_client(url, seconds, "GET", None, {"Cookie": self.cookie}, 200)

    def measure(self, kind, url, warmup, seconds, server):
        run = self.post_letters if kind == "post" else self.get_page
        warm = run(url, warmup)
        cpu_before = server.cpu_seconds()
        timed = run(url, seconds)
        timed.cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(timed.sent, 1)
        return warm, timed


# --- checking what the desk stored and enqueued ---


def queued_confirmations(var_dir):
    """Letter ids of the tasks waiting in the filesystem broker's queue that will send each
    letter's confirmation (letters.tasks.letter_submitted)."""
    ids = []
    for path in (Path(var_dir) / "celery" / "queue").glob("*.msg"):
        message = json.loads(path.read_text())
        if message["headers"].get("task") != "letters.tasks.letter_submitted":
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.append(args[0])
    return ids


def check_stored(var_dir, accepted, sent, prefixes):
    """Every accepted desk letter stored once with its exact text and one 'submitted' event,
    every accepted bare letter stored, and exactly one queued confirmation per desk letter.

    Letters still in flight when wrk stopped are stored but were never counted as accepted,
    so the stored count must lie between the letters accepted and the letters sent."""
    from django.db import connections

    from letters.models import Letter, LetterEvent, Status

    connections.close_all()
    problems = []
    desk = Letter.objects.filter(client_token__isnull=False)
    rows = list(desk.values_list("pk", "client_token", "body", "status"))
    if not accepted["desk"] <= len(rows) <= sent["desk"]:
        problems.append(
            f"{len(rows)} desk letters stored, but {accepted['desk']} were accepted "
            f"and {sent['desk']} sent"
        )
    wrong_text = [
        pk for pk, token, body, _ in rows if body != LETTER_TEXT.replace("CLIENT_TOKEN", str(token))
    ]
    if wrong_text:
        problems.append(f"{len(wrong_text)} desk letters stored with other text than was sent")
    foreign = [pk for pk, token, _, _ in rows if str(token)[:18] not in prefixes]
    if foreign:
        problems.append(f"{len(foreign)} letters with client_tokens this run never sent")
    if any(status != Status.UNCONFIRMED for *_, status in rows):
        problems.append("some desk letters are not awaiting confirmation")
    suspect = desk.filter(suspect=True).count()
    if suspect:
        reasons = set(desk.filter(suspect=True).values_list("suspect_reason", flat=True)[:5])
        problems.append(f"{suspect} desk letters held as suspect ({', '.join(sorted(reasons))})")
    events = LetterEvent.objects.filter(letter__in=desk, action="submitted").count()
    if events != len(rows):
        problems.append(f"{len(rows)} desk letters but {events} 'submitted' events")
    bare = Letter.objects.filter(client_token__isnull=True, status=Status.UNCONFIRMED).count()
    if not accepted["bare"] <= bare <= sent["bare"]:
        problems.append(
            f"{bare} bare letters stored, but {accepted['bare']} were accepted "
            f"and {sent['bare']} sent"
        )
    queued = queued_confirmations(var_dir)
    if sorted(queued) != sorted(pk for pk, *_ in rows):
        problems.append(
            f"{len(queued)} letter_submitted tasks queued for {len(rows)} desk letters: "
            "not exactly one per letter"
        )
    return len(rows), len(queued), problems


# --- the report ---


def median(values):
    return statistics.median(values)


def describe(label, runs, unit):
    rates = ", ".join(f"{m.per_second:.0f}" for m in runs)
    return (
        f"{label:<28} {median([m.per_second for m in runs]):5.0f} {unit}/s  "
        f"p50 {median([m.p50_ms for m in runs]):5.1f} ms  "
        f"p99 {median([m.p99_ms for m in runs]):5.1f} ms  "
        f"CPU {median([m.cpu_ms for m in runs]):4.2f} ms/req  (runs: {rates})"
    )


def verdict(ok):
    return "PASS" if ok else "FAIL"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds timed per run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="letters-bench-form-"))
    print(f"Desk in {var_dir}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    article_path = prepare_database(var_dir)
    desk = Server("desk", var_dir, "reaction_letters.settings")
    bare = Server("bare", var_dir, "bench.baseline_settings")
    results = {"desk": [], "bare": [], "page": []}
    accepted = {"desk": 0, "bare": 0}
    sent = {"desk": 0, "bare": 0}
    try:
        desk.wait_until_ready(article_path)
        bare.wait_until_ready(article_path)
        cookie, csrf_token = reader_session(desk.base + article_path)
        load = Load(cookie, csrf_token, var_dir)
        if not load.use_wrk:
            print("wrk is not installed (apt-get install wrk): using the Python client, which")
            print("takes CPU from gunicorn on this machine, so figures are lower than with wrk.")
        slug = article_path.rstrip("/").rsplit("/", 1)[1]
        urls = {
            "desk": desk.base + article_path,
            "bare": bare.base + f"/bench/bare/{slug}/",
            "page": desk.base + article_path,
        }
        for n in range(options.runs):
            for name in ("desk", "bare", "page"):
                kind = "get" if name == "page" else "post"
                server = bare if name == "bare" else desk
                warm, timed = load.measure(
                    kind, urls[name], options.warmup, options.duration, server
                )
                if name in accepted:
                    accepted[name] += warm.ok + timed.ok
                    sent[name] += warm.sent + timed.sent
                if timed.other or timed.errors or warm.other or warm.errors:
                    print(
                        f"  {name} run {n + 1}: {timed.other + warm.other} unexpected "
                        f"responses, {timed.errors + warm.errors} socket errors"
                    )
                results[name].append(timed)
                print(
                    f"  run {n + 1} {name:<4} {timed.per_second:6.0f}/s  "
                    f"p50 {timed.p50_ms:5.1f} ms  p99 {timed.p99_ms:5.1f} ms  "
                    f"gunicorn CPU {timed.cpu_ms:4.2f} ms/req  load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
    finally:
        desk.stop()
        bare.stop()

    stored, queued, problems = check_stored(var_dir, accepted, sent, load.prefixes)
    for server in (desk, bare):
        for line in server.problems()[:5]:
            problems.append(f"gunicorn {server.name}: {line}")

    desk_rate = median([m.per_second for m in results["desk"]])
    bare_rate = median([m.per_second for m in results["bare"]])
    desk_p99 = median([m.p99_ms for m in results["desk"]])
    page_rate = median([m.per_second for m in results["page"]])
    client = "wrk, 1 thread" if load.use_wrk else "Python threads (wrk missing)"
    print()
    print(
        f"Medians of {options.runs} runs, {options.duration} s each after {options.warmup} s "
        f"warm-up; {CLIENTS} clients ({client}); gunicorn 2 sync workers; SQLite WAL"
    )
    print(describe("Desk form (accepted, 302)", results["desk"], "letters"))
    print(describe("Bare ModelForm (302)", results["bare"], "letters"))
    print(describe("Article page (200)", results["page"], "req"))
    desk_cpu = median([m.cpu_ms for m in results["desk"]])
    bare_cpu = median([m.cpu_ms for m in results["bare"]])
    print(
        f"Ratio desk/bare: {desk_rate / bare_rate:.2f} in letters/s, "
        f"{bare_cpu / desk_cpu:.2f} in gunicorn CPU per letter"
    )
    print(f"Desk's own work per letter: {desk_cpu - bare_cpu:.2f} ms of gunicorn CPU")
    print(
        "(Requests per second depend on what else the machine runs (see the load average of"
        " each run); CPU per request depends on it much less.)"
    )
    print(
        f"Checked: {stored} desk letters stored with their exact text, {queued} letter_submitted tasks queued (each starts its confirmation)"
    )
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    print()
    checks = [
        (f"desk >= {TARGET_LETTERS_PER_SECOND} letters/s", desk_rate >= TARGET_LETTERS_PER_SECOND),
        (f"desk p99 < {TARGET_P99_MS} ms", desk_p99 < TARGET_P99_MS),
        (
            f"desk CPU per letter <= {TARGET_CPU_RATIO}x the bare form's",
            desk_cpu <= TARGET_CPU_RATIO * bare_cpu,
        ),
        (f"article page >= {TARGET_PAGE_PER_SECOND} req/s", page_rate >= TARGET_PAGE_PER_SECOND),
        ("letters stored and enqueued exactly", not problems),
    ]
    for label, ok in checks:
        print(f"{verdict(ok)}  {label}")
    if options.keep:
        print(f"Kept {var_dir}")
    else:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
