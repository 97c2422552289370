"""The one place that knows where the config file and the ledger live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from seatctl.errors import UsageError

APP = "seatctl"
KEYS = {"database", "currency", "timezone", "busy_timeout", "tax_rate", "invoice_prefix"}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    database: str | None = None
    currency: str = "EUR"
    timezone: str = "UTC"
    busy_timeout: float = 10.0
    tax_rate: Decimal | None = None
    invoice_prefix: str = "INV-"
    raw: dict[str, Any] = field(default_factory=dict)


def _user_config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP))


def _user_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP))


def config_path(explicit: str | None) -> Path | None:
    """`--config`, then `SEATCTL_CONFIG`, then ./seatctl.toml, then the user config folder."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(f"config file '{explicit}' does not exist", "Check --config")
        return path
    env = os.environ.get("SEATCTL_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise UsageError(f"config file '{env}' does not exist", "Check SEATCTL_CONFIG")
        return path
    for candidate in (Path("seatctl.toml"), _user_config_dir() / "seatctl.toml"):
        if candidate.is_file():
            return candidate
    return None


def load(explicit: str | None = None) -> Config:
    path = config_path(explicit)
    if path is None:
        return Config()
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config '{path}': {exc}", "Fix the TOML") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(
            f"unknown key '{unknown[0]}' in config '{path}'",
            f"Known keys: {', '.join(sorted(KEYS))}",
        )
    tax: Decimal | None = None
    if data.get("tax_rate") is not None:
        try:
            tax = Decimal(str(data["tax_rate"]))
        except InvalidOperation:
            raise UsageError(f"tax_rate in '{path}' is not a number", "e.g. tax_rate = 21") from None
        if tax < 0:
            raise UsageError(f"tax_rate in '{path}' is negative", "e.g. tax_rate = 21")
    try:
        busy = float(data.get("busy_timeout", 10.0))
    except (TypeError, ValueError):
        raise UsageError(f"busy_timeout in '{path}' is not a number", "e.g. 10") from None
    return Config(
        path=path,
        database=data.get("database"),
        currency=str(data.get("currency", "EUR")),
        timezone=str(data.get("timezone", "UTC")),
        busy_timeout=busy,
        tax_rate=tax,
        invoice_prefix=str(data.get("invoice_prefix", "INV-")),
        raw=data,
    )


def database_location(explicit: str | None, config: Config) -> str:
    """`--db`, then `SEATCTL_DB`, then the config's `database`, then the user data folder."""
    for value in (explicit, os.environ.get("SEATCTL_DB"), config.database):
        if value:
            return value
    return str(_user_data_dir() / "ledger.db")
