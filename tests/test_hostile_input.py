"""Hostile text in names, e-mails, slugs and codes: stored verbatim and read back identically, or
refused with exit 2; control characters refused; never a traceback; the ledger stays sound."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from support import Seatctl, add_account, build_template, copy_of, one_error_line

NOW = "2026-11-02T09:00:00Z"

# Text a customer, user or product may really be called: must be kept exactly.
NAMES = [
    "O'Brien & \"Sons\"",
    "'; DROP TABLE seat; --",
    "Robert'); DELETE FROM event WHERE ('1'='1",
    "Zoë Ünïcödé 日本語 Ελληνικά 🚀👩‍💻",
    "%s %d {0} {name} $(whoami) `id`",
    "<script>alert('x')</script>",
    "NULL",
    "back\\slash \\x1b not-an-escape",
]
# Very long text: kept exactly, or refused as a usage error.
LONG = ["a" * 10_000, "名前" * 5_000]
# Control characters (Unicode category Cc): refused with exit 2.
CONTROL = [
    "red \x1b[31mALERT\x1b[0m",
    "nul\x00byte",
    "two\nlines",
    "tab\there",
    "bell\x07",
    "carriage\rreturn",
    pytest.param("del\x7fete", id="DEL"),
    pytest.param("c1 \x9b31m csi", id="C1-CSI"),
]


def _build(cli: Seatctl) -> None:
    cli.now = NOW
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    cli.ok("operator", "add", "cron", "--role", "billing")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00")
    add_account(cli)
    cli.ok("buy", "acme", "base", "2", "--yes")
    cli.ok("user", "add", "acme", "ana@example.com", "--name", "Ana")


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("hostile"), _build)[0]


@pytest.fixture
def cli(_template: Path, tmp_path: Path) -> Seatctl:
    return copy_of(_template, tmp_path, NOW)


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.err + result.out
    assert result.code != 1, result.err


def _refused_as_usage(result) -> None:  # type: ignore[no-untyped-def]
    _no_traceback(result)
    assert result.code == 2, (result.code, result.err, result.out)
    one_error_line(result.err, result.out)


def _sound(cli: Seatctl) -> None:
    doctor = cli("doctor")
    assert doctor.code == 0, doctor.out
    assert [r["licence"] for r in cli.json("status", "acme")] == ["base"]  # the seat table is still there


def _account_name(cli: Seatctl, slug: str) -> str:
    return cli.json("account", "show", slug)["name"]


def _user_names(cli: Seatctl) -> dict[str, str | None]:
    return {u["email"]: u["name"] for u in cli.json("user", "list", "acme")}


# --- stored verbatim ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_names_are_kept_exactly(cli, name, tmp_path):
    import csv

    result = cli("account", "add", "hostile", "--name", name)
    _no_traceback(result)
    assert result.code == 0, result.err
    assert _account_name(cli, "hostile") == name
    assert name in [a["name"] for a in cli.json("account", "list")]
    cli.ok("account", "set", "acme", "--name", name)
    assert _account_name(cli, "acme") == name

    cli.ok("user", "add", "acme", "bob@example.com", "--name", name)
    path = tmp_path / "users.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role"])
        writer.writerow(["carol@example.com", name, "agent"])
    cli.ok("user", "import", "acme", str(path))
    names = _user_names(cli)
    assert (names["bob@example.com"], names["carol@example.com"]) == (name, name)
    cli.ok("assign", "acme", "bob@example.com", "base")

    cli.ok("licence", "add", "voip", "--name", name, "--monthly", "5.35")
    [row] = [r for r in cli.json("licence", "list") if r["code"] == "voip"]
    assert row["name"] == name
    _sound(cli)


@pytest.mark.parametrize("text", LONG, ids=["10k-ascii", "10k-cjk"])
def test_very_long_names_are_kept_exactly_or_refused_as_usage(cli, text):
    for args, read in [
        (("account", "add", "long", "--name", text), lambda: _account_name(cli, "long")),
        (("user", "add", "acme", "long@example.com", "--name", text), lambda: _user_names(cli)["long@example.com"]),
        (("licence", "add", "longname", "--name", text, "--monthly", "1"),
         lambda: next(r["name"] for r in cli.json("licence", "list") if r["code"] == "longname")),
    ]:
        result = cli(*args)
        if result.code == 0:
            assert read() == text, args[:2]
        else:
            _refused_as_usage(result)
    _sound(cli)


@pytest.mark.parametrize("email", ["o'brien@example.com", "zoë@exämple.com", "a+tag@example.co.uk"])
def test_unusual_but_valid_emails_are_kept(cli, email):
    result = cli("user", "add", "acme", email, "--name", "X")
    _no_traceback(result)
    assert result.code == 0, result.err
    stored = [u["email"] for u in cli.json("user", "list", "acme") if u["email"] != "ana@example.com"]
    assert stored == [email.lower()]
    cli.ok("assign", "acme", email, "base")
    assert cli.json("status", "acme")[0]["in_use"] == 1
    _sound(cli)


@pytest.mark.parametrize("name", ["o'brien", "'; DROP TABLE seat; --", "zoë 日本", "x" * 10_000])
def test_operator_names_are_kept_exactly_or_refused(cli, name):
    result = cli("operator", "add", name, "--role", "viewer")
    _no_traceback(result)
    if result.code == 0:
        assert name in [o["name"] for o in cli.json("operator", "list")]
        status = cli("status", "acme", "--format", "json", operator=name)
        assert status.code == 0, status.err
    else:
        _refused_as_usage(result)
        assert name not in [o["name"] for o in cli.json("operator", "list")]
    _sound(cli)


# --- refused -----------------------------------------------------------------------------------

HOSTILE_IDS = ["'; DROP TABLE seat; --", "Acme", "a b", "zoë", "x" * 10_000, "-rf", "a/../b", "a\x1b[31m"]


@pytest.mark.parametrize("slug", HOSTILE_IDS)
def test_hostile_account_slugs_are_refused(cli, slug):
    before = cli.json("account", "list")
    _refused_as_usage(cli("account", "add", "--name", "X", "--", slug))
    assert cli.json("account", "list") == before
    _sound(cli)


@pytest.mark.parametrize("code", HOSTILE_IDS)
def test_hostile_licence_codes_are_refused(cli, code):
    before = cli.json("licence", "list")
    _refused_as_usage(cli("licence", "add", "--name", "X", "--monthly", "1", "--", code))
    assert cli.json("licence", "list") == before
    _sound(cli)


@pytest.mark.parametrize("email", ["'; DROP TABLE seat; --", "no-at-sign", "a@b", "a" * 10_000 + "@example.com",
                                   "x@example.com\x1b[31m", "two@example.com three@example.com"])
def test_hostile_emails_are_refused(cli, email):
    before = cli.json("user", "list", "acme")
    _refused_as_usage(cli("user", "add", "acme", "--name", "X", "--", email))
    assert cli.json("user", "list", "acme") == before
    _sound(cli)


@pytest.mark.parametrize("text", ["'; DROP TABLE seat; --", "zoë", "x" * 10_000, "[/bold]"])
def test_hostile_lookups_are_not_found_or_usage_errors(cli, text):
    for args in [("account", "show", text), ("user", "list", text), ("status", text), ("invoice", "show", text),
                 ("release", "acme", text, "base"), ("assign", "acme", "ana@example.com", text),
                 ("cycle", "show", text), ("log", "--account", text)]:
        result = cli(*args)
        _no_traceback(result)
        assert result.code in (2, 3), (args[:2], result.code, result.err)
        one_error_line(result.err, result.out)
    _sound(cli)


@pytest.mark.parametrize("name", CONTROL)
def test_control_characters_in_names_are_refused(cli, name, tmp_path):
    accounts, users, operators = (cli.json("account", "list"), cli.json("user", "list", "acme"),
                                  cli.json("operator", "list"))
    _refused_as_usage(cli("account", "add", "ctl", "--name", name))
    _refused_as_usage(cli("account", "set", "acme", "--name", name))
    _refused_as_usage(cli("user", "add", "acme", "ctl@example.com", "--name", name))
    path = tmp_path / "users.csv"
    path.write_text('email,name\nctl@example.com,"' + name.replace('"', '""') + '"\n', encoding="utf-8")
    _refused_as_usage(cli("user", "import", "acme", str(path)))
    _refused_as_usage(cli("operator", "add", name, "--role", "viewer"))
    assert (cli.json("account", "list"), cli.json("user", "list", "acme"), cli.json("operator", "list")) == \
        (accounts, users, operators)
    _sound(cli)


@pytest.mark.parametrize("name", ["red \x1b[31mALERT\x1b[0m", "nul\x00byte", "two\nlines"])
def test_control_characters_in_licence_names_are_refused(cli, name):
    before = cli.json("licence", "list")
    _refused_as_usage(cli("licence", "add", "ctl", "--name", name, "--monthly", "1"))
    assert cli.json("licence", "list") == before


ECHOING = [
    pytest.param(("operator", "add", "{x}", "--role", "viewer"), id="operator-add"),
    pytest.param(("account", "add", "{x}", "--name", "N"), id="account-slug"),
    pytest.param(("licence", "add", "{x}", "--name", "N", "--monthly", "1"), id="licence-code"),
    pytest.param(("user", "add", "acme", "{x}"), id="user-email"),
    pytest.param(("status", "{x}"), id="status-lookup"),
    pytest.param(("assign", "acme", "{x}", "base"), id="assign-lookup"),
    pytest.param(("account", "add", "ok", "--name", "{x}"), id="account-name"),
    pytest.param(("user", "add", "acme", "u@example.com", "--name", "{x}"), id="user-name"),
]


@pytest.mark.parametrize("x", ["two\nlines", "red \x1b[31mALERT"], ids=["newline", "escape"])
@pytest.mark.parametrize("args", ECHOING)
def test_a_refusal_is_one_line_free_of_control_characters(cli, args, x):
    result = cli(*[a.replace("{x}", x) for a in args])
    _no_traceback(result)
    assert result.code in (2, 3), (result.code, result.err)
    assert result.err.startswith("error: ") and result.err.endswith("\n")
    assert not [c for c in result.err[:-1] if unicodedata.category(c) == "Cc"], repr(result.err)


# --- output formats never choke on stored text -------------------------------------------------

MARKUP = ["[/bold]", "[red]not red[/red]", "[link=http://x]x[/link]", "\\[escaped]"]


@pytest.mark.parametrize("name", NAMES[:4] + MARKUP)
def test_every_text_format_prints_stored_names(cli, name):
    import csv
    import io

    cli.ok("account", "add", "hostile", "--name", name)
    for fmt in ("plain", "markdown", "github", "csv", "json"):
        result = cli("account", "list", "--format", fmt)
        _no_traceback(result)
        assert result.code == 0, (fmt, result.err)
        if fmt == "json":
            assert name in [a["name"] for a in result.json()]
        elif fmt == "csv":
            assert name in [row["name"] for row in csv.DictReader(io.StringIO(result.out))]
        else:
            assert name in result.out or name.replace("|", "\\|") in result.out, fmt


@pytest.mark.parametrize("name", [
    "[/bold]",
    "[red]not red[/red]",
    "O'Brien & \"Sons\"",
])
def test_table_format_prints_names_literally(cli, name):
    cli.ok("account", "add", "hostile", "--name", name)
    result = cli("account", "show", "hostile", "--format", "table")
    _no_traceback(result)
    assert result.code == 0, result.err
    assert name in result.out
