import mailbox
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from letters.intake.archive import import_messages


def open_mailbox(path):
    """An mbox file, a Maildir folder (cur/ new/), or a folder of .eml files: (count, bytes iterator)."""
    path = Path(path)
    if path.is_file():
        box = mailbox.mbox(path, factory=None, create=False)
    elif (path / "cur").is_dir() or (path / "new").is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_dir():
        files = sorted(path.glob("*.eml"))
        return len(files), (f.read_bytes() for f in files)
    else:
        raise CommandError(f"{path} is neither an mbox file nor a Maildir folder.")
    keys = box.keys()
    return len(keys), (box.get_bytes(key) for key in keys)


class Command(BaseCommand):
    help = "Import an inbox archive (mbox file or Maildir folder): each message becomes a letter."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *, path, batch_size, no_progress, **options):
        total, messages = open_mailbox(path)
        started = time.perf_counter()
        done = 0
        show = not no_progress and total

        def progress(count):
            nonlocal done
            done += count
            if show:
                width = 30
                filled = width * done // total
                rate = done / max(time.perf_counter() - started, 1e-9)
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:,.0f} msg/s"
                )
                sys.stderr.flush()

        summary = import_messages(messages, batch_size=batch_size, progress=progress)
        if show:
            sys.stderr.write("\n")
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{total} messages in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} msg/s): "
            f"{summary.stored} stored ({summary.accepted} letters, {summary.rejected} rejected, "
            f"{summary.failed} failed), {summary.duplicates} duplicates."
        )
