"""The Alembic history builds exactly the models' schema, both ways, and the code knows its head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from seatctl.store import engine as db
from seatctl.store.schema import alembic_config, head_revision
from seatctl.store.tables import metadata


def _engine(path: Path):
    return create_engine(f"sqlite:///{path}")


def test_packaged_head_matches_the_revision_the_code_expects():
    # Ordinary commands compare the stored revision with db.SCHEMA_REVISION instead of importing Alembic.
    assert head_revision() == db.SCHEMA_REVISION


def test_upgrade_of_an_empty_database_matches_the_models(tmp_path):
    engine = _engine(tmp_path / "m.db")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    engine = _engine(tmp_path / "m.db")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        triggers = conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'")).all()
        assert triggers == []
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == db.SCHEMA_REVISION


def test_constraints_are_named(tmp_path):
    engine = _engine(tmp_path / "m.db")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        checks = inspect(conn).get_check_constraints("seat")
    assert {c["name"] for c in checks} == {"ck_seat_cancel_after_buy"}


def test_a_ledger_at_an_older_revision_asks_for_init(ledger):
    import sqlite3

    con = sqlite3.connect(ledger.db)
    con.execute("UPDATE alembic_version SET version_num = '0000'")
    con.commit()
    con.close()
    result = ledger("status")
    assert result.code == 6
    assert result.err.startswith("error: the ledger's schema is at revision 0000")
    assert "seatctl init" in result.err


def test_a_failed_upgrade_restores_the_ledger_and_exits_6(ledger):
    import sqlite3

    ledger.ok("account", "add", "acme", "--name", "Acme")
    con = sqlite3.connect(ledger.db)
    con.execute("UPDATE alembic_version SET version_num = 'unknown'")
    con.commit()
    con.close()
    result = ledger("init")
    assert result.code == 6
    assert result.err.startswith("error: the schema upgrade failed: ")
    assert "restored from" in result.err and "Traceback" not in result.err
    con = sqlite3.connect(ledger.db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("unknown",)]
    assert con.execute("SELECT slug FROM account").fetchall() == [("acme",)]
    con.close()
    copies = list(ledger.db.parent.glob("ledger.db.before-*"))
    assert len(copies) == 1 and oct(copies[0].stat().st_mode & 0o777) == "0o600"


def test_init_on_a_current_ledger_is_a_no_op(ledger):
    result = ledger("init", "--format", "json")
    assert result.code == 0
    assert result.json()["status"] == "up to date"


def test_init_by_a_non_owner_on_an_existing_ledger_exits_5(ledger):
    result = ledger("init", operator="cron")
    assert result.code == 5


def test_each_row_class_annotates_exactly_its_table_columns():
    # models.py maps plain classes onto Core tables; their annotations are what readers and mypy see.
    import types
    import typing

    from seatctl.store import tables as models

    classes = [c for c in vars(models).values() if isinstance(c, type) and issubclass(c, models.Row) and c is not models.Row]
    assert {c.__table__.name for c in classes} == set(metadata.tables)
    for cls in classes:
        hints = {k: v for k, v in typing.get_type_hints(cls).items() if k != "__table__"}
        assert list(hints) == [c.key for c in cls.__table__.columns], cls.__name__
        for column in cls.__table__.columns:
            hint = hints[column.key]
            optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
            assert optional == bool(column.nullable and not column.primary_key), f"{cls.__name__}.{column.key}"
            python_type = next(t for t in typing.get_args(hint) if t is not type(None)) if optional else hint
            assert python_type is column.type.python_type, f"{cls.__name__}.{column.key}"


def test_a_new_row_has_its_column_defaults_before_it_is_flushed():
    from seatctl.store.tables import Account

    account = Account(slug="acme", name="Acme")
    assert (account.mode, account.cycle, account.status, account.billed_via_parent) == (
        "allocation", "monthly", "active", False)
    try:
        Account(slug="x", colour="red")
    except TypeError as err:
        assert "colour" in str(err)
    else:
        raise AssertionError("an unknown column was accepted")
