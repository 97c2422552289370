"""`seatctl sync` (SPEC §9): a directory export makes an account's users and seats match it. The
Microsoft 365 and Google Workspace fixtures have those exports' real column layouts (BOM, CRLF,
quoted fields holding the delimiter); the people are invented."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

NOW = "2026-11-16T10:00:00Z"
FIXTURES = Path(__file__).parent / "fixtures" / "directory"
EXAMPLE_CONFIG = Path(__file__).parent.parent / "seatctl.toml.example"
SYNC_KEYS = {"account", "dry_run", "added", "updated", "reactivated", "deactivated", "assigned", "released",
             "waiting", "unmanaged", "unmapped", "bought", "changes"}
COUNTS = ("added", "updated", "reactivated", "deactivated", "assigned", "released", "waiting", "unmanaged", "unmapped")


@pytest.fixture
def northwind(ledger, tmp_path):
    """Account northwind (monthly from 1 Nov) owning 4 base, 2 voip and 1 gsm seats; the shipped
    seatctl.toml.example is the config (its m365 and google profiles); the clock at 16 Nov."""
    shutil.copy(EXAMPLE_CONFIG, tmp_path / "seatctl.toml")  # ./seatctl.toml: found without --config
    ledger.now = NOW
    ledger.ok("account", "add", "northwind", "--name", "Northwind", "--anchor", "2026-11-01")
    for code, n in (("base", "4"), ("voip", "2"), ("gsm", "1")):
        ledger.ok("buy", "northwind", code, n, "--yes")
    return ledger


@pytest.fixture
def acme(ledger, tmp_path):
    """acme (monthly from 1 Nov), one base seat and one voip seat, no users; the clock at 16 Nov."""
    ledger.now = NOW
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01")
    ledger.ok("buy", "acme", "base", "1", "--yes")
    ledger.ok("buy", "acme", "voip", "1", "--yes")
    return ledger


def write(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return str(path)


def counts(out: dict) -> dict:
    return {k: out[k] for k in COUNTS}


def changes(out: dict) -> set[tuple]:
    return {(c["email"], c["action"], c["licence"]) for c in out["changes"]}


def status(cli, account: str) -> dict:
    return {r["licence"]: (r["in_use"], r["free"], r["total"], r["waiting"]) for r in cli.json("status", account)}


def users(cli, account: str) -> dict:
    return {u["email"]: (u["name"], u["role"], u["status"], sorted(u["licences"])) for u in cli.json("user", "list", account)}


def snapshot(cli, account: str):
    return (len(cli.json("log")), cli.json("status"), cli.json("invoice", "list"), cli.json("user", "list", account),
            cli.json("waitlist", "list"), cli.json("order", "list"))


# --- Microsoft 365, end to end -------------------------------------------------------------------

def test_m365_first_sync_adds_users_and_seats_through_the_shipped_profile(northwind):
    out = northwind.json("sync", "northwind", str(FIXTURES / "m365-day1.csv"), "--profile", "m365")
    assert set(out) == SYNC_KEYS
    assert counts(out) == {"added": 7, "updated": 0, "reactivated": 0, "deactivated": 0, "assigned": 7,
                           "released": 0, "waiting": 0, "unmanaged": 0, "unmapped": 1}  # POWER_BI_STANDARD
    assert out["bought"] == [] and out["dry_run"] is False
    assert users(northwind, "northwind") == {
        "ana.ruiz@northwind.example": ("Ana Ruiz", "member", "active", ["base", "voip"]),
        "ben.ode@northwind.example": ("Ben Ode", "member", "active", ["base"]),
        "carla.gil@northwind.example": ("Gil, Carla", "member", "active", ["base"]),  # a quoted comma
        "dev.patel@northwind.example": ("Dev Patel", "member", "active", ["base", "gsm", "voip"]),
        "erin.wu@northwind.example": ("Erin Wu", "member", "active", []),  # Unlicensed: no seat, not unmapped
        "frank.moss@northwind.example": ("Frank Moss", "member", "inactive", []),  # Block credential True
        "scanner@northwind.example": ("Scanner (2nd floor)", "member", "active", []),
    }
    assert status(northwind, "northwind") == {"base": (4, 0, 4, 0), "voip": (2, 0, 2, 0), "gsm": (1, 0, 1, 0)}
    assert northwind("doctor").code == 0


def test_m365_next_day_a_leaver_a_blocked_user_a_moved_licence_and_an_unmapped_sku(northwind):
    northwind.ok("sync", "northwind", str(FIXTURES / "m365-day1.csv"), "--profile", "m365")
    invoices = northwind.json("invoice", "list")
    northwind.now = "2026-11-17T02:00:00Z"
    out = northwind.json("sync", "northwind", str(FIXTURES / "m365-day2.csv"), "--profile", "m365", "--remove-missing")
    assert counts(out) == {"added": 1, "updated": 0, "reactivated": 0, "deactivated": 2, "assigned": 3,
                           "released": 5, "waiting": 0, "unmanaged": 0, "unmapped": 1}  # TEAMS_EXPLORATORY
    assert changes(out) == {
        ("ana.ruiz@northwind.example", "release", "voip"),  # voip moved from Ana…
        ("ben.ode@northwind.example", "assign", "voip"),  # …to Ben, with no extra seat: releases come first
        ("carla.gil@northwind.example", "user.deactivate", None),  # the leaver (--remove-missing)
        ("carla.gil@northwind.example", "release", "base"),
        ("dev.patel@northwind.example", "user.deactivate", None),  # blocked since yesterday
        ("dev.patel@northwind.example", "release", "base"),
        ("dev.patel@northwind.example", "release", "gsm"),
        ("dev.patel@northwind.example", "release", "voip"),
        ("erin.wu@northwind.example", "assign", "base"),
        ("gina.rossi@northwind.example", "user.add", None),
        ("gina.rossi@northwind.example", "assign", "base"),
    }
    people = users(northwind, "northwind")
    assert people["ana.ruiz@northwind.example"][3] == ["base"]
    assert people["ben.ode@northwind.example"][3] == ["base", "voip"]
    assert people["carla.gil@northwind.example"][2:] == ("inactive", [])
    assert people["dev.patel@northwind.example"][2:] == ("inactive", [])
    assert people["gina.rossi@northwind.example"][2:] == ("active", ["base"])
    assert status(northwind, "northwind") == {"base": (4, 0, 4, 0), "voip": (1, 1, 2, 0), "gsm": (0, 1, 1, 0)}
    assert northwind.json("invoice", "list") == invoices  # nothing bought, nothing billed

    # The same file again: nothing changes, nothing is written, exit 0.
    before = snapshot(northwind, "northwind")
    again = northwind.json("sync", "northwind", str(FIXTURES / "m365-day2.csv"), "--profile", "m365",
                           "--remove-missing")
    assert again["changes"] == [] and again["bought"] == []
    assert counts(again) == {**dict.fromkeys(COUNTS, 0), "unmapped": 1}
    assert snapshot(northwind, "northwind") == before
    assert northwind("doctor").code == 0


def test_m365_without_remove_missing_leaves_the_leaver_alone_and_counts_them(northwind):
    northwind.ok("sync", "northwind", str(FIXTURES / "m365-day1.csv"), "--profile", "m365")
    day2 = str(FIXTURES / "m365-day2.csv")
    # Carla keeps her base seat, so Erin and Gina want two base seats and only Dev's comes free.
    refused = northwind("sync", "northwind", day2, "--profile", "m365")
    assert refused.code == 4 and "1 'base' seat(s)" in refused.err
    out = northwind.json("sync", "northwind", day2, "--profile", "m365", "--wait")
    assert (out["deactivated"], out["unmanaged"], out["assigned"], out["waiting"]) == (1, 1, 2, 1)
    assert ("gina.rossi@northwind.example", "wait", "base") in changes(out)  # the file's later row waits
    assert users(northwind, "northwind")["carla.gil@northwind.example"][2:] == ("active", ["base"])
    assert users(northwind, "northwind")["erin.wu@northwind.example"][3] == ["base"]


def test_the_sync_event_has_the_counts_and_the_files_sha256(northwind):
    path = FIXTURES / "m365-day1.csv"
    northwind.ok("sync", "northwind", str(path), "--profile", "m365")
    [event] = northwind.json("log", "--action", "sync")
    assert event["account"] == "northwind" and event["operator"] == "alice"
    details = event["details"]
    assert details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (details["added"], details["assigned"], details["unmapped"], details["profile"]) == (7, 7, 1, "m365")
    # …besides each change's own event.
    assert len(northwind.json("log", "--action", "assign")) == 7
    assert len(northwind.json("log", "--action", "user.add")) == 1  # one event for the users added, like `user import`


def test_google_workspace_download_through_the_shipped_profile(northwind):
    out = northwind.json("sync", "northwind", str(FIXTURES / "google-users.csv"), "--profile", "google")
    assert counts(out) == {"added": 5, "updated": 0, "reactivated": 0, "deactivated": 0, "assigned": 4,
                           "released": 0, "waiting": 0, "unmanaged": 0, "unmapped": 1}  # Cloud Identity Free
    assert users(northwind, "northwind") == {
        "hana.sato@fabrikam.example": ("Hana Sato", "member", "active", ["base", "voip"]),
        "ivan.petrov@fabrikam.example": ("Ivan Petrov", "member", "active", ["base"]),
        "jo.lee@fabrikam.example": ("Jo Lee", "member", "inactive", []),  # Suspended
        "kai.nguyen@fabrikam.example": ("Kai Nguyen", "member", "active", ["base"]),  # Business Plus -> base
        "lena.berg@fabrikam.example": ("Lena Berg", "member", "inactive", []),  # Archived
    }


# --- Native columns --------------------------------------------------------------------------------

def test_native_licences_may_be_separated_by_semicolons_plus_commas_in_quotes_or_spaces(ledger, tmp_path):
    ledger.now = NOW
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01")
    for code in ("base", "voip", "gsm"):
        ledger.ok("buy", "acme", code, "4", "--yes")
    path = write(tmp_path, "email,licences\r\n"
                           "a@example.com,base;voip\r\n"
                           "b@example.com,base+voip+gsm\r\n"
                           'c@example.com,"base, gsm"\r\n'
                           "d@example.com,base voip\r\n"
                           "e@example.com,\r\n")
    ledger.ok("sync", "acme", path)
    assert {e: lic for e, (_, _, _, lic) in users(ledger, "acme").items()} == {
        "a@example.com": ["base", "voip"], "b@example.com": ["base", "gsm", "voip"], "c@example.com": ["base", "gsm"],
        "d@example.com": ["base", "voip"], "e@example.com": []}


def test_updates_names_and_roles_and_reactivates(acme, tmp_path):
    acme.ok("user", "add", "acme", "ana@example.com", "--name", "Ana")
    acme.ok("user", "add", "acme", "bob@example.com", "--name", "Bob", "--role", "agent")
    acme.ok("user", "deactivate", "acme", "bob@example.com")
    path = write(tmp_path, "email,name,role,status\nana@example.com,Ana Ruiz,admin,active\nbob@example.com,,,\n")
    out = acme.json("sync", "acme", path)
    assert changes(out) == {("ana@example.com", "user.update", None), ("bob@example.com", "user.activate", None)}
    assert (out["updated"], out["reactivated"]) == (1, 1)
    people = users(acme, "acme")
    assert people["ana@example.com"][:3] == ("Ana Ruiz", "admin", "active")
    assert people["bob@example.com"][:3] == ("Bob", "agent", "active")  # empty name and role: left as they were
    [update] = acme.json("log", "--action", "user.update")
    assert update["details"]["user"] == "ana@example.com" and update["details"]["role"] == "admin"


def test_a_file_without_a_licences_column_leaves_seats_alone(acme, tmp_path):
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("assign", "acme", "ana@example.com", "base")
    out = acme.json("sync", "acme", write(tmp_path, "email,name\nana@example.com,Ana\n"))
    assert changes(out) == {("ana@example.com", "user.update", None)}
    assert users(acme, "acme")["ana@example.com"][3] == ["base"]
    # An empty licences cell, on the other hand, means "no seats".
    out = acme.json("sync", "acme", write(tmp_path, "email,licences\nana@example.com,\n"))
    assert changes(out) == {("ana@example.com", "release", "base")}


def test_an_inactive_user_holds_no_seat_whatever_the_file_lists(acme, tmp_path):
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("assign", "acme", "ana@example.com", "base")
    out = acme.json("sync", "acme", write(tmp_path, "email,licences,status\nana@example.com,base;voip,inactive\n"))
    assert changes(out) == {("ana@example.com", "user.deactivate", None), ("ana@example.com", "release", "base")}
    assert users(acme, "acme")["ana@example.com"][2:] == ("inactive", [])
    assert status(acme, "acme") == {"base": (0, 1, 1, 0), "voip": (0, 1, 1, 0)}


def test_a_reshuffle_needs_no_extra_seat(acme, tmp_path):
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("user", "add", "acme", "bob@example.com")
    acme.ok("assign", "acme", "ana@example.com", "base")
    out = acme.json("sync", "acme", write(tmp_path, "email,licences\nana@example.com,\nbob@example.com,base\n"))
    assert changes(out) == {("ana@example.com", "release", "base"), ("bob@example.com", "assign", "base")}
    assert status(acme, "acme")["base"] == (1, 0, 1, 0)


def test_a_peak_account_is_synced_without_seats(ledger, tmp_path):
    ledger.now = NOW
    ledger.ok("account", "add", "callco", "--name", "Call Co", "--mode", "peak", "--anchor", "2026-11-01")
    out = ledger.json("sync", "callco", write(tmp_path, "email,licences\na@example.com,base\nb@example.com,base\n"))
    assert (out["added"], out["assigned"], out["waiting"], out["bought"]) == (2, 2, 0, [])
    assert ledger.json("status", "callco")[0]["in_use"] == 2


# --- Seats that lack: refused, bought, requested, waited for ----------------------------------------

LACKING = "email,licences\nana@example.com,base\nbob@example.com,base\ncy@example.com,base;voip\n"


def test_lacking_seats_refuse_the_whole_sync_with_the_buy_commands_and_their_quote(acme, tmp_path):
    path = write(tmp_path, LACKING)
    before = snapshot(acme, "acme")
    result = acme("sync", "acme", path)
    assert result.code == 4
    assert result.err == ("error: the file needs 2 'base' seat(s) more than account 'acme' has free (buying them: "
                          "30.00 EUR). Buy them: seatctl buy acme base 2; or run sync with --buy, or --wait to queue "
                          "those assignments\n")
    assert snapshot(acme, "acme") == before  # nothing written: not the users, not a denial


def test_a_dry_run_prints_the_plan_and_its_quote_and_exits_as_the_real_run_would(acme, tmp_path):
    path = write(tmp_path, LACKING)
    before = snapshot(acme, "acme")
    result = acme("sync", "acme", path, "--dry-run", "--format", "json")
    assert result.code == 4 and result.err.startswith("error: the file needs 2 'base' seat(s)")
    out = result.json()
    assert out["dry_run"] is True
    assert (out["added"], out["assigned"]) == (3, 4)  # the plan: every assignment the file asks for…
    assert out["bought"] == [{"licence": "base", "quantity": 2, "order": None, "invoice": None, "total": "30.00"}]
    plain = acme("sync", "acme", path, "--dry-run")
    assert plain.code == 4 and "ana@example.com  user.add" in plain.out and "30.00" in plain.out
    csv = acme("sync", "acme", path, "--dry-run", "--format", "csv")
    assert csv.code == 4 and csv.out.splitlines()[:3] == [
        "email,action,licence,detail", "ana@example.com,user.add,,(member)",
        "ana@example.com,assign,base,"]
    markdown = acme("sync", "acme", path, "--dry-run", "--format", "markdown")
    assert markdown.out.startswith("| email ") and "| cy@example.com " in markdown.out
    ok = acme("sync", "acme", path, "--dry-run", "--wait", "--format", "json")
    assert ok.code == 0 and (ok.json()["assigned"], ok.json()["waiting"], ok.json()["bought"]) == (2, 2, [])
    assert snapshot(acme, "acme") == before  # a dry run writes nothing


def test_buy_by_a_billing_operator_buys_what_lacks_in_the_same_transaction(acme, tmp_path):
    path = write(tmp_path, LACKING)
    before = snapshot(acme, "acme")
    piped = acme("sync", "acme", path, "--buy")  # piped, a sync that buys needs --yes
    assert piped.code == 2 and "--yes" in piped.err
    assert snapshot(acme, "acme") == before
    out = acme.json("sync", "acme", path, "--buy", "--yes")
    assert out["bought"] == [{"licence": "base", "quantity": 2, "order": 3, "invoice": "INV-2026-000003",
                              "total": "30.00"}]
    assert (out["assigned"], out["waiting"]) == (4, 0)
    assert status(acme, "acme") == {"base": (3, 0, 3, 0), "voip": (1, 0, 1, 0)}
    assert acme.json("invoice", "show", "INV-2026-000003")["total"] == "30.00"


def test_buy_by_an_operator_files_orders_and_the_assignments_wait_until_approval(acme, tmp_path):
    path = write(tmp_path, LACKING)
    out = acme.json("sync", "acme", path, "--buy", "--yes", operator="olivia")
    assert out["bought"] == [{"licence": "base", "quantity": 2, "order": 3, "invoice": None, "total": "30.00"}]
    assert (out["assigned"], out["waiting"]) == (2, 2)
    assert status(acme, "acme")["base"] == (1, 0, 1, 2)
    approved = acme.json("order", "approve", "3")
    assert approved["status"] == "confirmed"
    assert status(acme, "acme")["base"] == (3, 0, 3, 0)
    seated = [e for e in acme.json("log", "--action", "assign") if e["details"].get("from_waitlist")]
    assert sorted(e["details"]["user"] for e in seated) == ["bob@example.com", "cy@example.com"]
    assert acme("doctor").code == 0


def test_wait_queues_what_finds_no_seat_records_denials_and_a_rerun_changes_nothing(acme, tmp_path):
    path = write(tmp_path, LACKING)
    out = acme.json("sync", "acme", path, "--wait")
    assert (out["assigned"], out["waiting"]) == (2, 2)
    assert changes(out) >= {("bob@example.com", "wait", "base"), ("cy@example.com", "wait", "base")}
    assert [(r["email"], r["position"], r["source"]) for r in acme.json("waitlist", "list")] == [
        ("bob@example.com", 1, "sync"), ("cy@example.com", 2, "sync")]
    [denial] = acme.json("report", "denials")
    assert (denial["licence"], denial["seats_missing"], denial["waiting"]) == ("base", 2, 2)
    before = snapshot(acme, "acme")
    again = acme.json("sync", "acme", path, "--wait")
    assert again["changes"] == [] and snapshot(acme, "acme") == before


def test_seats_a_sync_frees_go_to_its_own_assignments_first_then_to_the_queue(acme, tmp_path):
    for who in ("ana", "bob", "cy", "dee"):
        acme.ok("user", "add", "acme", f"{who}@example.com")
    acme.ok("buy", "acme", "base", "1", "--yes")  # two base seats
    acme.ok("assign", "acme", "ana@example.com", "base")
    acme.ok("assign", "acme", "bob@example.com", "base")
    acme.ok("assign", "acme", "dee@example.com", "base", "--wait")  # dee waits first
    out = acme.json("sync", "acme", write(tmp_path, "email,licences\nana@example.com,\nbob@example.com,\n"
                                                    "cy@example.com,base\n"))
    # Two seats freed: one for the file's own assignment (cy), the other for the queue (dee).
    assert changes(out) == {("ana@example.com", "release", "base"), ("bob@example.com", "release", "base"),
                            ("cy@example.com", "assign", "base"), ("dee@example.com", "assign", "base")}
    assert acme.json("waitlist", "list") == []


def test_a_suspended_account_takes_no_new_seats_from_a_sync(acme, tmp_path):
    acme.ok("account", "suspend", "acme")
    result = acme("sync", "acme", write(tmp_path, "email,licences\nana@example.com,base\n"), "--wait")
    assert result.code == 4 and "suspended" in result.err
    assert acme.json("user", "list", "acme") == []


# --- Bad input: exit 2 (or 3), naming the row or column, nothing written ----------------------------

@pytest.mark.parametrize(("text", "code", "message"), [
    ("email,licences\nana@example.com,base\n,base\n", 2, "row 3 of "),
    ("email,licences\nana@example.com,base\nnot-an-email,base\n", 2, "row 3: 'not-an-email' is not an e-mail"),
    ("email,licences\nana@example.com,base\nAna@Example.com,voip\n", 2, "row 3: 'ana@example.com' repeats row 2"),
    ("email,licences\nana@example.com,base\nbob@example.com,viop\n", 3, "row 3 of "),
    ("email,licenses\nana@example.com,base\n", 2, "unknown column 'licenses'"),
    ("email,licences,status\nana@example.com,base,gone\n", 2, "row 2: status 'gone'"),
    ("name,licences\nAna,base\n", 2, "no column 'email'"),
    ('email,licences\nana@example.com,"base\n', 2, "row 2 of "),
])
def test_bad_rows_refuse_the_whole_file(acme, tmp_path, text, code, message):
    before = snapshot(acme, "acme")
    result = acme("sync", "acme", write(tmp_path, text))
    assert result.code == code, result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1 and message in result.err
    assert snapshot(acme, "acme") == before


def test_unknown_licence_code_names_the_code_and_its_row(acme, tmp_path):
    result = acme("sync", "acme", write(tmp_path, "email,licences\nana@example.com,base\nbob@example.com,viop\n"))
    assert "no licence type 'viop'" in result.err and "row 3" in result.err


def test_unknown_profile_or_a_column_the_file_lacks_is_a_usage_error(northwind, tmp_path):
    result = northwind("sync", "northwind", str(FIXTURES / "m365-day1.csv"), "--profile", "okta")
    assert result.code == 2 and "unknown profile 'okta'" in result.err and "m365" in result.err
    result = northwind("sync", "northwind", str(FIXTURES / "google-users.csv"), "--profile", "m365")
    assert result.code == 2 and "no column 'User principal name'" in result.err


def test_a_mapped_code_missing_from_the_catalogue_is_not_found(ledger, tmp_path):
    ledger.now = NOW
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01")
    (tmp_path / "seatctl.toml").write_text('[profiles.hr]\nemail = "Mail"\nlicences = "Apps"\n'
                                           '[profiles.hr.licence_map]\nCRM = "crm"\n', encoding="utf-8")
    result = ledger("sync", "acme", write(tmp_path, "Mail,Apps\nana@example.com,CRM\n"), "--profile", "hr")
    assert result.code == 3 and "no licence type 'crm'" in result.err and "licence_map" in result.err


def test_errors_come_in_order_usage_permission_not_found_rule(acme, tmp_path):
    bad = write(tmp_path, "email\nnope\n", "bad.csv")
    good = write(tmp_path, LACKING, "good.csv")
    assert acme("sync", "nowhere", bad, operator="vera").code == 2
    assert acme("sync", "nowhere", good, operator="vera").code == 5
    assert acme("sync", "nowhere", good).code == 3
    assert acme("sync", "acme", good).code == 4
    assert acme("sync", "acme", str(tmp_path / "missing.csv")).code == 3


def test_a_large_file_with_bom_crlf_and_quoted_fields(ledger, tmp_path):
    """100,000 rows read and planned (a dry run); how long it takes is measured in bench/sync.py."""
    ledger.now = NOW
    ledger.ok("account", "add", "big", "--name", "Big", "--mode", "peak", "--anchor", "2026-11-01")
    lines = ["\ufeffemail,name,licences"] + [f'u{i:06d}@big.example,"Doe, J. {i}",base' for i in range(100_000)]
    path = write(tmp_path, "\r\n".join(lines) + "\r\n")
    out = ledger.json("sync", "big", path, "--dry-run")
    assert (out["added"], out["assigned"], len(out["changes"])) == (100_000, 100_000, 200_000)
    assert out["changes"][0] == {"email": "u000000@big.example", "action": "user.add", "licence": None}


# --- On a terminal: the diff, and the question before buying ---------------------------------------

def _on_a_terminal(args: list[str], env: dict[str, str], answer: str, timeout: float = 60) -> tuple[int, str]:
    """Run `python -m seatctl ARGS…` with a pseudo-terminal as its standard streams; answer the first
    question with `answer`. Returns (exit code, everything it printed, colours removed)."""
    import os
    import pty
    import re
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    environ.update(env, COLUMNS="160", TERM="xterm")
    child = subprocess.Popen([sys.executable, "-m", "seatctl", *args], stdin=slave, stdout=slave, stderr=slave,
                             env=environ, close_fds=True)
    os.close(slave)
    seen, answered, deadline = b"", False, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child has gone: the terminal is closed
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if child.poll() is not None and not ready:
            break
    code = child.wait(timeout=10)
    os.close(master)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace")).replace("\r", "")


@pytest.mark.parametrize(("answer", "applied"), [("y", True), ("n", False)])
def test_on_a_terminal_a_sync_that_buys_shows_the_diff_and_asks_first(acme, tmp_path, answer, applied):
    path = write(tmp_path, LACKING)
    before = snapshot(acme, "acme")
    code, shown = _on_a_terminal(["sync", "acme", path, "--buy"], acme.env(), answer)
    assert "+ ana@example.com  add user" in shown  # the plan as a diff: green adds…
    assert "+ ana@example.com  assign base" in shown
    assert "would buy: 2 'base' seat(s) for 30.00 EUR" in shown  # …the purchase quote at the bottom
    assert "Buy (or request) 2 'base' for 30.00 EUR and apply this sync? [y/N]" in shown
    if applied:
        assert code == 0 and "Synced 'acme' from " in shown
        assert status(acme, "acme")["base"] == (3, 0, 3, 0)
    else:
        assert code == 1 and "error: aborted" in shown
        assert snapshot(acme, "acme") == before


def test_the_terminal_diff_marks_removals_and_waits(acme, tmp_path):
    acme.ok("user", "add", "acme", "zoe@example.com")
    acme.ok("assign", "acme", "zoe@example.com", "voip")
    out = acme.ok("sync", "acme", write(tmp_path, LACKING), "--remove-missing", "--wait", "--format", "table").out
    assert "- zoe@example.com  deactivate" in out
    assert "- zoe@example.com  release voip" in out
    assert "… bob@example.com  wait for base" in out
    assert "seats lacking: 2 'base' (they wait; buying them would cost 30.00 EUR)" in out
