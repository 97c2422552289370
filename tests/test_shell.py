"""`seatctl shell` (SPEC §11): on piped input it just runs the lines; on a terminal a prompt with the ledger
and the operator, Tab completion from the ledger, history in the user data folder, the exit code shown
when not 0, Ctrl-D to leave."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import add_account


@pytest.fixture
def acme(acme):
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("user", "add", "acme", "bob@example.com")
    acme.ok("buy", "acme", "base", "1", "--yes")
    add_account(acme, "globex")
    acme.ok("user", "add", "globex", "carla@example.com")
    return acme


def test_piped_lines_run_without_prompt_or_colour(acme, process):
    text = "status acme\nassign acme ana@example.com base\n\n# a comment\naccount show nowhere\n"
    result = process(["shell"], acme.env(), input=text)
    assert result.returncode == 3  # the last line's code
    assert result.stdout.startswith("account    licence")  # the first thing printed is the first line's output
    assert "Assigned base to ana@example.com in 'acme'." in result.stdout
    assert result.stderr == "error: no account 'nowhere'. See: seatctl account list\n"
    assert "\x1b[" not in result.stdout + result.stderr and ">" not in result.stdout
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "seatctl" / "shell_history").exists()  # no history when piped


def test_piped_exit_leaves(acme, process):
    result = process(["shell"], acme.env(), input="user add acme cy@example.com\nexit\nuser add acme dee@example.com\n")
    assert result.returncode == 0
    assert [u["email"] for u in acme.json("user", "list", "acme")] == ["ana@example.com", "bob@example.com",
                                                                       "cy@example.com"]


def test_completion_of_a_line(acme, monkeypatch):
    from seatctl.cli.shell import line_completions

    for key, value in acme.env().items():
        monkeypatch.setenv(key, value)

    def values(text: str) -> list[str]:
        return [value for value, _ in line_completions(text)]

    assert values("st") == ["status"]
    assert values("assign ") == ["acme", "globex"]
    assert values("assign acme ") == ["ana@example.com", "bob@example.com"]
    assert values("assign 'globex' ") == ["carla@example.com"]
    assert values("assign acme ana@example.com m") == ["messaging"]
    assert values("status --t") == ["--tree"]
    assert values("ex") == ["exit"]
    assert values("assign 'acme") == []  # an open quote: nothing to offer, no error


def _terminal(args: list[str], env: dict[str, str], keys: list[tuple[bytes, bytes]], timeout: float = 60) -> tuple[int, str]:
    """Run `python -m seatctl ARGS…` on a pseudo-terminal; for each (wait_for, send), wait until the screen
    shows `wait_for` (after what was seen before), then type `send`; after the last, Ctrl-D every second
    until it leaves. Returns (exit code, the screen's text without escape sequences)."""
    import pty

    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    environ.update(env, COLUMNS="160", LINES="50", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = subprocess.Popen([sys.executable, "-m", "seatctl", *args], stdin=slave, stdout=slave, stderr=slave,
                             env=environ, close_fds=True)
    os.close(slave)
    seen, start, deadline, last = b"", 0, time.monotonic() + timeout, time.monotonic()
    pending = list(keys)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", b"", seen)
        if pending and pending[0][0] in plain[start:]:
            start = plain.index(pending[0][0], start) + len(pending[0][0])
            time.sleep(0.3)  # let the prompt settle (a redraw can show the awaited text before it is done)
            os.write(master, pending.pop(0)[1])
            last = time.monotonic()
        elif not pending and time.monotonic() - last > 1:  # then Ctrl-D (again) until it leaves
            os.write(master, b"\x04")
            last = time.monotonic()
        if child.poll() is not None and not ready:
            break
    if child.poll() is None:  # still running when it should have left: stop it, the test fails on its code
        child.kill()
    code = child.wait(timeout=10)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", seen.decode(errors="replace")).replace("\r", "")
    return code, text


def test_on_a_terminal(acme):
    prompt = b"ledger.db alice>" if acme.backend == "sqlite" else b" alice>"  # the space after is a cursor move
    code, screen = _terminal(["shell"], acme.env(), [
        (prompt, b"status acme\r"),
        (b"waiting", b"account show nowhere\r"),  # once the status table is drawn
        (b"exit 3", b"assign glo\t"),  # the code shown; then Tab: the slug from the ledger…
        (b"bex", b" \t"),  # …and the e-mail of the account typed
        (b"carla@example.com", b"\x03"),  # Ctrl-C drops the line; then Ctrl-D leaves
    ])
    assert code == 0, screen
    assert "seatctl shell:" in screen
    assert re.search(r"acme\W+base\W+0\W+1\W+1", screen), screen  # the status table
    assert "error: no account 'nowhere'" in screen
    history = (Path(os.environ["XDG_DATA_HOME"]) / "seatctl" / "shell_history").read_text()
    assert "+status acme" in history and "+account show nowhere" in history
    assert [u["email"] for u in acme.json("user", "list", "globex")] == ["carla@example.com"]  # nothing assigned
