"""settings show|set: the ledger's currency, time zone, tax rate and invoice prefix (SPEC §10)."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders

if TYPE_CHECKING:
    from seatctl.cli.render import Output

app = Group()


@app.command("show")
@renders
def show(fmt: FormatOpt = None) -> "Output":
    """The ledger's settings, the same for every machine that shares it (any operator).

    Example: seatctl settings show
    """
    from seatctl.cli.render import Output
    from seatctl.ops.settings import show_settings

    return Output(rows=Ledger().read(lambda s, a, b: show_settings(s)), columns=["key", "value"])


@app.command("set", context_settings={"ignore_unknown_options": True})  # a value may begin with '-'
@renders
def set_(
    key: Annotated[str, typer.Argument(metavar="KEY", help="currency, timezone, tax_rate or invoice_prefix.")],
    value: Annotated[str, typer.Argument(metavar="VALUE",
                                         help="The new value: EUR, Europe/Madrid, 21 (percent), INV-.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Change one setting (billing; owner for currency). It applies to invoices written from now on;
    the currency cannot change once an invoice exists.

    Example: seatctl settings set tax_rate 21
    Example: seatctl settings set invoice_prefix FAC/
    Example: seatctl settings set timezone Europe/Madrid
    """
    from seatctl.cli.render import Output
    from seatctl.ops.settings import parse_value, set_setting

    parse_value(key, value)  # bad input is exit 2 before the ledger is opened
    lg = Ledger()
    result = lg.write(lambda s, a, b: set_setting(s, key, value, actor=a, now=lg.now))
    if result["changed"]:
        message = (f"{key} is now {result['value']} (was {result['previous']}); "
                   "it applies to invoices written from now on.")
    else:
        message = f"{key} is already {result['value']}."
    return Output(obj=result, message=message)
