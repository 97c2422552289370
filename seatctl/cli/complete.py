"""Tab completion: account slugs, licence and plan codes, and the e-mails of the account already typed,
read from the ledger, for the shells' completion scripts (`--install-completion`, `--show-completion`:
bash, zsh, fish) and for `seatctl shell`.

A completion request runs on every Tab, so it stays as cheap as `--help`: it imports no SQLAlchemy on a
SQLite ledger (a read-only `sqlite3` connection, three indexed queries at most), and never the write path
or Alembic (tests/test_startup.py checks). A PostgreSQL ledger is read through SQLAlchemy Core alone.
Whatever goes wrong (no ledger yet, a locked file, a role that may not read) completes nothing: a Tab
never prints an error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer._click import Command, Context, Parameter

# What a parameter completes with: its kind, by the parameter's name (and, where a name means
# different things, by the command's path). A new command whose parameters keep these names completes
# without a line here.
SLUG, LICENCE, PLAN, EMAIL = "slug", "licence", "plan", "email"


def kind_of(path: tuple[str, ...], name: str) -> str | None:
    new = path[-1] == "add"  # `account add SLUG`, `licence add CODE`, `user add ACCOUNT EMAIL`: a new value
    if name in ("account", "parent") or (name == "slug" and not new):
        return SLUG
    if name in ("licence", "licences") or (name == "code" and path[0] == "licence" and not new):
        return LICENCE
    if name == "plan" or (name == "code" and path[0] == "plan" and not new):
        return PLAN
    if name in ("email", "emails") and not new:
        return EMAIL
    return None


def attach(command: Command, path: tuple[str, ...]) -> None:
    """Give the parameters of `command` (and of the commands of a group, recursively) their ledger
    completion."""
    for param in command.params:
        kind = kind_of(path, str(param.name))
        if kind is not None:
            param._custom_shell_complete = _completer(kind)  # what Click's Parameter.shell_complete calls
    for name, child in getattr(command, "commands", {}).items():
        attach(child, (*path, name))


def _completer(kind: str) -> Callable[[Context, Parameter, str], list[str]]:
    def complete(ctx: Context, param: Parameter, incomplete: str) -> list[str]:
        account = ctx.params.get("account") if kind == EMAIL else None
        if kind == EMAIL and not isinstance(account, str):
            return []
        try:
            return values(kind, incomplete, location_of(ctx), account=account)
        except Exception:  # a Tab never prints an error
            return []

    return complete


def location_of(ctx: Context) -> str:
    """The ledger the command being completed would use: its `--db`, else SEATCTL_DB, the config's
    `database`, the user data folder (config.py, the one place that knows)."""
    from seatctl import config

    root = ctx.find_root().params
    return config.database_location(root.get("db"), config.load(root.get("config")))


QUERIES = {
    SLUG: "SELECT slug FROM account WHERE slug >= :lo AND slug < :hi ORDER BY slug",
    LICENCE: "SELECT code FROM licence WHERE code >= :lo AND code < :hi ORDER BY code",
    PLAN: "SELECT code FROM plan WHERE code >= :lo AND code < :hi ORDER BY code",
    EMAIL: "SELECT u.email FROM app_user u JOIN account a ON a.id = u.account_id "
           "WHERE a.slug = :account AND u.email >= :lo AND u.email < :hi ORDER BY u.email",
}


def values(kind: str, prefix: str, location: str, *, account: str | None = None) -> list[str]:
    """The stored values of `kind` that start with `prefix` (a range on the unique index, not LIKE, so
    `_` and `%` are plain characters and the index is used)."""
    params: dict[str, Any] = {"lo": prefix, "hi": prefix + "\U0010ffff", "account": account}
    if "://" not in location or location.startswith("sqlite"):
        return _sqlite(QUERIES[kind], params, location)
    return _database(QUERIES[kind], params, location)


def _sqlite(query: str, params: dict[str, Any], location: str) -> list[str]:
    import sqlite3
    from pathlib import Path

    path = Path(location.split(":///", 1)[1] if location.startswith("sqlite") else location)
    if not path.is_file():
        return []
    con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=0.5)
    try:
        return [row[0] for row in con.execute(query, params)]
    finally:
        con.close()


def _database(query: str, params: dict[str, Any], location: str) -> list[str]:
    from sqlalchemy import create_engine, text

    # PostgreSQL compares text in the database's collation, where a range on the prefix may not hold.
    query = re.sub(r"(\S+) >= :lo AND \1 < :hi", r"starts_with(\1, :lo)", query)
    engine = create_engine(location)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def completions(args: list[str], incomplete: str) -> list[tuple[str, str | None]]:
    """What Tab offers after the words `args` for the word being typed, as (value, help): the commands and
    options Click knows, the values above. The same resolution the shells' requests get (for `shell`)."""
    from typer._click.shell_completion import _resolve_context, _resolve_incomplete

    from seatctl.cli.app import root_command

    try:
        ctx = _resolve_context(root_command(), {}, "seatctl", list(args))
        obj, incomplete = _resolve_incomplete(ctx, list(args), incomplete)
        return [(item.value, item.help) for item in obj.shell_complete(ctx, incomplete)]
    except Exception:  # half-typed input Click cannot resolve: nothing to offer
        return []


def _raw_values() -> None:
    """For a completion request only (the process answers, then exits): the words typed are kept as
    text, not converted. Typer converts every parameter through a Pydantic TypeAdapter, and importing
    Pydantic alone costs more than the rest of the request; completion needs the words (an account
    slug), never their converted values."""
    from typer._coercion import RuntimeParam
    from typer.core import _TyperParameter

    class Raw(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return value

    def raw(param: Any) -> RuntimeParam:
        if param._runtime_param is None:
            param._runtime_param = Raw(parameter_info=param.type_descriptor.parameter_info,
                                       annotation=param.type_descriptor.annotation)
        return param._runtime_param

    setattr(_TyperParameter, "get_runtime_param", raw)  # noqa: B010 (mypy: a method replaced on purpose)


def register_shells() -> None:
    """Typer's bash, zsh and fish answers, with help text passed as it is: Typer's zsh and fish classes
    run help through Rich (a tenth of a second of imports per Tab), and ours has no markup."""
    from typer._click.shell_completion import CompletionItem, add_completion_class
    from typer._completion_classes import BashComplete, FishComplete, ZshComplete, completion_init

    completion_init()
    _raw_values()

    class PlainZsh(ZshComplete):
        def format_completion(self, item: CompletionItem) -> str:
            def escape(s: str) -> str:
                return (s.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`")
                        .replace(":", r"\\:"))

            return f'"{escape(item.value)}":"{escape(item.help)}"' if item.help else f'"{escape(item.value)}"'

    class PlainFish(FishComplete):
        def format_completion(self, item: CompletionItem) -> str:
            return f"{item.value}\t{' '.join(item.help.split())}" if item.help else f"{item.value}"

    add_completion_class(BashComplete, "bash")
    add_completion_class(PlainZsh, "zsh")
    add_completion_class(PlainFish, "fish")
