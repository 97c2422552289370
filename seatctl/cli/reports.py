"""report usage|users|roles|revenue|denials: tables support staff paste into tickets."""

from __future__ import annotations

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

Since = Annotated[str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: this month).")]
Until = Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")]
By = Annotated[str | None, typer.Option("--by", help="day, week (ISO, from Monday) or month.")]
Account = Annotated[str | None, typer.Option("--account", help="Only this account.")]
Tree = Annotated[bool, typer.Option("--tree", help="With --account: its whole subtree.")]


def _range(lg: Ledger, since, until, by, today=False, this_week=False, this_month=False):  # type: ignore[no-untyped-def]
    from seatctl import clock
    from seatctl.rules.buckets import default_range, make_buckets

    tz = lg.read(lambda s, a, b: b.timezone)
    lo, hi, implied = default_range(lg.now, tz, today=today, this_week=this_week, this_month=this_month,
                                    since=clock.parse_date(since) if since else None,
                                    until=clock.parse_date(until) if until else None)
    return make_buckets(lo, hi, by or implied or "month")


@app.command("usage")
def usage(
    account: Account = None, licence: Annotated[str | None, typer.Option("--licence")] = None,
    since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
    today: Annotated[bool, typer.Option("--today")] = False,
    this_week: Annotated[bool, typer.Option("--this-week")] = False,
    this_month: Annotated[bool, typer.Option("--this-month")] = False,
    chart: Annotated[bool, typer.Option("--chart", help="Bar chart of seats in use per bucket.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Seats owned, in use (peak and end), seat-days, bought, released, cancelled, denied per bucket."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.reports.usage import COLUMNS, iter_usage_rows

        lg = Ledger()
        buckets = _range(lg, since, until, by, today, this_week, this_month)
        rows = lg.stream(lambda s: iter_usage_rows(s, buckets=buckets, slug=account, tree=tree, licence=licence))
        if chart and (fmt is None or fmt.value in ("table", "plain")):
            from seatctl.cli.render import bar_chart

            rows = list(rows)
            peaks: dict[str, int] = {}
            for row in rows:
                peaks[str(row["bucket"])] = peaks.get(str(row["bucket"]), 0) + int(row["in_use_peak"])
            bar_chart({b.label.isoformat(): peaks.get(b.label.isoformat(), 0) for b in buckets},
                      title="seats in use (peak) per bucket")
            return Output(rows=rows, columns=COLUMNS)
        # CSV and JSON are written as the rows are read; the other formats collect them (column widths).
        return Output(rows=rows, columns=COLUMNS, message="No seat activity in that range.")

    execute(fmt, produce)


@app.command("users")
def users(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    role: Annotated[str | None, typer.Option("--role")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active or inactive.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Who is in the account: e-mail, name, role, status, licences held, since (same as `user list`)."""
    from seatctl.cli.users import list_

    list_(account, role, status, fmt)


@app.command("roles")
def roles(account: Account = None, tree: Tree = False, fmt: FormatOpt = None) -> None:
    """Users and active users per role."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.reports.people import roles_rows

        return Output(rows=Ledger().read(lambda s, a, b: roles_rows(s, slug=account, tree=tree)),
                      columns=["account", "role", "users", "active"])

    execute(fmt, produce)


@app.command("revenue")
def revenue(account: Account = None, since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
            fmt: FormatOpt = None) -> None:
    """Invoiced amounts by bucket, account, invoice kind and licence (credit notes negative)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.reports.revenue import revenue_rows

        lg = Ledger()
        buckets = _range(lg, since, until, by)
        rows = lg.read(lambda s, a, b: revenue_rows(s, buckets=buckets, books=b, slug=account, tree=tree))
        return Output(rows=rows, columns=["bucket", "account", "kind", "licence", "amount"],
                      message="Nothing invoiced in that range.")

    execute(fmt, produce)


@app.command("denials")
def denials(account: Account = None, since: Since = None, until: Until = None, fmt: FormatOpt = None) -> None:
    """Refused assignments per account and licence: what to buy."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl import clock
        from seatctl.cli.render import Output
        from seatctl.reports.denials import denial_rows
        from seatctl.rules.periods import local_midnight

        lg = Ledger()

        def rows(s, a, b):  # type: ignore[no-untyped-def]
            lo = local_midnight(clock.parse_date(since), b.timezone) if since else None
            hi = None
            if until:
                from datetime import timedelta

                hi = local_midnight(clock.parse_date(until) + timedelta(days=1), b.timezone)
            return denial_rows(s, slug=account, since=lo, until=hi)

        return Output(rows=lg.read(rows), columns=["account", "licence", "denials", "seats_missing", "last"],
                      message="No refused assignments.")

    execute(fmt, produce)


@app.command("consumption")
def consumption(
    account: Account = None, meter: Annotated[str | None, typer.Option("--meter")] = None,
    since: Since = None, until: Until = None, by: By = None, tree: Tree = False,
    chart: Annotated[bool, typer.Option("--chart", help="Bar chart of units used per bucket.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Metered use per bucket; allowance, overage and amount in the bucket holding each period's last day."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.reports.consumption import COLUMNS, consumption_rows

        lg = Ledger()
        buckets = _range(lg, since, until, by)
        rows = lg.read(lambda s, a, b: consumption_rows(s, buckets=buckets, books=b, slug=account, tree=tree,
                                                        meter=meter))
        if chart and (fmt is None or fmt.value in ("table", "plain")):
            from seatctl.cli.render import bar_chart

            used: dict[str, int] = {}
            for row in rows:
                used[str(row["bucket"])] = used.get(str(row["bucket"]), 0) + int(row["used"])
            bar_chart({b.label.isoformat(): used.get(b.label.isoformat(), 0) for b in buckets},
                      title="units used per bucket")
        return Output(rows=rows, columns=COLUMNS, message="No metered use in that range.")

    execute(fmt, produce)
