"""Every listing command speaks every output format (SPEC §8), and CSV and JSON carry the same rows."""

from __future__ import annotations

import csv
import io

import pytest
from support import Seatctl, add_account, build_template, copy_of

NOW = "2026-11-16T10:00:00Z"
FORMATS = ("table", "plain", "markdown", "github", "csv", "json")
LISTINGS = {
    "status": ("status",),
    "account list": ("account", "list"),
    "user list": ("user", "list", "acme"),
    "licence list": ("licence", "list"),
    "invoice list": ("invoice", "list"),
    "operator list": ("operator", "list"),
    "log": ("log",),
}


def _build(cli: Seatctl) -> None:
    cli.now = NOW
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    cli.ok("operator", "add", "olivia", "--role", "operator")
    for code, price in (("base", "30.00"), ("voip", "5.35"), ("messaging", "4.00"), ("gsm", "12.00")):
        cli.ok("licence", "add", code, "--name", code.title(), "--monthly", price)
    add_account(cli, name="Acme, Inc.")
    add_account(cli, "beta")
    cli.ok("user", "add", "acme", "ana@example.com", "--name", "Ana \"the admin\"", "--role", "admin")
    cli.ok("user", "add", "acme", "bob@example.com")
    cli.ok("buy", "acme", "base", "2", "--yes")
    cli.ok("buy", "acme", "voip", "1", "--yes")
    cli.ok("buy", "beta", "gsm", "1", "--yes")
    cli.ok("assign", "acme", "ana@example.com", "base", "voip")
    cli.ok("buy", "beta", "messaging", "2", "--yes", operator="olivia")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built once per module (it takes a dozen commands): two accounts with users, seats, an
    assignment, invoices and a pending order."""
    return build_template(tmp_path_factory.mktemp("formats"), _build)[0]


@pytest.fixture
def books(built, tmp_path):
    """A private copy of the built ledger (a test may not change another's)."""
    return copy_of(built, tmp_path, NOW)


def as_csv_cell(value):
    """How a JSON value reads in a CSV cell: empty for null, list items separated by spaces."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(LISTINGS))
def test_listing_accepts_every_format(books, name, fmt):
    result = books(*LISTINGS[name], "--format", fmt)
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.strip()
    if fmt in ("plain", "markdown", "github", "csv"):
        first_column = books.json(*LISTINGS[name])[0]
        assert next(iter(first_column)) in result.out.splitlines()[0]
    if fmt in ("markdown", "github"):
        assert result.out.splitlines()[0].lstrip().startswith("|")


@pytest.mark.parametrize("name", list(LISTINGS))
def test_csv_and_json_give_the_same_rows(books, name):
    rows = books.json(*LISTINGS[name])
    table = list(csv.DictReader(io.StringIO(books.ok(*LISTINGS[name], "--format", "csv").out)))
    assert rows, "the fixture should give every listing some rows"
    assert len(table) == len(rows)
    for json_row, csv_row in zip(rows, table, strict=True):
        assert list(csv_row) == list(json_row)
        for key, value in json_row.items():
            if isinstance(value, dict):
                assert all(f"{k}=" in csv_row[key] for k in value), (key, value, csv_row[key])
            else:
                assert csv_row[key] == as_csv_cell(value), (key, value, csv_row[key])


def test_json_listings_are_arrays_of_objects_with_snake_case_keys(books):
    for args in LISTINGS.values():
        rows = books.json(*args)
        assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
        for row in rows:
            assert all(k == k.lower() and " " not in k and "-" not in k for k in row)


def test_plain_lists_every_row(books):
    out = books.ok("status", "--format", "plain").out.splitlines()
    assert out[0].split() == ["account", "licence", "in_use", "free", "total", "minimum", "buying", "waiting"]
    assert [line.split()[:2] for line in out[1:]] == [
        ["acme", "base"], ["acme", "voip"], ["beta", "gsm"], ["beta", "messaging"]]
