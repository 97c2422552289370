"""Reports (SPEC §6 denials, §8 `report usage|users|roles|revenue|denials` and `log`): every column
of the usage table by day, ISO week and month over a known two-month history, clipping, boundary
events, filters, shortcuts, CSV = JSON, and the audit trail.

The history (UTC, both accounts monthly from 1 Nov, built once per module and backend, read-only):

    01 Nov 09:00  acme and beta created; acme users ana (admin), bob, cara, dan (agent), erin (member);
                  beta user gus (member)
    02 Nov 10:00  acme buys 3 base                    12:00  ana and bob get base
    03 Nov 10:00  acme buys 2 voip                    11:00  ana gets voip
    05 Nov 10:00  beta buys 1 messaging               12:00  gus gets messaging
    10 Nov 08:00  bob releases base                   20:00  cara gets base (same seat, same day)
    12 Nov 06:00  dan gets base (3 of 3)              10:00  erin refused base (denial)
    15 Nov 10:00  erin refused gsm (denial: acme owns no gsm)
    20 Nov 12:00  dan deactivated (releases base)
    23-29 Nov     nothing at all
    01 Dec 02:00  cron: `cycle close --account beta` (renewal)
    02 Dec 10:00  olivia releases ana's voip; the write first closes acme's November: one free base
                  and one free voip seat are cancelled at 1 Dec 00:00 (the period end)
    03 Dec 09:00  acme buys 1 gsm                     10:00  bob gets gsm
    04 Dec 09:00  cron voids the gsm purchase (a credit note)
"""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal

import pytest
from support import Seatctl, add_account, backends, isolated, pg_schema, standard_ledger

AFTER = "2027-01-10T12:00:00Z"  # the reports are read after the whole history
USAGE_KEYS = ["bucket", "account", "licence", "owned_end", "in_use_peak", "in_use_end", "seat_days", "bought",
              "released", "cancelled", "denied"]
PAIRS = [("acme", "base"), ("acme", "gsm"), ("acme", "voip"), ("beta", "messaging")]


def _build(cli: Seatctl) -> None:
    c = cli
    c.now = "2026-11-01T09:00:00Z"
    standard_ledger(c)  # the `ledger` fixture's: cron, olivia, vera; base, voip, messaging, gsm
    add_account(c)
    add_account(c, "beta")
    for email, name, role in (("ana@example.com", "Ana", "admin"), ("bob@example.com", "Bob", "agent"),
                              ("cara@example.com", "Cara", "agent"), ("dan@example.com", "Dan", "agent"),
                              ("erin@example.com", "Erin", None)):
        c.ok("user", "add", "acme", email, "--name", name, *(("--role", role) if role else ()))
    c.ok("user", "add", "beta", "gus@example.com", "--name", "Gus")
    c.ok("buy", "acme", "base", "3", "--yes", now="2026-11-02T10:00:00Z")
    c.ok("assign", "acme", "ana@example.com", "base", now="2026-11-02T12:00:00Z")
    c.ok("assign", "acme", "bob@example.com", "base", now="2026-11-02T12:00:00Z")
    c.ok("buy", "acme", "voip", "2", "--yes", now="2026-11-03T10:00:00Z")
    c.ok("assign", "acme", "ana@example.com", "voip", now="2026-11-03T11:00:00Z")
    c.ok("buy", "beta", "messaging", "1", "--yes", now="2026-11-05T10:00:00Z")
    c.ok("assign", "beta", "gus@example.com", "messaging", now="2026-11-05T12:00:00Z")
    c.ok("release", "acme", "bob@example.com", "base", now="2026-11-10T08:00:00Z")
    c.ok("assign", "acme", "cara@example.com", "base", now="2026-11-10T20:00:00Z")
    c.ok("assign", "acme", "dan@example.com", "base", now="2026-11-12T06:00:00Z")
    assert c("assign", "acme", "erin@example.com", "base", now="2026-11-12T10:00:00Z").code == 4
    assert c("assign", "acme", "erin@example.com", "gsm", now="2026-11-15T10:00:00Z").code == 4
    c.ok("user", "deactivate", "acme", "dan@example.com", now="2026-11-20T12:00:00Z")
    closed = c.json("cycle", "close", "--account", "beta", now="2026-12-01T02:00:00Z", operator="cron")
    assert [r["account"] for r in closed] == ["beta"]
    c.ok("release", "acme", "ana@example.com", "voip", now="2026-12-02T10:00:00Z", operator="olivia")
    gsm = c.json("buy", "acme", "gsm", "1", "--yes", now="2026-12-03T09:00:00Z")
    c.ok("assign", "acme", "bob@example.com", "gsm", now="2026-12-03T10:00:00Z")
    c.ok("invoice", "void", gsm["invoice"], "--reason", "sold by mistake", now="2026-12-04T09:00:00Z",
         operator="cron")
    c.now = AFTER


@pytest.fixture(scope="module", params=backends())
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The history above, built once per backend; the tests only read it."""
    home = tmp_path_factory.mktemp("reports")
    with isolated(home):
        if request.param == "sqlite":
            cli = Seatctl(home / "ledger.db")
            _build(cli)
            yield cli
            return
        with pg_schema(request.getfixturevalue("pg_database"), f"reports_{os.getpid()}") as url:
            cli = Seatctl(home / "ledger.db", pg_url=url)
            _build(cli)
            yield cli


def usage(books: Seatctl, *args: str, **kw) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    rows = books.json("report", "usage", *args, **kw)
    for row in rows:
        assert list(row) == USAGE_KEYS
        sd = row["seat_days"]
        assert isinstance(sd, int | float) and not isinstance(sd, bool), row
        assert round(sd, 2) == sd, f"seat_days has more than two decimals: {row}"
    return rows


def row(bucket: str, account: str, licence: str, owned_end: int, in_use_peak: int, in_use_end: int,
        seat_days: float, bought: int = 0, released: int = 0, cancelled: int = 0, denied: int = 0) -> dict:  # type: ignore[type-arg]
    return {"bucket": bucket, "account": account, "licence": licence, "owned_end": owned_end,
            "in_use_peak": in_use_peak, "in_use_end": in_use_end, "seat_days": pytest.approx(seat_days, abs=0.001),
            "bought": bought, "released": released, "cancelled": cancelled, "denied": denied}


def pick(rows: list[dict], bucket: str, account: str, licence: str) -> dict:  # type: ignore[type-arg]
    found = [r for r in rows if (r["bucket"], r["account"], r["licence"]) == (bucket, account, licence)]
    assert len(found) == 1, (bucket, account, licence, found)
    return found[0]


def ordered(rows: list[dict]) -> bool:  # type: ignore[type-arg]
    keys = [(r["bucket"], r["account"], r["licence"]) for r in rows]
    return keys == sorted(keys) and len(set(keys)) == len(keys)


# --- report usage -------------------------------------------------------------------------------

def test_usage_by_month_every_column(books):
    rows = usage(books, "--from", "2026-11-01", "--to", "2026-12-31", "--by", "month")
    assert rows == [
        # ana 28.5 + bob 7.83 + cara 20.17 + dan 8.25 seat-days; erin's refusal; dan and bob released
        row("2026-11-01", "acme", "base", 3, 3, 2, 64.75, bought=3, released=2, denied=1),
        row("2026-11-01", "acme", "gsm", 0, 0, 0, 0, denied=1),
        row("2026-11-01", "acme", "voip", 2, 1, 1, 27.54, bought=2),
        row("2026-11-01", "beta", "messaging", 1, 1, 1, 25.5, bought=1),
        # the seats cancelled at the period end (1 Dec 00:00) count in December, not November
        row("2026-12-01", "acme", "base", 2, 2, 2, 62.0, cancelled=1),
        row("2026-12-01", "acme", "gsm", 1, 1, 1, 28.58, bought=1),
        row("2026-12-01", "acme", "voip", 1, 1, 0, 1.42, released=1, cancelled=1),
        row("2026-12-01", "beta", "messaging", 1, 1, 1, 31.0),
    ]


def test_usage_by_month_clips_counts_to_a_range_that_cuts_months(books):
    rows = usage(books, "--from", "2026-11-15", "--to", "2026-12-10", "--by", "month")
    assert rows == [
        # 15-30 Nov: the purchase (2 Nov) and erin's base refusal (12 Nov) are outside; dan held base at the start
        row("2026-11-01", "acme", "base", 3, 3, 2, 37.5, released=1),
        row("2026-11-01", "acme", "gsm", 0, 0, 0, 0, denied=1),
        row("2026-11-01", "acme", "voip", 2, 1, 1, 16.0),
        row("2026-11-01", "beta", "messaging", 1, 1, 1, 16.0),
        # 1-10 Dec
        row("2026-12-01", "acme", "base", 2, 2, 2, 20.0, cancelled=1),
        row("2026-12-01", "acme", "gsm", 1, 1, 1, 7.58, bought=1),
        row("2026-12-01", "acme", "voip", 1, 1, 0, 1.42, released=1, cancelled=1),
        row("2026-12-01", "beta", "messaging", 1, 1, 1, 10.0),
    ]


def test_usage_by_day_has_a_row_per_day_and_pair_and_every_column_on_chosen_days(books):
    rows = usage(books, "--from", "2026-11-01", "--to", "2026-12-01", "--by", "day")
    days = [f"2026-11-{d:02d}" for d in range(1, 31)] + ["2026-12-01"]
    assert [(r["bucket"], r["account"], r["licence"]) for r in rows] == [(d, *p) for d in days for p in PAIRS]
    # before anything was bought the active pair still has its (empty) row
    assert pick(rows, "2026-11-01", "acme", "base") == row("2026-11-01", "acme", "base", 0, 0, 0, 0)
    assert pick(rows, "2026-11-02", "acme", "base") == row("2026-11-02", "acme", "base", 3, 2, 2, 1.0, bought=3)
    # bob released at 08:00 and cara took the seat at 20:00: never more than 2 at once; 1 + 1/3 + 1/6 seat-days
    assert pick(rows, "2026-11-10", "acme", "base") == row("2026-11-10", "acme", "base", 3, 2, 2, 1.5, released=1)
    assert pick(rows, "2026-11-12", "acme", "base") == row("2026-11-12", "acme", "base", 3, 3, 3, 2.75, denied=1)
    assert pick(rows, "2026-11-15", "acme", "gsm") == row("2026-11-15", "acme", "gsm", 0, 0, 0, 0, denied=1)
    assert pick(rows, "2026-11-20", "acme", "base") == row("2026-11-20", "acme", "base", 3, 3, 2, 2.5, released=1)
    # a day with no activity at all
    assert pick(rows, "2026-11-25", "acme", "base") == row("2026-11-25", "acme", "base", 3, 2, 2, 2.0)
    assert pick(rows, "2026-11-25", "acme", "voip") == row("2026-11-25", "acme", "voip", 2, 1, 1, 1.0)
    assert pick(rows, "2026-11-25", "beta", "messaging") == row("2026-11-25", "beta", "messaging", 1, 1, 1, 1.0)
    assert pick(rows, "2026-11-25", "acme", "gsm") == row("2026-11-25", "acme", "gsm", 0, 0, 0, 0)


def test_a_cancellation_at_the_period_end_belongs_to_the_later_bucket(books):
    rows = usage(books, "--from", "2026-11-30", "--to", "2026-12-01", "--by", "day")
    assert pick(rows, "2026-11-30", "acme", "base") == row("2026-11-30", "acme", "base", 3, 2, 2, 2.0)
    assert pick(rows, "2026-11-30", "acme", "voip") == row("2026-11-30", "acme", "voip", 2, 1, 1, 1.0)
    assert pick(rows, "2026-12-01", "acme", "base") == row("2026-12-01", "acme", "base", 2, 2, 2, 2.0, cancelled=1)
    assert pick(rows, "2026-12-01", "acme", "voip") == row("2026-12-01", "acme", "voip", 1, 1, 1, 1.0, cancelled=1)
    weeks = usage(books, "--from", "2026-11-23", "--to", "2026-12-06", "--by", "week")
    assert [r["cancelled"] for r in weeks if r["account"] == "acme" and r["licence"] in ("base", "voip")] == [0, 0, 1, 1]


def test_usage_by_week_starts_on_monday_and_clips_to_the_range(books):
    # from Wednesday 11 Nov to Wednesday 2 Dec
    rows = usage(books, "--from", "2026-11-11", "--to", "2026-12-02", "--by", "week")
    assert ordered(rows)
    assert rows == [
        # 11-15 Nov only: bob's release of the 10th is outside, so is the purchase of the 2nd
        row("2026-11-09", "acme", "base", 3, 3, 3, 13.75, denied=1),
        row("2026-11-09", "acme", "gsm", 0, 0, 0, 0, denied=1),
        row("2026-11-09", "acme", "voip", 2, 1, 1, 5.0),
        row("2026-11-09", "beta", "messaging", 1, 1, 1, 5.0),
        row("2026-11-16", "acme", "base", 3, 3, 2, 18.5, released=1),
        row("2026-11-16", "acme", "gsm", 0, 0, 0, 0),
        row("2026-11-16", "acme", "voip", 2, 1, 1, 7.0),
        row("2026-11-16", "beta", "messaging", 1, 1, 1, 7.0),
        # a week without activity
        row("2026-11-23", "acme", "base", 3, 2, 2, 14.0),
        row("2026-11-23", "acme", "gsm", 0, 0, 0, 0),
        row("2026-11-23", "acme", "voip", 2, 1, 1, 7.0),
        row("2026-11-23", "beta", "messaging", 1, 1, 1, 7.0),
        # 30 Nov - 2 Dec only: the gsm purchase of the 3rd is outside
        row("2026-11-30", "acme", "base", 2, 2, 2, 6.0, cancelled=1),
        row("2026-11-30", "acme", "gsm", 0, 0, 0, 0),
        row("2026-11-30", "acme", "voip", 1, 1, 0, 2.42, released=1, cancelled=1),
        row("2026-11-30", "beta", "messaging", 1, 1, 1, 3.0),
    ]


def test_a_pair_with_nothing_in_the_range_has_no_row(books):
    rows = usage(books, "--from", "2026-11-23", "--to", "2026-11-29", "--by", "week")
    assert [(r["bucket"], r["account"], r["licence"]) for r in rows] == [
        ("2026-11-23", "acme", "base"), ("2026-11-23", "acme", "voip"), ("2026-11-23", "beta", "messaging")]
    assert usage(books, "--from", "2026-10-01", "--to", "2026-10-31", "--by", "week") == []


def test_usage_licence_and_account_filters(books):
    args = ("--from", "2026-11-01", "--to", "2026-12-31", "--by", "month")
    every = usage(books, *args)
    assert usage(books, *args, "--licence", "voip") == [r for r in every if r["licence"] == "voip"]
    assert usage(books, *args, "--account", "beta") == [r for r in every if r["account"] == "beta"]
    assert usage(books, *args, "--account", "acme", "--licence", "base") == [
        r for r in every if (r["account"], r["licence"]) == ("acme", "base")]
    assert usage(books, *args, "--account", "beta", "--licence", "base") == []
    assert books("report", "usage", *args, "--account", "nope", "--format", "json").code == 3
    assert books("report", "usage", *args, "--licence", "nope", "--format", "json").code == 3


def test_usage_today_this_week_this_month_follow_seatctl_now(books):
    now = "2026-11-12T15:00:00Z"  # a Thursday
    today = usage(books, "--today", now=now)
    assert {r["bucket"] for r in today} == {"2026-11-12"}
    # counted up to now (15:00): ana and cara all day so far, dan from 06:00 (SPEC: never the future)
    assert pick(today, "2026-11-12", "acme", "base") == row("2026-11-12", "acme", "base", 3, 3, 3, 1.63, denied=1)
    assert today == usage(books, "--from", "2026-11-12", "--to", "2026-11-12", "--by", "day", now=now)

    week = usage(books, "--this-week", now=now)
    assert sorted({r["bucket"] for r in week}) == [f"2026-11-{d:02d}" for d in range(9, 16)]
    assert week == usage(books, "--from", "2026-11-09", "--to", "2026-11-15", "--by", "day", now=now)
    # acme's gsm denial (15 Nov) is after now: not counted, so gsm has no row yet
    assert [r["bucket"] for r in usage(books, "--this-week", "--by", "week", now=now)] == ["2026-11-09"] * 3

    month = usage(books, "--this-month", now=now)
    assert {r["bucket"] for r in month} == {"2026-11-01"}
    # at now: dan's release (20 Nov) is still ahead, so 3 in use at the end and 1 released
    assert pick(month, "2026-11-01", "acme", "base") == row("2026-11-01", "acme", "base", 3, 3, 3, 20.13,
                                                             bought=3, released=1, denied=1)
    december = usage(books, "--this-month", "--by", "week", now="2026-12-20T08:00:00Z")
    assert sorted({r["bucket"] for r in december}) == [
        "2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"]


def test_usage_chart_draws_the_peak_per_bucket(books):
    result = books("report", "usage", "--from", "2026-11-11", "--to", "2026-12-02", "--by", "week", "--chart")
    assert result.code == 0, result.err
    assert "█" in result.out
    # peaks summed over the pairs: base 3 + voip 1 + messaging 1 in the week of 9 Nov
    chart = {line.split()[0]: line.split()[-1] for line in result.out.splitlines() if "█" in line}
    assert chart == {"2026-11-09": "5", "2026-11-16": "5", "2026-11-23": "4", "2026-11-30": "4"}


@pytest.mark.parametrize("args", [
    ("--from", "2026-12-01", "--to", "2026-11-01"),
    ("--from", "2026-11-31", "--to", "2026-12-01"),
    ("--from", "yesterday", "--to", "2026-12-01"),
    ("--from", "2026-11-01"),
    ("--today", "--from", "2026-11-01", "--to", "2026-11-02"),
    ("--today", "--this-month"),
    ("--from", "2026-11-01", "--to", "2026-11-30", "--by", "year"),
], ids=["to-before-from", "no-such-day", "not-a-date", "from-without-to", "shortcut-and-range", "two-shortcuts",
        "bad-by"])
def test_usage_bad_range_is_a_usage_error(books, args):
    result = books("report", "usage", *args, "--format", "json")
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert result.out == ""


@pytest.mark.parametrize("args", [
    ("--from", "2026-11-09", "--to", "2026-11-12", "--by", "day"),
    ("--from", "2026-11-11", "--to", "2026-12-02", "--by", "week"),
    ("--from", "2026-11-01", "--to", "2026-12-31", "--by", "month"),
], ids=["day", "week", "month"])
def test_usage_csv_and_json_give_the_same_rows(books, args):
    rows = usage(books, *args)
    assert rows
    table = list(csv.DictReader(io.StringIO(books.ok("report", "usage", *args, "--format", "csv").out)))
    assert [list(r) for r in table] == [USAGE_KEYS] * len(table)
    parsed = [{k: (v if k in ("bucket", "account", "licence") else Decimal(v) if k == "seat_days" else int(v))
               for k, v in r.items()} for r in table]
    assert parsed == [{**r, "seat_days": Decimal(str(r["seat_days"])).quantize(Decimal("0.01"))} for r in rows]


@pytest.mark.parametrize(("args", "count"), [
    (("--from", "2020-01-01", "--to", "2020-01-31"), 0),
    (("--account", "beta", "--from", "2026-11-05", "--to", "2026-11-05", "--by", "day"), 1),
    (("--from", "2026-11-01", "--to", "2026-11-30", "--by", "day"), 30 * len(PAIRS)),
], ids=["empty", "one-row", "many-rows"])
def test_usage_json_and_csv_are_written_whole_as_the_rows_stream(books, args, count):
    """CSV and JSON are written row by row as the report is read: still one valid JSON array, laid out
    exactly as before (two-space indent), and a CSV with its header even when there is no row."""
    out = books.ok("report", "usage", *args, "--format", "json").out
    rows = json.loads(out)
    assert len(rows) == count
    assert out == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    assert ordered(rows)
    text = books.ok("report", "usage", *args, "--format", "csv").out
    lines = text.splitlines()
    assert lines[0] == ",".join(USAGE_KEYS)
    assert len(lines) == 1 + count and text.endswith("\n")
    assert [(r["bucket"], r["account"], r["licence"]) for r in csv.DictReader(io.StringIO(text))] == [
        (r["bucket"], r["account"], r["licence"]) for r in rows]


@pytest.mark.parametrize("fmt", ["json", "csv", "plain"])
def test_usage_error_prints_no_partial_output(books, fmt):
    result = books("report", "usage", "--account", "nosuch", "--format", fmt)
    assert result.code == 3
    assert result.out == ""
    assert result.err.startswith("error: ")


# --- report users / roles ---------------------------------------------------------------------------

def test_report_users_lists_everyone_by_email(books):
    users = books.json("report", "users", "acme")
    assert users == [
        {"email": "ana@example.com", "name": "Ana", "role": "admin", "status": "active", "licences": ["base"],
         "since": "2026-11-01"},
        {"email": "bob@example.com", "name": "Bob", "role": "agent", "status": "active", "licences": ["gsm"],
         "since": "2026-11-01"},
        {"email": "cara@example.com", "name": "Cara", "role": "agent", "status": "active", "licences": ["base"],
         "since": "2026-11-01"},
        {"email": "dan@example.com", "name": "Dan", "role": "agent", "status": "inactive", "licences": [],
         "since": "2026-11-01"},
        {"email": "erin@example.com", "name": "Erin", "role": "member", "status": "active", "licences": [],
         "since": "2026-11-01"},
    ]
    emails = lambda *a: [u["email"] for u in books.json("report", "users", "acme", *a)]  # noqa: E731
    assert emails("--role", "agent") == ["bob@example.com", "cara@example.com", "dan@example.com"]
    assert emails("--status", "inactive") == ["dan@example.com"]
    assert emails("--role", "agent", "--status", "active") == ["bob@example.com", "cara@example.com"]
    assert emails("--role", "nobody") == []
    assert [u["email"] for u in books.json("report", "users", "beta")] == ["gus@example.com"]
    assert books("report", "users", "nope", "--format", "json").code == 3


def test_report_roles_counts_users_and_active_users(books):
    expected = [
        {"account": "acme", "role": "admin", "users": 1, "active": 1},
        {"account": "acme", "role": "agent", "users": 3, "active": 2},
        {"account": "acme", "role": "member", "users": 1, "active": 1},
        {"account": "beta", "role": "member", "users": 1, "active": 1},
    ]
    assert books.json("report", "roles") == expected
    assert books.json("report", "roles", "--account", "beta") == expected[3:]
    assert books.json("report", "roles", operator="vera") == expected  # a viewer may read it


# --- report revenue / denials -----------------------------------------------------------------------

def _total(amounts) -> Decimal:  # type: ignore[no-untyped-def]
    return sum((Decimal(a) for a in amounts), Decimal("0"))


@pytest.mark.parametrize(("since", "until", "expected"), [
    ("2026-11-01", "2026-12-31", "169.81"),
    ("2026-11-01", "2026-11-30", "100.46"),  # 87.00 + 9.99 + 3.47
    ("2026-12-01", "2026-12-31", "69.35"),  # 4.00 + 65.35 + 11.23 - 11.23
    ("2026-12-04", "2026-12-04", "-11.23"),  # the credit note alone
])
def test_revenue_adds_up_to_the_invoices_of_the_range(books, since, until, expected):
    revenue = books.json("report", "revenue", "--from", since, "--to", until, "--by", "month")
    invoices = books.json("invoice", "list", "--from", since, "--to", until)
    assert all(isinstance(r["amount"], str) and Decimal(r["amount"]).as_tuple().exponent == -2 for r in revenue)
    assert _total(r["amount"] for r in revenue) == _total(i["total"] for i in invoices) == Decimal(expected)


def test_revenue_shows_credit_notes_negative(books):
    revenue = books.json("report", "revenue", "--from", "2026-11-01", "--to", "2026-12-31", "--by", "month")
    assert [r for r in revenue if r["kind"] == "credit"] == [
        {"bucket": "2026-12-01", "account": "acme", "kind": "credit", "licence": "gsm", "amount": "-11.23"}]
    assert _total(r["amount"] for r in revenue if r["bucket"] == "2026-11-01") == Decimal("100.46")
    assert _total(r["amount"] for r in revenue if r["account"] == "beta") == Decimal("7.47")


def test_report_denials_counts_refused_assignments_per_account_and_licence(books):
    rows = books.json("report", "denials")
    assert [(r["account"], r["licence"], r["denials"]) for r in rows] == [("acme", "base", 1), ("acme", "gsm", 1)]
    assert books.json("report", "denials", "--account", "beta") == []
    later = books.json("report", "denials", "--from", "2026-11-13", "--to", "2026-11-30")
    assert [(r["licence"], r["denials"]) for r in later] == [("gsm", 1)]
    one_day = books.json("report", "denials", "--from", "2026-11-12", "--to", "2026-11-12")  # --to is inclusive
    assert [(r["licence"], r["denials"]) for r in one_day] == [("base", 1)]
    # the same refusals as the usage table's `denied` column
    month = usage(books, "--from", "2026-11-01", "--to", "2026-12-31", "--by", "month")
    assert sum(r["denied"] for r in month) == sum(r["denials"] for r in rows) == 2


# --- log ----------------------------------------------------------------------------------------------

def test_log_is_ordered_by_time_with_details_as_objects(books):
    log = books.json("log")
    assert log and all(list(e) == ["at", "operator", "account", "action", "details"] for e in log)
    assert all(isinstance(e["details"], dict) for e in log)
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    assert log[-1] == {"at": "2026-12-04T09:00:00Z", "operator": "cron", "account": "acme", "action": "invoice.void",
                       "details": log[-1]["details"]}
    denials = [e for e in log if e["action"] == "denial"]
    assert [(e["at"], e["operator"], e["account"], e["details"]["licence"], e["details"]["user"]) for e in denials] == [
        ("2026-11-12T10:00:00Z", "alice", "acme", "base", "erin@example.com"),
        ("2026-11-15T10:00:00Z", "alice", "acme", "gsm", "erin@example.com")]


def test_log_filters(books):
    log = books.json("log")
    beta = books.json("log", "--account", "beta")
    assert beta == [e for e in log if e["account"] == "beta"]
    assert {"account.add", "user.add", "buy", "assign", "cycle.close"} <= {e["action"] for e in beta}

    since = books.json("log", "--since", "2026-12-01")
    assert since == [e for e in log if e["at"] >= "2026-12-01"]
    assert since[0]["at"] == "2026-12-01T02:00:00Z"
    assert books.json("log", "--since", "2026-12-03T10:00:00Z") == [e for e in log if e["at"] >= "2026-12-03T10:00:00Z"]

    assert books.json("log", "--operator", "cron") == [e for e in log if e["operator"] == "cron"]
    assigns = books.json("log", "--account", "acme", "--action", "assign")
    assert [(e["details"]["user"], e["details"]["licence"]) for e in assigns] == [
        ("ana@example.com", "base"), ("bob@example.com", "base"), ("ana@example.com", "voip"),
        ("cara@example.com", "base"), ("dan@example.com", "base"), ("bob@example.com", "gsm")]
    assert books.json("log", "--action", "no.such.action") == []
    assert books("log", "--since", "someday", "--format", "json").code == 2
    assert books("log", "--account", "nope", "--format", "json").code == 3


def test_a_close_triggered_by_a_write_is_logged_under_that_operator_as_automatic(books):
    closes = books.json("log", "--action", "cycle.close")
    assert [(e["at"], e["operator"], e["account"], e["details"]["automatic"]) for e in closes] == [
        ("2026-12-01T02:00:00Z", "cron", "beta", False),
        ("2026-12-02T10:00:00Z", "olivia", "acme", True),
    ]
    automatic = closes[1]["details"]
    assert (automatic["period_start"], automatic["period_end"], automatic["seats_cancelled"]) == (
        "2026-11-01", "2026-12-01", 2)
    olivia = [e["action"] for e in books.json("log", "--operator", "olivia")]
    assert "cycle.close" in olivia and "release" in olivia
    assert olivia.index("cycle.close") < olivia.index("release")  # the close came first
