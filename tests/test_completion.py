"""Shell completion (SPEC §11): the Click/Typer protocol the scripts of --show-completion speak, answered
with commands, options, and account slugs, licence codes and the account's e-mails read from the ledger;
the scripts for bash, zsh and fish, and --install-completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import add_account, process_env


@pytest.fixture
def acme(acme):
    """acme with ana and bob, globex with carla; a plan 'team'."""
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("user", "add", "acme", "bob@example.com")
    add_account(acme, "globex")
    acme.ok("user", "add", "globex", "carla@example.com")
    acme.ok("plan", "add", "team", "--name", "Team", "--monthly", "50.00", "--includes", "base=2")
    return acme


def tab(line: str, env: dict[str, str], shell: str = "bash") -> subprocess.CompletedProcess[str]:
    """What the shell's completion script asks seatctl when Tab is pressed after `line` (`seatctl …`)."""
    words = line.split()
    extra = {"_SEATCTL_COMPLETE": f"complete_{shell}"}
    if shell == "bash":  # the script passes the words and the index of the one being completed
        extra.update(COMP_WORDS=line, COMP_CWORD=str(len(words) if line.endswith(" ") else len(words) - 1))
    else:
        extra.update(_TYPER_COMPLETE_ARGS=line, _TYPER_COMPLETE_FISH_ACTION="get-args")
    return subprocess.run([sys.executable, "-m", "seatctl"], env=process_env({**env, **extra}), capture_output=True,
                          text=True, timeout=60)


def offered(line: str, env: dict[str, str]) -> list[str]:
    result = tab(line, env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.split()


def test_commands_and_options(acme):
    env = acme.env()
    assert offered("seatctl st", env) == ["status"]
    assert {"batch", "shell", "assign", "report"} <= set(offered("seatctl ", env))
    assert offered("seatctl report u", env) == ["usage", "users"]
    assert offered("seatctl status --t", env) == ["--tree"]
    assert "--install-completion" in offered("seatctl --", env)


def test_slugs_codes_and_the_typed_accounts_emails_come_from_the_ledger(acme):
    env = acme.env()
    assert offered("seatctl assign ", env) == ["acme", "globex"]
    assert offered("seatctl status g", env) == ["globex"]
    assert offered("seatctl account show a", env) == ["acme"]
    assert offered("seatctl invoice list --account ", env) == ["acme", "globex"]
    assert offered("seatctl assign acme ", env) == ["ana@example.com", "bob@example.com"]  # acme's only
    assert offered("seatctl assign globex ", env) == ["carla@example.com"]
    assert offered("seatctl user deactivate acme ana@example.com b", env) == ["bob@example.com"]
    assert offered("seatctl assign acme ana@example.com ", env) == ["base", "gsm", "messaging", "voip"]
    assert offered("seatctl release acme ana@example.com base v", env) == ["voip"]
    assert offered("seatctl buy acme ", env) == ["base", "gsm", "messaging", "voip"]
    assert offered("seatctl licence show m", env) == ["messaging"]
    assert offered("seatctl account set-plan acme ", env) == ["team"]
    # a new value completes with nothing from the ledger
    assert offered("seatctl account add ", env) == []
    assert offered("seatctl user add acme ", env) == []


def test_the_ledger_named_on_the_line_is_the_one_read(acme, tmp_path):
    env = {**acme.env(), "SEATCTL_DB": str(tmp_path / "elsewhere.db")}
    assert offered("seatctl assign ", env) == []  # no ledger there: nothing, and no error
    assert offered(f"seatctl --db {acme.location()} assign ", env) == ["acme", "globex"]


def test_zsh_and_fish_answers(acme):
    env = acme.env()
    zsh = tab("seatctl assign a", env, "zsh")
    assert zsh.returncode == 0 and zsh.stdout.strip() == "_arguments '*: :((\"acme\"))'"
    fish = tab("seatctl report u", env, "fish")
    assert fish.stdout.splitlines()[0].startswith("usage\t")
    assert "\x1b[" not in zsh.stdout + fish.stdout


def _bin_path() -> str:
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_of_each_shell(shell, tmp_path):
    script = subprocess.run([sys.executable, "-m", "seatctl"], env=process_env({"_SEATCTL_COMPLETE": f"source_{shell}"}),
                            capture_output=True, text=True, timeout=60)
    assert script.returncode == 0
    assert f"_SEATCTL_COMPLETE=complete_{shell}" in script.stdout
    shown = subprocess.run([sys.executable, "-m", "seatctl", "--show-completion", shell], capture_output=True, text=True,
                           env=process_env({"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}), timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == script.stdout.strip()


def test_show_completion_detects_bash_and_the_script_completes_in_bash(acme, tmp_path):
    env = process_env({**acme.env(), "PATH": _bin_path(), "HOME": str(tmp_path)})
    # (a compound command: bash stays seatctl's parent instead of exec-ing it, whoever started the tests)
    shown = subprocess.run(["bash", "-c", "seatctl --show-completion && :"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _seatctl_completion seatctl" in shown.stdout
    # the script, sourced by a real bash, asked to complete `seatctl assign acme <Tab>`
    run = subprocess.run(["bash", "-c", 'eval "$(seatctl --show-completion)"; COMP_WORDS=(seatctl assign acme ""); '
                          'COMP_CWORD=3; _seatctl_completion seatctl; printf "%s\\n" "${COMPREPLY[@]}"'],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["ana@example.com", "bob@example.com"], run.stderr
    installed = subprocess.run(["bash", "-c", "seatctl --install-completion && :"], env=env, capture_output=True, text=True,
                               timeout=60)
    assert installed.returncode == 0, installed.stderr
    assert "_SEATCTL_COMPLETE=complete_bash" in (tmp_path / ".bash_completions" / "seatctl.sh").read_text()
    assert "source" in (tmp_path / ".bashrc").read_text()


def test_root_help_shows_the_completion_options():
    result = subprocess.run([sys.executable, "-m", "seatctl", "--help"], env=process_env({}), capture_output=True,
                            text=True, timeout=60)
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
