"""plan add|list|show, meter add|list, usage record|import."""

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

plan_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
meter_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
usage_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
PLAN_COLUMNS = ["code", "name", "monthly", "annual", "includes", "allowances", "accounts"]


@plan_app.command("add")
def plan_add(
    code: Annotated[str, typer.Argument(help="Plan code.")],
    name: Annotated[str, typer.Option("--name")],
    monthly: Annotated[str | None, typer.Option("--monthly", help="Base fee per month.")] = None,
    annual: Annotated[str | None, typer.Option("--annual", help="Base fee per year.")] = None,
    includes: Annotated[str | None, typer.Option("--includes", help="Seats included, e.g. base=5,voip=2.")] = None,
    allowance: Annotated[str | None, typer.Option("--allowance", help="Units per period, e.g. sms=1000.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add a plan."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import plans

        lg = Ledger()
        inc = plans.parse_pairs(includes, "includes")
        allow = plans.parse_pairs(allowance, "allowance")
        lg.write(lambda s, a, b: plans.add_plan(s, code=code, name=name, monthly=monthly, annual=annual, includes=inc,
                                                allowances=allow, actor=a, now=lg.now))
        return Output(obj=lg.read(lambda s, a, b: plans.show_plan(s, code, b.digits)), message=f"Added plan '{code}'.")

    execute(fmt, produce)


@plan_app.command("list")
def plan_list(fmt: FormatOpt = None) -> None:
    """Plans with their fees, included seats and allowances."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import plans

        return Output(rows=Ledger().read(lambda s, a, b: plans.plan_rows(s, b.digits)), columns=PLAN_COLUMNS)

    execute(fmt, produce)


@plan_app.command("show")
def plan_show(code: Annotated[str, typer.Argument(help="Plan code.")], fmt: FormatOpt = None) -> None:
    """One plan."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import plans

        return Output(obj=Ledger().read(lambda s, a, b: plans.show_plan(s, code, b.digits)), title=f"plan {code}")

    execute(fmt, produce)


@meter_app.command("add")
def meter_add(
    code: Annotated[str, typer.Argument(help="Meter code, e.g. sms.")],
    name: Annotated[str, typer.Option("--name")],
    unit_price: Annotated[str | None, typer.Option("--unit-price", help="Price of one unit.")] = None,
    tiers: Annotated[str | None, typer.Option("--tiers", help="UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT].")] = None,
    tier_mode: Annotated[str | None, typer.Option("--tier-mode", help="volume or graduated.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Add a metered service."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        lg = Ledger()
        lg.write(lambda s, a, b: catalogue.add_meter(s, code=code, name=name, unit_price=unit_price, tiers=tiers,
                                                 tier_mode=tier_mode, actor=a, now=lg.now))
        row = lg.read(lambda s, a, b: next(r for r in catalogue.meter_rows(s, b.digits) if r["code"] == code))
        return Output(obj=row, message=f"Added meter '{code}'.")

    execute(fmt, produce)


@meter_app.command("list")
def meter_list(fmt: FormatOpt = None) -> None:
    """Metered services and their prices."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        return Output(rows=Ledger().read(lambda s, a, b: catalogue.meter_rows(s, b.digits)),
                      columns=["code", "name", "unit_price", "tiers"])

    execute(fmt, produce)


@usage_app.command("record")
def usage_record(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    meter: Annotated[str, typer.Argument(help="Meter code.")],
    quantity: Annotated[int, typer.Argument(help="Units used (a whole number ≥ 0).")],
    at: Annotated[str | None, typer.Option("--at", help="When (ISO-8601; default now).")] = None,
    id_: Annotated[str | None, typer.Option("--id", help="Unique id: a repeat is ignored.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Record usage of a metered service."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl import clock
        from seatctl.cli.render import Output
        from seatctl.ops import metering

        lg = Ledger()
        item = metering.UsageInput(account, meter, quantity, clock.parse_instant(at) if at else None, id_)
        result = lg.write(lambda s, a, b: metering.record_usage(s, [item], actor=a, now=lg.now, books=b))
        message = (f"Recorded {quantity} '{meter}' for '{account}'." if result["recorded"]
                   else f"Already recorded (id '{id_}'); ignored.")
        return Output(obj={"account": account, "meter": meter, "quantity": quantity, **result}, message=message)

    execute(fmt, produce)


@usage_app.command("import")
def usage_import(
    file: Annotated[str, typer.Argument(help="CSV with header account,meter,quantity,at,id.")],
    fmt: FormatOpt = None,
) -> None:
    """Import usage from a CSV: all or nothing; rows whose id is already known are ignored."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.errors import UsageError
        from seatctl.ops import metering

        items = metering.read_usage_csv(file)
        if not items:
            raise UsageError(f"'{file}' has no rows", "Add rows below the header account,meter,quantity,at,id")
        lg = Ledger()
        result = lg.write(lambda s, a, b: metering.record_usage(s, items, actor=a, now=lg.now, books=b))
        return Output(obj=result, message=f"Imported {result['recorded']} usage rows "
                                          f"({result['ignored']} already recorded, ignored).")

    execute(fmt, produce)
