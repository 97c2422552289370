"""The waitlist (SPEC §9, invariant 8): `assign --wait` queues what finds no free seat; whenever
seats come free or arrive, the same transaction seats waiting requests oldest first, each with an
`assign` event marked `"from_waitlist": true`."""

from __future__ import annotations

import sqlite3

import pytest

NOW = "2026-11-16T10:00:00Z"


@pytest.fixture
def acme(ledger):
    """acme (monthly from 1 Nov): one base seat held by ana; bob, cy and dee wait for base, in that
    order; one voip seat, free. The clock at 16 Nov, 10:00 (set up just before: time never runs backwards)."""
    ledger.now = "2026-11-16T09:50:00Z"
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01")
    for who in ("ana", "bob", "cy", "dee"):
        ledger.ok("user", "add", "acme", f"{who}@example.com")
    ledger.ok("buy", "acme", "base", "1", "--yes")
    ledger.ok("buy", "acme", "voip", "1", "--yes")
    ledger.ok("assign", "acme", "ana@example.com", "base")
    for minute, who in enumerate(("bob", "cy", "dee"), 1):
        ledger.ok("assign", "acme", f"{who}@example.com", "base", "--wait", now=f"2026-11-16T09:5{6 + minute}:00Z")
    ledger.now = NOW
    return ledger


def queue(cli, licence="base", account="acme"):
    return [r["email"] for r in cli.json("waitlist", "list", "--account", account) if r["licence"] == licence]


def holders(cli, licence, account="acme"):
    return sorted(u["email"] for u in cli.json("user", "list", account) if licence in u["licences"])


def seated_events(cli):
    return [(e["details"]["user"], e["details"]["licence"], e["operator"])
            for e in cli.json("log", "--action", "assign") if e["details"].get("from_waitlist")]


def test_assign_wait_queues_notes_it_and_records_the_denial(acme):
    result = acme("assign", "acme", "ana@example.com", "voip", "gsm", "--wait", "--format", "json")
    assert result.code == 0
    out = result.json()
    assert (out["assigned"], out["waiting"]) == (["voip"], ["gsm"])  # what finds a seat is assigned
    assert result.err.startswith("note: 'ana@example.com' waits for a 'gsm' seat (position 1)")
    assert queue(acme) == ["bob@example.com", "cy@example.com", "dee@example.com"]
    assert [(r["licence"], r["position"], r["requested_by"], r["source"])
            for r in acme.json("waitlist", "list")] == [
        ("base", 1, "alice", "assign"), ("base", 2, "alice", "assign"), ("base", 3, "alice", "assign"),
        ("gsm", 1, "alice", "assign")]
    denials = {r["licence"]: (r["denials"], r["waiting"]) for r in acme.json("report", "denials")}
    assert denials == {"base": (3, 3), "gsm": (1, 1)}
    rows = {r["licence"]: (r["in_use"], r["free"], r["total"], r["waiting"]) for r in acme.json("status", "acme")}
    assert rows == {"base": (1, 0, 1, 3), "voip": (1, 0, 1, 0), "gsm": (0, 0, 0, 1)}  # gsm: only waiting


def test_asking_again_keeps_the_place_and_is_not_refused_twice(acme):
    out = acme.json("assign", "acme", "cy@example.com", "base", "--wait")
    assert out["waiting"] == ["base"]
    assert queue(acme) == ["bob@example.com", "cy@example.com", "dee@example.com"]
    assert acme.json("report", "denials")[0]["denials"] == 3


def test_without_wait_the_assignment_is_refused_as_before(acme):
    result = acme("assign", "acme", "bob@example.com", "base")
    assert result.code == 4 and "no free 'base' seat" in result.err
    assert queue(acme) == ["bob@example.com", "cy@example.com", "dee@example.com"]


def test_a_release_seats_the_oldest_request(acme):
    result = acme("release", "acme", "ana@example.com", "base", operator="olivia")
    assert result.code == 0 and "from the waitlist: base to bob@example.com" in result.err
    assert holders(acme, "base") == ["bob@example.com"]
    assert queue(acme) == ["cy@example.com", "dee@example.com"]
    assert seated_events(acme) == [("bob@example.com", "base", "olivia")]
    assert acme("doctor").code == 0


def test_deactivating_a_holder_seats_the_next_and_a_deactivated_users_requests_are_dropped(acme):
    acme.ok("user", "deactivate", "acme", "bob@example.com")  # bob waited first: his request is dropped
    assert queue(acme) == ["cy@example.com", "dee@example.com"]
    acme.ok("user", "deactivate", "acme", "ana@example.com")  # ana's seat goes to cy, the oldest now
    assert holders(acme, "base") == ["cy@example.com"]
    assert queue(acme) == ["dee@example.com"]
    [dropped] = acme.json("log", "--action", "waitlist.drop")
    assert (dropped["details"]["user"], dropped["details"]["reason"]) == ("bob@example.com", "user deactivated")
    acme.ok("user", "activate", "acme", "bob@example.com")
    assert queue(acme) == ["dee@example.com"]  # reactivating gives no request back


def test_a_purchase_seats_waiting_requests(acme):
    out = acme.json("buy", "acme", "base", "2", "--yes")
    assert out["status"] == "confirmed"
    assert holders(acme, "base") == ["ana@example.com", "bob@example.com", "cy@example.com"]
    assert queue(acme) == ["dee@example.com"]
    assert [u for u, _, _ in seated_events(acme)] == ["bob@example.com", "cy@example.com"]


def test_an_approved_order_seats_waiting_requests(acme):
    acme.ok("buy", "acme", "base", "1", "--yes", operator="olivia")  # a pending order: nothing yet
    assert queue(acme) == ["bob@example.com", "cy@example.com", "dee@example.com"]
    order = acme.json("order", "list")[0]["order"]
    acme.ok("order", "approve", str(order))
    assert holders(acme, "base") == ["ana@example.com", "bob@example.com"]
    assert seated_events(acme) == [("bob@example.com", "base", "alice")]


def test_a_raised_minimum_seats_waiting_requests(acme):
    acme.ok("account", "set-min", "acme", "base=3")
    assert holders(acme, "base") == ["ana@example.com", "bob@example.com", "cy@example.com"]
    assert queue(acme) == ["dee@example.com"]


def test_a_plan_upgrade_seats_waiting_requests_on_the_seats_it_includes(acme):
    acme.ok("plan", "add", "team", "--name", "Team", "--monthly", "50.00", "--includes", "base=3")
    acme.ok("account", "set-plan", "acme", "team")  # a higher fee applies at once: 2 more base seats
    assert holders(acme, "base") == ["ana@example.com", "bob@example.com", "cy@example.com"]
    assert queue(acme) == ["dee@example.com"]


def test_assign_buy_for_a_waiting_user_takes_them_off_the_queue(acme):
    out = acme.json("assign", "acme", "dee@example.com", "base", "--buy")
    assert out["assigned"] == ["base"]
    assert queue(acme) == ["bob@example.com", "cy@example.com"]
    assert acme("doctor").code == 0


def test_a_suspended_account_keeps_its_requests_until_it_is_active_again(acme):
    acme.ok("account", "suspend", "acme")
    acme.ok("release", "acme", "ana@example.com", "base")
    assert holders(acme, "base") == []  # the freed seat waits with the requests: invariant 8 spares suspended
    assert acme("doctor").code == 0
    acme.ok("account", "activate", "acme")
    assert holders(acme, "base") == ["bob@example.com"]
    assert queue(acme) == ["cy@example.com", "dee@example.com"]


def test_closing_an_account_drops_its_requests(acme):
    acme.ok("account", "close", "acme")
    assert acme.json("waitlist", "list") == []
    assert len(acme.json("log", "--action", "waitlist.drop")) == 3
    assert acme.json("status", "acme")[0]["waiting"] == 0


def test_waitlist_cancel_drops_one_request(acme):
    out = acme.json("waitlist", "cancel", "acme", "cy@example.com", "base", operator="olivia")
    assert (out["email"], out["licence"], out["status"]) == ("cy@example.com", "base", "cancelled")
    assert queue(acme) == ["bob@example.com", "dee@example.com"]
    assert [r["position"] for r in acme.json("waitlist", "list")] == [1, 2]
    again = acme("waitlist", "cancel", "acme", "cy@example.com", "base")
    assert again.code == 3 and "is not waiting for a 'base' seat" in again.err
    viewer = acme("waitlist", "cancel", "acme", "bob@example.com", "base", operator="vera")
    assert viewer.code == 5
    assert acme("waitlist", "cancel", "acme", "zed@example.com", "base").code == 3
    assert acme("waitlist", "cancel", "acme", "bob@example.com", "nope").code == 3


def test_waitlist_list_plain_and_empty(acme):
    out = acme.ok("waitlist", "list").out.splitlines()
    assert out[0].split() == ["account", "licence", "position", "email", "requested_at", "requested_by", "source"]
    assert len(out) == 4
    acme.ok("account", "close", "acme")
    assert acme.ok("waitlist", "list").out == "Nobody is waiting for a seat.\n"


def test_doctor_finds_a_free_seat_while_a_request_waits(acme):
    # A seat added behind seatctl's back, with nobody seated on it: invariant 8 broken.
    with sqlite3.connect(acme.db) as conn:
        conn.execute("INSERT INTO seat (account_id, licence_id, bought_at) SELECT account_id, licence_id, bought_at "
                     "FROM seat LIMIT 1")
    result = acme("doctor", "--format", "json")
    assert result.code == 4
    rows = {r["check"]: r for r in result.json()}
    assert rows["no_free_seat_while_waiting"]["status"] == "FAIL"
    assert rows["no_free_seat_while_waiting"]["detail"] == "'acme' has 1 free 'base' seat(s) and 3 waiting request(s)"


def test_doctor_finds_a_request_of_an_inactive_user(acme):
    with sqlite3.connect(acme.db) as conn:
        conn.execute("UPDATE app_user SET status = 'inactive' WHERE email = 'dee@example.com'")
    rows = {r["check"]: r for r in acme("doctor", "--format", "json").json()}
    assert rows["waiting_requests_valid"]["status"] == "FAIL"
    assert "dee@example.com" in rows["waiting_requests_valid"]["detail"]


def test_the_close_never_cancels_a_seat_someone_waits_for(acme):
    """A suspended account's freed seat stays free while requests wait (they wait for reactivation);
    the trim at the period end must keep it."""
    acme.ok("account", "suspend", "acme")
    acme.ok("release", "acme", "ana@example.com", "base")
    closed = acme.json("cycle", "close", operator="cron", now="2026-12-01T02:00:00Z")
    assert [r["seats_cancelled"] for r in closed if r["account"] == "acme"] == [1]  # the free voip seat only
    base = [r for r in acme.json("status", "acme", now="2026-12-01T03:00:00Z") if r["licence"] == "base"]
    assert [(r["total"], r["free"], r["waiting"]) for r in base] == [(1, 1, 3)]
    acme.ok("account", "activate", "acme", now="2026-12-01T09:00:00Z")
    assert holders(acme, "base") == ["bob@example.com"]


def test_seats_the_close_provisions_seat_waiting_requests(acme):
    """A plan downgrade waits for the period end; if the new plan includes more seats, the close
    provisions them and waiting requests take them, oldest first, in the close's transaction."""
    acme.ok("plan", "add", "big", "--name", "Big", "--monthly", "50.00", "--includes", "voip=1")
    acme.ok("plan", "add", "small", "--name", "Small", "--monthly", "20.00", "--includes", "base=3")
    acme.ok("account", "set-plan", "acme", "big")
    acme.ok("account", "set-plan", "acme", "small")  # a lower fee: pending until 1 Dec
    assert queue(acme) == ["bob@example.com", "cy@example.com", "dee@example.com"]
    card = acme.json("cycle", "show", "acme")
    [base] = [s for s in card["seats"] if s["licence"] == "base"]
    assert (base["minimum"], base["kept"]) == (3, 3)
    acme.ok("cycle", "close", operator="cron", now="2026-12-01T02:00:00Z")
    acme.now = "2026-12-01T03:00:00Z"
    assert holders(acme, "base") == ["ana@example.com", "bob@example.com", "cy@example.com"]
    assert queue(acme) == ["dee@example.com"]
    assert seated_events(acme)[-2:] == [("bob@example.com", "base", "cron"), ("cy@example.com", "base", "cron")]
    assert all(check["status"] == "ok" for check in acme.json("doctor"))
