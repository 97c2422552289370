"""plan add|list|show, meter add|list, usage record|import."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders, steps

if TYPE_CHECKING:
    from seatctl.cli.render import Output

plan_app = Group()
meter_app = Group()
usage_app = Group()
PLAN_COLUMNS = ["code", "name", "monthly", "annual", "includes", "allowances", "accounts"]


@plan_app.command("add")
@renders
def plan_add(
    code: Annotated[str, typer.Argument(help="Plan code, e.g. team.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    monthly: Annotated[str | None, typer.Option("--monthly", metavar="FEE", help="Base fee per month.")] = None,
    annual: Annotated[str | None, typer.Option("--annual", metavar="FEE", help="Base fee per year.")] = None,
    includes: Annotated[str | None, typer.Option("--includes", metavar="LICENCE=N,…",
                                                 help="Seats included, e.g. base=5,voip=2.")] = None,
    allowance: Annotated[str | None, typer.Option("--allowance", metavar="METER=N,…",
                                                  help="Units included per period, e.g. sms=1000.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Add a plan: a base fee per period, included seats and metered allowances.

    Example: seatctl plan add team --name Team --monthly 50.00 --includes base=5 --allowance sms=1000
    """
    from seatctl.cli.render import Output
    from seatctl.ops import plans

    lg = Ledger()
    inc = plans.parse_pairs(includes, "includes")
    allow = plans.parse_pairs(allowance, "allowance")
    lg.write(lambda s, a, b: plans.add_plan(s, code=code, name=name, monthly=monthly, annual=annual, includes=inc,
                                            allowances=allow, actor=a, now=lg.now))
    return Output(obj=lg.read(lambda s, a, b: plans.show_plan(s, code, b.digits)), message=f"Added plan '{code}'.")


@plan_app.command("list")
@renders
def plan_list(fmt: FormatOpt = None) -> "Output":
    """Plans with their fees, included seats and allowances.

    Example: seatctl plan list
    """
    from seatctl.cli.render import Output
    from seatctl.ops import plans

    return Output(rows=Ledger().read(lambda s, a, b: plans.plan_rows(s, b.digits)), columns=PLAN_COLUMNS)


@plan_app.command("show")
@renders
def plan_show(code: Annotated[str, typer.Argument(help="Plan code.")], fmt: FormatOpt = None) -> "Output":
    """One plan.

    Example: seatctl plan show team
    """
    from seatctl.cli.render import Output
    from seatctl.ops import plans

    return Output(obj=Ledger().read(lambda s, a, b: plans.show_plan(s, code, b.digits)), title=f"plan {code}")


@meter_app.command("add")
@renders
def meter_add(
    code: Annotated[str, typer.Argument(help="Meter code, e.g. sms.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    unit_price: Annotated[str | None, typer.Option("--unit-price", metavar="PRICE",
                                                   help="Price of one unit (up to 6 decimals).")] = None,
    tiers: Annotated[str | None, typer.Option("--tiers", metavar="TIERS",
                                              help="Instead of a unit price: UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT].")] = None,
    tier_mode: Annotated[str | None, typer.Option("--tier-mode", metavar="volume|graduated",
                                                  help="How tiers add up (required with tiers).")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Add a metered service, billed per unit used above a plan's allowance.

    Example: seatctl meter add sms --name SMS --unit-price 0.05
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    lg = Ledger()
    lg.write(lambda s, a, b: catalogue.add_meter(s, code=code, name=name, unit_price=unit_price, tiers=tiers,
                                             tier_mode=tier_mode, actor=a, now=lg.now))
    row = lg.read(lambda s, a, b: next(r for r in catalogue.meter_rows(s, b.digits) if r["code"] == code))
    return Output(obj=row, message=f"Added meter '{code}'.")


@meter_app.command("list")
@renders
def meter_list(fmt: FormatOpt = None) -> "Output":
    """Metered services and their prices.

    Example: seatctl meter list
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    return Output(rows=Ledger().read(lambda s, a, b: catalogue.meter_rows(s, b.digits)),
                  columns=["code", "name", "unit_price", "tiers"])


@usage_app.command("record")
@renders
def usage_record(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    meter: Annotated[str, typer.Argument(help="Meter code.")],
    quantity_text: Annotated[str, typer.Argument(metavar="QUANTITY", help="Units used (a whole number from 0 to 10^12).")],
    at: Annotated[str | None, typer.Option("--at", metavar="TIME", help="When, ISO-8601 (default: now).")] = None,
    id_: Annotated[str | None, typer.Option("--id", metavar="ID",
                                            help="Unique id (across the ledger): a repeat is ignored.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Record usage of a metered service.

    Example: seatctl usage record planco sms 250 --at 2026-03-05T12:00:00Z --id crm-batch-17
    """
    from seatctl import clock
    from seatctl.cli.render import Output
    from seatctl.ops import metering
    from seatctl.rules import bounds

    quantity = bounds.usage(quantity_text)  # a usage error before the ledger is read
    lg = Ledger()
    item = metering.UsageInput(account, meter, quantity, clock.parse_instant(at) if at else None, id_)
    result = lg.write(lambda s, a, b: metering.record_usage(s, [item], actor=a, now=lg.now, books=b))
    message = (f"Recorded {quantity} '{meter}' for '{account}'." if result["recorded"]
               else f"Already recorded (id '{id_}'); ignored.")
    return Output(obj={"account": account, "meter": meter, "quantity": quantity, **result}, message=message)


@usage_app.command("import")
@renders
def usage_import(
    file: Annotated[str, typer.Argument(help="CSV with header account,meter,quantity,at,id.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Import usage from a CSV: all or nothing; rows whose id is already known are ignored.

    Example: seatctl usage import usage-2026-03.csv
    """
    from seatctl.cli.render import Output
    from seatctl.errors import UsageError
    from seatctl.ops import metering

    with steps(f"reading {file}", 2) as step:  # a progress bar on a terminal, nothing when piped
        items = metering.read_usage_csv(file)
        if not items:
            raise UsageError(f"'{file}' has no rows", "Add rows below the header account,meter,quantity,at,id")
        step(f"recording {len(items):,} usage rows")
        lg = Ledger()
        result = lg.write(lambda s, a, b: metering.record_usage(s, items, actor=a, now=lg.now, books=b))
        step("done")
    return Output(obj=result, message=f"Imported {result['recorded']} usage rows "
                                      f"({result['ignored']} already recorded, ignored).")

