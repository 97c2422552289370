"""Ledger settings (SPEC §10): what changes money is the same for every machine sharing the ledger.

`currency`, `timezone` (the default of new accounts; also the calendar of invoice years),
`tax_rate` (percent; 0 is no tax line) and `invoice_prefix` live in the `setting` table beside two
internal rows: `minor_digits` (follows `currency`) and `config_copied` (when `init` copied the old
config keys into this ledger; it never copies twice). A change is one event, `settings.set`, and
applies to invoices written by commands started after it.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, text
from sqlmodel import Session, select

from seatctl.errors import Busy, Refused, UsageError
from seatctl.rules.books import Books
from seatctl.rules.money import minor_digits
from seatctl.rules.periods import check_timezone
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.executor import Executor
from seatctl.store.tables import invoice_table, purchase_order_table, setting_table

KEYS = ("currency", "timezone", "tax_rate", "invoice_prefix")
DEFAULTS = {"currency": "EUR", "timezone": "UTC", "tax_rate": "0", "invoice_prefix": "INV-"}
ROLE = {"currency": "owner", "timezone": "billing", "tax_rate": "billing", "invoice_prefix": "billing"}
COPIED = "config_copied"  # internal: when `init` copied tax_rate/invoice_prefix from a config file
CREDIT_SERIES = "CN-"  # credit notes' own series (ops/invoices.py); no invoice prefix may take it

# A change of the currency and the writers of amounts in it (every invoice, an order's quote) take turns.
# On SQLite the write lock does it. On PostgreSQL they take one advisory lock of this ledger (the setting
# table's oid names it), exclusive for the change and shared for the writers, each until its transaction
# ends; a row lock on the setting row (FOR SHARE) would need UPDATE on the table, which only billing
# roles hold, and an operator's write invoices too (the close it runs first). After the lock, the writer
# checks that the currency it priced in is still the ledger's (`check_currency`): the command read the
# settings when it started, and a change may have committed since.
_LOCK = 1936028020  # seatctl's own first key; the second is the table's oid
CURRENCY_SHARED = text(f"SELECT pg_advisory_xact_lock_shared({_LOCK}, 'setting'::regclass::oid::int)")
CURRENCY_EXCLUSIVE = text(f"SELECT pg_advisory_xact_lock({_LOCK}, 'setting'::regclass::oid::int)")

_RATE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,4})?$")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9/_-]{0,19}$")
PREFIX_RULE = "1 to 20 characters: ASCII letters, digits, '-', '/' or '_', starting with a letter"


def check_key(key: str) -> str:
    if key not in KEYS:
        raise UsageError(f"unknown setting '{key}'", f"Settings: {', '.join(KEYS)}")
    return key


def parse_tax_rate(text: str) -> str:
    """A percentage from 0 to 100, plain decimal text with at most 4 decimals ("21", "8.875")."""
    value = text.strip()
    try:
        rate = Decimal(value) if _RATE.fullmatch(value) else None
    except InvalidOperation:
        rate = None
    if rate is None or rate > 100:
        raise UsageError(f"tax rate '{text}' is not a percentage from 0 to 100",
                         "Write it like 21 or 8.875 (0 for no tax line)")
    whole, _, decimals = value.partition(".")
    decimals = decimals.rstrip("0")
    return f"{int(whole)}.{decimals}" if decimals else str(int(whole))


def parse_prefix(text: str) -> str:
    if not _PREFIX.fullmatch(text):
        raise UsageError(f"invoice prefix '{text}' is not valid", f"Use {PREFIX_RULE}, e.g. INV-")
    if text.upper() == CREDIT_SERIES:
        raise UsageError(f"invoice prefix '{text}' is the credit notes' series", "Choose another, e.g. INV-")
    return text


def parse_currency(text: str) -> str:
    minor_digits(text)  # an unknown code is exit 2
    return text.upper()


def parse_value(key: str, value: str) -> str:
    """The stored text of a setting's value; bad input is exit 2 (nothing is written)."""
    check_key(key)
    if key == "currency":
        return parse_currency(value)
    if key == "timezone":
        return check_timezone(value)
    if key == "tax_rate":
        return parse_tax_rate(value)
    return parse_prefix(value)


def stored(session: Session) -> dict[str, str]:
    s = setting_table.c
    return {str(k): str(v) for k, v in session.exec(select(s.key, s.value)).all()}


def show_settings(session: Session) -> list[dict[str, str]]:
    values = stored(session)
    return [{"key": key, "value": values.get(key, DEFAULTS[key])} for key in KEYS]


def write_values(session: Session, values: dict[str, str]) -> None:
    """Insert or replace setting rows (validated already)."""
    s = setting_table.c
    present = {str(k) for k in session.exec(select(s.key).where(s.key.in_(list(values)))).all()}
    for key, value in values.items():
        if key in present:
            session.execute(setting_table.update().where(s.key == key).values(value=value))
        else:
            session.execute(setting_table.insert().values(key=key, value=value))


def set_setting(session: Session, key: str, value: str, *, actor: Actor, now: datetime) -> dict[str, object]:
    """`settings set KEY VALUE`: billing (owner for `currency`); one `settings.set` event."""
    new = parse_value(key, value)
    actor.require(ROLE[key], f"change the ledger's {key}")
    s = setting_table.c
    # Lock the row on PostgreSQL (SQLite's write transaction holds the whole file already).
    row = session.exec(select(s.value).where(s.key == key).with_for_update()).first()
    old = str(row) if row is not None else DEFAULTS[key]
    if new == old:
        return {"key": key, "value": new, "previous": old, "changed": False}
    changes = {key: new}
    if key == "currency":
        _check_currency_free(session, old)
        changes["minor_digits"] = str(minor_digits(new))
    write_values(session, changes)
    audit.record(session, at=now, operator=actor.name, action="settings.set", key=key, value=new, previous=old)
    return {"key": key, "value": new, "previous": old, "changed": True}


def share_currency_lock(ex: Executor) -> None:
    """PostgreSQL: the writer's side of the currency lock (nothing to read: in a batched close it goes
    with the next statement's round trip)."""
    if ex.dialect.name == "postgresql":
        ex.run(CURRENCY_SHARED, {})


def check_currency(priced_in: str, current: str | None) -> None:
    """What was priced in `priced_in` may be written only while that is still the ledger's currency."""
    current = current or DEFAULTS["currency"]
    if current != priced_in:
        raise Busy(f"the ledger's currency changed from {priced_in} to {current} while this command ran; "
                   "nothing was written", "Run the command again")


def hold_currency(session: Session, books: Books) -> None:
    """Before an amount is written in the ledger's currency outside an invoice (an order's quote): the
    shared lock, then the check (invoices do both in `invoices.take_numbers`)."""
    ex = Executor.of(session)
    share_currency_lock(ex)
    s = setting_table.c
    check_currency(books.currency, session.exec(select(s.value).where(s.key == "currency")).first())


def _check_currency_free(session: Session, old: str) -> None:
    """Amounts are stored in the currency's minor units: once an invoice (or an order, whose quote
    is stored the same way) exists, the currency is that ledger's for good. On PostgreSQL the
    exclusive currency lock first: writers that hold it shared (their invoice or order not yet
    committed) are waited for, then counted; later ones wait for this change and find it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(CURRENCY_EXCLUSIVE)
    invoices = session.exec(select(func.count()).select_from(invoice_table)).one()
    if invoices:
        raise Refused(f"the currency cannot change once invoices exist ({invoices} in {old})",
                      "Start a new ledger for another currency")
    orders = session.exec(select(func.count()).select_from(purchase_order_table)).one()
    if orders:
        raise Refused(f"the currency cannot change once orders exist ({orders} quoted in {old})",
                      "Start a new ledger for another currency")
