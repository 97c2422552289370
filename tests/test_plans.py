"""Plans and metered services through the CLI (SPEC §5 "plans and metered services", "one invoice per
close"; §8 `report consumption`): base fees, included seats, allowances, overage, usage ids and files,
plan upgrades and downgrades, the consumption report, trials."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
import support
from support import add_account, close

NOV1 = "2026-11-01T09:00:00Z"
NOV16 = "2026-11-16T09:00:00Z"
NOV20 = "2026-11-20T12:00:00Z"
DEC1 = "2026-12-01T00:00:00Z"
DEC20 = "2026-12-20T12:00:00Z"
JAN1 = "2027-01-01T00:00:00Z"
STATUS_KEYS = {"account", "licence", "in_use", "free", "total", "minimum", "buying", "waiting"}
CONSUMPTION_KEYS = {"bucket", "account", "meter", "used", "allowance", "overage", "amount"}


# --- helpers ----------------------------------------------------------------------------------

def catalogue(ledger):
    """sms at 0.05 a unit; team: 50/month, 5 base, 1000 sms; pro: 80/month, 8 base + 2 voip, 3000 sms."""
    ledger.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    ledger.ok("plan", "add", "team", "--name", "Team", "--monthly", "50", "--includes", "base=5",
              "--allowance", "sms=1000")
    ledger.ok("plan", "add", "pro", "--name", "Pro", "--monthly", "80", "--includes", "base=8,voip=2",
              "--allowance", "sms=3000")


# This module reads acme's invoices on 1 Jan 2027 and its status on 20 Nov, unless a test says otherwise.
invoices = partial(support.invoices, account="acme", now=JAN1)
show = partial(support.show_invoice, now=JAN1)
status = partial(support.status, now=NOV20)


def join(ledger, slug="acme", plan="team", *extra, now=NOV1):
    add_account(ledger, slug, "--plan", plan, *extra, now=now)


def record(ledger, qty, at, *extra, slug="acme", meter="sms", now=None):
    return ledger.ok("usage", "record", slug, meter, str(qty), "--at", at, *extra, now=now or at)


def last_invoice(ledger, slug="acme", now=JAN1):
    return show(ledger, invoices(ledger, account=slug, now=now)[-1]["number"], now=now)


def meter_lines(invoice):
    return [line for line in invoice["lines"] if line["meter"] is not None]


def fee_lines(invoice):
    return [line for line in invoice["lines"] if line["licence"] is None and line["meter"] is None
            and line["description"].startswith("Plan")]


def seat_line(invoice, code):
    [line] = [line for line in invoice["lines"] if line["licence"] == code]
    return line


def metered_use(ledger, slug="acme", now=NOV20, fmt="plain"):
    """The rows of the 'this period's metered use' table of `status SLUG`, as lists of words."""
    out = ledger.ok("status", slug, "--format", fmt, now=now).out
    assert "this period's metered use" in out
    tail = out.split("this period's metered use", 1)[1]
    rows = []
    for line in tail.splitlines():
        words = [w for w in line.replace("│", " ").replace("┃", " ").split() if w.strip("━┏┓┗┛┡┩└┘┳╇┻┴─")]
        if words and words[0] == slug:
            rows.append(words)
    return rows


def consumption(ledger, *extra, frm="2026-11-01", to="2026-11-30", by="month", now="2026-12-02T12:00:00Z"):
    return ledger.json("report", "consumption", "--from", frm, "--to", to, "--by", by, *extra, now=now)


def write_csv(tmp_path, rows, name="usage.csv"):
    path = tmp_path / name
    path.write_text("account,meter,quantity,at,id\n" + "".join(r + "\n" for r in rows))
    return str(path)


# --- the catalogue ----------------------------------------------------------------------------

def test_plan_add_then_list_and_show(ledger):
    catalogue(ledger)
    plans = ledger.json("plan", "list")
    assert [p["code"] for p in plans] == ["pro", "team"]
    team = ledger.json("plan", "show", "team")
    assert team == plans[1]
    assert team["name"] == "Team"
    assert isinstance(team["monthly"], str) and Decimal(team["monthly"]) == Decimal("50")
    assert team["annual"] is None
    assert team["includes"] == {"base": 5}
    assert team["allowances"] == {"sms": 1000}
    assert plans[0]["includes"] == {"base": 8, "voip": 2}
    assert team["accounts"] == 0
    join(ledger)
    assert ledger.json("plan", "show", "team")["accounts"] == 1


@pytest.mark.parametrize(("args", "operator", "code"), [
    (["team", "--name", "Again", "--monthly", "10"], "alice", 4),             # duplicate code
    (["solo", "--name", "Solo", "--monthly", "10", "--includes", "nolicence=2"], "alice", 3),
    (["solo", "--name", "Solo", "--monthly", "10", "--allowance", "nometer=2"], "alice", 3),
    (["solo", "--name", "Solo", "--monthly", "10", "--includes", "base"], "alice", 2),
    (["solo", "--name", "Solo", "--monthly", "-10"], "alice", 2),
    (["solo", "--name", "Solo"], "alice", 2),                                  # no fee at all
    (["solo", "--name", "Solo", "--monthly", "10"], "olivia", 5),             # needs billing
])
def test_plan_add_refusals_change_nothing(ledger, args, operator, code):
    catalogue(ledger)
    result = ledger("plan", "add", *args, operator=operator)
    assert result.code == code, result.err
    assert result.err.startswith("error: ")
    assert [p["code"] for p in ledger.json("plan", "list")] == ["pro", "team"]
    assert ledger.json("plan", "show", "team")["includes"] == {"base": 5}


def test_plan_show_of_an_unknown_plan_is_not_found(ledger):
    result = ledger("plan", "show", "ghost", "--format", "json")
    assert result.code == 3
    assert "ghost" in result.err


# --- joining a plan ---------------------------------------------------------------------------

def test_joining_mid_period_bills_the_prorated_fee_and_provisions_included_seats_free(ledger):
    catalogue(ledger)
    join(ledger, now=NOV16)
    [inv] = invoices(ledger, now=NOV16)
    assert (inv["kind"], inv["period_start"], inv["period_end"], inv["total"]) == (
        "purchase", "2026-11-16", "2026-12-01", "25.00")
    [line] = show(ledger, inv["number"])["lines"]
    assert (line["licence"], line["meter"], line["quantity"]) == (None, None, 1)
    assert (line["days"], line["period_days"], line["unit_price"], line["amount"]) == (15, 30, "50.00", "25.00")
    base = status(ledger, now=NOV16)["base"]
    assert (base["in_use"], base["free"], base["total"], base["minimum"], base["buying"]) == (0, 5, 5, 5, 0)
    assert ledger.json("account", "show", "acme", now=NOV16)["plan"] == "team"


def test_joining_on_the_first_day_bills_the_whole_fee(ledger):
    catalogue(ledger)
    join(ledger, now=NOV1)
    assert [i["total"] for i in invoices(ledger, now=NOV1)] == ["50.00"]


def test_an_annual_account_pays_the_annual_fee_prorated(ledger):
    ledger.ok("plan", "add", "year", "--name", "Year", "--monthly", "50", "--annual", "500", "--includes", "base=5")
    ledger.ok("account", "add", "acme", "--name", "Acme", "--cycle", "annual", "--anchor", "2026-01-01",
              "--plan", "year", now=NOV16)
    [inv] = invoices(ledger, now=NOV16)
    # 500 × 46/365 = 63.013…
    assert (inv["period_start"], inv["period_end"], inv["total"]) == ("2026-11-16", "2027-01-01", "63.01")


def test_a_plan_without_a_fee_for_the_cycle_is_refused_and_no_account_is_created(ledger):
    ledger.ok("plan", "add", "year", "--name", "Year", "--annual", "500", "--includes", "base=5")
    result = ledger("account", "add", "acme", "--name", "Acme", "--plan", "year", now=NOV16)
    assert result.code == 4
    assert ledger.json("account", "list", now=NOV16) == []
    assert ledger.json("invoice", "list", now=NOV16) == []


def test_an_unknown_plan_is_not_found_and_no_account_is_created(ledger):
    result = ledger("account", "add", "acme", "--name", "Acme", "--plan", "ghost", now=NOV16)
    assert result.code == 3
    assert ledger.json("account", "list", now=NOV16) == []


# --- seats beyond the included ones -----------------------------------------------------------

def test_buying_seats_beyond_the_included_ones_is_priced_per_licence(ledger):
    catalogue(ledger)
    join(ledger, now=NOV16)
    # price(7 − 5) − price(5 − 5) = 60.00, for 15 of 30 days
    assert ledger.json("buy", "acme", "base", "2", "--quote", now=NOV16)["total"] == "30.00"
    bought = ledger.json("buy", "acme", "base", "2", "--yes", now=NOV16)
    assert (bought["status"], bought["total"]) == ("confirmed", "30.00")
    line = seat_line(show(ledger, bought["invoice"]), "base")
    assert (line["quantity"], line["days"], line["period_days"], line["amount"]) == (2, 15, 30, "30.00")
    base = status(ledger, now=NOV16)["base"]
    assert (base["total"], base["minimum"]) == (7, 5)


def test_an_own_minimum_above_the_included_seats_wins_and_only_the_extra_is_charged(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--min", "base=7", now=NOV16)
    base = status(ledger, now=NOV16)["base"]
    assert (base["total"], base["minimum"]) == (7, 7)
    # fee 50 × 15/30 + price(7 − 5) × 15/30
    assert sum(Decimal(i["total"]) for i in invoices(ledger, now=NOV16)) == Decimal("55.00")


def test_the_renewal_bills_the_fee_in_advance_and_included_seats_at_zero(ledger):
    catalogue(ledger)
    join(ledger, now=NOV16)
    ledger.ok("buy", "acme", "base", "2", "--yes", now=NOV16)  # free at the end: trimmed to the 5 included
    [row] = close(ledger, DEC1)
    assert (row["period_start"], row["period_end"], row["seats_cancelled"], row["total"]) == (
        "2026-11-01", "2026-12-01", 2, "50.00")
    inv = show(ledger, row["invoice"])
    assert (inv["kind"], inv["period_start"], inv["period_end"], inv["total"]) == (
        "renewal", "2026-12-01", "2027-01-01", "50.00")
    [fee] = fee_lines(inv)
    assert (fee["period_start"], fee["period_end"], fee["amount"]) == ("2026-12-01", "2027-01-01", "50.00")
    base = seat_line(inv, "base")
    assert (base["quantity"], base["amount"]) == (5, "0.00")
    assert meter_lines(inv) == []
    assert status(ledger, now=DEC1)["base"]["total"] == 5


def test_the_renewal_bills_seats_in_use_beyond_the_included_ones(ledger):
    catalogue(ledger)
    join(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes", now=NOV1)
    for i in range(7):
        ledger.ok("user", "add", "acme", f"u{i}@acme.io", now=NOV1)
        ledger.ok("assign", "acme", f"u{i}@acme.io", "base", now=NOV1)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (0, "110.00")
    base = seat_line(show(ledger, row["invoice"]), "base")
    assert (base["quantity"], base["amount"]) == (7, "60.00")  # price(7 − 5)


# --- usage and allowances ---------------------------------------------------------------------

@pytest.mark.parametrize(("used", "overage", "amount", "total"), [
    (999, None, None, "50.00"),
    (1000, None, None, "50.00"),
    (1001, 1, "0.05", "50.05"),
    (1500, 500, "25.00", "75.00"),
])
def test_usage_under_at_and_over_the_allowance(ledger, used, overage, amount, total):
    catalogue(ledger)
    join(ledger)
    record(ledger, used - 1, "2026-11-05T10:00:00Z")
    record(ledger, 1, "2026-11-30T23:59:59Z", now="2026-11-30T23:59:59Z")
    [row] = close(ledger, DEC1)
    assert row["total"] == total
    inv = show(ledger, row["invoice"])
    assert inv["kind"] == "renewal"  # one invoice per close: overage rides on the renewal
    assert (inv["period_start"], inv["period_end"]) == ("2026-12-01", "2027-01-01")
    lines = meter_lines(inv)
    if overage is None:
        assert lines == []
    else:
        [line] = lines
        assert (line["meter"], line["licence"], line["quantity"], line["unit_price"], line["amount"]) == (
            "sms", None, overage, "0.05", amount)
        assert (line["period_start"], line["period_end"]) == ("2026-11-01", "2026-12-01")
    assert len(invoices(ledger)) == 2  # the first fee and this renewal: nothing else


def test_usage_at_the_period_end_instant_belongs_to_the_next_period(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1000, "2026-11-05T10:00:00Z")
    [row] = close(ledger, DEC1)
    record(ledger, 700, DEC1)
    assert row["total"] == "50.00"
    assert metered_use(ledger, now=DEC1) == [["acme", "team", "sms", "700", "1000", "0"]]


def test_an_unused_allowance_is_not_carried_over(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 200, "2026-11-05T10:00:00Z")
    record(ledger, 1500, "2026-12-05T10:00:00Z")
    [row] = close(ledger, JAN1)
    assert row["period_start"] == "2026-12-01"
    [line] = meter_lines(show(ledger, row["invoice"]))
    assert (line["quantity"], line["amount"], line["period_start"]) == (500, "25.00", "2026-12-01")


def test_a_tiered_meter_bills_its_overage_through_the_tiers(ledger):
    ledger.ok("meter", "add", "calls", "--name", "Calls", "--tiers", "1000:0.05,inf:0.03", "--tier-mode",
              "graduated")
    ledger.ok("plan", "add", "talk", "--name", "Talk", "--monthly", "20", "--allowance", "calls=500")
    join(ledger, "acme", "talk")
    record(ledger, 2000, "2026-11-05T10:00:00Z", meter="calls")
    [row] = close(ledger, DEC1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    # overage 1500: 1000 × 0.05 + 500 × 0.03 = 65.00; unit price 65.00 / 1500 to 6 decimals (SPEC, invoice show)
    assert (line["meter"], line["quantity"], line["amount"], line["unit_price"]) == ("calls", 1500, "65.00", "0.043333")
    assert row["total"] == "85.00"


def test_the_account_discount_applies_to_the_overage_too(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--discount", "10")
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    [row] = close(ledger, DEC1)
    assert row["total"] == "67.50"  # (50.00 + 25.00) − 7.50


def test_a_repeated_usage_id_is_not_billed_twice(ledger):
    catalogue(ledger)
    join(ledger)
    first = ledger.json("usage", "record", "acme", "sms", "1500", "--at", "2026-11-05T10:00:00Z", "--id", "evt-1",
                        now=NOV20)
    again = ledger.json("usage", "record", "acme", "sms", "1500", "--at", "2026-11-05T10:00:00Z", "--id", "evt-1",
                        now=NOV20)
    assert (first["recorded"], first["ignored"]) == (1, 0)
    assert (again["recorded"], again["ignored"]) == (0, 1)
    assert metered_use(ledger) == [["acme", "team", "sms", "1500", "1000", "500"]]
    [row] = close(ledger, DEC1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    assert (line["quantity"], line["amount"]) == (500, "25.00")


def test_usage_ids_are_unique_across_the_ledger(ledger):
    catalogue(ledger)
    join(ledger, "acme")
    join(ledger, "beta")
    ledger.ok("usage", "record", "acme", "sms", "1500", "--at", "2026-11-05T10:00:00Z", "--id", "x", now=NOV20)
    other = ledger.json("usage", "record", "beta", "sms", "1500", "--at", "2026-11-05T10:00:00Z", "--id", "x",
                        now=NOV20)
    assert (other["recorded"], other["ignored"]) == (0, 1)
    rows = {row["account"]: row for row in close(ledger, DEC1)}
    assert (rows["acme"]["total"], rows["beta"]["total"]) == ("75.00", "50.00")


def test_usage_import_and_reimport_records_nothing_new(ledger, tmp_path):
    catalogue(ledger)
    join(ledger, "acme")
    join(ledger, "beta")
    path = write_csv(tmp_path, ["acme,sms,900,2026-11-05T10:00:00Z,f-1",
                                "acme,sms,600,2026-11-06T10:00:00Z,f-2",
                                "beta,sms,40,2026-11-07T10:00:00Z,f-3"])
    assert ledger.json("usage", "import", path, now=NOV20) == {"recorded": 3, "ignored": 0}
    assert ledger.json("usage", "import", path, now=NOV20) == {"recorded": 0, "ignored": 3}
    assert metered_use(ledger, "acme") == [["acme", "team", "sms", "1500", "1000", "500"]]
    assert metered_use(ledger, "beta") == [["beta", "team", "sms", "40", "1000", "0"]]
    rows = {row["account"]: row for row in close(ledger, DEC1)}
    assert (rows["acme"]["total"], rows["beta"]["total"]) == ("75.00", "50.00")


def test_reimporting_a_file_after_its_period_closed_bills_nothing_and_is_not_an_error(ledger, tmp_path):
    catalogue(ledger)
    join(ledger)
    path = write_csv(tmp_path, ["acme,sms,1500,2026-11-05T10:00:00Z,f-1"])
    ledger.ok("usage", "import", path, now=NOV20)
    close(ledger, DEC1)
    assert ledger.json("usage", "import", path, now=DEC20) == {"recorded": 0, "ignored": 1}
    [row] = close(ledger, JAN1)
    assert meter_lines(show(ledger, row["invoice"])) == []


BAD_ROWS = [
    pytest.param("acme,sms,-3,2026-11-06T10:00:00Z,b-1", id="negative-quantity"),
    pytest.param("acme,sms,1.5,2026-11-06T10:00:00Z,b-1", id="fractional-quantity"),
    pytest.param("acme,sms,3,last tuesday,b-1", id="bad-date"),
    pytest.param("acme,sms,3,2026-11-25T10:00:00Z,b-1", id="future"),
    pytest.param("acme,sms,3,2026-10-25T10:00:00Z,b-1", id="before-the-account"),
    pytest.param("ghost,sms,3,2026-11-06T10:00:00Z,b-1", id="unknown-account"),
    pytest.param("acme,ghost,3,2026-11-06T10:00:00Z,b-1", id="unknown-meter"),
]


@pytest.mark.parametrize("bad", BAD_ROWS)
def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(ledger, tmp_path, bad):
    catalogue(ledger)
    join(ledger)
    path = write_csv(tmp_path, ["acme,sms,1500,2026-11-05T10:00:00Z,good-1", bad])
    result = ledger("usage", "import", path, now=NOV20)
    assert result.code in (2, 3, 4), result.err
    assert result.err.startswith("error: ") and "row 3" in result.err, result.err
    # the good row was not kept: importing it alone records it now
    only_good = write_csv(tmp_path, ["acme,sms,1500,2026-11-05T10:00:00Z,good-1"], name="good.csv")
    assert ledger.json("usage", "import", only_good, now=NOV20) == {"recorded": 1, "ignored": 0}


@pytest.mark.parametrize(("args", "operator", "code"), [
    pytest.param(["acme", "sms", "5", "--at", "2026-11-21T00:00:00Z"], "alice", 4, id="future"),
    pytest.param(["acme", "sms", "5", "--at", "2026-11-16T08:59:59Z"], "alice", 4, id="before-the-account"),
    pytest.param(["acme", "sms", "5", "--at", "someday"], "alice", 2, id="bad-date"),
    pytest.param(["acme", "sms", "-5"], "alice", 2, id="negative"),
    pytest.param(["acme", "sms", "2.5"], "alice", 2, id="fractional"),
    pytest.param(["ghost", "sms", "5"], "alice", 3, id="unknown-account"),
    pytest.param(["acme", "ghost", "5"], "alice", 3, id="unknown-meter"),
    pytest.param(["acme", "sms", "5"], "vera", 5, id="viewer"),
])
def test_refused_usage_records_nothing(ledger, args, operator, code):
    catalogue(ledger)
    join(ledger, now=NOV16)
    result = ledger("usage", "record", *args, now="2026-11-20T00:00:00Z", operator=operator)
    assert result.code == code, result.err
    assert metered_use(ledger) == [["acme", "team", "sms", "0", "1000", "0"]]


def test_an_operator_may_record_usage(ledger):
    catalogue(ledger)
    join(ledger)
    ledger.ok("usage", "record", "acme", "sms", "5", now=NOV20, operator="olivia")
    assert metered_use(ledger) == [["acme", "team", "sms", "5", "1000", "0"]]


def test_usage_for_an_already_closed_period_is_refused(ledger):
    catalogue(ledger)
    join(ledger)
    close(ledger, DEC1)
    result = ledger("usage", "record", "acme", "sms", "5000", "--at", "2026-11-20T00:00:00Z", now=DEC20)
    assert result.code == 4
    [row] = close(ledger, JAN1)
    assert row["total"] == "50.00"


def test_periods_follow_the_accounts_local_midnight(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--timezone", "Europe/Madrid")
    record(ledger, 1000, "2026-11-05T10:00:00Z")
    record(ledger, 500, "2026-11-30T22:30:00Z")  # 23:30 on 30 Nov in Madrid
    record(ledger, 700, "2026-11-30T23:30:00Z")  # 00:30 on 1 Dec in Madrid: the next period
    [line] = meter_lines(last_invoice(ledger))
    assert (line["quantity"], line["amount"], line["period_end"]) == (500, "25.00", "2026-12-01")
    assert metered_use(ledger, now="2026-12-02T00:00:00Z") == [["acme", "team", "sms", "700", "1000", "0"]]


# --- status -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["plain", "table"])
def test_status_shows_this_periods_use_against_the_allowance(ledger, fmt):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1200, "2026-11-05T10:00:00Z")
    record(ledger, 300, "2026-11-06T10:00:00Z")
    assert metered_use(ledger, fmt=fmt) == [["acme", "team", "sms", "1500", "1000", "500"]]


def test_status_json_keeps_its_stable_shape(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    rows = ledger.json("status", "acme", now=NOV20)
    assert [set(r) for r in rows] == [STATUS_KEYS]


# --- plan changes -----------------------------------------------------------------------------

def test_an_upgrade_applies_at_once_with_the_prorated_fee_difference(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 2500, "2026-11-05T10:00:00Z")
    change = ledger.json("account", "set-plan", "acme", "pro", now=NOV16)
    assert (change["status"], change["plan"]) == ("applied", "pro")
    inv = show(ledger, change["invoice"], now=NOV16)
    assert (inv["kind"], inv["period_start"], inv["period_end"], inv["total"]) == (
        "purchase", "2026-11-16", "2026-12-01", "15.00")  # (80 − 50) × 15/30
    [line] = inv["lines"]
    assert (line["licence"], line["meter"], line["amount"]) == (None, None, "15.00")
    seats = status(ledger, now=NOV16)
    assert (seats["base"]["total"], seats["base"]["minimum"]) == (8, 8)
    assert (seats["voip"]["total"], seats["voip"]["minimum"]) == (2, 2)
    assert ledger.json("account", "show", "acme", now=NOV16)["plan"] == "pro"
    # the close uses pro's allowance of 3000 for the whole period: no overage
    [row] = close(ledger, DEC1)
    inv = show(ledger, row["invoice"])
    assert meter_lines(inv) == []
    assert [f["amount"] for f in fee_lines(inv)] == ["80.00"]
    assert (seat_line(inv, "base")["amount"], seat_line(inv, "voip")["amount"]) == ("0.00", "0.00")
    assert row["total"] == "80.00"


def test_joining_a_plan_later_charges_the_fee_for_the_days_left_and_tops_up_seats(ledger):
    catalogue(ledger)
    add_account(ledger, now=NOV1)
    ledger.ok("buy", "acme", "base", "3", "--yes", now=NOV1)
    change = ledger.json("account", "set-plan", "acme", "team", now=NOV16)
    assert change["status"] == "applied"
    inv = show(ledger, change["invoice"], now=NOV16)
    assert (inv["kind"], inv["total"]) == ("purchase", "25.00")
    base = status(ledger, now=NOV16)["base"]
    assert (base["total"], base["minimum"]) == (5, 5)


def test_a_change_to_an_equal_fee_applies_at_once_without_an_invoice(ledger):
    catalogue(ledger)
    ledger.ok("plan", "add", "chatty", "--name", "Chatty", "--monthly", "50.00", "--includes", "base=5",
              "--allowance", "sms=2000")
    join(ledger)
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    change = ledger.json("account", "set-plan", "acme", "chatty", now=NOV16)
    assert (change["status"], change["invoice"]) == ("applied", None)
    assert len(invoices(ledger, now=NOV16)) == 1
    [row] = close(ledger, DEC1)
    assert row["total"] == "50.00"  # chatty's allowance of 2000 covers the 1500


def test_a_downgrade_waits_for_the_period_end(ledger):
    catalogue(ledger)
    join(ledger, "acme", "pro")
    record(ledger, 2500, "2026-11-05T10:00:00Z")
    change = ledger.json("account", "set-plan", "acme", "team", now=NOV16)
    assert (change["status"], change["invoice"], change["effective"]) == ("pending", None, "2026-12-01")
    account = ledger.json("account", "show", "acme", now=NOV16)
    assert (account["plan"], account["pending"]) == ("pro", {"plan": "team"})
    assert len(invoices(ledger, now=NOV16)) == 1
    assert status(ledger, now=NOV16)["base"]["total"] == 8
    record(ledger, 100, "2026-11-20T10:00:00Z")  # still under pro's 3000 until the end
    [row] = close(ledger, DEC1)
    assert row["seats_cancelled"] == 5  # 3 base above team's 5 and pro's 2 voip
    inv = show(ledger, row["invoice"])
    assert meter_lines(inv) == []  # the ended period keeps pro's allowance: 2600 of 3000
    assert [f["amount"] for f in fee_lines(inv)] == ["50.00"]
    base = seat_line(inv, "base")
    assert (base["quantity"], base["amount"]) == (5, "0.00")
    assert [line["licence"] for line in inv["lines"] if line["licence"]] == ["base"]
    assert row["total"] == "50.00"
    account = ledger.json("account", "show", "acme", now=DEC1)
    assert (account["plan"], account["pending"]) == ("team", None)
    seats = status(ledger, now=DEC1)
    assert (seats["base"]["total"], seats["base"]["minimum"]) == (5, 5)
    assert "voip" not in seats or seats["voip"]["total"] == 0
    # the next period uses team's allowance
    record(ledger, 2500, "2026-12-05T10:00:00Z")
    [row] = close(ledger, JAN1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    assert (line["quantity"], line["amount"]) == (1500, "75.00")


def test_a_downgrade_keeps_seats_in_use_and_bills_those_beyond_the_new_included_ones(ledger):
    catalogue(ledger)
    join(ledger, "acme", "pro")
    for i in range(8):
        ledger.ok("user", "add", "acme", f"u{i}@acme.io", now=NOV1)
        ledger.ok("assign", "acme", f"u{i}@acme.io", "base", now=NOV1)
    ledger.ok("account", "set-plan", "acme", "team", now=NOV16)
    [row] = close(ledger, DEC1)
    base = seat_line(show(ledger, row["invoice"]), "base")
    assert (base["quantity"], base["amount"]) == (8, "90.00")  # price(8 − 5)
    assert row["total"] == "140.00"


def test_choosing_the_current_plan_again_cancels_a_pending_downgrade(ledger):
    catalogue(ledger)
    join(ledger, "acme", "pro")
    ledger.ok("account", "set-plan", "acme", "team", now=NOV16)
    again = ledger.json("account", "set-plan", "acme", "pro", now=NOV20)
    assert again["invoice"] is None
    assert ledger.json("account", "show", "acme", now=NOV20)["pending"] is None
    [row] = close(ledger, DEC1)
    assert row["total"] == "80.00"
    assert ledger.json("account", "show", "acme", now=DEC1)["plan"] == "pro"


@pytest.mark.parametrize(("plan", "operator", "code"), [
    ("ghost", "alice", 3),
    ("pro", "olivia", 5),
    ("yearly", "alice", 4),
])
def test_refused_plan_changes_change_nothing(ledger, plan, operator, code):
    catalogue(ledger)
    ledger.ok("plan", "add", "yearly", "--name", "Yearly", "--annual", "900")
    join(ledger)
    result = ledger("account", "set-plan", "acme", plan, now=NOV16, operator=operator)
    assert result.code == code, result.err
    account = ledger.json("account", "show", "acme", now=NOV16)
    assert (account["plan"], account["pending"]) == ("team", None)
    assert len(invoices(ledger, now=NOV16)) == 1


# --- report consumption -----------------------------------------------------------------------

def test_consumption_report_shows_the_bill_in_the_bucket_of_the_periods_last_day(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 900, "2026-11-05T10:00:00Z")   # week of 2 Nov
    record(ledger, 600, "2026-11-18T10:00:00Z")   # week of 16 Nov
    [row] = close(ledger, DEC1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    rows = consumption(ledger, "--account", "acme", by="week")
    assert all(set(r) == CONSUMPTION_KEYS for r in rows)
    by_bucket = {r["bucket"]: r for r in rows}
    assert set(by_bucket) == {"2026-11-02", "2026-11-16", "2026-11-30"}
    assert [by_bucket[b]["used"] for b in ("2026-11-02", "2026-11-16", "2026-11-30")] == [900, 600, 0]
    for bucket in ("2026-11-02", "2026-11-16"):
        r = by_bucket[bucket]
        assert (r["allowance"], r["overage"], r["amount"]) == (None, None, None)
    last = by_bucket["2026-11-30"]  # the week holding 30 Nov, the period's last day
    assert (last["account"], last["meter"]) == ("acme", "sms")
    assert (last["allowance"], last["overage"], last["amount"]) == (1000, line["quantity"], line["amount"])
    assert (last["overage"], last["amount"]) == (500, "25.00")
    assert [r["bucket"] for r in rows] == sorted(r["bucket"] for r in rows)


def test_consumption_report_by_month_matches_the_invoice(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    [row] = close(ledger, DEC1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    assert consumption(ledger, "--account", "acme") == [
        {"bucket": "2026-11-01", "account": "acme", "meter": "sms", "used": 1500, "allowance": 1000,
         "overage": 500, "amount": line["amount"]}]


def test_consumption_report_cut_before_the_periods_last_day_shows_no_bill(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    rows = consumption(ledger, "--account", "acme", to="2026-11-15", by="day", now=NOV20)
    assert [(r["bucket"], r["used"], r["allowance"], r["overage"], r["amount"]) for r in rows] == [
        ("2026-11-05", 1500, None, None, None)]


def test_consumption_report_uses_the_plan_in_force_on_each_periods_last_day(ledger):
    catalogue(ledger)
    join(ledger, "acme", "pro")
    record(ledger, 2500, "2026-11-05T10:00:00Z")
    ledger.ok("account", "set-plan", "acme", "team", now=NOV16)
    record(ledger, 2500, "2026-12-05T10:00:00Z")
    close(ledger, JAN1)
    rows = consumption(ledger, "--account", "acme", to="2026-12-31", now="2027-01-02T00:00:00Z")
    assert [(r["bucket"], r["used"], r["allowance"], r["overage"], r["amount"]) for r in rows] == [
        ("2026-11-01", 2500, 3000, 0, "0.00"),
        ("2026-12-01", 2500, 1000, 1500, "75.00")]
    [line] = meter_lines(last_invoice(ledger, now="2027-01-02T00:00:00Z"))
    assert line["amount"] == "75.00"


def test_consumption_report_after_an_upgrade_uses_the_new_allowance(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 2500, "2026-11-05T10:00:00Z")
    ledger.ok("account", "set-plan", "acme", "pro", now=NOV16)
    [row] = consumption(ledger, "--account", "acme", now=NOV20)
    assert (row["used"], row["allowance"], row["overage"], row["amount"]) == (2500, 3000, 0, "0.00")


# --- trials, closed accounts, hierarchy -------------------------------------------------------

def test_a_trials_usage_is_never_billed(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--trial")
    assert invoices(ledger, now=NOV1) == []
    record(ledger, 3000, "2026-11-05T10:00:00Z")
    [row] = close(ledger, DEC1)
    assert (row["invoice"], row["total"]) == (None, "0.00")
    record(ledger, 3000, "2026-12-05T10:00:00Z")          # still a trial
    ledger.ok("account", "activate", "acme", now="2026-12-16T00:00:00Z")
    record(ledger, 1500, "2026-12-20T10:00:00Z")          # after activation: billed
    [row] = close(ledger, JAN1)
    [line] = meter_lines(show(ledger, row["invoice"]))
    assert (line["quantity"], line["amount"]) == (500, "25.00")


def test_a_trial_changing_plan_is_not_invoiced(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--trial")
    change = ledger.json("account", "set-plan", "acme", "pro", now=NOV16)
    assert (change["status"], change["invoice"]) == ("applied", None)
    assert invoices(ledger, now=NOV16) == []
    assert status(ledger, now=NOV16)["base"]["total"] == 8


def test_activating_a_trial_does_not_charge_the_included_seats(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--trial")
    ledger.ok("account", "activate", "acme", now=NOV16)
    for inv in invoices(ledger, now=NOV16):
        for line in show(ledger, inv["number"], now=NOV16)["lines"]:
            if line["licence"] == "base":
                assert line["amount"] == "0.00"


def test_activating_a_trial_bills_the_plan_fee_from_that_day(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--trial")
    ledger.ok("account", "activate", "acme", now=NOV16)
    fees = [line for inv in invoices(ledger, now=NOV16) for line in fee_lines(show(ledger, inv["number"], now=NOV16))]
    assert [(f["period_start"], f["period_end"], f["amount"]) for f in fees] == [
        ("2026-11-16", "2026-12-01", "25.00")]


def test_a_closed_accounts_last_close_bills_its_overage_on_a_usage_invoice(ledger):
    catalogue(ledger)
    join(ledger)
    record(ledger, 1500, "2026-11-05T10:00:00Z")
    ledger.ok("account", "close", "acme", now="2026-11-10T00:00:00Z")
    assert ledger("usage", "record", "acme", "sms", "5", now=NOV20).code == 4
    [row] = close(ledger, DEC1)
    inv = show(ledger, row["invoice"])
    assert (inv["kind"], inv["period_start"], inv["period_end"], inv["total"]) == (
        "usage", "2026-11-01", "2026-12-01", "25.00")
    [line] = inv["lines"]
    assert (line["meter"], line["quantity"], line["amount"]) == ("sms", 500, "25.00")


def test_a_child_billed_via_its_parent_puts_its_overage_on_the_parents_renewal(ledger):
    catalogue(ledger)
    add_account(ledger, "resell", now=NOV1)
    ledger.ok("account", "add", "shop", "--name", "Shop", "--parent", "resell", "--billed-via-parent",
              "--plan", "team", now=NOV1)
    record(ledger, 1500, "2026-11-05T10:00:00Z", slug="shop")
    [row] = close(ledger, DEC1)
    assert (row["account"], row["total"]) == ("resell", "75.00")
    inv = show(ledger, row["invoice"])
    assert inv["account"] == "resell"
    [line] = meter_lines(inv)
    assert (line["account"], line["quantity"], line["amount"]) == ("shop", 500, "25.00")
    assert invoices(ledger, account="shop") == []


def test_a_peak_account_on_a_plan_pays_its_peak_beyond_the_included_seats(ledger):
    catalogue(ledger)
    join(ledger, "acme", "team", "--mode", "peak")
    for i in range(7):
        ledger.ok("user", "add", "acme", f"u{i}@acme.io", now="2026-11-02T00:00:00Z")
        ledger.ok("assign", "acme", f"u{i}@acme.io", "base", now="2026-11-02T00:00:00Z")
    [row] = close(ledger, DEC1)
    inv = show(ledger, row["invoice"])
    peak = seat_line(inv, "base")
    assert (peak["quantity"], peak["amount"], peak["period_start"]) == (7, "60.00", "2026-11-01")  # price(7 − 5)
    assert [f["amount"] for f in fee_lines(inv)] == ["50.00"]
    assert row["total"] == "110.00"


def test_a_repeated_id_inside_one_file_is_recorded_once(ledger, tmp_path):
    catalogue(ledger)
    join(ledger)
    path = write_csv(tmp_path, ["acme,sms,1500,2026-11-05T10:00:00Z,dup",
                                "acme,sms,1500,2026-11-05T10:00:00Z,dup"])
    assert ledger.json("usage", "import", path, now=NOV20) == {"recorded": 1, "ignored": 1}
    assert metered_use(ledger) == [["acme", "team", "sms", "1500", "1000", "500"]]


def test_a_short_period_after_an_anchor_change_prorates_the_fee_and_keeps_the_whole_allowance(ledger):
    catalogue(ledger)
    join(ledger)
    ledger.ok("account", "set", "acme", "--anchor", "2026-12-15", now="2026-11-05T09:00:00Z")
    [row] = close(ledger, DEC1)
    [fee] = fee_lines(show(ledger, row["invoice"]))
    # 1 Dec → 15 Dec of the 15 Nov → 15 Dec period: 50.00 × 14/30
    assert (fee["period_start"], fee["period_end"], fee["days"], fee["period_days"], fee["amount"]) == (
        "2026-12-01", "2026-12-15", 14, 30, "23.33")
    record(ledger, 1000, "2026-12-05T10:00:00Z")
    [row] = close(ledger, "2026-12-15T00:00:00Z")
    assert meter_lines(show(ledger, row["invoice"], now="2026-12-15T00:00:00Z")) == []


def test_a_cycle_change_the_plan_has_no_fee_for_is_refused(ledger):
    catalogue(ledger)  # team is sold monthly only
    join(ledger)
    result = ledger("account", "set", "acme", "--cycle", "annual", now=NOV16)
    assert result.code == 4, result.err or result.out
    account = ledger.json("account", "show", "acme", now=NOV16)
    assert (account["cycle"], account["pending"]) == ("monthly", None)
