"""The Alembic history, in the pytest-alembic style (its collector fails under pytest 9, so the checks
are written with Alembic's own API): one line of revisions ending at the head the code expects; every
revision upgrades and downgrades step by step on an empty database, each downgrade giving back the
schema below it; the head matches the models. On SQLite, and on PostgreSQL when
SEATCTL_TEST_PG_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from support import backends

from seatctl.store import engine as db
from seatctl.store.schema import alembic_config, head_revision
from seatctl.store.tables import metadata

# Revisions that change only PostgreSQL (0003 widens integers SQLite already stores in 64 bits).
POSTGRESQL_ONLY = {"0003"}


def _engine(path: Path):
    return create_engine(f"sqlite:///{path}")


_schemas = iter(range(1, 1_000_000))


@pytest.fixture(params=backends())
def empty(request, tmp_path) -> Iterator[Engine]:
    """An engine on an empty database: a SQLite file, or a fresh PostgreSQL schema (when
    SEATCTL_TEST_PG_URL is set)."""
    if request.param == "sqlite":
        engine = _engine(tmp_path / "m.db")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("pg_database")
    schema = f"m{os.getpid()}_{next(_schemas)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def _migrate(engine: Engine, verb: str, target: str) -> None:
    with engine.begin() as conn:
        getattr(command, verb)(alembic_config(conn), target)


def _stored(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _schema(engine: Engine) -> dict[str, object]:
    """What a revision builds: tables, columns, keys, indexes, constraints and triggers."""
    with engine.connect() as conn:
        found = inspect(conn)
        out: dict[str, object] = {}
        for table in sorted(set(found.get_table_names()) - {"alembic_version"}):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
                "pk": found.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                              for f in found.get_foreign_keys(table)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in found.get_indexes(table)),
                "uniques": sorted(str(u["name"]) for u in found.get_unique_constraints(table)),
                "checks": sorted(str(c["name"]) for c in found.get_check_constraints(table)),
            }
        if conn.dialect.name == "sqlite":
            out["triggers"] = sorted(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type='trigger'")).all())
        else:
            out["triggers"] = sorted(conn.execute(text(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = current_schema()")).all())
            out["functions"] = sorted(conn.execute(text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema()")).scalars())
    return out


def test_packaged_head_matches_the_revision_the_code_expects():
    # Ordinary commands compare the stored revision with db.SCHEMA_REVISION instead of importing Alembic.
    assert head_revision() == db.SCHEMA_REVISION
    assert _revisions()[-1] == db.SCHEMA_REVISION


def test_the_history_is_one_line_from_0001():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [db.SCHEMA_REVISION] and script.get_bases() == ["0001"]
    revisions = _revisions()
    assert revisions == sorted(revisions) and revisions[0] == "0001"
    for older, newer in zip(revisions, revisions[1:], strict=False):
        assert script.get_revision(newer).down_revision == older


def test_upgrade_of_an_empty_database_matches_the_models(empty):
    _migrate(empty, "upgrade", "head")
    with empty.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_every_revision_upgrades_and_downgrades_step_by_step(empty):
    """Up one revision at a time, recording each schema; then down one at a time: each downgrade
    gives back exactly the schema of the revision below, down to an empty database."""
    built: dict[str | None, dict[str, object]] = {None: _schema(empty)}
    assert built[None] == ({"triggers": []} if empty.dialect.name == "sqlite" else {"triggers": [], "functions": []})
    previous: str | None = None
    for revision in _revisions():
        _migrate(empty, "upgrade", revision)
        assert _stored(empty) == revision
        built[revision] = _schema(empty)
        if empty.dialect.name == "postgresql" or revision not in POSTGRESQL_ONLY:
            assert built[revision] != built[previous], f"{revision} changes nothing"
        previous = revision
    for revision in reversed(_revisions()):
        _migrate(empty, "downgrade", "-1")
        below = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
        assert _stored(empty) == below
        assert _schema(empty) == built[below], f"downgrade from {revision}"
    _migrate(empty, "upgrade", "head")
    assert _schema(empty) == built[db.SCHEMA_REVISION]


def test_downgrade_to_base_and_upgrade_again(empty):
    _migrate(empty, "upgrade", "head")
    _migrate(empty, "downgrade", "base")
    with empty.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    assert _schema(empty)["triggers"] == []
    _migrate(empty, "upgrade", "head")
    assert _stored(empty) == db.SCHEMA_REVISION


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
