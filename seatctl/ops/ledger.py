"""The ledger itself: creating it, upgrading its schema (`seatctl init`)."""

from __future__ import annotations

from pathlib import Path

from seatctl.store.schema import upgrade


def init_ledger(location, *, currency: str, timezone: str, operator: str, busy_timeout: float,  # type: ignore[no-untyped-def]
                now) -> dict[str, object]:
    """Create a ledger (registering `operator` as owner) or upgrade an existing one (owner only)."""
    from sqlmodel import Session

    from seatctl.ops.context import load_actor
    from seatctl.rules.money import minor_digits
    from seatctl.rules.periods import check_timezone
    from seatctl.store import audit
    from seatctl.store import engine as db
    from seatctl.store.tables import Operator, Setting

    created = location.is_sqlite and not location.exists()
    safety_copy = None
    if created:
        digits = minor_digits(currency)
        check_timezone(timezone)
        db.create_private_file(location.path)
    engine = db.make_engine(location, busy_timeout=busy_timeout, create=True)
    try:
        if not location.is_sqlite:  # on PostgreSQL the database role is the identity
            from sqlalchemy import text

            with engine.connect() as conn:
                operator = str(conn.execute(text("SELECT current_user")).scalar())
        revision = db.stored_revision(engine)
        if revision is not None:
            with db.read(engine) as session:
                load_actor(session, operator).require("owner", "upgrade the ledger")
            if revision == db.SCHEMA_REVISION:
                engine.dispose()
                return {"database": location.display, "status": "up to date", "revision": revision}
            if location.is_sqlite:  # a copy to come back to if the upgrade fails
                safety_copy = _free_name(location.path.with_name(
                    f"{location.path.name}.before-{db.SCHEMA_REVISION}"))
                db.backup(engine, location, safety_copy)
        else:
            digits = minor_digits(currency)
            check_timezone(timezone)
        with engine.connect() as conn:
            conn = conn.execution_options(seatctl_write=True)
            with conn.begin():
                try:
                    upgrade(conn)
                except Exception as err:  # Alembic's own errors, a failed DDL statement
                    from seatctl.errors import Busy

                    kept = f"; the ledger was restored from {safety_copy}" if safety_copy else ""
                    raise Busy(f"the schema upgrade failed: {str(err).splitlines()[0]}{kept}",
                               "Nothing was changed; report this with SEATCTL_DEBUG=1 output") from err
                if revision is None:
                    with Session(bind=conn) as session:
                        session.add_all([
                            Setting(key="currency", value=currency.upper()),
                            Setting(key="minor_digits", value=str(digits)),
                            Setting(key="timezone", value=timezone),
                            Operator(name=operator, role="owner", created_at=now),
                        ])
                        audit.record(session, at=now, operator=operator, action="ledger.init",
                                     currency=currency.upper(), timezone=timezone)
                        session.flush()
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
    return {"database": location.display, "status": "created" if revision is None else "upgraded",
            "revision": db.SCHEMA_REVISION, "owner": operator if revision is None else None,
            "backup": str(safety_copy) if safety_copy else None}


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
