"""One exception family; each error carries the exit code the CLI returns."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    PERMISSION = 5
    BUSY = 6


class SeatctlError(Exception):
    """An error a user can act on: `what` went wrong and a `hint` of what to type next.

    `events`: audit records the refusal leaves although the command changed nothing (a refused
    assignment's denials); the one write entry (`ops/write.py`) writes them in a transaction of their own."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, what: str, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint
        self.events: list[dict[str, Any]] = []

    def __str__(self) -> str:
        return f"{self.what}. {self.hint}" if self.hint else self.what


class UsageError(SeatctlError):
    exit_code = ExitCode.USAGE


class NotFound(SeatctlError):
    exit_code = ExitCode.NOT_FOUND


class Refused(SeatctlError):
    """A business rule said no (no free seat, wrong status, duplicate, below minimum)."""

    exit_code = ExitCode.REFUSED


class PermissionDenied(SeatctlError):
    exit_code = ExitCode.PERMISSION


class Busy(SeatctlError):
    """The ledger is locked by another writer, or its schema needs a migration."""

    exit_code = ExitCode.BUSY
