"""A throwaway Dovecot IMAP server for tests: own config in a temp folder, 127.0.0.1, free port.

Debian's dovecot-imapd package (with dovecot-core) provides /usr/sbin/dovecot. Nothing
system-wide is used or touched: the server runs in the foreground (-F) with its own base_dir,
state and mail folders, and a passwd-file user.
"""

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .factories import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "desk", "desk-password"

CONFIG = """
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
default_internal_group = {group}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{tmp}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def available():
    return os.path.exists(DOVECOT)


class Dovecot:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.port = free_port()
        self.user, self.password = USER, PASSWORD
        self.process = None

    def start(self):
        if os.getuid() == 0:
            account = pwd.getpwnam("dovecot")
            internal, login = "dovecot", "dovenull"
        else:
            account = pwd.getpwuid(os.getuid())
            internal = login = account.pw_name
        uid, gid = account.pw_uid, account.pw_gid
        for name in ("run", "state", "mail"):
            (self.tmp / name).mkdir(parents=True, exist_ok=True)
        (self.tmp / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        os.chown(self.tmp / "mail", uid, gid)
        os.chmod(self.tmp, 0o755)
        config = self.tmp / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                tmp=self.tmp,
                port=self.port,
                uid=uid,
                gid=gid,
                internal=internal,
                login=login,
                group=account.pw_name if os.getuid() else "dovecot",
            )
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited: {self.process.stdout.read().decode()}{self.log()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not start listening: {self.log()}")

    def log(self):
        path = self.tmp / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
