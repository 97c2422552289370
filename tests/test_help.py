"""Help worth reading (issue 17): metavars instead of type names, help on every parameter, examples that
parse as the command they document, and the root help grouped by section."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from seatctl.cli.app import COMMANDS, ROOT_EXAMPLES, SECTIONS, app, build
from seatctl.cli.common import HelpCommand, HelpGroup

# What Typer and Click print when a parameter has no metavar: <str>, list[str], {account}, TEXT, INTEGER.
RAW_TYPES = re.compile(r"<[a-z][\w\[\], |]*>|\blist\[|\{[a-z_]+\}|\b(TEXT|INTEGER|BOOLEAN|FLOAT)\b")


def _tree() -> Iterator[tuple[tuple[str, ...], typer.core.TyperCommand | TyperGroup]]:
    """(path, command) for every registry entry and every command inside a group."""

    def walk(path: tuple[str, ...], command):  # type: ignore[no-untyped-def]
        yield path, command
        for name, child in getattr(command, "commands", {}).items():
            yield from walk((*path, name), child)

    for name in COMMANDS:
        yield from walk((name,), build(name))


TREE = list(_tree())
LEAVES = [(path, command) for path, command in TREE if not isinstance(command, TyperGroup)]
IDS = [" ".join(path) for path, _ in TREE]
LEAF_IDS = [" ".join(path) for path, _ in LEAVES]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _parse(example: str) -> tuple[str, ...]:
    """Parse an `Example:` line as `seatctl` would (types, choices, required arguments), without running it;
    the path of the command it reaches."""
    words = shlex.split(example.removeprefix("Example:"))
    for stop in (">", "|"):  # shell redirections end the command
        words = words[:words.index(stop)] if stop in words else words
    assert words[0] == "seatctl", example
    command = typer.main.get_command(app)
    ctx = command.make_context("seatctl", words[1:])
    path: list[str] = []
    while isinstance(command, TyperGroup):
        name, found, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert name is not None and found is not None, example
        path.append(name)
        command, ctx = found, found.make_context(name, rest, parent=ctx)
    return tuple(path)


@pytest.mark.parametrize("path", [path for path, _ in TREE], ids=IDS)
def test_every_help_shows_an_example_and_no_type_names(path):
    text = _help(*path)
    assert text.startswith(f"Usage: seatctl {' '.join(path)} ")
    assert re.search(r"^  Example: seatctl ", text, re.MULTILINE), text
    assert not RAW_TYPES.search(text), RAW_TYPES.search(text)
    assert "\x1b[" not in text  # plain text, never Rich


@pytest.mark.parametrize("path, command", TREE, ids=IDS)
def test_every_argument_and_option_has_help_text(path, command):
    for param in command.params:
        assert param.help, f"seatctl {' '.join(path)}: {param.name} has no help text"


@pytest.mark.parametrize("path, command", LEAVES, ids=LEAF_IDS)
def test_every_example_parses_as_the_command_it_documents(path, command):
    assert isinstance(command, HelpCommand), "build commands with Group() / the registry, for readable help"
    assert command.examples
    assert "Example:" not in (command.help or "")  # kept out of the description and the summaries
    for example in command.examples:
        assert _parse(example) == path, example


def test_groups_show_their_commands_examples():
    for path, command in TREE:
        if isinstance(command, TyperGroup):
            assert isinstance(command, HelpGroup)
            text = _help(*path)
            for name, child in command.commands.items():
                assert child.examples[0] in text, (path, name)


def test_usage_lines_use_metavars():
    assert _help("assign").startswith("Usage: seatctl assign [OPTIONS] ACCOUNT [EMAIL] [LICENCE]...\n")
    assert _help("release").startswith("Usage: seatctl release [OPTIONS] ACCOUNT EMAIL LICENCE...\n")
    usage = _help("report", "usage")
    for option in ("--from DATE", "--to DATE", "--by day|week|month", "--account SLUG",
                   "-f, --format table|plain|markdown|github|csv|json"):
        assert re.search(rf"^  {re.escape(option)}\s", usage, re.MULTILINE), option
    assert re.search(r"^  --db URL_OR_PATH\s", _help(), re.MULTILINE)


def test_root_help_groups_commands_in_five_sections():
    assert list(SECTIONS) == ["seats", "accounts", "billing", "reports", "admin"]
    section, listed = None, {}
    for line in _help().splitlines():
        if re.fullmatch(r"[A-Z]\w*:", line):
            section = line[:-1]
        elif section in SECTIONS.values() and (found := re.match(r"  (\S+)  ", line)):
            listed[found.group(1)] = section
    assert listed == {name: SECTIONS[entry.section] for name, entry in COMMANDS.items()}
    assert set(listed.values()) == set(SECTIONS.values())  # no empty section


def test_root_examples_parse():
    text = _help()
    for example in ROOT_EXAMPLES:
        assert example in text
        assert _parse(example)[0] in COMMANDS
