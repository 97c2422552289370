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

from sqlalchemy import Connection, Date, DateTime, Dialect, Insert, bindparam, exc, insert
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
    assert names is not None and all(compiled.binds[n].required for n in names), f"{stmt}: a literal bind"
    take: Any = operator.itemgetter(*names) if len(names) > 1 else \
        (lambda values: (values[names[0]],)) if names else (lambda values: ())
    convert = tuple((i, f) for i, n in enumerate(names)
                    if (f := _bind_processor(compiled.binds[n].type, dialect)) is not None)
    selected = getattr(stmt, "selected_columns", None)
    columns = tuple(selected.keys()) if selected is not None else ()
    results = tuple((i, f) for i, c in enumerate(selected or ())
                    if (f := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    return _Prepared(compiled.string, tuple(names), take, convert, columns, results)


VALUES_PARAMETERS = 50  # parameters of one multi-row insert at most (PostgreSQL; psycopg parses longer ones anew each time)


@functools.lru_cache(maxsize=256)
def _values_insert(stmt: Insert, keys: tuple[str, ...], rows: int) -> Insert:
    """An insert of `rows` rows of the columns `keys` in one VALUES list, its parameters named
    KEY_ROW (typed as their columns, so the dialect converts them as it would the plain insert's)."""
    table = stmt.table
    return insert(table).values([{k: bindparam(f"{k}_{i}", type_=table.c[k].type) for k in keys}
                                 for i in range(rows)])


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The dialect's converter for a parameter of this type; for dates and times (SQLite's are text),
    remembering the last values it converted: a close passes the same few again and again."""
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
        """Execute an insert (or an update) once per row, in one executemany; all rows have the same keys.
        PostgreSQL, outside `batched`: an insert of several rows is one statement, its rows in one VALUES
        list (as many a statement as psycopg still caches the parsing of: `VALUES_PARAMETERS`): one
        round trip, where psycopg's executemany would cost a pipeline of its own."""
        if not rows:
            return
        keys = tuple(rows[0])
        if (len(rows) > 1 and self.dialect.name == "postgresql" and isinstance(stmt, Insert)
                and not self.conn.connection.dbapi_connection.pgconn.pipeline_status):  # type: ignore[union-attr]
            at_once = max(1, VALUES_PARAMETERS // len(keys))
            for first in range(0, len(rows), at_once):
                chunk = rows[first:first + at_once]
                p = _prepare(self.dialect, _values_insert(stmt, keys, len(chunk)))
                self._run(p.sql, self._params(p, {f"{k}_{i}": row[k] for i, row in enumerate(chunk) for k in keys}),
                          False)
            return
        p = _prepare(self.dialect, stmt, keys)
        self._run(p.sql, [self._params(p, r) for r in rows], True)

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
