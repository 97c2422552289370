"""The command registry behind the lazy root: every entry builds, and --help lists it."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from seatctl.cli.app import COMMANDS, app, build


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_registry_entry_builds_under_its_own_name(name):
    command = build(name)
    assert command.name == name
    assert command.get_short_help_str(200) == COMMANDS[name].summary


def test_root_help_lists_every_command_with_its_summary():
    result = _run("--help")
    assert result.exit_code == 0
    listed = result.stdout.split("Seats:")[1]
    for name, entry in COMMANDS.items():
        assert f"\n  {name} " in listed
        assert entry.summary in " ".join(listed.split())


def test_a_group_keeps_its_subcommands_and_help():
    group = typer.main.get_command(app).get_command(None, "invoice")  # type: ignore[arg-type, attr-defined]
    assert sorted(group.commands) == ["export", "list", "show", "void"]
    result = _run("invoice", "--help")
    assert result.exit_code == 0
    assert "Invoices and credit notes." in result.stdout
    assert "void" in result.stdout


def test_a_typo_gets_one_error_line_with_a_suggestion():
    result = _run("asign")
    assert result.exit_code == 2
    assert "No such command 'asign'. Did you mean 'assign'?" in result.stderr
