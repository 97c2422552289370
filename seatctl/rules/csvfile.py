"""CSV input files: header checked, rows numbered as a spreadsheet numbers them."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

from seatctl.errors import NotFound, UsageError


def read_csv(path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a CSV whose header must hold `required` columns; numbered from 2 (line 1 is the header)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"no file '{path}'", "Check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read '{path}': {exc}", "Save it as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"'{path}' has no '{missing[0]}' column",
                         f"The header must be: {','.join(required + optional)}")
    unknown = [h for h in header if h not in required + optional]
    if unknown:
        raise UsageError(f"'{path}' has an unknown column '{unknown[0]}'",
                         f"The header must be: {','.join(required + optional)}")
    rows = []
    for number, raw in enumerate(reader, 2):
        if None in raw:
            raise UsageError(f"row {number} of '{path}' has more fields than the header", "Fix that row")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        for column, value in row.items():
            if any(unicodedata.category(ch) == "Cc" for ch in value):
                raise UsageError(f"row {number} of '{path}': column '{column}' holds a control character",
                                 "Remove it (escape codes, NUL, line breaks inside a cell) and try again")
        row["_row"] = str(number)
        rows.append(row)
    return rows
