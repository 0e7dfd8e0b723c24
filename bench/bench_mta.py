"""Benchmark the MTA's ways into the desk, delivered as an MTA delivers them.

    .venv/bin/python bench/bench_mta.py [--count 500] [--ways pipe-manage,pipe,relay,smtp]
                                        [--database URL] [--broker URL]

Each way gets --count fresh realistic letters (bench/make_mbox.py's generator, a new
Message-ID each, so every one is stored and its processing enqueued):

- `pipe-manage`: `manage.py receive_email`, a new process per message (the pipe as documented
  before the relaying pipe, kept for existing set-ups);
- `pipe`: `python -m letters.intake.pipe`, a new process per message, storing in-process (the
  pipe when no listener runs);
- `relay`: the same with LETTERS_PIPE_RELAY, handing each message to the running SMTP listener;
- `smtp`: one SMTP connection per message straight to the listener, as Postfix's `smtp`
  transport or Exim's `smtp` transport does (the documented first choice).

Reported per way, as medians: wall time per message and the messages a second it allows
one at a time, and CPU per message. A pipe's CPU is its whole process (user + system, from
getrusage); the listener's is read from /proc in batches of --batch messages (its clock ticks
are 10 ms, too coarse for one message), and the median batch is reported. The SMTP client's
own CPU is the MTA's, not the desk's, and is left out. No worker runs: this is the way in
only (store raw, enqueue processing). Every message must come back stored (exit 0, or 250);
the stored rows are counted at the end. "log lines" counts what the pipe printed besides
its status line (the MTA writes it into its log).

Defaults: a fresh SQLite database (WAL) and the embedded filesystem broker in a temporary
folder. Pass --database postgres://... and --broker redis://... for production's. Rate
limits are off for the listener (a relaying MTA sends everything from one address; see
docs/email-intake.md).
"""

import argparse
import os
import resource
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_mbox import DEFAULT_SLUGS, Generator  # noqa: E402

PYTHON = sys.executable
WAYS = ("pipe-manage", "pipe", "relay", "smtp")
SENDER = "reader@example.org"
RECIPIENT = "letters@reaction.life"


def environment(tmp, database, broker):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database or f"sqlite:///{tmp / 'bench.sqlite3'}",
        "LETTERS_VAR_DIR": str(tmp),
        "LOG_LEVEL": "WARNING",
        "LETTERS_RATE_LIMITS": "off",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as in production: bytecode cached after run one
    env.pop("LETTERS_PIPE_RELAY", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the SMTP listener exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the SMTP listener did not start")


def process_cpu_seconds(pid):
    """User + system CPU of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pipe_command(way):
    base = ["--sender", SENDER, "--recipient", RECIPIENT]
    if way == "pipe-manage":
        return [PYTHON, str(ROOT / "manage.py"), "receive_email", *base]
    return [PYTHON, "-m", "letters.intake.pipe", *base]


def deliver_by_pipe(way, raw, env):
    """One message through a new pipe process; (wall seconds, CPU seconds, lines printed
    besides the status line, which the MTA writes into its log)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(pipe_command(way), input=raw, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0 or not result.stdout.startswith(b"stored as inbound email"):
        raise SystemExit(f"{way}: exit {result.returncode}: {result.stdout!r} {result.stderr!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(result.stderr.splitlines())


def deliver_by_smtp(raw, port):
    """One message on a new SMTP connection to the listener; wall seconds."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.sendmail(SENDER, [RECIPIENT], raw)
    return time.perf_counter() - start


def run_way(way, messages, env, listener, batch, port):
    walls, cpus, listener_cpus, chatter = [], [], [], 0
    for start in range(0, len(messages), batch):
        chunk = messages[start : start + batch]
        listener_before = process_cpu_seconds(listener.pid) if listener else 0.0
        for raw in chunk:
            if way == "smtp":
                walls.append(deliver_by_smtp(raw, port))
            else:
                wall, cpu, lines = deliver_by_pipe(way, raw, env)
                walls.append(wall)
                cpus.append(cpu)
                chatter += lines
        if listener:
            listener_cpus.append((process_cpu_seconds(listener.pid) - listener_before) / len(chunk))
    return {
        "wall": statistics.median(walls),
        "pipe_cpu": statistics.median(cpus) if cpus else 0.0,
        "listener_cpu": statistics.median(listener_cpus) if listener_cpus else 0.0,
        "chatter": chatter,
    }


def stored_count(env):
    result = subprocess.run(
        [
            PYTHON,
            str(ROOT / "manage.py"),
            "shell",
            "-c",
            "from letters.models import InboundEmail; print(InboundEmail.objects.count())",
        ],
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--database", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--broker", help="default: the embedded filesystem broker")
    args = parser.parse_args()
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    unknown = set(ways) - set(WAYS)
    if unknown:
        parser.error(f"unknown ways: {', '.join(sorted(unknown))}; choose from {', '.join(WAYS)}")

    tmp = Path(tempfile.mkdtemp(prefix="letters-bench-mta-"))
    env = environment(tmp, args.database, args.broker)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    already = stored_count(env)

    port = free_port()
    listener = None
    if {"relay", "smtp"} & set(ways):
        listener = subprocess.Popen(
            [PYTHON, "manage.py", "run_smtpd", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, listener)

    generator = Generator(seed=9, slugs=list(DEFAULT_SLUGS))
    print(f"{args.count} messages per way, one at a time; medians; database {env['DATABASE_URL']}")
    print(
        f"{'way':<12} {'wall/msg':>9} {'msg/s':>7} {'pipe CPU':>9} {'listener':>9} {'desk CPU':>9}"
    )
    results = {}
    try:
        for n, way in enumerate(ways):
            messages = [generator.message(n * args.count + i) for i in range(args.count)]
            way_env = dict(env)
            if way == "relay":
                way_env["LETTERS_PIPE_RELAY"] = f"127.0.0.1:{port}"
            uses_listener = listener if way in ("relay", "smtp") else None
            r = run_way(way, messages, way_env, uses_listener, args.batch, port)
            results[way] = r
            desk = r["pipe_cpu"] + r["listener_cpu"]
            print(
                f"{way:<12} {r['wall'] * 1000:7.1f}ms {1 / r['wall']:7.1f} "
                f"{r['pipe_cpu'] * 1000:7.1f}ms {r['listener_cpu'] * 1000:7.1f}ms "
                f"{desk * 1000:7.1f}ms {r['chatter']:9d}",
                flush=True,
            )
    finally:
        if listener:
            listener.terminate()
            listener.wait(timeout=30)
    stored = stored_count(env) - already
    expected = args.count * len(ways)
    print(f"stored {stored} of {expected} messages delivered")
    if stored != expected:
        raise SystemExit("messages were lost")


if __name__ == "__main__":
    main()
