"""Free text typed by people (names, reasons): stored verbatim, but never control characters."""

from __future__ import annotations

import unicodedata

from seatctl.errors import UsageError

MAX_LENGTH = 10_000


def clean_name(text: str | None, what: str = "a name") -> str | None:
    """Strip surrounding blanks; refuse control characters (escape codes, NUL, DEL) and huge values."""
    if text is None:
        return None
    text = text.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise UsageError(f"{what} may not contain control characters", "Remove them and try again")
    if len(text) > MAX_LENGTH:
        raise UsageError(f"{what} is longer than {MAX_LENGTH} characters", "Shorten it")
    return text or None
