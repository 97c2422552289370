"""The ledger itself: creating it, upgrading its schema (`seatctl init`)."""

from __future__ import annotations

from pathlib import Path

from seatctl.errors import SeatctlError
from seatctl.store.schema import upgrade

COPIED_KEYS = ("tax_rate", "invoice_prefix")  # read from the config once per ledger (SPEC §10)


def init_ledger(location, *, currency: str | None, timezone: str | None, operator: str,
                busy_timeout: float, now, legacy: dict[str, str] | None = None) -> dict[str, object]:
    """Create a ledger (registering `operator` as owner) or upgrade an existing one (owner only).

    `legacy` holds the old config keys (`currency`, `timezone`, `tax_rate`, `invoice_prefix`) of the
    config `init` runs with. They are read once per ledger: a new ledger takes all four (the options
    win for currency and time zone); a ledger that never had them copied (one written by release
    0001) takes `tax_rate` and `invoice_prefix`, in the upgrade's own transaction, and is marked so
    that no later `init` copies again. On SQLite a copy of the file is taken before an upgrade and
    put back if it fails; on PostgreSQL the upgrade is one transaction."""
    from sqlmodel import Session

    from seatctl.ops import settings
    from seatctl.ops.context import load_actor
    from seatctl.store import audit
    from seatctl.store import engine as db
    from seatctl.store.tables import Operator

    legacy = legacy or {}
    created = location.is_sqlite and not location.exists()
    safety_copy = None
    if created:
        seed = _seed(currency, timezone, legacy)
        db.create_private_file(location.path)
    engine = db.make_engine(location, busy_timeout=busy_timeout, create=True)
    try:
        if not location.is_sqlite:  # on PostgreSQL the database role is the identity
            from sqlalchemy import text

            with engine.connect() as conn:
                operator = str(conn.execute(text("SELECT current_user")).scalar())
        revision = db.stored_revision(engine)
        copy: dict[str, str] = {}
        if revision is not None:
            with db.read(engine) as session:
                load_actor(session, operator).require("owner", "upgrade the ledger")
                done = settings.COPIED in settings.stored(session)
            if not done:  # a bad value in the config is exit 2 here, before anything is written
                copy = {key: settings.parse_value(key, legacy[key]) for key in COPIED_KEYS if key in legacy}
            if revision == db.SCHEMA_REVISION and done:
                regranted = _regrant_current(engine, operator=operator, now=now) if not location.is_sqlite else []
                engine.dispose()
                return {"database": location.display, "status": "up to date", "revision": revision,
                        "owner": None, "backup": None, "copied": {}, **({"grants": regranted} if regranted else {})}
            if location.is_sqlite and revision != db.SCHEMA_REVISION:  # a copy to come back to
                safety_copy = _free_name(location.path.with_name(
                    f"{location.path.name}.before-{db.SCHEMA_REVISION}"))
                db.backup(engine, location, safety_copy)
        elif not created:
            seed = _seed(currency, timezone, legacy)
        with engine.connect() as conn:
            conn = conn.execution_options(seatctl_write=True)
            with conn.begin():
                if revision is None:
                    upgrade(conn)
                    with Session(bind=conn) as session:
                        settings.write_values(session, {**seed, settings.COPIED: now.isoformat()})
                        session.add(Operator(name=operator, role="owner", created_at=now))
                        audit.record(session, at=now, operator=operator, action="ledger.init",
                                     **{k: v for k, v in seed.items() if k in settings.KEYS})
                        session.flush()
                else:
                    try:
                        _upgrade(conn, revision, copy, operator=operator, now=now)
                    except SeatctlError:  # refused (the clock): nothing changed, said as it is
                        raise
                    except Exception as err:  # Alembic's own errors, a failed DDL or copy statement
                        from seatctl.errors import Busy

                        kept = f"; the ledger was restored from {safety_copy}" if safety_copy else ""
                        raise Busy(f"the schema upgrade failed: {str(err).splitlines()[0]}{kept}",
                                   "Nothing was changed; report this with SEATCTL_DEBUG=1 output") from err
    except BaseException:
        engine.dispose()
        if safety_copy is not None:
            _restore(safety_copy, location.path)
        if created:
            for suffix in ("", "-wal", "-shm"):
                path = location.path.with_name(location.path.name + suffix)
                path.unlink(missing_ok=True)
        raise
    engine.dispose()
    if revision is None:
        given = {"currency": currency, "timezone": timezone}
        status, copied = "created", {k: seed[k] for k in settings.KEYS if k in legacy and not given.get(k)}
    else:
        status = "upgraded" if revision != db.SCHEMA_REVISION else "up to date"
        copied = copy
    return {"database": location.display, "status": status, "revision": db.SCHEMA_REVISION,
            "previous_revision": revision, "owner": operator if revision is None else None,
            "backup": str(safety_copy) if safety_copy else None, "copied": copied}


def _seed(currency: str | None, timezone: str | None, legacy: dict[str, str]) -> dict[str, str]:
    """A new ledger's settings: the options, else the old config keys, else the defaults (exit 2 on
    a bad value, before anything is created)."""
    from seatctl.ops import settings
    from seatctl.rules.money import minor_digits

    given = {"currency": currency, "timezone": timezone}
    values = {key: settings.parse_value(key, given.get(key) or legacy.get(key) or settings.DEFAULTS[key])
              for key in settings.KEYS}
    values["minor_digits"] = str(minor_digits(values["currency"]))
    return values


def _upgrade(conn, revision: str, copy: dict[str, str], *, operator: str, now) -> None:
    """Inside the upgrade's transaction: the migrations, the one-time copy of the config's settings
    (with the mark that it is done), the grants of registered operators (PostgreSQL), one event."""
    from sqlmodel import Session

    from seatctl.ops import settings
    from seatctl.store import audit
    from seatctl.store import engine as db

    if revision != db.SCHEMA_REVISION:
        upgrade(conn)
    with Session(bind=conn) as session:
        from seatctl import clock

        now = clock.not_before(audit.latest_at(session), now)  # time never runs backwards (SPEC §8)
        present = settings.stored(session)
        if settings.COPIED in present:  # copied by an earlier init: only the schema changes
            copy = {}
        else:
            values = {key: copy.get(key, present.get(key, settings.DEFAULTS[key])) for key in COPIED_KEYS}
            settings.write_values(session, {**values, settings.COPIED: now.isoformat()})
        regranted = _regrant(session) if conn.dialect.name == "postgresql" else []
        audit.record(session, at=now, operator=operator, action="ledger.upgrade", previous_revision=revision,
                     revision=db.SCHEMA_REVISION, copied=copy, grants=regranted)
        session.flush()


def _regrant_current(engine, *, operator: str, now) -> list[str]:
    """PostgreSQL, a ledger already up to date: `init` gives every registered operator's role its
    rights again (what `doctor`'s `grants` row asks for when they drifted), with one event."""
    from seatctl import clock
    from seatctl.store import audit
    from seatctl.store import engine as db

    with db.write(engine) as session:
        now = clock.not_before(audit.latest_at(session), now)
        done = _regrant(session)
        audit.record(session, at=now, operator=operator, action="ledger.grants", grants=done)
    return done


def _regrant(session) -> list[str]:
    """Give every registered operator's database role the rights its seatctl role needs on the
    upgraded schema (tables a revision adds included). A role dropped from PostgreSQL since it was
    registered is skipped (`doctor` reports it)."""
    from sqlmodel import select

    from seatctl.errors import Refused
    from seatctl.ops.operators import _grant
    from seatctl.store.tables import operator_table

    o = operator_table.c
    done = []
    for name, role in session.execute(select(o.name, o.role).order_by(o.name)).all():
        try:
            _grant(session, name, role)
        except Refused:
            continue
        done.append(name)
    return done


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _restore(copy: Path, ledger: Path) -> None:
    """Put the pre-upgrade copy back (SQLite's backup API, so the WAL stays consistent)."""
    import sqlite3

    source, target = sqlite3.connect(copy), sqlite3.connect(ledger)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
