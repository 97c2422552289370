"""`seatctl batch` (SPEC §11): many commands in one process, each line as `seatctl LINE` would run it. The
same file run as a batch and as separate processes gives the same outputs and the same ledger; a failed
line leaves nothing behind for the next one."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from itertools import count
from pathlib import Path

import pytest
from support import Seatctl, add_account, one_error_line, pg_schema, standard_ledger

_twins = count(1)

# A morning's work: users, purchases, assignments, refusals of every kind (a rule: 4, usage: 2,
# not found: 3, a purchase that needs a terminal: 2) between writes, and reads in several formats.
LINES = """# onboarding at acme
user add acme ana@example.com --name 'Ana Ruiz'
user add acme bo@example.com

buy acme base 2 --yes
assign acme ana@example.com base
assign acme bo@example.com base voip
status acme
buy acme voip 1 --yes --format json
assign acme bo@example.com base voip
release acme ana@example.com base
user add acme 'not an e-mail'
account show nowhere
buy acme gsm 1
user deactivate acme bo@example.com
log --format json
status acme --format csv
invoice list
cycle show acme --format json
report denials --format json
"""


@pytest.fixture
def twin(cli: Seatctl, request: pytest.FixtureRequest, tmp_path: Path):
    """A second fresh ledger on the backend of `cli` (a SQLite file beside it, or another schema)."""
    if cli.backend == "sqlite":
        yield Seatctl(tmp_path / "twin.db")
        return
    with pg_schema(request.getfixturevalue("pg_database"), f"twin{os.getpid()}_{next(_twins)}") as url:
        yield Seatctl(tmp_path / "twin.db", pg_url=url)


def dump(cli: Seatctl) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the ledger, in primary-key order."""
    from sqlalchemy import create_engine, select

    from seatctl.store.tables import metadata

    url = cli.location("alice") if cli.pg_url else f"sqlite:///{cli.db}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                    for table in metadata.sorted_tables}
    finally:
        engine.dispose()


def lines_file(folder: Path, text: str, name: str = "lines.txt") -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_batch_gives_the_outputs_and_the_ledger_of_separate_processes(cli, twin, process, tmp_path):
    for ledger in (cli, twin):
        standard_ledger(ledger)
        add_account(ledger)
    stdout, stderr, codes = "", "", []
    for line in LINES.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        one = process(shlex.split(line), cli.env(), timeout=300, stdin=subprocess.DEVNULL)
        stdout, stderr = stdout + one.stdout, stderr + one.stderr
        codes.append(one.returncode)
    assert sorted(set(codes)) == [0, 2, 3, 4]  # the file covers refusals of every kind

    batch = process(["batch", lines_file(tmp_path, LINES), "--keep-going"], twin.env(), timeout=300,
                    stdin=subprocess.DEVNULL)
    assert batch.returncode == max(codes)
    assert batch.stdout == stdout
    assert batch.stderr == stderr
    assert dump(twin) == dump(cli)


def test_it_stops_at_the_first_failing_line_with_its_code(acme, tmp_path):
    path = lines_file(tmp_path, "user add acme ana@example.com\naccount show nowhere\nuser add acme bo@example.com\n")
    result = acme("batch", path)
    assert result.code == 3
    assert one_error_line(result.err) == "error: no account 'nowhere'. See: seatctl account list"
    assert [u["email"] for u in acme.json("user", "list", "acme")] == ["ana@example.com"]


def test_keep_going_runs_every_line_and_exits_with_the_highest_code(acme, tmp_path):
    path = lines_file(tmp_path, "account show nowhere\nuser add acme 'bad address'\nuser add acme bo@example.com\n"
                                "assign acme bo@example.com base\nstatus acme\n")
    result = acme("batch", path, "--keep-going")
    assert result.code == 4  # 3, 2, 0, 4 (no free seat), 0
    assert result.err.count("error: ") == 3
    assert result.out == "Added bo@example.com (member) to 'acme'.\n(none)\n"  # the last line ran too


def test_json_lists_each_line_with_its_exit_and_parsed_output(acme, tmp_path):
    text = "# a comment\n\nstatus acme\nstatus acme --format csv\naccount show nowhere\nuser add acme ana@example.com\n"
    result = acme("batch", lines_file(tmp_path, text), "--keep-going", "--format", "json")
    assert result.code == 3
    rows = json.loads(result.out)
    assert [(r["line"], r["command"], r["exit"]) for r in rows] == [
        (3, "status acme", 0), (4, "status acme --format csv", 0), (5, "account show nowhere", 3),
        (6, "user add acme ana@example.com", 0)]
    assert rows[0]["output"] == []  # acme owns nothing yet: the JSON array, parsed
    assert rows[1]["output"] == "account,licence,in_use,free,total,minimum,buying,waiting\n"  # not JSON: the text
    assert rows[2]["output"] is None  # nothing on stdout (the error went to stderr)
    assert rows[3]["output"]["email"] == "ana@example.com"  # run as if it had --format json


def test_standard_input_feeds_lines_never_the_commands(acme, process):
    # `buy` without --yes refuses (exit 2) as it does when piped: it must not read the next line as its answer.
    result = process(["batch", "-", "--keep-going"], acme.env(),
                     input="buy acme base 1\ny\nuser add acme ana@example.com\n")
    assert result.returncode == 2
    assert "error: buy needs confirmation and standard input is not a terminal" in result.stderr
    assert "error: No such command 'y'." in result.stderr  # the line after it ran as a line
    assert "Added ana@example.com" in result.stdout


def test_a_failed_line_leaves_no_transaction_and_the_engine_is_opened_again(acme, tmp_path, monkeypatch):
    from seatctl.store import engine as db

    opened = []
    real = db.open_ledger

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        engine = real(*args, **kwargs)
        opened.append(engine)
        return engine

    monkeypatch.setattr(db, "open_ledger", counting)
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("buy", "acme", "base", "1", "--yes")
    opened.clear()
    # A refused assignment (its denial written in a transaction of its own), then writes that need the
    # write lock: a transaction left open by the refusal would make them wait, then fail busy.
    text = ("status acme\nuser add acme bo@example.com\nassign acme bo@example.com base voip\n"
            "assign acme bo@example.com base\nrelease acme bo@example.com base\nstatus acme\n")
    result = acme("batch", lines_file(tmp_path, text), "--keep-going", env={"SEATCTL_CONFIG": _fast_busy(tmp_path)})
    assert result.code == 4, result.err
    assert len(opened) == 2  # kept from line to line; opened again after the failed line
    assert all(getattr(engine.pool, "checkedout", lambda: 0)() == 0 for engine in opened)
    rows = acme.json("log", "--format", "json")
    assert [r["action"] for r in rows][-3:] == ["denial", "assign", "release"]


def _fast_busy(folder: Path) -> str:
    path = folder / "seatctl.toml"
    path.write_text("busy_timeout = 1\n")
    return str(path)


def test_the_clock_and_the_operator_are_read_for_each_line(acme, monkeypatch):
    from seatctl.cli.common import Options
    from seatctl.cli.many import run_lines

    for key, value in acme.env().items():
        monkeypatch.setenv(key, value)
    operator_moves = acme.backend == "sqlite"  # on PostgreSQL the operator is the database role

    def lines():  # type: ignore[no-untyped-def]
        monkeypatch.setenv("SEATCTL_NOW", "2026-11-02T10:00:00Z")
        yield "user add acme ana@example.com"
        monkeypatch.setenv("SEATCTL_NOW", "2026-11-03T11:00:00Z")
        if operator_moves:
            monkeypatch.setenv("SEATCTL_OPERATOR", "olivia")
        yield "user add acme bo@example.com"

    saved = Options.db, Options.config
    try:
        assert run_lines(lines(), keep_going=False, fmt=None) == 0
    finally:
        Options.db, Options.config = saved
    rows = [r for r in acme.json("log", "--format", "json") if r["action"] == "user.add"]
    assert [r["at"][:16] for r in rows] == ["2026-11-02T10:00", "2026-11-03T11:00"]
    if operator_moves:
        assert [r["operator"] for r in rows] == ["alice", "olivia"]


def test_batch_and_shell_do_not_nest(acme, tmp_path):
    inner = lines_file(tmp_path, "status acme\n", "inner.txt")
    result = acme("batch", lines_file(tmp_path, f"batch {inner}\nshell\n"), "--keep-going")
    assert result.code == 2
    assert result.err.count("cannot run inside batch or shell") == 2


def test_bad_input(acme, tmp_path):
    missing = acme("batch", str(tmp_path / "nope.txt"))
    assert missing.code == 3
    assert one_error_line(missing.err) == f"error: no file '{tmp_path / 'nope.txt'}'. Check the path"
    quote = acme("batch", lines_file(tmp_path, "status acme\nuser add acme 'ana@example.com\n"))
    assert quote.code == 2
    assert "error: line 2: cannot split the line: No closing quotation. Close the quote" in quote.err
    crlf = acme("batch", lines_file(tmp_path, "\ufeffstatus acme --format json\r\n# done\r\n"))
    assert crlf.code == 0 and json.loads(crlf.out) == []


def test_a_leading_seatctl_word_is_allowed_and_the_batch_db_applies(cli, tmp_path, process):
    standard_ledger(cli)
    add_account(cli)
    env = {k: v for k, v in cli.env().items() if k != "SEATCTL_DB"}
    result = process(["--db", cli.location(), "batch", lines_file(tmp_path, "seatctl status acme --format json\n")], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
