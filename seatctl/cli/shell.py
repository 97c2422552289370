"""`seatctl shell`: an interactive session on one ledger (SPEC §11), built on prompt_toolkit.

Each line runs as `batch` runs it (`many.run_line`: same parsing, checks, transaction, output and exit
code; the engines kept between lines). On a terminal: a prompt naming the ledger and the operator, history
in the user data folder, Tab completion (commands, options, slugs, licence codes, the e-mails of the
account typed: `complete.completions`), the exit code shown when it is not 0, `exit` or Ctrl-D to leave,
Ctrl-C to drop the line being typed. On piped input: no prompt, no colours, the lines run one after
another and the shell exits with the last one's code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from seatctl.cli.common import Ledger, Options, one_line
from seatctl.cli.many import LineError, run_line, words_of

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document

LEAVE = (["exit"], ["quit"])


def shell() -> None:
    """An interactive session on one ledger: seatctl commands without the word seatctl.

    Tab completes commands, options, account slugs, licence codes and the e-mails of the account
    typed. History is kept in the user data folder; exit or Ctrl-D leaves. On piped input there is
    no prompt: the lines run in order and the shell exits with the last one's code.

    Example: seatctl shell
    Example: seatctl --db ledger.db shell
    """
    import typer

    raise typer.Exit(run_shell())


def run_shell() -> int:
    Ledger.keep_engines()
    try:
        if not sys.stdin.isatty():
            return _piped(sys.stdin)
        return _interactive()
    finally:
        Ledger.release_engines()


def _piped(lines: Iterable[str]) -> int:
    last = 0
    for number, text in enumerate(lines, 1):
        try:
            words = words_of(text)
        except LineError as err:
            print(f"error: line {number}: {one_line(str(err))}. Close the quote", file=sys.stderr)
            last = 2
            continue
        if words in LEAVE:
            break
        if words:
            last = run_line(words)
    return last


def where() -> tuple[str, str]:
    """The prompt's ledger (a file's name, a database's host and name) and operator."""
    import getpass
    from pathlib import Path

    from seatctl import config

    try:
        location = config.database_location(Options.db, config.load(Options.config))
    except Exception:
        return "?", os.environ.get("SEATCTL_OPERATOR") or getpass.getuser()
    if "://" in location and not location.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        url = make_url(location)
        return f"{url.host or 'localhost'}/{url.database or ''}", url.username or getpass.getuser()
    path = location.split(":///", 1)[1] if location.startswith("sqlite") else location
    return Path(path).name, os.environ.get("SEATCTL_OPERATOR") or getpass.getuser()


def _interactive() -> int:
    from prompt_toolkit import PromptSession, print_formatted_text
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.history import FileHistory

    from seatctl import config

    class LineCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
            from prompt_toolkit.completion import Completion

            for value, help_ in line_completions(document.text_before_cursor):
                yield Completion(value, start_position=-len(_last_word(document.text_before_cursor)),
                                 display_meta=help_ or "")

    history = config.history_path()
    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)), completer=LineCompleter(),
                                                complete_while_typing=False)
    print("seatctl shell: seatctl commands without the word seatctl; Tab completes; exit or Ctrl-D leaves.")
    while True:
        ledger, operator = where()  # read before every line, like the clock
        try:
            text = session.prompt(FormattedText([("ansicyan", ledger), ("", " "), ("ansigreen", operator),
                                                 ("", "> ")]))
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        try:
            words = words_of(text)
        except LineError as err:
            print(f"error: {one_line(str(err))}. Close the quote", file=sys.stderr)
            continue
        if words in LEAVE:
            return 0
        if not words:
            continue
        code = run_line(words, empty_stdin=False)  # a terminal: `buy` may ask
        if code:
            print_formatted_text(FormattedText([("ansired", f"exit {code}")]))


def _last_word(text: str) -> str:
    return "" if not text or text[-1].isspace() else text.split()[-1]


def line_completions(text: str) -> list[tuple[str, str | None]]:
    """Tab after `text` (the line up to the cursor): the words before the one being typed, with the
    shell's own --db/--config before them so slugs come from the shell's ledger."""
    import shlex

    from seatctl.cli.complete import completions

    incomplete = _last_word(text)
    try:
        words = shlex.split(text[:len(text) - len(incomplete)])
    except ValueError:
        return []
    if words[:1] == ["seatctl"]:
        words = words[1:]
    outer = [item for name, value in (("--db", Options.db), ("--config", Options.config)) if value
             for item in (name, value)]
    found = completions([*outer, *words], incomplete)
    if not words and "exit".startswith(incomplete):
        found.append(("exit", "Leave the shell."))
    return found
