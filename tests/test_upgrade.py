"""The first real upgrade (SPEC §10, issue 16): a ledger written by release 0001 is upgraded in place
by `seatctl init`, on SQLite and on PostgreSQL.

The ledger is built at schema revision 0001 (Alembic's `upgrade(…, "0001")`), then filled with the
rows release 0001's own CLI wrote (tests/data/release_0001.json, made by make_release_0001.py from
that release's code; its config had `tax_rate = 21` and `invoice_prefix = "FAC-"`), inserted with
plain Core inserts into the tables as revision 0001 made them (reflected, so no column of a later
revision can slip in). On PostgreSQL each operator's role gets the grants release 0001's
`operator add` gave it."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Boolean, Date, DateTime, Engine, MetaData, create_engine, inspect, text

from seatctl.store import engine as db
from seatctl.store.schema import alembic_config

DATA = json.loads((Path(__file__).parent / "data" / "release_0001.json").read_text(encoding="utf-8"))
TABLES: dict[str, dict[str, list[Any]]] = DATA["tables"]
UPGRADE_AT = "2026-12-10T09:00:00Z"  # after the last event release 0001 wrote
GRANTS_0001 = {"viewer": "SELECT", "operator": "SELECT, INSERT, UPDATE, DELETE",
               "billing": "SELECT, INSERT, UPDATE, DELETE", "owner": "SELECT, INSERT, UPDATE, DELETE"}


def _engine(cli) -> Engine:
    if cli.backend == "sqlite":
        return create_engine(f"sqlite:///{cli.location()}")
    return create_engine(cli.location("alice"))


def _value(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if isinstance(column.type, Boolean):
        return bool(value)
    return value


def build_release_0001(cli) -> None:
    """The ledger release 0001 left behind: schema revision 0001 and its rows."""
    if cli.backend == "sqlite":
        db.create_private_file(Path(cli.location()))  # 0600, as `init` made it
    engine = _engine(cli)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
        tables = MetaData()
        tables.reflect(engine)
        assert "waitlist" not in tables.tables and "unit_price" not in tables.tables["invoice_line"].c
        with engine.begin() as conn:
            for table in tables.sorted_tables:
                if table.name not in TABLES:
                    continue
                data = TABLES[table.name]
                rows = [{name: _value(table.c[name], value) for name, value in zip(data["columns"], row, strict=True)}
                        for row in data["rows"]]
                if rows:
                    conn.execute(table.insert(), rows)
            if cli.backend == "postgresql":
                for table in tables.sorted_tables:  # ids came from the sequences in release 0001
                    if "id" in table.c and TABLES.get(table.name, {}).get("rows"):
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                          f"(SELECT max(id) FROM {table.name}))"))
                schema = conn.execute(text("SELECT current_schema()")).scalar()
                for name, role in conn.execute(text("SELECT name, role FROM operator WHERE name <> 'alice'")):
                    conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{name}"'))
                    conn.execute(text(f'GRANT {GRANTS_0001[role]} ON ALL TABLES IN SCHEMA "{schema}" TO "{name}"'))
                    conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{name}"'))
    finally:
        engine.dispose()


def snapshot(cli) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of release 0001, in 0001's columns, as the driver returns them."""
    engine = _engine(cli)
    try:
        with engine.connect() as conn:
            out = {"alembic_version": [tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))]}
            for table, data in TABLES.items():
                columns = ", ".join(f'"{c}"' for c in data["columns"])
                order = ", ".join(str(i) for i in range(1, len(data["columns"]) + 1))
                out[table] = [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY {order}"))]
        return out
    finally:
        engine.dispose()


def schema_objects(cli) -> tuple[list[str], list[str]]:
    engine = _engine(cli)
    try:
        with engine.connect() as conn:
            found = inspect(conn)
            return sorted(found.get_table_names()), [c["name"] for c in found.get_columns("invoice_line")]
    finally:
        engine.dispose()


@pytest.fixture
def old(cli, tmp_path):
    """A ledger written by release 0001, and that release's config file in the working folder."""
    build_release_0001(cli)
    (tmp_path / "seatctl.toml").write_text(DATA["config"], encoding="utf-8")
    cli.now = UPGRADE_AT
    return cli


def test_ordinary_commands_on_a_0001_ledger_exit_6_and_say_seatctl_init(old):
    result = old("status")
    assert result.code == 6
    assert result.err == ("error: the ledger's schema is at revision 0001, this seatctl needs "
                          f"{db.SCHEMA_REVISION}. Upgrade it: seatctl init\n")
    assert old("settings", "show", operator="vera").code == 6


def test_init_upgrades_a_0001_ledger_keeping_every_invoice_and_copying_the_config_settings(old, tmp_path):
    before = snapshot(old)
    result = old.ok("init", "--format", "json")
    out = result.json()
    assert {k: out[k] for k in ("status", "previous_revision", "revision", "copied")} == {
        "status": "upgraded", "previous_revision": "0001", "revision": db.SCHEMA_REVISION,
        "copied": {"tax_rate": "21", "invoice_prefix": "FAC-"}}
    # currency and timezone were stored at the ledger's creation; the config's copies are unused
    assert result.err == ("warning: config 'seatctl.toml': currency, timezone ignored (ledger settings now: "
                          "seatctl settings show); remove them from the file\n")
    if old.backend == "sqlite":
        copy = Path(out["backup"])
        assert copy.name == "ledger.db.before-0002" and oct(copy.stat().st_mode & 0o777) == "0o600"
    else:
        assert out["backup"] is None

    after = snapshot(old)
    assert after["alembic_version"] == [(db.SCHEMA_REVISION,)]
    for table in TABLES:  # every row release 0001 wrote is as it was, byte for byte
        if table == "event":
            assert after[table][:len(before[table])] == before[table]
        elif table == "setting":
            assert set(before[table]) <= set(after[table])
        else:
            assert after[table] == before[table], table
    assert len(before["invoice"]) == 9 and len(before["invoice_line"]) > 20
    engine = _engine(old)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM invoice_line WHERE unit_price IS NOT NULL")).scalar() == 0
    engine.dispose()

    # old invoices read as they were written (the tiered purchase, its discount and tax lines)
    shown = old.json("invoice", "show", "FAC-2026-000003", operator="vera")
    assert [(line["licence"], line["unit_price"], line["amount"]) for line in shown["lines"]] == [
        ("msg", "6.86", "24.00"), (None, "-3.00", "-3.00"), (None, "4.41", "4.41")]
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("21.00", "4.41", "25.41")
    assert old.json("settings", "show", operator="vera") == [
        {"key": "currency", "value": "EUR"}, {"key": "timezone", "value": "Europe/Madrid"},
        {"key": "tax_rate", "value": "21"}, {"key": "invoice_prefix", "value": "FAC-"}]
    [event] = [e for e in old.json("log", operator="vera") if e["action"] == "ledger.upgrade"]
    assert (event["operator"], event["at"]) == ("alice", UPGRADE_AT)
    assert event["details"]["copied"] == {"tax_rate": "21", "invoice_prefix": "FAC-"}
    assert (event["details"]["previous_revision"], event["details"]["revision"]) == ("0001", db.SCHEMA_REVISION)

    # a new invoice continues the old series, with the carried-over tax, whatever this machine's file says
    (tmp_path / "seatctl.toml").write_text('tax_rate = 5\ninvoice_prefix = "NEW-"\n', encoding="utf-8")
    bought = old.json("buy", "resel", "voip", "3", "--yes", operator="cron")
    assert bought["invoice"] == "FAC-2026-000009"  # 1–8 were written by release 0001
    new = old.json("invoice", "show", bought["invoice"], operator="cron")
    # 3 × 5.35 × 22/31 (10 Dec to 1 Jan in Madrid) = 11.39; tax 21 % = 2.39
    assert [(line["licence"], line["amount"]) for line in new["lines"]] == [("voip", "11.39"), (None, "2.39")]
    assert (new["subtotal"], new["tax"], new["total"]) == ("11.39", "2.39", "13.78")
    credit = old.json("invoice", "void", bought["invoice"], "--reason", "test", operator="cron")
    assert credit["number"] == "CN-2026-000002"
    assert old.ok("doctor").code == 0


def test_a_second_init_copies_nothing_again(old, tmp_path):
    old.ok("init")
    old.ok("settings", "set", "tax_rate", "19", operator="cron")
    (tmp_path / "seatctl.toml").write_text('tax_rate = 5\ninvoice_prefix = "NEW-"\n', encoding="utf-8")
    again = old("init", "--format", "json")
    assert again.code == 0
    assert (again.json()["status"], again.json()["copied"]) == ("up to date", {})
    assert again.err == ("warning: config 'seatctl.toml': tax_rate, invoice_prefix ignored (ledger settings "
                         "now: seatctl settings show); remove them from the file\n")
    assert old.json("settings", "show")[2:] == [{"key": "tax_rate", "value": "19"},
                                                 {"key": "invoice_prefix", "value": "FAC-"}]
    assert [e["action"] for e in old.json("log")].count("ledger.upgrade") == 1


def test_without_a_config_the_upgrade_keeps_release_0001s_defaults(old, tmp_path):
    (tmp_path / "seatctl.toml").unlink()
    out = old.json("init")
    assert (out["status"], out["copied"]) == ("upgraded", {})
    assert old.json("settings", "show")[2:] == [{"key": "tax_rate", "value": "0"},
                                                 {"key": "invoice_prefix", "value": "INV-"}]
    assert old.json("buy", "acme", "voip", "1", "--yes", operator="cron")["invoice"] == "INV-2026-000001"


def test_a_bad_value_in_the_config_refuses_the_upgrade_before_anything_changes(old, tmp_path):
    before = snapshot(old)
    (tmp_path / "seatctl.toml").write_text('tax_rate = "twenty"\n', encoding="utf-8")
    result = old("init")
    assert result.code == 2
    assert result.err.startswith("error: tax rate 'twenty' is not a percentage from 0 to 100")
    assert snapshot(old) == before
    if old.backend == "sqlite":
        assert not list(Path(old.location()).parent.glob("ledger.db.before-*"))


def test_only_an_owner_upgrades(old):
    before = snapshot(old)
    result = old("init", operator="cron")
    assert result.code == 5
    assert snapshot(old) == before


def test_the_upgrade_reapplies_the_grants_of_registered_operators(old):
    if old.backend != "postgresql":
        pytest.skip("PostgreSQL grants")
    old.ok("init")
    # the table revision 0002 adds is readable by a viewer and writable by billing, as 0001's tables
    # (no role deletes waiting requests: they are resolved, so billing may update, not delete, them)
    for role, statement in (("vera", "SELECT count(*) FROM waitlist"),
                            ("cron", "UPDATE waitlist SET resolution = resolution WHERE id = -1")):
        engine = create_engine(old.location(role))
        with engine.begin() as conn:
            conn.execute(text(statement))
        engine.dispose()


# --- a failure midway leaves the ledger as it was ---------------------------------------------

def _fail_on(cli, table: str, verb: str) -> None:
    """Inject a failure: a trigger that aborts the upgrade's `verb` on `table`."""
    engine = _engine(cli)
    with engine.begin() as conn:
        if cli.backend == "sqlite":
            conn.execute(text(f"CREATE TRIGGER test_fail BEFORE {verb} ON {table} "
                              "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))
        else:
            conn.execute(text("CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              "BEGIN RAISE EXCEPTION 'injected failure'; END $$"))
            conn.execute(text(f"CREATE TRIGGER test_fail BEFORE {verb} ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION test_fail()"))
    engine.dispose()


def _stop_failing(cli, table: str) -> None:
    engine = _engine(cli)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER test_fail" + (f" ON {table}" if cli.backend == "postgresql" else "")))
    engine.dispose()


@pytest.mark.parametrize(("table", "verb"), [
    ("alembic_version", "UPDATE"),  # after revision 0002's DDL ran, when Alembic stamps the revision
    ("setting", "INSERT"),          # after the migrations, while the config's settings are copied
])
def test_a_failed_upgrade_changes_nothing(old, table, verb):
    _fail_on(old, table, verb)
    before, objects = snapshot(old), schema_objects(old)
    result = old("init")
    assert result.code == 6
    assert result.err.startswith("error: the schema upgrade failed: ") and "injected failure" in result.err
    assert "Traceback" not in result.err and result.err.count("\n") == 1
    assert snapshot(old) == before
    assert schema_objects(old) == objects  # no waitlist table, no unit_price column
    assert "waitlist" not in objects[0]
    if old.backend == "sqlite":
        [copy] = Path(old.location()).parent.glob("ledger.db.before-*")
        assert f"the ledger was restored from {copy}" in result.err
        assert oct(copy.stat().st_mode & 0o777) == "0o600"
        con_rows = snapshot_of_file(copy)
        assert con_rows == before  # the copy is the ledger as it was
    else:
        assert "restored" not in result.err  # one transaction: nothing to restore
    assert old("status").code == 6
    _stop_failing(old, table)
    out = old.json("init")
    assert (out["status"], out["copied"]) == ("upgraded", {"tax_rate": "21", "invoice_prefix": "FAC-"})


def test_an_upgrade_that_committed_before_failing_is_undone_from_the_copy(old, monkeypatch):
    """A migration may commit on its own (Alembic's autocommit_block): then only the copy taken
    before the upgrade can undo it."""
    if old.backend != "sqlite":
        pytest.skip("the copy is SQLite's; PostgreSQL's upgrade is one transaction")
    from seatctl.ops import ledger

    def commits_then_fails(conn):  # type: ignore[no-untyped-def]
        real(conn)
        conn.exec_driver_sql("COMMIT")
        raise RuntimeError("injected failure after a commit")

    real = ledger.upgrade
    monkeypatch.setattr(ledger, "upgrade", commits_then_fails)
    before, objects = snapshot(old), schema_objects(old)
    result = old("init")
    assert result.code == 6 and "injected failure after a commit" in result.err
    assert "the ledger was restored from " in result.err
    assert snapshot(old) == before and schema_objects(old) == objects


def snapshot_of_file(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    class _Copy:
        backend = "sqlite"

        def location(self, operator: str | None = None) -> str:
            return str(path)

    return snapshot(_Copy())


def test_a_killed_upgrade_leaves_a_ledger_that_upgrades_on_the_next_init(cli, tmp_path, process):
    """SIGKILL before the N-th SQL statement of `init` (SEATCTL_TEST_CRASH_AFTER): the ledger is
    either untouched at 0001 or fully upgraded, never in between, and the next init finishes."""
    if cli.backend != "sqlite":
        pytest.skip("killed processes on SQLite; PostgreSQL rolls an aborted connection back itself")
    build_release_0001(cli)
    (tmp_path / "seatctl.toml").write_text(DATA["config"], encoding="utf-8")
    before = snapshot(cli)
    env = cli.env("alice", UPGRADE_AT)
    kills_inside_the_upgrade = 0
    for n in range(2, 100, 3):  # every third statement of the upgrade, until a run gets to its end
        killed = process(["init"], {**env, "SEATCTL_TEST_CRASH_AFTER": str(n)})
        now = snapshot(cli)
        if killed.returncode == 0:
            assert now["alembic_version"] == [(db.SCHEMA_REVISION,)]
            break
        assert killed.returncode == -9, killed.stderr
        assert now == before, n
        assert "waitlist" not in schema_objects(cli)[0]
        kills_inside_the_upgrade += bool(list(tmp_path.glob("ledger.db.before-*")))  # the copy was taken
    else:
        raise AssertionError("init never finished")
    assert kills_inside_the_upgrade >= 4
    final = process(["init", "--format", "json"], env)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["status"] in ("upgraded", "up to date")
    assert cli.json("settings", "show", now=UPGRADE_AT)[2:] == [
        {"key": "tax_rate", "value": "21"}, {"key": "invoice_prefix", "value": "FAC-"}]
    assert cli.ok("doctor", now=UPGRADE_AT).code == 0
