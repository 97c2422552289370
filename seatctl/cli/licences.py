"""licence add|list|set-price."""

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

Monthly = Annotated[str | None, typer.Option("--monthly", help="Flat price of one seat per month.")]
Annual = Annotated[str | None, typer.Option("--annual", help="Flat price of one seat per year.")]
Tiers = Annotated[str | None, typer.Option("--tiers", help="Monthly tiers UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT].")]
AnnualTiers = Annotated[str | None, typer.Option("--annual-tiers", help="Annual tiers, same syntax.")]
TierMode = Annotated[str | None, typer.Option("--tier-mode", help="volume or graduated (required with tiers).")]
Block = Annotated[int | None, typer.Option("--block", help="Bill quantities in whole blocks of N.")]


def _prices(monthly, annual, tiers, annual_tiers, tier_mode, block):  # type: ignore[no-untyped-def]
    from seatctl.errors import UsageError
    from seatctl.ops.catalogue import PriceInput
    from seatctl.rules.pricing import build

    if monthly and tiers:
        raise UsageError("give --monthly or --tiers, not both", "Tiers replace the flat price")
    if annual and annual_tiers:
        raise UsageError("give --annual or --annual-tiers, not both", "Tiers replace the flat price")
    out = []
    if monthly or tiers:
        out.append(PriceInput("monthly", build(monthly, tiers, tier_mode, block)))
    if annual or annual_tiers:
        out.append(PriceInput("annual", build(annual, annual_tiers, tier_mode, block)))
    return out


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. voip.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    monthly: Monthly = None, annual: Annual = None, tiers: Tiers = None, annual_tiers: AnnualTiers = None,
    tier_mode: TierMode = None, block: Block = None, fmt: FormatOpt = None,
) -> None:
    """Add a licence type with its prices."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        lg = Ledger()
        prices = _prices(monthly, annual, tiers, annual_tiers, tier_mode, block)
        lg.write(lambda s, a, b: catalogue.add_licence(s, code=code, name=name, prices=prices, actor=a, now=lg.now))
        row = lg.read(lambda s, a, b: next(r for r in catalogue.list_licences(s, now=lg.now, digits=b.digits)
                                           if r["code"] == code))
        return Output(obj=row, message=f"Added licence '{code}' ({name}).")

    execute(fmt, produce)


@app.command("set-price")
def set_price(
    code: Annotated[str, typer.Argument(help="Licence code.")],
    monthly: Monthly = None, annual: Annual = None, tiers: Tiers = None, annual_tiers: AnnualTiers = None,
    tier_mode: TierMode = None, block: Block = None, fmt: FormatOpt = None,
) -> None:
    """Change prices; they apply from each account's next period."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        lg = Ledger()
        prices = _prices(monthly, annual, tiers, annual_tiers, tier_mode, block)
        lg.write(lambda s, a, b: catalogue.set_price(s, code=code, prices=prices, actor=a, now=lg.now))
        return Output(obj={"code": code, **{p.cycle: p.schedule.spec() for p in prices}},
                      message=f"New prices for '{code}' apply from each account's next period.")

    execute(fmt, produce)


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """The catalogue with today's prices."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        lg = Ledger()
        return Output(rows=lg.read(lambda s, a, b: catalogue.list_licences(s, now=lg.now, digits=b.digits)),
                      columns=["code", "name", "monthly", "annual"])

    execute(fmt, produce)


@app.command("show")
def show(code: Annotated[str, typer.Argument(help="Licence code.")], fmt: FormatOpt = None) -> None:
    """The tier table of a licence: one row per tier and cycle length (upto empty: no upper bound)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import catalogue

        lg = Ledger()
        return Output(rows=lg.read(lambda s, a, b: catalogue.show_licence(s, code=code, now=lg.now, digits=b.digits)),
                      columns=["licence", "cycle", "mode", "from", "upto", "unit_price", "flat", "block"])

    execute(fmt, produce)
