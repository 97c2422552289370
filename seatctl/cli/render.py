"""One renderer: the same rows become a Rich table, tabulate text, CSV or JSON.

A listing may come as an iterator (a long report read from the database as it is printed): CSV and JSON
write each row as it comes, so memory does not grow with the rows; the table, plain, markdown and github
formats line columns up to their widest cell, so they collect the rows first."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any

FORMATS = ("table", "plain", "markdown", "github", "csv", "json")
STREAMED = ("csv", "json")  # the formats written row by row


@dataclass
class Output:
    """What a command prints: a listing (`rows`) or one object (`obj`), and a sentence for people."""

    rows: Iterable[dict[str, Any]] | None = None  # a list, or an iterator read once while rendering
    obj: dict[str, Any] | None = None
    message: str | None = None
    columns: list[str] | None = None
    title: str | None = None
    note: str | None = None  # goes to stderr, whatever the format
    extra: list[Output] = field(default_factory=list)


def choose(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else "plain"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def _json_default(value: Any) -> Any:
    """Money reaches the renderer as text already ("12.50"); a Decimal here is a measure such as
    seat-days, which JSON shows as a number."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        whole = isinstance(exponent, int) and exponent >= 0 and value == value.to_integral_value()
        return int(value) if whole else float(value)
    return str(value)


def render(out: Output, fmt: str | None) -> None:
    fmt = choose(fmt)
    if out.note:
        print(f"note: {out.note}", file=sys.stderr)
    if out.rows is not None and not isinstance(out.rows, list) and fmt not in STREAMED:
        out.rows = list(out.rows)  # column widths need every row
    if fmt == "json":
        if out.rows is not None and not isinstance(out.rows, list):
            _json_stream(out.rows)
            return
        payload = out.rows if out.rows is not None else (out.obj if out.obj is not None else {})
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default))
        return
    if out.rows is not None and not isinstance(out.rows, list):
        _csv_stream(out.rows, out.columns)
    elif out.rows is not None and not out.rows and out.message and fmt in ("table", "plain"):
        print(out.message)
    elif out.rows is not None:
        _table(out.rows, out.columns or (list(out.rows[0]) if out.rows else []), fmt, out.title)
    elif out.obj is not None:
        if fmt in ("table", "plain") and out.message:
            print(out.message)
        elif fmt == "csv":
            _table([out.obj], list(out.obj), fmt, None)
        else:
            pairs = [{"field": k, "value": _cell(v)} for k, v in out.obj.items() if not isinstance(v, list | dict)
                     or not (v and isinstance(v, list) and isinstance(v[0], dict))]
            _table(pairs, ["field", "value"], fmt, out.title)
    elif out.message:
        print(out.message)
    for more in out.extra:
        if fmt in ("table", "plain", "markdown", "github"):
            print()
        render(more, fmt)


# What `json.dumps(rows, indent=2)` writes for one row of a list, built faster: a row of plain values is
# encoded by the C encoder with the newline and indent of the list's level as its separator.
_FLAT_VALUES = frozenset({str, int, float, bool, type(None), Decimal})
_FLAT_ROW = json.JSONEncoder(ensure_ascii=False, default=_json_default, separators=(",\n    ", ": "))


def _json_row(row: dict[str, Any]) -> str:
    """One row as `json.dumps([row, …], indent=2)` writes it (indented for its place in the list)."""
    if row and type(row) is dict and _FLAT_VALUES.issuperset(map(type, row.values())):
        return "  {\n    " + _FLAT_ROW.encode(row)[1:-1] + "\n  }"
    text = json.dumps(row, indent=2, ensure_ascii=False, default=_json_default)
    return "\n".join("  " + line for line in text.split("\n"))


def _json_stream(rows: Iterable[dict[str, Any]]) -> None:
    """The same text as `print(json.dumps(list(rows), indent=2))`, written as the rows come. Nothing
    is written before the first row is read, so an error there leaves no half-written array."""
    it = iter(rows)
    first = next(it, None)
    if first is None:  # rows are dicts, never None
        print("[]")
        return
    write = sys.stdout.write
    write("[\n" + _json_row(first))
    for row in it:
        write(",\n" + _json_row(row))
    write("\n]\n")


# csv.writer writes None as an empty cell and str() of anything else: for these types that is _cell().
_CSV_VALUES = frozenset({str, int, float, Decimal, type(None)})
# A text cell a spreadsheet would read as a formula (SPEC §8): it gets a leading `'`. A number is never
# touched, also when it is text with a sign ("-12.50", a credit note's amount).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def spreadsheet_safe(value: Any) -> Any:
    """The value as a CSV cell a spreadsheet shows as text, never runs: `=HYPERLINK(…)` → `'=HYPERLINK(…)`."""
    if type(value) is str and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _risky(values: tuple[Any, ...]) -> bool:
    return any(type(v) is str and v.startswith(_FORMULA_START) for v in values)


def _csv_stream(rows: Iterable[dict[str, Any]], columns: list[str] | None) -> None:
    """A header, then a line per row, written as the rows come."""
    it: Iterator[dict[str, Any]] = iter(rows)
    first = next(it, None)
    if not columns:
        columns = list(first) if first is not None else []
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    if first is None:
        return
    writerow, plain = writer.writerow, _CSV_VALUES.issuperset
    values_of = itemgetter(*columns) if len(columns) > 1 else lambda row: tuple(row[c] for c in columns)
    for row in chain((first,), it):
        try:
            values = values_of(row)
        except KeyError:  # a row without some column: an empty cell
            values = tuple(map(row.get, columns))
        if not plain(map(type, values)):
            values = tuple(map(_cell, values))
        if _risky(values):
            values = tuple(map(spreadsheet_safe, values))
        writerow(values)


def _table(rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str | None) -> None:
    if fmt == "csv":
        _csv_stream(rows, columns)
        return
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(title) if title else None, show_lines=False)
        for column in columns:
            numeric = any(isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
                          for r in rows)
            table.add_column(column, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*[Text(_cell(row.get(c))) for c in columns])  # stored text is never markup
        Console().print(table)
        return
    from tabulate import tabulate

    style = {"plain": "plain", "markdown": "pipe", "github": "github"}[fmt]
    if title and fmt == "plain":
        print(title)
    if not rows:
        print("(none)" if fmt == "plain" else tabulate([], headers=columns, tablefmt=style))
        return
    print(tabulate([[_cell(r.get(c)) for c in columns] for r in rows], headers=columns, tablefmt=style,
                   disable_numparse=True))


def bar_chart(values: dict[str, int], *, title: str) -> None:
    """A horizontal bar per bucket, drawn with Rich (for people who would rather look than read)."""
    from rich.console import Console
    from rich.table import Table

    top = max(values.values(), default=0) or 1
    table = Table(title=title, show_header=False, box=None)
    table.add_column("bucket")
    table.add_column("bar")
    table.add_column("seats", justify="right")
    for label, value in values.items():
        table.add_row(label, "█" * round(40 * value / top), str(value))
    Console().print(table)
