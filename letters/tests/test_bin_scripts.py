"""The set-up scripts under bin/: they find Python on any machine (no one's home directory
named), and installing the test's dovecot never stops another dovecot on the host."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shell_functions(script, *names):
    """The bash functions `names` of `script`, as text to source."""
    text = (ROOT / script).read_text()
    return "\n".join(
        re.search(rf"^{name}\(\) {{\n.*?^}}\n", text, re.S | re.M)[0] for name in names
    )


def test_bin_setup_finds_python_under_the_users_own_pyenv_whatever_their_home(tmp_path):
    home = tmp_path / "someone-else"
    python = home / ".pyenv/versions/3.13.5/bin/python3.13"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    tools = tmp_path / "tools"  # a PATH with no python on it: only what the functions call
    tools.mkdir()
    (tools / "sort").symlink_to(shutil.which("sort"))
    functions = shell_functions("bin/setup", "python_candidates", "find_python")

    found = subprocess.run(
        [shutil.which("bash"), "-c", f"{functions}\nfind_python"],
        env={"HOME": str(home), "PATH": str(tools)},
        capture_output=True,
        text=True,
        check=False,
    )

    if found.stdout.strip() != str(python):  # a python3.13 in /usr/local/bin or /usr/bin wins
        assert found.stdout.strip() in ("/usr/local/bin/python3.13", "/usr/bin/python3.13")
    assert found.returncode == 0
    assert "/root" not in (ROOT / "bin/setup").read_text()


def test_installing_dovecot_keeps_only_the_system_dovecot_from_starting(tmp_path):
    script = (ROOT / "bin/system-packages").read_text()
    policy = tmp_path / "policy-rc.d"
    policy.write_text(re.search(r"<<'POLICY'\n(.*?)^POLICY$", script, re.S | re.M)[1])
    policy.chmod(0o755)

    def answer(*args):
        return subprocess.run([str(policy), *args], check=False).returncode

    assert answer("dovecot", "start") == 101  # Debian's "action forbidden"
    assert answer("--quiet", "dovecot.socket", "start") == 101
    assert answer("nginx", "start") == 0 and answer("postgresql", "restart") == 0
    assert "pkill" not in script and "killall" not in script
