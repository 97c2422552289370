"""report usage|users|roles|revenue|denials: tables support staff paste into tickets."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders
from seatctl.cli.users import list_ as user_list

if TYPE_CHECKING:
    from sqlmodel import Session

    from seatctl.cli.render import Output
    from seatctl.rules.books import Books
    from seatctl.rules.buckets import Bucket
    from seatctl.rules.roles import Actor

app = Group()

Since = Annotated[str | None, typer.Option("--from", metavar="DATE",
                                           help="First day YYYY-MM-DD, with --to (default: this month).")]
Until = Annotated[str | None, typer.Option("--to", metavar="DATE", help="Last day YYYY-MM-DD, inclusive.")]
By = Annotated[str | None, typer.Option("--by", metavar="day|week|month",
                                        help="Bucket length; a week is ISO, from Monday (default: month).")]
Account = Annotated[str | None, typer.Option("--account", metavar="SLUG", help="Only this account.")]
Tree = Annotated[bool, typer.Option("--tree", help="With --account: its whole subtree.")]


def _range(lg: Ledger, since: str | None, until: str | None, by: str | None, today: bool = False,
           this_week: bool = False, this_month: bool = False) -> "list[Bucket]":
    from seatctl import clock
    from seatctl.rules.buckets import default_range, make_buckets

    tz = lg.read(lambda s, a, b: b.timezone)
    lo, hi, implied = default_range(lg.now, tz, today=today, this_week=this_week, this_month=this_month,
                                    since=clock.parse_date(since) if since else None,
                                    until=clock.parse_date(until) if until else None)
    return make_buckets(lo, hi, by or implied or "month")


def _chart(rows: list[dict[str, object]], buckets: "list[Bucket]", column: str, title: str) -> None:
    """A bar per bucket: the sum of a count column over the rows."""
    from seatctl.cli.render import bar_chart

    totals: dict[str, int] = {}
    for row in rows:
        value = row[column]
        assert isinstance(value, int), f"{column} is a count"
        totals[str(row["bucket"])] = totals.get(str(row["bucket"]), 0) + value
    bar_chart({b.label.isoformat(): totals.get(b.label.isoformat(), 0) for b in buckets}, title=title)


@app.command("usage")
@renders
def usage(
    account: Account = None,
    licence: Annotated[str | None, typer.Option("--licence", metavar="CODE", help="Only this licence type.")] = None,
    since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
    today: Annotated[bool, typer.Option("--today", help="Instead of --from/--to: today, by day.")] = False,
    this_week: Annotated[bool, typer.Option("--this-week", help="This ISO week (from Monday), by day.")] = False,
    this_month: Annotated[bool, typer.Option("--this-month", help="This month (the default range).")] = False,
    chart: Annotated[bool, typer.Option("--chart", help="Bar chart of seats in use per bucket.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Seats owned, in use (peak and end), seat-days, bought, released, cancelled, denied per bucket.

    Example: seatctl report usage --account acme --from 2026-01-01 --to 2026-03-31 --by month
    Example: seatctl report usage --this-week --chart
    """
    from seatctl.cli.render import Output
    from seatctl.reports.usage import COLUMNS, iter_usage_rows

    lg = Ledger()
    buckets = _range(lg, since, until, by, today, this_week, this_month)
    rows = lg.stream(lambda s: iter_usage_rows(s, buckets=buckets, slug=account, tree=tree, licence=licence,
                                               now=lg.now))
    if chart and (fmt is None or fmt.value in ("table", "plain")):
        collected = list(rows)
        _chart(collected, buckets, "in_use_peak", "seats in use (peak) per bucket")
        return Output(rows=collected, columns=COLUMNS)
    # CSV and JSON are written as the rows are read; the other formats collect them (column widths).
    return Output(rows=rows, columns=COLUMNS, message="No seat activity in that range.")


# `user list` under the name support staff look for
app.command("users", help="""Who is in the account: e-mail, name, role, status, licences held, since (same as `user list`).

    Example: seatctl report users acme --role agent
    """)(user_list)


@app.command("roles")
@renders
def roles(account: Account = None, tree: Tree = False, fmt: FormatOpt = None) -> "Output":
    """Users and active users per role.

    Example: seatctl report roles --account resell --tree
    """
    from seatctl.cli.render import Output
    from seatctl.reports.people import roles_rows

    return Output(rows=Ledger().read(lambda s, a, b: roles_rows(s, slug=account, tree=tree)),
                  columns=["account", "role", "users", "active"])


@app.command("revenue")
@renders
def revenue(account: Account = None, since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
            fmt: FormatOpt = None) -> "Output":
    """Invoiced amounts by bucket, account, invoice kind and licence (credit notes negative).

    Example: seatctl report revenue --from 2026-01-01 --to 2026-03-31 --by month
    """
    from seatctl.cli.render import Output
    from seatctl.reports.revenue import revenue_rows

    lg = Ledger()
    buckets = _range(lg, since, until, by)
    rows = lg.read(lambda s, a, b: revenue_rows(s, buckets=buckets, books=b, slug=account, tree=tree))
    return Output(rows=rows, columns=["bucket", "account", "kind", "licence", "amount"],
                  message="Nothing invoiced in that range.")


@app.command("denials")
@renders
def denials(
    account: Account = None,
    since: Annotated[str | None, typer.Option("--from", metavar="DATE", help="From this day YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--to", metavar="DATE", help="To this day YYYY-MM-DD, inclusive.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Refused assignments per account and licence: what to buy.

    Example: seatctl report denials --from 2026-11-01
    """
    from seatctl import clock
    from seatctl.cli.render import Output
    from seatctl.reports.denials import denial_rows
    from seatctl.rules.periods import local_midnight

    lg = Ledger()

    def rows(s: "Session", a: "Actor", b: "Books") -> list[dict[str, object]]:
        lo = local_midnight(clock.parse_date(since), b.timezone) if since else None
        hi = None
        if until:
            from datetime import timedelta

            hi = local_midnight(clock.parse_date(until) + timedelta(days=1), b.timezone)
        return denial_rows(s, slug=account, since=lo, until=hi)

    return Output(rows=lg.read(rows), columns=["account", "licence", "denials", "seats_missing", "last", "waiting"],
                  message="No refused assignments.")


@app.command("consumption")
@renders
def consumption(
    account: Account = None,
    meter: Annotated[str | None, typer.Option("--meter", metavar="CODE", help="Only this metered service.")] = None,
    since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
    chart: Annotated[bool, typer.Option("--chart", help="Bar chart of units used per bucket.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Metered use per bucket; allowance, overage and amount in the bucket holding each period's last day.

    Example: seatctl report consumption --account planco --from 2026-03-01 --to 2026-03-31
    """
    from seatctl.cli.render import Output
    from seatctl.reports.consumption import COLUMNS, consumption_rows

    lg = Ledger()
    buckets = _range(lg, since, until, by)
    rows = lg.read(lambda s, a, b: consumption_rows(s, buckets=buckets, books=b, slug=account, tree=tree,
                                                    meter=meter))
    if chart and (fmt is None or fmt.value in ("table", "plain")):
        _chart(rows, buckets, "used", "units used per bucket")
    return Output(rows=rows, columns=COLUMNS, message="No metered use in that range.")

