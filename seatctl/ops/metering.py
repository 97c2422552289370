"""Plan changes and metered usage: the write side of plans, through the ledger's one write path."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from seatctl import clock
from seatctl.errors import Refused, SeatctlError, UsageError
from seatctl.ops.catalogue import find_meter, meter_schedule
from seatctl.ops.lookup import period_start_at
from seatctl.ops.write import for_write, require_open
from seatctl.rules import bounds
from seatctl.rules.books import Books
from seatctl.rules.csvfile import read_csv
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import Account, Meter, UsageRecord


@dataclass
class UsageInput:
    account: str
    meter: str
    quantity: int
    at: datetime | None
    external_id: str | None
    row: str = ""


def record_usage(session: Session, items: list[UsageInput], *, actor: Actor, now: datetime,
                 books: Books) -> dict[str, int]:
    """Store metered usage, all or nothing; a repeated id (in the ledger or the batch) is ignored."""
    for item in items:  # usage (2) before permission (5)
        bounds.usage(item.quantity, f"row {item.row}: quantity" if item.row else "quantity")
    actor.require("operator", "record usage")
    ids = [i.external_id for i in items if i.external_id]
    known = set(session.exec(select(UsageRecord.external_id).where(col(UsageRecord.external_id).in_(ids))).all()) \
        if ids else set()
    accounts: dict[str, Account] = {}
    meters: dict[int, Meter] = {}
    rows: list[dict[str, object]] = []
    quantities: list[int] = []
    ignored = 0
    for item in items:
        where = f"row {item.row}: " if item.row else ""
        if item.external_id and item.external_id in known:
            ignored += 1
            continue
        try:
            if item.account not in accounts:
                accounts[item.account] = for_write(session, item.account, actor=actor, now=now, books=books,
                                                   allow_closed=True)
            meter = find_meter(session, item.meter)
            require_open(accounts[item.account])  # after the meter: not found (3) wins over a rule (4)
        except SeatctlError as err:  # name the row of a file
            if where:
                err.what = where + err.what
            raise
        account = accounts[item.account]
        at = item.at or now
        if at > now:
            raise Refused(f"{where}usage at {at.isoformat()}Z is in the future", "Record usage once it happened")
        if at < account.created_at:
            raise Refused(f"{where}usage at {at.isoformat()}Z is before account '{account.slug}' existed",
                          "Check the date")
        if at < period_start_at(account):
            raise Refused(f"{where}usage at {at.isoformat()}Z falls in a period already closed",
                          f"Periods close at their end; the current one began {account.period_start}")
        if item.external_id:
            known.add(item.external_id)
        meters[meter.id or 0] = meter
        quantities.append(item.quantity)
        rows.append({"account_id": account.id, "meter_id": meter.id, "quantity": item.quantity, "at": at,
                     "external_id": item.external_id, "recorded_at": now, "recorded_by": actor.name})
    _within_bill_bound(session, accounts, meters, rows)
    if rows:
        session.execute(insert(UsageRecord), rows)
        for account in accounts.values():
            mine = [item_quantity for r, item_quantity in zip(rows, quantities, strict=True)
                    if r["account_id"] == account.id]
            if mine:
                # The units go in the details: up to 10^12 a record, they may not fit the event's
                # 32-bit quantity column on PostgreSQL (which counts seats, for reports).
                audit.record(session, at=now, operator=actor.name, action="usage.record", account_id=account.id,
                             units=sum(mine), records=len(mine))
    return {"recorded": len(rows), "ignored": ignored}


def _within_bill_bound(session: Session, accounts: dict[str, Account], meters: dict[int, Meter],
                       rows: list[dict[str, Any]]) -> None:
    """Refuse usage that would make a meter's use in the account's current period bill more than
    `bounds.MAX_BILL` (before allowances): each record is at most 10^12 units, but their sum times a
    unit price could otherwise overflow the invoice's 64-bit amount and fail that period's close for
    good."""
    added: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        added[(row["account_id"], row["meter_id"])] += row["quantity"]
    by_id = {account.id: account for account in accounts.values()}
    for (account_id, meter_id), quantity in sorted(added.items()):
        account = by_id[account_id]
        so_far = session.exec(select(func.sum(UsageRecord.quantity)).where(
            UsageRecord.account_id == account_id, UsageRecord.meter_id == meter_id,
            col(UsageRecord.at) >= period_start_at(account))).one()
        meter = meters[meter_id]
        if meter_schedule(meter).price(int(so_far or 0) + quantity) > bounds.MAX_BILL:
            raise Refused(f"'{meter.code}' usage in account '{account.slug}' this period would bill more than "
                          f"{bounds.MAX_BILL:,}", "Check the quantities: this is far beyond any real use")


def read_usage_csv(path: str) -> list[UsageInput]:
    out = []
    for row in read_csv(path, ("account", "meter", "quantity"), ("at", "id")):
        where = f"row {row['_row']} of '{path}': "
        quantity = bounds.usage(row.get("quantity", ""), f"{where}quantity")
        if not row.get("account") or not row.get("meter"):
            raise UsageError(f"{where}account and meter are required", "Fill both columns")
        try:
            at = clock.parse_instant(row["at"]) if row.get("at") else None
        except UsageError:
            raise UsageError(f"{where}'{row['at']}' is not an ISO-8601 instant", "e.g. 2026-11-16T09:30:00Z") from None
        out.append(UsageInput(row["account"], row["meter"], quantity, at, row.get("id") or None, row["_row"]))
    return out








