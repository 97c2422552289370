"""user add|import|list|deactivate|activate."""

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
USER_COLUMNS = ["email", "name", "role", "status", "licences", "since"]


@app.command("add")
def add(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    email: Annotated[str, typer.Argument(help="E-mail (unique in the account).")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    role: Annotated[str | None, typer.Option("--role", help="e.g. admin, agent (default member).")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add one user."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import users as ledger
        from seatctl.rules.emails import UserRow, check_role, normalize_email
        from seatctl.rules.names import clean_name

        row = UserRow(normalize_email(email), clean_name(name), check_role(role))
        lg = Ledger()
        lg.write(lambda s, a, b: ledger.add_users(s, slug=account, rows=[row], actor=a, now=lg.now, books=b))
        return Output(obj={"account": account, "email": row.email, "name": row.name, "role": row.role,
                           "status": "active"}, message=f"Added {row.email} ({row.role}) to '{account}'.")

    execute(fmt, produce)


@app.command("import")
def import_(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    file: Annotated[str, typer.Argument(help="CSV with header email,name,role (name and role optional).")],
    fmt: FormatOpt = None,
) -> None:
    """Add users from a CSV: one bad row refuses the whole file; users already there are left as they are."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.errors import UsageError
        from seatctl.ops import users as ledger
        from seatctl.rules.csvfile import read_csv
        from seatctl.rules.emails import parse_user_rows

        rows = parse_user_rows(read_csv(file, ("email",), ("name", "role")))
        if not rows:
            raise UsageError(f"'{file}' has no rows", "Add rows below the header email,name,role")
        lg = Ledger()
        _, added, already = lg.write(lambda s, a, b: ledger.add_users(s, slug=account, rows=rows, actor=a,
                                                                      now=lg.now, books=b, skip_existing=True))
        return Output(obj={"account": account, "added": len(added), "unchanged": len(already)},
                      message=f"Imported {len(added)} users into '{account}' ({len(already)} already there).")

    execute(fmt, produce)


@app.command("list")
def list_(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    role: Annotated[str | None, typer.Option("--role")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active or inactive.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Users by e-mail, with the licences they hold."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.lookup import find_account
        from seatctl.reports.people import user_rows

        rows = Ledger().read(lambda s, a, b: user_rows(s, find_account(s, account), role=role, status=status))
        return Output(rows=rows, columns=USER_COLUMNS)

    execute(fmt, produce)


def _set_status(account: str, emails: list[str], active: bool, fmt) -> None:  # type: ignore[no-untyped-def]
    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import users as ledger

        lg = Ledger()
        rows = lg.write(lambda s, a, b: ledger.set_user_status(s, slug=account, emails=emails, active=active,
                                                                actor=a, now=lg.now, books=b))
        return Output(rows=rows, columns=["account", "user", "status", "released"])

    execute(fmt, produce)


@app.command("deactivate")
def deactivate(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    emails: Annotated[list[str], typer.Argument(help="E-mails.")],
    fmt: FormatOpt = None,
) -> None:
    """Deactivate users; every seat they hold is released (and stays owned)."""
    _set_status(account, emails, False, fmt)


@app.command("activate")
def activate(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    emails: Annotated[list[str], typer.Argument(help="E-mails.")],
    fmt: FormatOpt = None,
) -> None:
    """Reactivate users (they get no seats back by themselves)."""
    _set_status(account, emails, True, fmt)
