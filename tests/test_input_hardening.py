"""Issue 14, input hardening (SPEC §8 bounds, input files, error order): e-mail domains, prices as
plain decimal text, bounds on quantities, the order of errors, CSV rows with control characters,
an import's audit trail and progress bar."""

from __future__ import annotations

import pytest
from support import one_error_line, process_env, with_ana

NOW = "2026-11-16T10:00:00Z"


@pytest.fixture
def acme(acme):
    """acme (monthly from 1 Nov) with user ana and one base seat; the clock at 16 Nov."""
    return with_ana(acme, NOW)


def emails(cli, slug="acme"):
    return [u["email"] for u in cli.json("user", "list", slug)]


# 1. Internal and special-use domains are e-mail domains like any other.

SPECIAL = ["ana@corp.local", "bo@lab.internal", "cy@x.test", "di@sub.corp.local", "ed@host.localhost",
           "fa@x.onion", "gi@x.invalid", "ha@in-addr.arpa"]


@pytest.mark.parametrize("email", SPECIAL)
def test_special_use_domains_are_accepted_by_user_add(acme, email):
    acme.ok("user", "add", "acme", email)
    assert email in emails(acme)


def test_special_use_domains_are_accepted_by_import_and_sync(acme):
    users = acme.folder / "users.csv"
    users.write_text("email\nana@corp.local\nbo@lab.internal\n")
    acme.ok("user", "import", "acme", str(users))
    export = acme.folder / "directory.csv"
    export.write_text("email,licences\nana@example.com,base\ncy@x.test,\nana@corp.local,\n")
    acme.ok("sync", "acme", str(export))
    assert emails(acme) == ["ana@corp.local", "ana@example.com", "bo@lab.internal", "cy@x.test"]


@pytest.mark.parametrize("email", ["ana@local", "ana@corp", "ana@localhost", "ana@test", "ana@corp.123"])
def test_the_shape_local_at_domain_dot_tld_is_still_required(acme, email):
    result = acme("user", "add", "acme", email)
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert emails(acme) == ["ana@example.com"]


# 4. When several errors apply, the first in this order wins: usage (2), permission (5), not found (3),
#    rule (4).

def test_an_unknown_user_or_licence_in_a_suspended_account_is_not_found(acme):
    acme.ok("account", "suspend", "acme")
    for args in [("assign", "acme", "nobody@x.example", "base"), ("assign", "acme", "ana@example.com", "nope"),
                 ("assign", "acme", "ana@example.com", "base", "nope")]:
        result = acme(*args)
        assert result.code == 3, (args, result.err)
        one_error_line(result.err, result.out)
    assert acme("assign", "acme", "ana@example.com", "base").code == 4  # the rule, once every name is known


def test_an_unknown_licence_for_an_inactive_user_is_not_found(acme):
    acme.ok("user", "add", "acme", "bo@example.com")
    acme.ok("user", "deactivate", "acme", "bo@example.com")
    assert acme("assign", "acme", "bo@example.com", "nope").code == 3
    assert acme("assign", "acme", "bo@example.com", "base").code == 4
    pairs = acme.folder / "pairs.csv"
    pairs.write_text("email,licence\nbo@example.com,base\nnobody@example.com,base\n")
    assert acme("assign", "acme", "--from-csv", str(pairs)).code == 3


@pytest.mark.parametrize("args", [
    ("assign", "acme", "nobody@x.example", "base"),
    ("assign", "acme", "ana@example.com", "nope"),
    ("release", "acme", "nobody@x.example", "base"),
    ("release", "acme", "ana@example.com", "nope"),
    ("buy", "acme", "nope", "1", "--yes"),
    ("buy", "acme", "nope", "1", "--quote"),
    ("user", "deactivate", "acme", "nobody@x.example"),
    ("user", "activate", "acme", "nobody@x.example"),
    ("account", "set-min", "acme", "nope=1"),
    ("account", "set-plan", "acme", "nope"),
    ("usage", "record", "acme", "nope", "1"),
    ("waitlist", "cancel", "acme", "nobody@x.example", "base"),
])
def test_an_unknown_name_in_a_closed_account_is_not_found(acme, args):
    acme.ok("account", "close", "acme")
    result = acme(*args)
    assert result.code == 3, result.err
    one_error_line(result.err, result.out)


def test_a_sync_naming_an_unknown_licence_for_a_closed_account_is_not_found(acme):
    acme.ok("account", "close", "acme")
    export = acme.folder / "directory.csv"
    export.write_text("email,licences\nana@example.com,nope\n")
    result = acme("sync", "acme", str(export))
    assert result.code == 3, result.err
    export.write_text("email,licences\nana@example.com,base\n")
    assert acme("sync", "acme", str(export)).code == 4


def test_a_known_name_in_a_closed_account_is_refused(acme):
    acme.ok("account", "close", "acme")
    for args in [("assign", "acme", "ana@example.com", "base"), ("release", "acme", "ana@example.com", "base"),
                 ("buy", "acme", "base", "1", "--yes"), ("user", "deactivate", "acme", "ana@example.com"),
                 ("account", "set-min", "acme", "base=1")]:
        assert acme(*args).code == 4, args


@pytest.mark.parametrize("args", [
    ("buy", "acme", "base", "0", "--yes"),
    ("buy", "acme", "base", "--yes", "--", "-1"),
    ("buy", "acme", "base", "2000000", "--yes"),
    ("buy", "nope", "base", "0", "--yes"),
    ("buy", "acme", "base", "1"),  # piped without --yes
    ("user", "deactivate", "acme", "not-an-e-mail"),
    ("user", "deactivate", "nope", "not-an-e-mail"),
    ("account", "set-min", "acme", "base=-1"),
    ("account", "set-min", "nope", "base=x"),
    ("usage", "record", "acme", "sms", "--", "-1"),
])
def test_a_usage_error_wins_over_permission_and_not_found(acme, args):
    result = acme(*args, operator="vera")  # a viewer
    assert result.code == 2, result.err
    one_error_line(result.err, result.out)


@pytest.mark.parametrize("args", [
    ("assign", "nope", "ana@example.com", "base"),
    ("buy", "nope", "base", "1", "--yes"),
    ("user", "deactivate", "nope", "ana@example.com"),
])
def test_permission_wins_over_not_found(acme, args):
    assert acme(*args, operator="vera").code == 5


# 5. Prices are plain decimal text; a refused command writes nothing; old exponent text is reported
#    by `doctor` and repaired by `licence set-price`.

def raw_sql(cli, statement):
    """Raw SQL as the ledger's owner (alice): what an older seatctl could have stored."""
    from sqlalchemy import create_engine, text

    url = cli.location("alice")
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def doctor_failures(cli):
    result = cli("doctor", "--format", "json")
    assert result.code == 4, result.err
    return {row["check"]: row["detail"] for row in result.json() if row["status"] != "ok"}


def catalogue(cli):
    return (cli.json("licence", "list"), cli.json("meter", "list"), cli.json("plan", "list"), len(cli.json("log")))


BAD_PRICES = ["1e3", "2E+1", "-5", "+5", "1,000.00", "1 000", "€5", "$5", "5€", "0x10", "1.0000001", "NaN", "inf",
              "Infinity", "1_000", "١٢", "12.5.0", "", " ", ".", "1000000000", "5 EUR"]


@pytest.mark.parametrize("price", BAD_PRICES)
def test_a_price_that_is_not_plain_decimal_text_is_refused_and_writes_nothing(acme, price):
    before = catalogue(acme)
    for args in [("licence", "add", "x", "--name", "X", "--monthly", price),
                 ("licence", "add", "x", "--name", "X", "--monthly", "10", "--annual", price),
                 ("licence", "add", "x", "--name", "X", "--tiers", f"5:7.00,inf:{price}", "--tier-mode", "volume"),
                 ("licence", "add", "x", "--name", "X", "--tiers", f"5:7.00,inf:6+{price}", "--tier-mode", "volume"),
                 ("licence", "set-price", "base", "--monthly", price),
                 ("meter", "add", "sms", "--name", "SMS", "--unit-price", price),
                 ("meter", "add", "sms", "--name", "SMS", "--tiers", f"1000:{price},inf:0.01", "--tier-mode", "volume"),
                 ("plan", "add", "team", "--name", "Team", "--monthly", price),
                 ("plan", "add", "team", "--name", "Team", "--monthly", "5", "--annual", price)]:
        result = acme(*args)
        assert result.code == 2, (args, result.code, result.err)
        one_error_line(result.err, result.out)
    assert catalogue(acme) == before
    assert acme.ok("licence", "add", "y", "--name", "Y", "--monthly", "1000")  # the catalogue still works


@pytest.mark.parametrize("price, shown", [("12", "12.00"), ("12.5", "12.50"), ("0.125", "0.125"), (".5", "0.50"),
                                          ("7.", "7.00"), ("999999999.999999", "999999999.999999"),
                                          ("0.000001", "0.000001"), ("00012.50", "12.50")])
def test_plain_decimal_prices_are_kept_exactly(acme, price, shown):
    acme.ok("licence", "add", "x", "--name", "X", "--monthly", price)
    assert [r["monthly"] for r in acme.json("licence", "list") if r["code"] == "x"] == [shown]


def test_an_exponent_price_stored_by_an_older_seatctl_is_read_reported_and_repaired(acme):
    acme.ok("licence", "add", "e", "--name", "E", "--monthly", "10")
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    acme.ok("plan", "add", "team", "--name", "Team", "--monthly", "5")
    raw_sql(acme, "UPDATE licence_price SET tiers = 'inf:2E+1' WHERE licence_id = "
                  "(SELECT id FROM licence WHERE code = 'e')")
    raw_sql(acme, "UPDATE meter SET tiers = 'inf:1E+1' WHERE code = 'sms'")
    raw_sql(acme, "UPDATE plan SET monthly_fee = '1E+3' WHERE code = 'team'")
    # read as the numbers they are: billing goes on
    assert [r["monthly"] for r in acme.json("licence", "list") if r["code"] == "e"] == ["20.00"]
    bought = acme.json("buy", "acme", "e", "1", "--yes")
    assert bought["total"] == "10.00"  # 20.00 a month, 15 of 30 days left
    assert acme.json("meter", "list")[0]["unit_price"] == "10.00"
    # reported
    failed = doctor_failures(acme)
    assert list(failed) == ["prices_plain"]
    assert "licence 'e' monthly price 'inf:2E+1'" in failed["prices_plain"]
    assert "meter 'sms'" in failed["prices_plain"] and "plan 'team' monthly fee '1E+3'" in failed["prices_plain"]
    # repaired by setting the licence's price again (the old version keeps its value, in plain text)
    acme.ok("licence", "set-price", "e", "--monthly", "20.00")
    failed = doctor_failures(acme)
    assert "licence 'e'" not in failed["prices_plain"] and "meter 'sms'" in failed["prices_plain"]
    event = acme.json("log", "--action", "licence.set-price")[-1]
    assert event["details"]["repaired"] == {"inf:2E+1": "inf:20"}
    close = acme.json("cycle", "close", now="2026-12-01T02:00:00Z", operator="cron")
    assert [row["account"] for row in close] == ["acme"]


# 6. Bounds: seat quantities and minimums 1 (0) to 1,000,000, usage at most 10^12; anything else is
#    exit 2 and writes nothing (no MemoryError, no OverflowError, no integer overflow later).

def ledger_state(cli):
    return (cli.json("status"), cli.json("invoice", "list"), cli.json("account", "show", "acme")["minimums"],
            len(cli.json("log")))


@pytest.mark.parametrize("args", [
    ("buy", "acme", "base", "999999999999", "--yes"),
    ("buy", "acme", "base", str(10**23), "--yes"),
    ("buy", "acme", "base", "1000001", "--yes"),
    ("buy", "acme", "base", "0", "--yes"),
    ("buy", "acme", "base", "999999999999", "--quote"),
    ("account", "set-min", "acme", "base=999999999999"),
    ("account", "set-min", "acme", "base=1000001"),
    ("account", "set-min", "acme", f"base={10**23}"),
    ("account", "set-min", "acme", "base=1e3"),
    ("account", "set-min", "acme", "base=+3"),
    ("account", "set-min", "acme", "base= "),
    ("account", "add", "big", "--name", "Big", "--min", "base=1000001"),
    ("usage", "record", "acme", "sms", "9223372036854775807", "--id", "x"),
    ("usage", "record", "acme", "sms", str(10**12 + 1)),
    ("licence", "add", "x", "--name", "X", "--monthly", "1", "--block", "1000001"),
    ("licence", "add", "x", "--name", "X", "--monthly", "1", "--block", "0"),
    ("licence", "add", "x", "--name", "X", "--tiers", "1000001:1,inf:2", "--tier-mode", "volume"),
    ("licence", "add", "x", "--name", "X", "--tiers", f"{10**30}:1,inf:2", "--tier-mode", "volume"),
    ("licence", "add", "x", "--name", "X", "--tiers", "-5:1,inf:2", "--tier-mode", "volume"),
    ("meter", "add", "big", "--name", "Big", "--tiers", f"{10**12 + 1}:1,inf:2", "--tier-mode", "volume"),
    ("plan", "add", "big", "--name", "Big", "--monthly", "1", "--includes", "base=1000001"),
    ("plan", "add", "big", "--name", "Big", "--monthly", "1", "--allowance", f"sms={10**12 + 1}"),
    ("plan", "add", "big", "--name", "Big", "--monthly", "1", "--includes", "base=-1"),
])
def test_a_quantity_out_of_bounds_is_a_usage_error_and_writes_nothing(acme, args):
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    before = ledger_state(acme), catalogue(acme)
    result = acme(*args)
    assert result.code == 2, (result.code, result.err)
    one_error_line(result.err, result.out)
    assert (ledger_state(acme), catalogue(acme)) == before


def test_the_bounds_themselves_are_accepted(acme):
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.000001")
    acme.ok("account", "set-min", "acme", "base=0")
    acme.ok("usage", "record", "acme", "sms", str(10**12), "--id", "max")
    acme.ok("usage", "record", "acme", "sms", "0", "--id", "zero")
    acme.ok("licence", "add", "big", "--name", "Big", "--monthly", "0.01", "--block", "1000000")
    quote = acme.json("buy", "acme", "base", "1000000", "--quote")
    assert quote["quantity"] == 1000000
    close = acme.json("cycle", "close", now="2026-12-01T02:00:00Z", operator="cron")
    assert close[0]["account"] == "acme"


def test_usage_that_would_bill_beyond_any_real_amount_is_refused_and_closes_keep_working(acme):
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "10")
    acme.ok("usage", "record", "acme", "sms", str(10**12), "--id", "a")  # 10^13: the most a line may bill
    result = acme("usage", "record", "acme", "sms", "1", "--id", "b")
    assert result.code == 4 and "would bill more than" in one_error_line(result.err, result.out)
    acme.ok("meter", "add", "gold", "--name", "Gold", "--unit-price", "999999999")
    assert acme("usage", "record", "acme", "gold", str(10**12), "--id", "c").code == 4
    assert [r["used"] for r in acme.json("report", "consumption", "--account", "acme", "--from", "2026-11-01",
                                         "--to", "2026-11-30")] == [10**12]
    [closed] = acme.json("cycle", "close", now="2026-12-01T02:00:00Z", operator="cron")
    assert closed["account"] == "acme"
    lines = acme.json("invoice", "show", closed["invoice"])["lines"]
    assert [line["amount"] for line in lines if line["meter"] == "sms"] == ["10000000000000.00"]


def test_a_usage_import_row_out_of_bounds_names_the_row_and_writes_nothing(acme):
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    path = acme.folder / "usage.csv"
    path.write_text(f"account,meter,quantity,at,id\nacme,sms,5,,a\nacme,sms,{10**12 + 1},,b\n")
    result = acme("usage", "import", str(path))
    assert result.code == 2
    assert "row 3" in one_error_line(result.err, result.out)
    path.write_text("account,meter,quantity,at,id\nacme,sms,1e3,,a\n")
    assert acme("usage", "import", str(path)).code == 2
    assert acme.json("log", "--action", "usage.record") == []


# 12. Smaller: control characters in CSV rows, the import's audit trail, the progress bar, and
#     `cycle show` of periods that ended but are not closed yet.

@pytest.mark.parametrize("cell", ["Bea\x1b[31m", "Bea\x00", '"Bea\nBo"', "Bea\x7f", '"Bea\rBo"'])
def test_a_csv_row_with_a_control_character_is_refused_naming_the_row(acme, cell):
    users = acme.folder / "users.csv"
    users.write_bytes(("email,name\nbea@example.com,Bea\ncy@example.com," + cell + "\n").encode())
    result = acme("user", "import", "acme", str(users))
    assert result.code == 2
    line = one_error_line(result.err, result.out)
    assert "row 3" in line and "'name'" in line and "control character" in line
    usage = acme.folder / "usage.csv"
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    usage.write_bytes(("account,meter,quantity,at,id\nacme,sms,1,,a\nacme,sms,2,," + cell + "\n").encode())
    result = acme("usage", "import", str(usage))
    assert result.code == 2 and "row 3" in one_error_line(result.err, result.out)
    pairs = acme.folder / "pairs.csv"
    pairs.write_bytes(("email,licence\nana@example.com,base\nana@example.com," + cell + "\n").encode())
    result = acme("assign", "acme", "--from-csv", str(pairs))
    assert result.code == 2 and "row 3" in one_error_line(result.err, result.out)
    assert emails(acme) == ["ana@example.com"]
    assert acme.json("log", "--action", "usage.record") == [] and acme.json("log", "--action", "assign") == []


def test_a_user_import_records_every_address_so_who_added_whom_is_in_the_log(acme):
    users = acme.folder / "users.csv"
    added = [f"u{i:03d}@example.com" for i in range(120)]
    users.write_text("email\n" + "".join(f"{e}\n" for e in added))
    acme.ok("user", "import", "acme", str(users), operator="olivia")
    events = acme.json("log", "--action", "user.add")
    imported = [e for e in events if e["operator"] == "olivia"]
    listed = [email for e in imported for email in e["details"]["users"]]
    assert sorted(listed) == added  # u119 as well, not only the first 50


def test_a_sync_records_every_address_it_adds(acme):
    export = acme.folder / "directory.csv"
    added = [f"s{i:03d}@example.com" for i in range(75)]
    export.write_text("email\n" + "".join(f"{e}\n" for e in ["ana@example.com", *added]))
    acme.ok("sync", "acme", str(export))
    [event] = [e for e in acme.json("log", "--action", "user.add") if e["details"].get("sync")]
    assert sorted(event["details"]["users"]) == added


def _on_a_terminal(cli, args):
    """`seatctl ARGS` as a real process whose stderr is a terminal (a pseudo-terminal): (exit, stdout,
    what the terminal showed)."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "seatctl", *args], stdout=subprocess.PIPE, stderr=follower,
                              env=process_env({**cli.env(), "COLUMNS": "100", "TERM": "xterm"}), timeout=120,
                              cwd=cli.folder)
    finally:
        os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return done.returncode, done.stdout.decode(), shown.decode(errors="replace")


def test_imports_show_a_progress_bar_on_a_terminal_and_nothing_extra_when_piped(acme, process):
    users = acme.folder / "users.csv"
    users.write_text("email\n" + "".join(f"p{i}@example.com\n" for i in range(300)))
    code, out, shown = _on_a_terminal(acme, ["user", "import", "acme", str(users)])
    assert code == 0 and out == "Imported 300 users into 'acme' (0 already there).\n"
    assert "checking 300 rows" in shown and "━" in shown  # Rich's bar, drawn on the terminal
    acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.05")
    usage = acme.folder / "usage.csv"
    usage.write_text("account,meter,quantity,at,id\nacme,sms,5,,a\nacme,sms,7,,b\n")
    code, out, shown = _on_a_terminal(acme, ["usage", "import", str(usage)])
    assert code == 0 and "recording 2 usage rows" in shown and "━" in shown
    # piped: the summary line alone, nothing on stderr
    again = acme.folder / "more.csv"
    again.write_text("email\n" + "".join(f"q{i}@example.com\n" for i in range(50)))
    piped = process(["user", "import", "acme", str(again)], acme.env())
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "Imported 50 users into 'acme' (0 already there).\n", "")


def test_cycle_show_projects_the_periods_that_ended_but_are_not_closed_yet(acme):
    acme.ok("assign", "acme", "ana@example.com", "base")
    later = "2027-01-02T09:00:00Z"  # November and December ended; nothing has closed them
    shown = acme.json("cycle", "show", "acme", now=later)
    assert shown["due"] is True
    assert (shown["period_start"], shown["period_end"]) == ("2027-01-01", "2027-02-01")
    due = [(p["period_start"], p["period_end"], p["invoice_total"]) for p in shown["due_periods"]]
    assert due == [("2026-11-01", "2026-12-01", "30.00"), ("2026-12-01", "2027-01-01", "30.00")]
    closed = acme.json("cycle", "close", "--dry-run", now=later, operator="cron")
    assert [(r["period_start"], r["period_end"], r["total"]) for r in closed] == due
    assert acme.json("cycle", "show", "acme", now="2026-11-20T09:00:00Z")["due_periods"] == []


# Hypothesis: every generated number is accepted with the right amount, or refused with exit 2 and no
# change (SPEC §8 bounds).

from decimal import Decimal  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NUMBERS = st.one_of(
    st.integers(-10, 1_000_010).map(str),
    st.integers(-10**25, 10**25).map(str),
    st.sampled_from(["0", "1", "1000000", "1000001", "999999999999", "1000000000000", "1000000000001",
                     "9223372036854775807", "00042", " 7 ", "+5", "-0", "1_000", "1e3", "1.0", "٥", "５", "0x10", ""]),
    st.from_regex(r"[0-9+\-., eE_]{1,14}", fullmatch=True),
)
_PRICES = st.one_of(
    st.decimals(min_value=0, max_value=10**10, allow_nan=False, allow_infinity=False, places=7).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"[0-9+\-., eE€$]{1,14}", fullmatch=True),
    st.sampled_from(["12", "12.50", ".5", "7.", "0.000001", "0.0000001", "999999999.999999", "1000000000", "1e3",
                     "2E+1", "1,000", "€5", "-1", ""]),
)
_SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _whole_or_none(text, low, high):
    """The oracle: ASCII digits only (blanks around allowed), within [low, high]."""
    stripped = text.strip()
    if not stripped or any(c not in "0123456789" for c in stripped):
        return None
    value = int(stripped)
    return value if low <= value <= high else None


def _price_or_none(text):
    import re

    found = re.fullmatch(r"([0-9]*)(?:\.([0-9]*))?", text.strip())
    if not found or not any(c.isdigit() for c in text) or len(found.group(2) or "") > 6 \
            or len((found.group(1) or "").lstrip("0")) > 9:
        return None
    return Decimal(text.strip())


@_SLOW
@given(text=_NUMBERS)
def test_any_seat_quantity_is_bought_exactly_or_refused(acme, text):
    expected = _whole_or_none(text, 1, 1_000_000)
    result = acme("buy", "acme", "base", "--quote", "--format", "json", "--", text)
    if expected is None:
        assert result.code == 2, (text, result.code, result.err)
        one_error_line(result.err, result.out)
    else:
        assert result.code == 0, (text, result.err)
        assert result.json()["quantity"] == expected and result.json()["status"] == "quote"


@_SLOW
@given(text=_NUMBERS)
def test_any_minimum_is_set_exactly_or_refused(acme, text):
    """On a peak account (a minimum there buys no seats, so a million is cheap to set)."""
    if "peak" not in [a["slug"] for a in acme.json("account", "list")]:
        acme.ok("account", "add", "peak", "--name", "Peak", "--mode", "peak", "--anchor", "2026-11-01")
    before = acme.json("account", "show", "peak"), len(acme.json("log"))
    expected = _whole_or_none(text, 0, 1_000_000)
    result = acme("account", "set-min", "peak", f"voip={text}")
    if expected is None:
        assert result.code == 2, (text, result.code, result.err)
        assert (acme.json("account", "show", "peak"), len(acme.json("log"))) == before
    else:
        assert result.code == 0, (text, result.err)
        shown = acme.json("account", "show", "peak")
        now = shown["minimums"].get("voip", 0)
        pending = (shown["pending"] or {}).get("minimums", {}).get("voip")
        assert expected in (now, pending), (text, shown)


@_SLOW
@given(text=_NUMBERS)
def test_any_usage_quantity_is_recorded_exactly_or_refused(acme, text):
    if not acme.json("meter", "list"):
        acme.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.000001")
    expected = _whole_or_none(text, 0, 10**12)
    today = ("--from", "2026-11-16", "--to", "2026-11-16")
    before = acme.json("report", "consumption", "--account", "acme", *today)
    used = sum(r["used"] for r in before)
    result = acme("usage", "record", "acme", "sms", "--", text)
    after = acme.json("report", "consumption", "--account", "acme", *today)
    if expected is None:
        assert result.code == 2, (text, result.code, result.err)
        assert after == before
    else:
        assert result.code == 0, (text, result.err)
        assert sum(r["used"] for r in after) == used + expected


@_SLOW
@given(text=_PRICES)
def test_any_price_is_stored_exactly_or_refused(acme, text):
    expected = _price_or_none(text)
    before = acme.json("licence", "list"), len(acme.json("log"))
    result = acme("licence", "set-price", "gsm", "--monthly", text)
    if expected is None:
        assert result.code == 2, (text, result.code, result.err)
        assert (acme.json("licence", "list"), len(acme.json("log"))) == before
    else:
        assert result.code == 0, (text, result.err)
        [gsm] = [r for r in acme.json("licence", "list") if r["code"] == "gsm"]
        assert Decimal(gsm["monthly"]) == expected
