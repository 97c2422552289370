"""Many commands in one process (SPEC §11): `seatctl batch`, and the line runner it shares with `seatctl shell`.

A line is a seatctl command without the word `seatctl`, split as a POSIX shell splits it (`shlex`), and
runs as `seatctl LINE` would: the same parsing, checks, transaction, output and exit code (`app.invoke`).
What a line must not leave to the next one:
- global options: the root callback sets `--db`/`--config` again for every line (the batch's own are
  put before the line's words, so a line that names its own wins);
- the clock and the operator: read by each command (`Ledger()`), so per line;
- transactions: each command opens and ends its own; the engines are kept from line to line (that is
  where the speed comes from: no connect, no pool warm-up), and after each line every connection must be
  back in its pool, whose reset rolls back whatever a failed command left. After a failed line the
  engines are disposed altogether (`Ledger.settle`), so the next line starts on fresh connections;
- objects: every command makes its own Session (no identity map survives it); the process-wide caches
  (compiled statements, prorated lines, invoice years) are pure functions of their arguments;
- standard input: a line gets an empty one (a `buy` without --yes refuses as it does when piped),
  so it can never read the lines that follow it from `batch -`."""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
from collections.abc import Iterable
from contextlib import redirect_stdout
from typing import Annotated, Any

import typer

from seatctl.cli.common import FormatOpt, Ledger, Options, one_line

GLOBALS = ("--db", "--config")  # the root's options that take a value
NESTED = ("batch", "shell")


class LineError(Exception):
    """A line that cannot be split into words (an unclosed quote)."""


def words_of(text: str) -> list[str]:
    """A line's words as the shell splits them; [] for a blank line or a `#` comment. A leading
    `seatctl` is dropped (a line copied from a terminal runs as it did there)."""
    if text.lstrip().startswith("#"):
        return []
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise LineError(f"cannot split the line: {err}") from None
    return words[1:] if words[:1] == ["seatctl"] else words


def _command_word(words: list[str]) -> str | None:
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word in GLOBALS:
            rest = rest[1:]
        elif not word.startswith("-"):
            return word
    return None


def run_line(words: list[str], *, empty_stdin: bool = True) -> int:
    """Run one line's words in this process with the outer command's globals before them; its exit code.
    The kept engines are settled afterwards (disposed after a failure)."""
    from seatctl.cli.app import invoke

    if _command_word(words) in NESTED:
        print(f"error: '{_command_word(words)}' cannot run inside batch or shell. Run it on its own",
              file=sys.stderr)
        return 2
    outer = [item for name, value in (("--db", Options.db), ("--config", Options.config)) if value
             for item in (name, value)]
    saved = Options.db, Options.config
    real_stdin = sys.stdin
    code = 1
    try:
        if empty_stdin:
            sys.stdin = io.StringIO("")
        try:
            code = invoke([*outer, *words])
        except Exception as exc:  # outside a command's own error boundary: this line fails, the batch goes on
            if os.environ.get("SEATCTL_DEBUG"):
                raise
            print(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}. Run again with "
                  "SEATCTL_DEBUG=1 and report it", file=sys.stderr)
            code = 1
    finally:
        sys.stdin = real_stdin
        Options.db, Options.config = saved
        Ledger.settle(failed=code != 0)
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def parse_output(text: str) -> Any:
    """A line's output for `batch --format json`: its JSON parsed, the text itself when it is not JSON,
    None when it printed nothing."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_lines(lines: Iterable[str], *, keep_going: bool, fmt: str | None) -> int:
    """The batch: each line in order; stop at the first failure with its code, or (keep_going) run
    every line and exit with the highest code. With fmt json, one array of results at the end."""
    as_json = fmt == "json"
    results: list[dict[str, Any]] = []
    worst = 0
    saved_format = Options.format_default
    Options.format_default = fmt
    Ledger.keep_engines()
    try:
        for number, text in enumerate(lines, 1):
            try:
                words = words_of(text)
            except LineError as err:
                print(f"error: line {number}: {one_line(str(err))}. Close the quote", file=sys.stderr)
                code, output = 2, None
            else:
                if not words:
                    continue
                if as_json:
                    with redirect_stdout(io.StringIO()) as captured:
                        code = run_line(words)
                    output = parse_output(captured.getvalue())
                else:
                    code, output = run_line(words), None
            if as_json:
                results.append({"line": number, "command": text.strip(), "exit": code, "output": output})
            if code:
                worst = max(worst, code)
                if not keep_going or code == 130:  # Ctrl-C stops a batch that keeps going too
                    break
    finally:
        Options.format_default = saved_format
        Ledger.release_engines()
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    return worst


def _lines(file: str) -> Iterable[str]:
    """The file's lines (UTF-8, a BOM and CRLF allowed), or standard input's for `-`, read as they come."""
    from seatctl.errors import NotFound, UsageError

    if file == "-":
        stream = sys.stdin
    else:
        try:
            stream = open(file, encoding="utf-8-sig")  # closed below, after the last line
        except FileNotFoundError:
            raise NotFound(f"no file '{file}'", "Check the path") from None
        except OSError as exc:
            raise UsageError(f"cannot read '{file}': {exc.strerror}", "Check the file") from None
    try:
        for line in stream:
            yield line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise UsageError(f"'{file}' is not UTF-8 text: {exc.reason}", "Save it as UTF-8") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


def batch(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="One command a line; - reads standard input.")] = "-",
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Run every line, failed or not; exit with "
                                             "the highest code.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Run seatctl commands, one a line (without the word seatctl), in one process.

    Each line runs as it would on its own: same checks, its own transaction, same output and exit
    code. Blank lines and lines starting with # are skipped. The batch stops at the first line that
    fails and exits with its code (--keep-going runs them all). With --format json it prints
    [{"line", "command", "exit", "output"}], each line run as if it had --format json unless it
    names its own format; another --format is the default of every line.

    Example: seatctl batch onboarding.txt
    Example: seatctl batch - --keep-going
    Example: seatctl --db ledger.db batch nightly.txt --format json
    """
    from seatctl.cli.common import execute
    from seatctl.cli.render import Output

    code = 0

    def produce() -> Output:
        nonlocal code  # a missing or unreadable file is an error of the batch itself (exit 3 or 2)
        code = run_lines(_lines(file), keep_going=keep_going, fmt=fmt.value if fmt else None)
        return Output()

    execute(None, produce)
    raise typer.Exit(code)
