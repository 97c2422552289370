"""A listing given to the renderer as an iterator (a long report read while it is printed) comes out
exactly as the same rows given as a list; CSV and JSON write each row before reading the next."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from seatctl.cli.render import FORMATS, Output, _json_default, render

COLUMNS = ["bucket", "account", "n", "seat_days", "note", "flag", "tags"]


def _row(i: int) -> dict[str, Any]:
    return {"bucket": f"2026-01-{i % 28 + 1:02d}", "account": f"acct-{i}", "n": i,
            "seat_days": [Decimal("2.13"), Decimal("31.00"), Decimal("0.00"), Decimal("5")][i % 4],
            "note": ['plain', 'Acme, "Inc."', "naïve ✓", "two\nlines", None][i % 5], "flag": i % 3 == 0,
            "tags": [["a", "b"], [], None][i % 3]}


ROWS = {
    "empty": [],
    "one": [_row(0)],
    "many": [_row(i) for i in range(200)],
    "nested": [{"bucket": "x", "details": {"a": [1, {"b": None}], "c": {}}, "n": 1.5}, {}],
}


def _printed(monkeypatch: pytest.MonkeyPatch, rows: Any, fmt: str, **kw: Any) -> str:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    render(Output(rows=rows, **kw), fmt)
    monkeypatch.undo()
    return out.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(ROWS))
def test_an_iterator_prints_what_the_list_prints(monkeypatch, name, fmt):
    rows = ROWS[name]
    columns = None if name == "nested" else COLUMNS
    message = "Nothing in that range."
    as_list = _printed(monkeypatch, rows, fmt, columns=columns, message=message)
    assert _printed(monkeypatch, iter(rows), fmt, columns=columns, message=message) == as_list
    if fmt == "json":  # valid, and the values JSON gives them
        assert json.loads(as_list) == json.loads(json.dumps(rows, default=_json_default))
        if not rows:
            assert as_list == "[]\n"


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_write_each_row_before_reading_the_next(monkeypatch, fmt):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    seen: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(50):
            if i >= 2:  # the row before last is already out (the last one may still be being written)
                assert f"acct-{i - 2}" in out.getvalue()
            seen.append(i)
            yield _row(i)

    render(Output(rows=rows(), columns=COLUMNS), fmt)
    monkeypatch.undo()
    assert seen == list(range(50))
    text = out.getvalue()
    if fmt == "json":
        assert [r["account"] for r in json.loads(text)] == [f"acct-{i}" for i in range(50)]
    else:
        assert text.count("acct-") == 50


def test_nothing_is_printed_when_the_first_row_fails(monkeypatch):
    def rows() -> Iterator[dict[str, Any]]:
        raise RuntimeError("database gone")
        yield {}

    for fmt in ("json", "csv"):
        out = io.StringIO()
        monkeypatch.setattr("sys.stdout", out)
        with pytest.raises(RuntimeError):
            render(Output(rows=rows(), columns=COLUMNS), fmt)
        monkeypatch.undo()
        assert out.getvalue() == ""
