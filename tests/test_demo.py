"""`seatctl demo` walks through every job on a real ledger; every step must exit as expected."""

from __future__ import annotations


def test_demo_runs_every_step_and_leaves_a_clean_ledger(tmp_path, process):
    result = process(["demo", "--path", str(tmp_path)], env={}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "!! expected exit" not in result.stderr
    assert "error: no free 'base' seat in account 'acme' (2 of 2 in use). Buy one: seatctl buy acme base 1" in result.stdout
    assert "callco     2026-01-27      2026-02-27    0                  INV-2026-000009  600.00" in result.stdout
    assert "planco     team    sms      1500    1000         500" in result.stdout
    # Seats follow people: an M365 export synced, a hire queued, then seated when a seat arrives.
    assert "Synced 'northwind' from " in result.stdout and "nothing to change" in result.stdout
    assert "ines.sala@northwind.example   wait             base" in result.stdout
    assert "from_waitlist=yes licence=base requested_at=2026-04-03T01:01:00Z" in result.stdout
    assert (tmp_path / "demo-ledger.db").exists()
    doctor = process(["doctor"], env={"SEATCTL_DB": str(tmp_path / "demo-ledger.db"), "SEATCTL_OPERATOR": "alice"})
    assert doctor.returncode == 0, doctor.stdout


def test_demo_refuses_to_overwrite_an_existing_ledger(tmp_path, process):
    (tmp_path / "demo-ledger.db").write_text("")
    result = process(["demo", "--path", str(tmp_path)], env={})
    assert result.returncode == 4
    assert result.stderr.startswith("error: ")
