"""The fast executor: Core statements run on the DB-API cursor, below SQLAlchemy's execution layer.

Why: SQLAlchemy's execution layer costs ~40 µs a statement (execution context, parameter and result
objects), more than the database takes to run most of the close's statements, and the cron close runs
about ten per account period. What is kept: each statement is built with Core and compiled by
SQLAlchemy for the dialect (once); parameters and columns go through the dialect's own converters, so
values are stored and read exactly as SQLAlchemy would; DB-API errors become SQLAlchemy's exceptions;
and every statement is announced to the engine's `before_cursor_execute` listeners
(`engine.before_raw_statement`), so the crash hook counts them like any other.

An `Executor` wraps a `Connection` inside a transaction its caller began — the cron close's own
connection, or an ordinary write's session connection (`Executor.of(session)`): the same statements,
the same writers (invoices, events), whichever way a command writes.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Date, DateTime, Dialect, Insert, Table, bindparam, exc, func, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.types import TypeEngine

from seatctl.store import engine as db


class _Prepared(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the bind parameters, in the driver's order when positional
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # their values, in that order, from the caller's dict
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # the ones the dialect converts: (position, converter)
    columns: tuple[str, ...]  # a query's column names
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # a query's columns the dialect converts


@functools.lru_cache(maxsize=256)
def _prepare(dialect: Dialect, stmt: Any, keys: tuple[str, ...] = ()) -> _Prepared:
    """A statement built once, compiled for a dialect (an insert for the columns `keys`), with the
    dialect's own converters for its parameters and columns (SQLite's text dates and times, booleans).
    Its parameters are all named ones (bindparam) the caller gives: no literal binds."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if isinstance(stmt, Insert) else None)
    names = compiled.positiontup if dialect.positional else list(compiled.binds)
    sql = compiled.string
    if dialect.name == "postgresql":  # arrays go in psycopg's binary format: ~6 × cheaper to send than text
        for n in names:
            if getattr(compiled.binds[n].type, "item_type", None) is not None:
                sql = sql.replace(f"%({n})s", f"%({n})b")
    assert names is not None and all(compiled.binds[n].required for n in names), f"{stmt}: a literal bind"
    take: Any = operator.itemgetter(*names) if len(names) > 1 else \
        (lambda values: (values[names[0]],)) if names else (lambda values: ())
    convert = tuple((i, f) for i, n in enumerate(names)
                    if (f := _bind_processor(compiled.binds[n].type, dialect)) is not None)
    selected = getattr(stmt, "selected_columns", None)
    columns = tuple(selected.keys()) if selected is not None else ()
    results = tuple((i, f) for i, c in enumerate(selected or ())
                    if (f := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    return _Prepared(sql, tuple(names), take, convert, columns, results)


@functools.lru_cache(maxsize=256)
def _unnested(table: Table, keys: tuple[str, ...]) -> Any:
    """PostgreSQL: rows given as one array per column (bind parameters `a_KEY`), unnested back into
    rows (`unnest(…) AS v(KEY, …)`): one statement and one parsed plan whatever the number of rows."""
    from sqlalchemy.dialects.postgresql import ARRAY

    arrays = [bindparam(f"a_{k}", type_=ARRAY(table.c[k].type)) for k in keys]  # psycopg's dialect casts each to its array type
    return func.unnest(*arrays).table_valued(*keys, name="v").render_derived()


@functools.lru_cache(maxsize=256)
def _unnest_insert(table: Table, keys: tuple[str, ...], returning: tuple[str, ...]) -> Any:
    v = _unnested(table, keys)
    stmt = insert(table).from_select(list(keys), core_select(*[v.c[k] for k in keys]))
    return stmt.returning(*[table.c[k] for k in returning]) if returning else stmt


@functools.lru_cache(maxsize=256)
def _insert(table: Table, returning: tuple[str, ...] = ()) -> Any:
    """A plain INSERT into the table (its columns given when run), built once per table (the executor's
    compiled statements are cached by the statement)."""
    stmt = insert(table)
    return stmt.returning(*[table.c[k] for k in returning]) if returning else stmt


@functools.lru_cache(maxsize=256)
def _update_by(table: Table, key: str, keys: tuple[str, ...], unnest: bool) -> Any:
    """An UPDATE of the columns `keys` of the rows whose `key` is given: PostgreSQL, every row in one
    statement (`UPDATE … FROM unnest(…)`); elsewhere one row a statement (parameters `v_KEY`)."""
    if unnest:
        v = _unnested(table, (key, *keys))
        return update(table).where(table.c[key] == v.c[key]).values({k: v.c[k] for k in keys})
    return update(table).where(table.c[key] == bindparam(f"v_{key}", type_=table.c[key].type)).values(
        {k: bindparam(f"v_{k}", type_=table.c[k].type) for k in keys})


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The dialect's converter for a parameter of this type; for dates and times (SQLite's are text),
    remembering the last values it converted: a close passes the same few again and again."""
    item = getattr(type_, "item_type", None)
    if item is not None and item.dialect_impl(dialect).bind_processor(dialect) is None:
        return None  # an array of values the driver takes as they are: nothing to copy
    convert = type_.dialect_impl(dialect).bind_processor(dialect)
    if convert is not None and isinstance(type_, Date | DateTime):
        return functools.lru_cache(maxsize=256)(convert)
    return convert


class Executor:
    """Statements built with Core, run on the connection's DB-API cursor, in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.positional = conn.dialect.positional
        self.error = conn.dialect.loaded_dbapi.Error
        self.cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    @contextmanager
    def batched(self, *, commit: bool = False) -> Iterator[None]:
        """PostgreSQL: the statements run inside are sent without waiting for each one's answer
        (psycopg's pipeline mode); a statement whose result is read (`first`, `rows`) waits for it and
        those before it, and the end of the block waits for the rest, so a write's round trips are a
        few instead of one a statement. `run` then returns no row count. Only the executor's own
        statements may run inside (no Session). `commit`: the block ends the transaction, its COMMIT
        sent with the last statements (the caller's SQLAlchemy transaction then ends with nothing
        left to commit): row locks taken inside (the invoice counter's) are held one round trip less.
        Elsewhere: nothing changes (the caller commits)."""
        if self.dialect.name != "postgresql":
            yield
            return
        dbapi = self.conn.connection.dbapi_connection
        try:
            with dbapi.pipeline():  # type: ignore[union-attr]
                yield
                if commit:
                    dbapi.commit()  # type: ignore[union-attr]
        except self.error as err:  # an error of a statement sent earlier, raised when its answer came
            raise exc.DBAPIError.instance("(pipeline)", None, err, self.error) from err

    @classmethod
    def of(cls, session: Any) -> Executor:
        """An executor on a session's connection, after what the session holds is flushed (so the
        statements see it, and rows they write come after it)."""
        session.flush()
        return cls(session.connection())

    def _params(self, p: _Prepared, values: Mapping[str, Any]) -> Any:
        params: Any = p.take(values)
        if p.convert:
            params = list(params)
            for i, f in p.convert:
                params[i] = f(params[i])
        return params if self.positional else dict(zip(p.names, params, strict=True))

    def _run(self, sql: str, params: Any, many: bool) -> None:
        db.before_raw_statement(self.conn, self.cursor, sql, params, many)
        try:
            if many:
                self.cursor.executemany(sql, params)
            else:
                self.cursor.execute(sql, params)
        except self.error as err:
            raise exc.DBAPIError.instance(sql, params, err, self.error) from err

    def run(self, stmt: Any, values: Mapping[str, Any]) -> int:
        """Execute one statement; its row count."""
        p = _prepare(self.dialect, stmt)
        self._run(p.sql, self._params(p, values), False)
        return int(self.cursor.rowcount)

    def many(self, stmt: Any, rows: list[dict[str, Any]]) -> None:
        """Execute an insert (or an update) once per row; all rows have the same keys. PostgreSQL: an
        insert of several rows is one statement whatever their number (`insert_rows`), where psycopg's
        executemany would send one a row."""
        if not rows:
            return
        if len(rows) > 1 and self.dialect.name == "postgresql" and isinstance(stmt, Insert):
            self.insert_rows(stmt.table, rows)  # type: ignore[arg-type]
            return
        p = _prepare(self.dialect, stmt, tuple(rows[0]))
        self._run(p.sql, [self._params(p, r) for r in rows], True)

    def insert_rows(self, table: Table, rows: list[dict[str, Any]], *, returning: tuple[str, ...] = ()) -> list[Any]:
        """Insert rows (all with the same keys) into a table; with `returning`, those columns of each row
        inserted (on PostgreSQL in no promised order: match them by a key). PostgreSQL: one `INSERT …
        SELECT … FROM unnest(…)` (one parameter a column); elsewhere one INSERT a row."""
        if not rows:
            return []
        keys = tuple(rows[0])
        if self.dialect.name == "postgresql":
            p = _prepare(self.dialect, _unnest_insert(table, keys, returning))
            self._run(p.sql, self._params(p, {f"a_{k}": [r[k] for r in rows] for k in keys}), False)
            if not returning:
                return []
            found = self.cursor.fetchall()
            assert len(found) == len(rows)
            return cast("list[Any]", found)
        if not returning:
            p = _prepare(self.dialect, _insert(table), keys)
            self._run(p.sql, [self._params(p, r) for r in rows], True)
            return []
        return [self.first(_insert(table, returning), r, insert=True) for r in rows]

    def update_rows(self, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
        """Set the other columns given of each row whose `key` column is given (all rows with the same keys).
        PostgreSQL: one statement for every row; elsewhere one a row (executemany)."""
        if not rows:
            return
        keys = tuple(k for k in rows[0] if k != key)
        unnest = self.dialect.name == "postgresql" and len(rows) > 1
        p = _prepare(self.dialect, _update_by(table, key, keys, unnest))
        if unnest:
            self._run(p.sql, self._params(p, {f"a_{k}": [r[k] for r in rows] for k in (key, *keys)}), False)
        else:
            self._run(p.sql, [self._params(p, {f"v_{k}": r[k] for k in (key, *keys)}) for r in rows], True)

    def rows(self, stmt: Any, values: Mapping[str, Any]) -> list[Any]:
        """A query's rows, as tuples (the columns the dialect converts converted)."""
        p = _prepare(self.dialect, stmt)
        self._run(p.sql, self._params(p, values), False)
        rows = cast("list[Any]", self.cursor.fetchall())  # a list, as every DB-API driver here returns
        if p.results:
            rows = [list(r) for r in rows]
            for r in rows:
                for i, f in p.results:
                    r[i] = f(r[i])
        return rows

    def first(self, stmt: Any, values: Mapping[str, Any], *, insert: bool = False) -> Any:
        """A statement's first row (a query's, or an UPDATE/INSERT … RETURNING's), or None."""
        p = _prepare(self.dialect, stmt, tuple(values) if insert else ())
        self._run(p.sql, self._params(p, values), False)
        row = self.cursor.fetchone()
        if row is not None and p.results:
            row = list(row)
            for i, f in p.results:
                row[i] = f(row[i])
        return row

    def namespaces(self, stmt: Any, values: Mapping[str, Any]) -> list[SimpleNamespace]:
        """A query's rows as plain, mutable objects (attribute per column)."""
        columns = _prepare(self.dialect, stmt).columns
        return [SimpleNamespace(**dict(zip(columns, row, strict=True))) for row in self.rows(stmt, values)]

    def namespace(self, stmt: Any, values: Mapping[str, Any]) -> SimpleNamespace | None:
        row = self.first(stmt, values)
        if row is None:
            return None
        return SimpleNamespace(**dict(zip(_prepare(self.dialect, stmt).columns, row, strict=True)))
