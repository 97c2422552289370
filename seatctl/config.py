"""The one place that knows where the config file and the ledger live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seatctl.errors import UsageError

APP = "seatctl"
KEYS = {"database", "busy_timeout", "format",
        "profiles"}  # [profiles.NAME]: directory export layouts for `sync` (rules/directory.py reads them)
FORMATS = ("table", "plain", "markdown", "github", "csv", "json")
# Keys of earlier releases. `currency` and `timezone` seeded a new ledger; `tax_rate` and
# `invoice_prefix` were read by whoever wrote an invoice. They are ledger settings now (SPEC §10):
# `seatctl init` copies them into a ledger once (when it creates it, or upgrades one that never had
# them), and every command ignores them with a one-line warning.
LEGACY_KEYS = ("currency", "timezone", "tax_rate", "invoice_prefix")


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    database: str | None = None
    busy_timeout: float = 10.0
    format: str | None = None  # the default --format; None: table on a terminal, plain when piped
    legacy: dict[str, str] = field(default_factory=dict)  # old keys found in the file, as text
    raw: dict[str, Any] = field(default_factory=dict)

    def legacy_warning(self) -> str | None:
        """The one line printed when the file still has keys that are ledger settings now."""
        if not self.legacy:
            return None
        keys = ", ".join(self.legacy)
        return (f"warning: config '{self.path}': {keys} ignored (ledger settings now: seatctl settings show); "
                "remove them from the file")


def _user_config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP))


def _user_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP))


def history_path() -> Path:
    """`seatctl shell`'s history: in the user data folder, beside the default ledger."""
    return _user_data_dir() / "shell_history"


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
    unknown = sorted(set(data) - KEYS - set(LEGACY_KEYS))
    if unknown:
        raise UsageError(
            f"unknown key '{unknown[0]}' in config '{path}'",
            f"Known keys: {', '.join(sorted(KEYS))}",
        )
    try:
        busy = float(data.get("busy_timeout", 10.0))
    except (TypeError, ValueError):
        raise UsageError(f"busy_timeout in '{path}' is not a number", "e.g. 10") from None
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"format '{fmt}' in config '{path}' is not a format", f"Use one of: {', '.join(FORMATS)}")
    return Config(
        path=path,
        database=data.get("database"),
        busy_timeout=busy,
        format=fmt,
        legacy={key: str(data[key]) for key in LEGACY_KEYS if key in data},
        raw=data,
    )


def database_location(explicit: str | None, config: Config) -> str:
    """`--db`, then `SEATCTL_DB`, then the config's `database`, then the user data folder."""
    for value in (explicit, os.environ.get("SEATCTL_DB"), config.database):
        if value:
            return value
    return str(_user_data_dir() / "ledger.db")
