"""Bad input and unknown names (SPEC §8): the exit code, one `error:` line on stderr, no traceback,
and nothing changed."""

from __future__ import annotations

import pytest
from support import one_error_line, with_ana

NOW = "2026-11-16T10:00:00Z"


@pytest.fixture
def acme(acme):
    """acme (monthly from 1 Nov) with user ana and one base seat; the clock at 16 Nov."""
    return with_ana(acme, NOW)


def snapshot(cli):
    return (len(cli.json("log")), cli.json("status"), cli.json("invoice", "list"), cli.json("account", "list"),
            cli.json("user", "list", "acme"))


@pytest.mark.parametrize("args", [
    ("status", "nope"),
    ("account", "show", "nope"),
    ("user", "list", "nope"),
    ("user", "add", "nope", "zed@example.com"),
    ("buy", "nope", "base", "1", "--yes"),
    ("assign", "nope", "ana@example.com", "base"),
    ("release", "nope", "ana@example.com", "base"),
    ("account", "set-min", "nope", "base=1"),
    ("invoice", "list", "--account", "nope"),
])
def test_unknown_account_exits_3(acme, args):
    result = acme(*args)
    assert result.code == 3
    one_error_line(result.err, result.out)
    assert "'nope'" in result.err


@pytest.mark.parametrize("args", [
    ("assign", "acme", "zed@example.com", "base"),
    ("release", "acme", "zed@example.com", "base"),
    ("user", "deactivate", "acme", "zed@example.com"),
])
def test_unknown_user_exits_3(acme, args):
    result = acme(*args)
    assert result.code == 3
    one_error_line(result.err, result.out)
    assert "zed@example.com" in result.err


@pytest.mark.parametrize("args", [
    ("buy", "acme", "nope", "1", "--yes"),
    ("buy", "acme", "nope", "1", "--quote"),
    ("assign", "acme", "ana@example.com", "nope"),
    ("release", "acme", "ana@example.com", "nope"),
    ("account", "set-min", "acme", "nope=1"),
])
def test_unknown_licence_exits_3(acme, args):
    result = acme(*args)
    assert result.code == 3
    one_error_line(result.err, result.out)
    assert "'nope'" in result.err


def test_unknown_invoice_exits_3(acme):
    result = acme("invoice", "show", "INV-2026-999999")
    assert result.code == 3
    one_error_line(result.err, result.out)


def test_zero_quantity_exits_2(acme):
    before = snapshot(acme)
    result = acme("buy", "acme", "base", "0", "--yes")
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert snapshot(acme) == before


@pytest.mark.parametrize("argv", [
    ["buy", "acme", "base", "-1", "--yes"],           # parsed as an unknown option
    ["buy", "acme", "base", "--yes", "--", "-1"],     # a real negative number
    ["buy", "acme", "base", "--yes", "--", "-3"],
    ["buy", "acme", "base", "two", "--yes"],
])
def test_negative_or_non_numeric_quantity_exits_2_with_one_error_line(acme, process, argv):
    env = {"SEATCTL_DB": str(acme.db), "SEATCTL_NOW": NOW, "SEATCTL_OPERATOR": "alice"}
    before = snapshot(acme)
    proc = process(argv, env)
    assert proc.returncode == 2
    one_error_line(proc.stderr, proc.stdout)
    assert snapshot(acme) == before


def test_negative_minimum_exits_2(acme):
    result = acme("account", "set-min", "acme", "base=-1")
    assert result.code == 2
    one_error_line(result.err, result.out)


@pytest.mark.parametrize("email", [
    "ana", "ana@", "@example.com", "ana@example", "ana@@example.com", "ana example@example.com", "",
])
def test_malformed_email_exits_2(acme, email):
    result = acme("user", "add", "acme", email)
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert [u["email"] for u in acme.json("user", "list", "acme")] == ["ana@example.com"]


def test_duplicate_account_slug_exits_4(acme):
    result = acme("account", "add", "acme", "--name", "Another Acme")
    assert result.code == 4
    one_error_line(result.err, result.out)
    assert [a["name"] for a in acme.json("account", "list")] == ["Acme"]


@pytest.mark.parametrize("email", ["ana@example.com", "ANA@Example.com"])
def test_duplicate_user_exits_4(acme, email):
    result = acme("user", "add", "acme", email)
    assert result.code == 4
    one_error_line(result.err, result.out)
    assert len(acme.json("user", "list", "acme")) == 1


def test_user_import_with_one_bad_row_names_it_and_imports_nothing(acme, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("email,name,role\nbea@example.com,Bea,admin\ncarl-at-example.com,Carl,\n"
                    "dan@example.com,,\n")
    result = acme("user", "import", "acme", str(path))
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert "row 3" in result.err
    assert [u["email"] for u in acme.json("user", "list", "acme")] == ["ana@example.com"]


def test_user_import_accepts_absent_name_and_role(acme, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("email\nbea@example.com\ncarl@example.com\n")
    acme.ok("user", "import", "acme", str(path))
    users = acme.json("user", "list", "acme")
    assert [u["email"] for u in users] == ["ana@example.com", "bea@example.com", "carl@example.com"]


@pytest.mark.parametrize("args", [
    ("status",),
    ("account", "list"),
    ("log",),
    ("account", "add", "acme", "--name", "Acme"),
    ("buy", "acme", "base", "1", "--yes"),
    ("user", "add", "acme", "ana@example.com"),
    ("operator", "add", "bob", "--role", "viewer"),
])
def test_missing_ledger_exits_3_with_init_hint_and_creates_nothing(cli, args):
    result = cli(*args)
    assert result.code == 3
    one_error_line(result.err, result.out)
    assert "seatctl init" in result.err
    assert not cli.db.exists()
    assert list(cli.db.parent.glob("ledger.db*")) == []


@pytest.mark.parametrize("args", [
    ("account", "add", "beta", "--name", "Beta", "--anchor", "16/11/2026"),
    ("account", "add", "beta", "--name", "Beta", "--anchor", "2026-13-01"),
    ("account", "set", "acme", "--anchor", "16/11/2026"),
    ("invoice", "list", "--from", "16/11/2026"),
])
def test_date_in_the_wrong_form_exits_2(acme, args):
    before = snapshot(acme)
    result = acme(*args)
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert "16/11/2026" in result.err or "2026-13-01" in result.err
    assert snapshot(acme) == before


@pytest.mark.parametrize("argv", [
    ["buy", "acme"],                                   # missing arguments
    ["status", "--format", "xml"],                     # bad choice
    ["assign", "acme", "ana@example.com", "base", "--nope"],
    ["no-such-command"],
])
def test_usage_errors_of_the_real_program_are_one_line(acme, process, argv):
    env = {"SEATCTL_DB": str(acme.db), "SEATCTL_NOW": NOW, "SEATCTL_OPERATOR": "alice"}
    proc = process(argv, env)
    assert proc.returncode == 2
    one_error_line(proc.stderr, proc.stdout)


@pytest.mark.parametrize(("args", "code"), [
    (("buy", "acme", "nope", "1", "--yes"), 3),
    (("buy", "acme", "base", "1"), 2),                          # piped without --yes
    (("account", "add", "acme", "--name", "Again"), 4),
    (("account", "add", "Bad Slug", "--name", "X"), 2),
    (("user", "add", "acme", "ana@example.com"), 4),
    (("user", "add", "acme", "not-an-email"), 2),
    (("account", "set-min", "acme", "base=2", "nope=1"), 3),    # the first pair must not be kept
    (("release", "acme", "ana@example.com", "base", "nope"), 3),
    (("user", "deactivate", "acme", "ana@example.com", "zed@example.com"), 3),
    (("operator", "add", "olivia", "--role", "viewer"), 4),
    (("buy", "acme", "base", "1", "--yes"), 5),                 # as the viewer, below
])
def test_a_failed_command_changes_nothing(acme, args, code):
    acme.ok("assign", "acme", "ana@example.com", "base")
    before = snapshot(acme)
    operator = "vera" if code == 5 else "alice"
    result = acme(*args, operator=operator)
    assert result.code == code
    one_error_line(result.err, result.out)
    assert snapshot(acme) == before


def test_a_failed_write_after_a_period_end_does_not_keep_the_automatic_close(acme):
    before = snapshot(acme)
    result = acme("buy", "acme", "nope", "1", "--yes", now="2026-12-05T10:00:00Z")
    assert result.code == 3
    assert snapshot(acme) == before
    assert acme.json("account", "show", "acme")["period_end"] == "2026-12-01"
