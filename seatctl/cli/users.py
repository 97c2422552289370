"""user add|import|list|deactivate|activate."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders, steps

if TYPE_CHECKING:
    from seatctl.cli.render import Output

app = Group()
USER_COLUMNS = ["email", "name", "role", "status", "licences", "since"]
AccountArg = Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account slug.")]
Emails = Annotated[list[str], typer.Argument(metavar="EMAIL", help="E-mails, one or more.")]
RoleFilter = Annotated[str | None, typer.Option("--role", metavar="ROLE", help="Only users with this role.")]
StatusFilter = Annotated[str | None, typer.Option("--status", metavar="active|inactive",
                                                  help="Only users with this status.")]


@app.command("add")
@renders
def add(
    account: AccountArg,
    email: Annotated[str, typer.Argument(help="E-mail (unique in the account).")],
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    role: Annotated[str | None, typer.Option("--role", metavar="ROLE",
                                             help="A free word, e.g. admin or agent (default: member).")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Add one user.

    Example: seatctl user add acme ana@example.com --name 'Ana Ruiz' --role admin
    """
    from seatctl.cli.render import Output
    from seatctl.ops import users as ledger
    from seatctl.rules.emails import UserRow, check_role, normalize_email
    from seatctl.rules.names import clean_name

    row = UserRow(normalize_email(email), clean_name(name), check_role(role))
    lg = Ledger()
    lg.write(lambda s, a, b: ledger.add_users(s, slug=account, rows=[row], actor=a, now=lg.now, books=b))
    return Output(obj={"account": account, "email": row.email, "name": row.name, "role": row.role,
                       "status": "active"}, message=f"Added {row.email} ({row.role}) to '{account}'.")


@app.command("import")
@renders
def import_(
    account: AccountArg,
    file: Annotated[str, typer.Argument(help="CSV with header email,name,role (name and role optional).")],
    fmt: FormatOpt = None,
) -> "Output":
    """Add users from a CSV: one bad row refuses the whole file; users already there are left as they are.

    Example: seatctl user import acme users.csv
    """
    from seatctl.cli.render import Output
    from seatctl.errors import UsageError
    from seatctl.ops import users as ledger
    from seatctl.rules.csvfile import read_csv
    from seatctl.rules.emails import parse_user_rows

    with steps(f"reading {file}", 3) as step:  # a progress bar on a terminal, nothing when piped
        raw = read_csv(file, ("email",), ("name", "role"))
        step(f"checking {len(raw):,} rows")
        rows = parse_user_rows(raw)
        if not rows:
            raise UsageError(f"'{file}' has no rows", "Add rows below the header email,name,role")
        step(f"adding {len(rows):,} users to '{account}'")
        lg = Ledger()
        _, added, already = lg.write(lambda s, a, b: ledger.add_users(s, slug=account, rows=rows, actor=a,
                                                                      now=lg.now, books=b, skip_existing=True))
        step("done")
    return Output(obj={"account": account, "added": len(added), "unchanged": len(already)},
                  message=f"Imported {len(added)} users into '{account}' ({len(already)} already there).")


@app.command("list")
@renders
def list_(account: AccountArg, role: RoleFilter = None, status: StatusFilter = None, fmt: FormatOpt = None) -> "Output":
    """Users by e-mail, with the licences they hold.

    Example: seatctl user list acme --status inactive
    """
    from seatctl.cli.render import Output
    from seatctl.ops.lookup import find_account
    from seatctl.reports.people import user_rows

    rows = Ledger().read(lambda s, a, b: user_rows(s, find_account(s, account), role=role, status=status))
    return Output(rows=rows, columns=USER_COLUMNS)


def _set_status(account: str, emails: list[str], active: bool) -> "Output":
    from seatctl.cli.render import Output
    from seatctl.ops import users as ledger

    lg = Ledger()
    rows = lg.write(lambda s, a, b: ledger.set_user_status(s, slug=account, emails=emails, active=active,
                                                            actor=a, now=lg.now, books=b))
    return Output(rows=rows, columns=["account", "user", "status", "released"])


@app.command("deactivate")
@renders
def deactivate(account: AccountArg, emails: Emails, fmt: FormatOpt = None) -> "Output":
    """Deactivate users; every seat they hold is released (and stays owned).

    Example: seatctl user deactivate acme carla@example.com ben@example.com
    """
    return _set_status(account, emails, False)


@app.command("activate")
@renders
def activate(account: AccountArg, emails: Emails, fmt: FormatOpt = None) -> "Output":
    """Reactivate users (they get no seats back by themselves).

    Example: seatctl user activate acme carla@example.com
    """
    return _set_status(account, emails, True)
