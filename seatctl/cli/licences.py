"""licence add|list|show|set-price."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders

if TYPE_CHECKING:
    from seatctl.cli.render import Output
    from seatctl.ops.catalogue import PriceInput

app = Group()

Code = Annotated[str, typer.Argument(metavar="CODE", help="Licence code.")]
Monthly = Annotated[str | None, typer.Option("--monthly", metavar="PRICE", help="Flat price of one seat per month.")]
Annual = Annotated[str | None, typer.Option("--annual", metavar="PRICE", help="Flat price of one seat per year.")]
Tiers = Annotated[str | None, typer.Option("--tiers", metavar="TIERS",
                                           help="Monthly tiers UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT], e.g. 5:7.00,inf:6.00.")]
AnnualTiers = Annotated[str | None, typer.Option("--annual-tiers", metavar="TIERS", help="Annual tiers, same syntax.")]
TierMode = Annotated[str | None, typer.Option("--tier-mode", metavar="volume|graduated",
                                              help="How tiers add up (required with tiers).")]
Block = Annotated[str | None, typer.Option("--block", metavar="N", help="Bill quantities in whole blocks of N seats.")]


def _prices(monthly: str | None, annual: str | None, tiers: str | None, annual_tiers: str | None,
            tier_mode: str | None, block: str | None) -> "list[PriceInput]":
    from seatctl.errors import UsageError
    from seatctl.ops.catalogue import PriceInput
    from seatctl.rules.pricing import build

    if monthly is not None and tiers is not None:
        raise UsageError("give --monthly or --tiers, not both", "Tiers replace the flat price")
    if annual is not None and annual_tiers is not None:
        raise UsageError("give --annual or --annual-tiers, not both", "Tiers replace the flat price")
    out = []  # a price given empty is a bad price (exit 2), not an absent one
    if monthly is not None or tiers is not None:
        out.append(PriceInput("monthly", build(monthly, tiers, tier_mode, block)))
    if annual is not None or annual_tiers is not None:
        out.append(PriceInput("annual", build(annual, annual_tiers, tier_mode, block)))
    return out


@app.command("add")
@renders
def add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. voip.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    monthly: Monthly = None, annual: Annual = None, tiers: Tiers = None, annual_tiers: AnnualTiers = None,
    tier_mode: TierMode = None, block: Block = None, fmt: FormatOpt = None,
) -> "Output":
    """Add a licence type with its prices.

    Example: seatctl licence add voip --name 'VoIP calls' --monthly 5.35
    Example: seatctl licence add base --name 'Base plan' --tiers 5:7.00,10:6.50,inf:6.00 --tier-mode volume
    Example: seatctl licence add desk --name Desk --monthly 10.00 --annual 105.00 --block 50
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    lg = Ledger()
    prices = _prices(monthly, annual, tiers, annual_tiers, tier_mode, block)
    lg.write(lambda s, a, b: catalogue.add_licence(s, code=code, name=name, prices=prices, actor=a, now=lg.now))
    row = lg.read(lambda s, a, b: next(r for r in catalogue.list_licences(s, now=lg.now, digits=b.digits)
                                       if r["code"] == code))
    return Output(obj=row, message=f"Added licence '{code}' ({name}).")


@app.command("set-price")
@renders
def set_price(
    code: Code,
    monthly: Monthly = None, annual: Annual = None, tiers: Tiers = None, annual_tiers: AnnualTiers = None,
    tier_mode: TierMode = None, block: Block = None, fmt: FormatOpt = None,
) -> "Output":
    """Change prices; they apply from each account's next period.

    Example: seatctl licence set-price voip --monthly 5.60 --annual 58.00
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    lg = Ledger()
    prices = _prices(monthly, annual, tiers, annual_tiers, tier_mode, block)
    lg.write(lambda s, a, b: catalogue.set_price(s, code=code, prices=prices, actor=a, now=lg.now))
    return Output(obj={"code": code, **{p.cycle: p.schedule.spec() for p in prices}},
                  message=f"New prices for '{code}' apply from each account's next period.")


@app.command("list")
@renders
def list_(fmt: FormatOpt = None) -> "Output":
    """The catalogue with today's prices.

    Example: seatctl licence list
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    lg = Ledger()
    return Output(rows=lg.read(lambda s, a, b: catalogue.list_licences(s, now=lg.now, digits=b.digits)),
                  columns=["code", "name", "monthly", "annual"])


@app.command("show")
@renders
def show(code: Code, fmt: FormatOpt = None) -> "Output":
    """The tier table of a licence: one row per tier and cycle length (upto empty: no upper bound).

    Example: seatctl licence show base
    """
    from seatctl.cli.render import Output
    from seatctl.ops import catalogue

    lg = Ledger()
    return Output(rows=lg.read(lambda s, a, b: catalogue.show_licence(s, code=code, now=lg.now, digits=b.digits)),
                  columns=["licence", "cycle", "mode", "from", "upto", "unit_price", "flat", "block"])

