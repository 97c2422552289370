"""Assigning and releasing seats (SPEC §5 allocation mode, §6, §8): all or nothing, denials, --buy,
CSV batches, and the status view."""

from __future__ import annotations

import pytest
from support import add_account, invoices, status

NOW = "2026-11-16T10:00:00Z"
ASSIGN_KEYS = {"account", "user", "assigned", "released", "unchanged", "waiting"}
STATUS_KEYS = {"account", "licence", "in_use", "free", "total", "minimum", "buying", "waiting"}


@pytest.fixture
def acme(acme):
    """acme (monthly from 1 Nov) with users ana and bob; the clock at 16 Nov."""
    acme.now = NOW
    acme.ok("user", "add", "acme", "ana@example.com", "--name", "Ana")
    acme.ok("user", "add", "acme", "bob@example.com", "--name", "Bob")
    return acme


def counts(cli, code, account="acme"):
    row = status(cli, account)[code]
    return row["in_use"], row["free"], row["total"]


def test_assigns_several_licence_types_at_once(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("buy", "acme", "voip", "1", "--yes")
    acme.ok("buy", "acme", "gsm", "1", "--yes")
    out = acme.json("assign", "acme", "ana@example.com", "base", "voip", "gsm")
    assert sorted(out["assigned"]) == ["base", "gsm", "voip"]
    assert (out["released"], out["unchanged"]) == ([], [])
    for code in ("base", "voip", "gsm"):
        assert counts(acme, code) == (1, 0, 1)
    [ana] = [u for u in acme.json("user", "list", "acme") if u["email"] == "ana@example.com"]
    assert sorted(ana["licences"]) == ["base", "gsm", "voip"]


def test_one_missing_type_refuses_the_whole_assignment(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("buy", "acme", "voip", "1", "--yes")
    acme.ok("assign", "acme", "bob@example.com", "voip")
    result = acme("assign", "acme", "ana@example.com", "base", "voip")
    assert result.code == 4
    assert result.err == ("error: no free 'voip' seat in account 'acme' (1 of 1 in use). "
                          "Buy one: seatctl buy acme voip 1\n")
    assert counts(acme, "base") == (0, 1, 1)
    assert counts(acme, "voip") == (1, 0, 1)


def test_refused_assignment_is_recorded_as_a_denial(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    assert acme("assign", "acme", "ana@example.com", "base", "voip").code == 4
    denials = acme.json("log", "--action", "denial")
    assert len(denials) == 1
    assert (denials[0]["account"], denials[0]["action"], denials[0]["operator"]) == ("acme", "denial", "alice")
    assert denials[0]["details"]["licence"] == "voip"
    assert acme.json("log", "--action", "assign") == []


def test_release_keeps_the_seat_owned_and_free(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("assign", "acme", "ana@example.com", "base")
    out = acme.json("release", "acme", "ana@example.com", "base")
    assert (out["released"], out["assigned"], out["unchanged"]) == (["base"], [], [])
    assert counts(acme, "base") == (0, 1, 1)


def test_released_seat_can_be_given_to_another_user_without_buying(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("assign", "acme", "ana@example.com", "base")
    acme.ok("release", "acme", "ana@example.com", "base")
    before = len(invoices(acme))
    out = acme.json("assign", "acme", "bob@example.com", "base")
    assert out["assigned"] == ["base"]
    assert counts(acme, "base") == (1, 0, 1)
    assert len(invoices(acme)) == before


def test_assigning_a_seat_the_user_already_has_is_a_no_op(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("assign", "acme", "ana@example.com", "base")
    result = acme("assign", "acme", "ana@example.com", "base", "--format", "json")
    assert result.code == 0
    out = result.json()
    assert (out["assigned"], out["unchanged"]) == ([], ["base"])
    assert counts(acme, "base") == (1, 0, 1)


def test_deactivating_a_user_releases_their_seats(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("buy", "acme", "voip", "1", "--yes")
    acme.ok("assign", "acme", "ana@example.com", "base", "voip")
    acme.ok("user", "deactivate", "acme", "ana@example.com")
    assert counts(acme, "base") == (0, 1, 1)
    assert counts(acme, "voip") == (0, 1, 1)
    [ana] = [u for u in acme.json("user", "list", "acme") if u["email"] == "ana@example.com"]
    assert (ana["status"], ana["licences"]) == ("inactive", [])


def test_assign_from_csv_gives_every_row_its_seat(acme, tmp_path):
    acme.ok("buy", "acme", "base", "2", "--yes")
    acme.ok("buy", "acme", "voip", "1", "--yes")
    path = tmp_path / "seats.csv"
    path.write_text("email,licence\nana@example.com,base\nana@example.com,voip\nbob@example.com,base\n")
    acme.ok("assign", "acme", "--from-csv", str(path))
    assert counts(acme, "base") == (2, 0, 2)
    assert counts(acme, "voip") == (1, 0, 1)


def test_assign_from_csv_is_all_or_nothing(acme, tmp_path):
    acme.ok("buy", "acme", "base", "1", "--yes")
    path = tmp_path / "seats.csv"
    path.write_text("email,licence\nana@example.com,base\nbob@example.com,base\n")
    result = acme("assign", "acme", "--from-csv", str(path))
    assert result.code == 4
    assert result.err.startswith("error: ") and "'base'" in result.err
    assert counts(acme, "base") == (0, 1, 1)


def test_assign_from_csv_with_a_bad_email_names_the_row_and_assigns_nothing(acme, tmp_path):
    acme.ok("buy", "acme", "base", "2", "--yes")
    path = tmp_path / "seats.csv"
    path.write_text("email,licence\nana@example.com,base\nnot-an-email,base\n")
    result = acme("assign", "acme", "--from-csv", str(path))
    assert result.code == 2
    assert result.err.startswith("error: ") and "row 3" in result.err
    assert result.err.count("\n") == 1
    assert counts(acme, "base") == (0, 2, 2)


def test_assign_buy_by_a_billing_operator_buys_the_missing_seat(acme):
    out = acme.json("assign", "acme", "ana@example.com", "base", "--buy", operator="cron")
    assert out["assigned"] == ["base"]
    assert counts(acme, "base") == (1, 0, 1)
    [invoice] = acme.json("invoice", "list")
    assert (invoice["kind"], invoice["total"]) == ("purchase", "15.00")
    assert [e["action"] for e in acme.json("log", "--action", "buy")] == ["buy"]


def test_assign_buy_by_an_operator_files_a_pending_order_and_assigns_nothing(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    result = acme("assign", "acme", "ana@example.com", "base", "voip", "--buy", operator="olivia")
    assert result.code == 0
    assert "seatctl order approve" in result.out + result.err
    assert counts(acme, "base") == (0, 1, 1)
    assert status(acme)["voip"]["buying"] == 1
    [order] = acme.json("order", "list")
    assert (order["licence"], order["quantity"], order["status"], order["requested_by"]) == \
        ("voip", 1, "pending", "olivia")
    assert len(invoices(acme)) == 1


def test_assign_and_release_json_shapes(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    assigned = acme.json("assign", "acme", "ana@example.com", "base")
    assert assigned == {"account": "acme", "user": "ana@example.com", "assigned": ["base"], "released": [],
                        "unchanged": [], "waiting": []}
    released = acme.json("release", "acme", "ana@example.com", "base")
    assert released == {"account": "acme", "user": "ana@example.com", "assigned": [], "released": ["base"],
                        "unchanged": [], "waiting": []}
    assert set(assigned) == set(released) == ASSIGN_KEYS


def test_status_json_has_one_row_per_account_and_licence_in_order(ledger):
    ledger.now = NOW
    for slug in ("zeta", "acme"):
        add_account(ledger, slug)
    ledger.ok("user", "add", "zeta", "zoe@example.com")
    ledger.ok("buy", "zeta", "voip", "2", "--yes")
    ledger.ok("buy", "zeta", "base", "1", "--yes")
    ledger.ok("assign", "zeta", "zoe@example.com", "voip")
    ledger.ok("account", "set-min", "acme", "gsm=1")
    ledger.ok("buy", "acme", "messaging", "3", "--yes", operator="olivia")
    rows = ledger.json("status")
    assert all(set(r) == STATUS_KEYS for r in rows)
    assert rows == [
        {"account": "acme", "licence": "gsm", "in_use": 0, "free": 1, "total": 1, "minimum": 1, "buying": 0, "waiting": 0},
        {"account": "acme", "licence": "messaging", "in_use": 0, "free": 0, "total": 0, "minimum": 0, "buying": 3, "waiting": 0},
        {"account": "zeta", "licence": "base", "in_use": 0, "free": 1, "total": 1, "minimum": 0, "buying": 0, "waiting": 0},
        {"account": "zeta", "licence": "voip", "in_use": 1, "free": 1, "total": 2, "minimum": 0, "buying": 0, "waiting": 0},
    ]
    assert ledger.json("status", "zeta") == rows[2:]


def test_status_of_a_peak_account_has_null_free_and_total(ledger):
    ledger.now = NOW
    add_account(ledger, "peaky", "--mode", "peak")
    ledger.ok("user", "add", "peaky", "pat@example.com")
    ledger.ok("assign", "peaky", "pat@example.com", "base")
    assert ledger.json("status", "peaky") == [
        {"account": "peaky", "licence": "base", "in_use": 1, "free": None, "total": None, "minimum": 0,
         "buying": 0, "waiting": 0}]


def test_free_seat_trimmed_at_the_period_end_cannot_be_assigned_after_it(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    result = acme("assign", "acme", "ana@example.com", "base", now="2026-12-02T10:00:00Z")
    assert result.code == 4
    assert result.err == ("error: no free 'base' seat in account 'acme' (0 of 0 in use). "
                          "Buy one: seatctl buy acme base 1\n")


def test_seat_in_use_at_the_period_end_is_kept_for_the_next_period(acme):
    acme.ok("buy", "acme", "base", "1", "--yes")
    acme.ok("assign", "acme", "ana@example.com", "base")
    acme.ok("release", "acme", "ana@example.com", "base", now="2026-12-02T10:00:00Z")
    acme.ok("assign", "acme", "bob@example.com", "base", now="2026-12-02T11:00:00Z")
    assert counts(acme, "base") == (1, 0, 1)


def test_reads_follow_seats_and_users_not_the_history(acme):
    """Free seats and the pairs a user holds are found on the open-assignment indexes (issue 17: each
    assign used to read the account's whole assignment history, so a busy account slowed down with every
    release). Behaviour first: after many assign/release rounds the seat is still found and reused."""
    import sqlite3

    from sqlalchemy.dialects import sqlite

    from seatctl.store import statements

    acme.ok("buy", "acme", "base", "1", "--yes")
    for _ in range(3):
        acme.ok("assign", "acme", "ana@example.com", "base")
        acme.ok("release", "acme", "ana@example.com", "base")
    acme.ok("assign", "acme", "bob@example.com", "base")
    assert counts(acme, "base") == (1, 0, 1)
    con = sqlite3.connect(acme.db)
    try:
        for stmt, index in ((statements.seats().free, "uq_assignment_open_seat"),
                            (statements.held_by_users(2), "uq_assignment_open_user_licence")):
            sql = stmt.compile(dialect=sqlite.dialect()).string
            plan = " ".join(row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql, [1] * sql.count("?")))
            assert f"assignment USING INDEX {index}" in plan, plan
            assert "ix_assignment_account_licence" not in plan, plan
    finally:
        con.close()
