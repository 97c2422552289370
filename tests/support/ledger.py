"""Short setups and readers for ledger commands, shared by the test modules.

Readers take `now=None` (the Seatctl's own clock); a module that reads its ledger at one instant
binds it once, e.g. `status = partial(support.status, now=DEC1)`."""

from __future__ import annotations

from typing import Any

from support.harness import Result, Seatctl


def standard_ledger(cli: Seatctl) -> Seatctl:
    """`init` (EUR, UTC) by alice (owner); operators cron (billing), olivia (operator), vera (viewer);
    licence types base 30.00 (annual 300.00), voip 5.35, messaging 4.00, gsm 12.00 a month."""
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    for name, role in (("cron", "billing"), ("olivia", "operator"), ("vera", "viewer")):
        cli.ok("operator", "add", name, "--role", role)
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00", "--annual", "300.00")
    cli.ok("licence", "add", "voip", "--name", "VoIP", "--monthly", "5.35")
    cli.ok("licence", "add", "messaging", "--name", "Messaging", "--monthly", "4.00")
    cli.ok("licence", "add", "gsm", "--name", "GSM", "--monthly", "12.00")
    return cli


def add_account(cli: Seatctl, slug: str = "acme", *extra: str, name: str | None = None, anchor: str = "2026-11-01",
                now: str | None = None) -> Result:
    """`account add SLUG --name Slug --anchor 2026-11-01 EXTRA…`: monthly from the 1st unless `extra` says
    otherwise."""
    return cli.ok("account", "add", slug, "--name", slug.title() if name is None else name, "--anchor", anchor,
                  *extra, now=now)


def with_ana(cli: Seatctl, now: str) -> Seatctl:
    """acme with user ana and one base seat, the clock then at `now` (the bad-input modules' ledger)."""
    cli.now = now
    cli.ok("user", "add", "acme", "ana@example.com")
    cli.ok("buy", "acme", "base", "1", "--yes")
    return cli


def give(cli: Seatctl, slug: str, n: int, code: str = "base", now: str | None = None, start: int = 0) -> list[str]:
    """Users u{start}..u{start+n-1}@SLUG.io, each holding one seat of `code` (one import, one CSV assignment)."""
    emails = [f"u{i}@{slug}.io" for i in range(start, start + n)]
    users = cli.folder / f"users-{slug}-{code}-{start}.csv"
    users.write_text("email\n" + "".join(f"{e}\n" for e in emails))
    cli.ok("user", "import", slug, str(users), now=now)
    pairs = cli.folder / f"assign-{slug}-{code}-{start}.csv"
    pairs.write_text("email,licence\n" + "".join(f"{e},{code}\n" for e in emails))
    cli.ok("assign", slug, "--from-csv", str(pairs), now=now)
    return emails


def close(cli: Seatctl, now: str, *extra: str) -> Any:
    """`cycle close EXTRA…` by cron at `now`: the JSON rows."""
    return cli.json("cycle", "close", *extra, now=now, operator="cron")


def status(cli: Seatctl, slug: str = "acme", now: str | None = None) -> dict[str, Any]:
    """`status SLUG` as {licence: row}; every row is the account's own, one per licence."""
    rows = cli.json("status", slug, now=now)
    assert [row["account"] for row in rows] == [slug] * len(rows), rows
    by_licence = {row["licence"]: row for row in rows}
    assert len(by_licence) == len(rows), rows
    return by_licence


def invoices(cli: Seatctl, *extra: str, account: str | None = None, now: str | None = None) -> Any:
    """`invoice list [--account ACCOUNT] EXTRA…`: the JSON rows."""
    return cli.json("invoice", "list", *(("--account", account) if account else ()), *extra, now=now)


def show_invoice(cli: Seatctl, number: str, now: str | None = None) -> Any:
    """`invoice show NUMBER`: the JSON object with its lines."""
    return cli.json("invoice", "show", number, now=now)


def one_error_line(err: str, out: str = "") -> str:
    """stderr is exactly one line `error: …` (ending in a newline) and there is no traceback anywhere;
    returns the line."""
    assert err.startswith("error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err + out
    return err[:-1]
