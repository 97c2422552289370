"""What the tests share: the in-process CLI (`Seatctl`), isolation, templates and PostgreSQL schemas
(harness), real processes (processes), and short readers and setups for ledger commands (ledger)."""

from support.harness import (
    PG_ROLES,
    START,
    Result,
    Seatctl,
    backends,
    build_template,
    copy_ledger,
    copy_of,
    isolated,
    pg_schema,
)
from support.ledger import (
    add_account,
    close,
    give,
    invoices,
    one_error_line,
    show_invoice,
    standard_ledger,
    status,
    with_ana,
)
from support.processes import process_env, run_process, spawn

__all__ = [
    "PG_ROLES", "START", "Result", "Seatctl", "add_account", "backends", "build_template", "close", "copy_ledger",
    "copy_of", "give", "invoices", "isolated", "one_error_line", "pg_schema", "process_env", "run_process",
    "show_invoice", "spawn", "standard_ledger", "status", "with_ana",
]
