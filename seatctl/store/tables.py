"""The ledger's tables. Timestamps are naive UTC; money is integer minor units.

Each table is a SQLAlchemy Core `Table`, mapped onto a plain class whose annotations name its
columns for readers and type checkers (a test checks the two agree). The classes were SQLModel
models, then declarative ones; building those cost 60 ms, then 30 ms, at every start-up, for
validation and annotation scanning nothing used.
"""

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import registry

# Amounts of money (minor units) and metered quantities: 64-bit on PostgreSQL (revision 0003), since a
# usage quantity may reach 10^12 and an invoice more than 21 million in 32 bits' cents; SQLite's
# INTEGER is 64-bit already.
Big = BigInteger().with_variant(Integer(), "sqlite")

# Named constraints so migrations (batch mode on SQLite) can find them again.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
_registry = registry(metadata=metadata)


class Row:
    """A mapped row. Keyword construction sets each column's default at once (not only at
    INSERT), so a new row reads the same before and after it is flushed."""

    __table__: ClassVar[Table]

    def __init__(self, **values: Any) -> None:
        for column in self.__table__.columns:
            default = column.default
            if column.key not in values and default is not None and default.is_scalar:
                values[column.key] = default.arg  # type: ignore[attr-defined]
        for key, value in values.items():
            if key not in self.__table__.columns:
                raise TypeError(f"{type(self).__name__} has no column {key!r}")
            setattr(self, key, value)




setting_table = Table(
    "setting", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String, nullable=False),
)


class Setting(Row):
    """Ledger settings (SPEC §10): currency (and its minor digits), timezone, tax_rate,
    invoice_prefix; ops/settings.py reads and changes them."""

    key: str
    value: str


operator_table = Table(
    "operator", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("role IN ('viewer','operator','billing','owner')", name="role"),
)


class Operator(Row):
    id: int
    name: str
    role: str
    created_at: datetime


licence_table = Table(
    "licence", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), unique=True, nullable=False),
    Column("name", String, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


class Licence(Row):
    id: int
    code: str
    name: str
    created_at: datetime


licence_price_table = Table(
    "licence_price", metadata,
    Column("id", Integer, primary_key=True),
    Column("licence_id", Integer, ForeignKey("licence.id"), index=True, nullable=False),
    Column("cycle", String(16), nullable=False),
    Column("tiers", String, nullable=False),  # "inf:30.00" for a flat price
    Column("tier_mode", String(16), default="volume", nullable=False),
    Column("block", Integer, default=1, nullable=False),
    Column("set_at", DateTime, nullable=False),
    CheckConstraint("block >= 1", name="block_positive"),
    CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),
    CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
)


class LicencePrice(Row):
    """One price version of a licence for one cycle length; the latest one set before a
    period starts prices that period (the first version prices everything before it)."""

    id: int
    licence_id: int
    cycle: str
    tiers: str  # "inf:30.00" for a flat price
    tier_mode: str
    block: int
    set_at: datetime


account_table = Table(
    "account", metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), unique=True, nullable=False),
    Column("name", String, nullable=False),
    Column("mode", String(16), default="allocation", nullable=False),
    Column("cycle", String(16), default="monthly", nullable=False),
    Column("anchor", Date, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("status", String(16), default="active", nullable=False),
    Column("parent_id", Integer, ForeignKey("account.id"), index=True),
    Column("billed_via_parent", Boolean, default=False, nullable=False),
    Column("discount", String),  # percent, exact decimal text
    Column("created_at", DateTime, nullable=False),
    # The period the next close ends; kept on the row so cron finds due accounts in one query.
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("period_end_at", DateTime, index=True, nullable=False),  # period_end's local midnight, in UTC
    Column("pending_cycle", String(16)),
    Column("pending_anchor", Date),
    Column("plan_id", Integer, ForeignKey("plan.id")),
    Column("pending_plan_id", Integer, ForeignKey("plan.id")),
    Column("activated_at", DateTime),  # when a trial became active
    Column("closed_at", DateTime),  # set when the final period is closed
    CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
    CheckConstraint("mode IN ('allocation','peak')", name="mode"),
    CheckConstraint("status IN ('trial','active','suspended','closed')", name="status"),
)


class Account(Row):
    id: int
    slug: str
    name: str
    mode: str
    cycle: str
    anchor: date
    timezone: str
    status: str
    parent_id: int | None
    billed_via_parent: bool
    discount: str | None  # percent, exact decimal text
    created_at: datetime
    # The period the next close ends; kept on the row so cron finds due accounts in one query.
    period_start: date
    period_end: date
    period_end_at: datetime  # period_end's local midnight, in UTC
    pending_cycle: str | None
    pending_anchor: date | None
    plan_id: int | None
    pending_plan_id: int | None
    activated_at: datetime | None  # when a trial became active
    closed_at: datetime | None  # set when the final period is closed


minimum_table = Table(
    "minimum", metadata,
    Column("account_id", Integer, ForeignKey("account.id"), primary_key=True),
    Column("licence_id", Integer, ForeignKey("licence.id"), primary_key=True),
    Column("quantity", Integer, default=0, nullable=False),
    Column("pending_quantity", Integer),  # a lowered minimum, applied at the next close
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    CheckConstraint("pending_quantity IS NULL OR pending_quantity >= 0", name="pending_not_negative"),
)


class Minimum(Row):
    account_id: int
    licence_id: int
    quantity: int
    pending_quantity: int | None  # a lowered minimum, applied at the next close


app_user_table = Table(
    "app_user", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String),
    Column("role", String(64), default="member", nullable=False),
    Column("status", String(16), default="active", nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("account_id", "email", name="uq_app_user_account_email"),
    CheckConstraint("status IN ('active','inactive')", name="status"),
)


class User(Row):
    id: int
    account_id: int
    email: str
    name: str | None
    role: str
    status: str
    created_at: datetime


seat_table = Table(
    "seat", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("licence_id", Integer, ForeignKey("licence.id"), nullable=False),
    Column("bought_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime),
    Column("order_id", Integer, ForeignKey("purchase_order.id")),
    Index("ix_seat_pool", "account_id", "licence_id", "cancelled_at"),
    CheckConstraint("cancelled_at IS NULL OR cancelled_at >= bought_at", name="cancel_after_buy"),
)


class Seat(Row):
    """One owned unit of a licence, from purchase until cancelled (never deleted)."""

    id: int
    account_id: int
    licence_id: int
    bought_at: datetime
    cancelled_at: datetime | None
    order_id: int | None


assignment_table = Table(
    "assignment", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("licence_id", Integer, ForeignKey("licence.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("seat_id", Integer, ForeignKey("seat.id")),  # None in peak mode
    Column("assigned_at", DateTime, nullable=False),
    Column("released_at", DateTime),
    # One holder per seat and one seat of a licence per user, at any time.
    # (The migration gives PostgreSQL the same predicate; naming it here would import
    # SQLAlchemy's PostgreSQL dialect on every start-up, SQLite ledgers included.)
    Index("uq_assignment_open_seat", "seat_id", unique=True, sqlite_where=text("released_at IS NULL")),
    Index("uq_assignment_open_user_licence", "user_id", "licence_id", unique=True,
          sqlite_where=text("released_at IS NULL")),
    Index("ix_assignment_account_licence", "account_id", "licence_id", "assigned_at"),
    CheckConstraint("released_at IS NULL OR released_at >= assigned_at", name="release_after_assign"),
)


class Assignment(Row):
    """A seat held by a user from `assigned_at` until `released_at` (history is kept)."""

    id: int
    account_id: int
    licence_id: int
    user_id: int
    seat_id: int | None  # None in peak mode
    assigned_at: datetime
    released_at: datetime | None


purchase_order_table = Table(
    "purchase_order", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), index=True, nullable=False),
    Column("licence_id", Integer, ForeignKey("licence.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String, nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("decided_by", String),
    Column("decided_at", DateTime),
    Column("request_id", String(200), unique=True),
    Column("quote_minor", Big, default=0, nullable=False),
    Column("invoice_id", Integer, ForeignKey("invoice.id")),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("status IN ('pending','confirmed','cancelled')", name="status"),
)


class PurchaseOrder(Row):
    id: int
    account_id: int
    licence_id: int
    quantity: int
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    request_id: str | None
    quote_minor: int
    invoice_id: int | None


invoice_table = Table(
    "invoice", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), unique=True, nullable=False),
    Column("series", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("account_id", Integer, ForeignKey("account.id"), index=True, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal_minor", Big, nullable=False),
    Column("tax_minor", Big, default=0, nullable=False),
    Column("total_minor", Big, nullable=False),
    Column("credit_of", Integer, ForeignKey("invoice.id"), unique=True),
    Column("reason", String),
    CheckConstraint("kind IN ('purchase','renewal','usage','credit')", name="kind"),
    UniqueConstraint("series", "year", "seq", name="uq_invoice_series_year_seq"),
)


class Invoice(Row):
    """Immutable once written (triggers refuse UPDATE and DELETE)."""

    id: int
    number: str
    series: str
    year: int
    seq: int
    account_id: int
    kind: str
    issued_at: datetime
    period_start: date
    period_end: date
    currency: str
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    credit_of: int | None
    reason: str | None


invoice_line_table = Table(
    "invoice_line", metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", Integer, ForeignKey("invoice.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("licence_id", Integer, ForeignKey("licence.id")),
    Column("meter_id", Integer, ForeignKey("meter.id")),
    Column("kind", String(16), nullable=False),  # seat, fee, usage, discount, tax
    Column("description", String, nullable=False),
    Column("quantity", Big, nullable=False),
    Column("unit_price_minor", Big, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("period_days", Integer, nullable=False),
    Column("amount_minor", Big, nullable=False),
    UniqueConstraint("invoice_id", "line_no", name="uq_invoice_line_invoice_no"),
    # The unit price as shown, exact decimal text (a metered unit price keeps up to 6 decimals); NULL on
    # lines written before revision 0002, which show unit_price_minor.
    Column("unit_price", String),
)


class InvoiceLine(Row):
    id: int
    invoice_id: int
    line_no: int
    account_id: int
    licence_id: int | None
    meter_id: int | None
    kind: str  # seat, fee, usage, discount, tax
    description: str
    quantity: int
    unit_price_minor: int
    period_start: date
    period_end: date
    days: int
    period_days: int
    amount_minor: int
    unit_price: str | None  # exact decimal text; None on lines written before revision 0002


invoice_counter_table = Table(
    "invoice_counter", metadata,
    Column("series", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, default=0, nullable=False),
)


class InvoiceCounter(Row):
    """The last number issued per series and year: gapless because it moves in the same
    transaction as the invoice it numbers."""

    series: str
    year: int
    last: int


closed_period_table = Table(
    "closed_period", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("closed_at", DateTime, nullable=False),
    Column("seats_cancelled", Integer, default=0, nullable=False),
    Column("invoice_id", Integer, ForeignKey("invoice.id")),
    Column("total_minor", Big, default=0, nullable=False),
    Column("plan_id", Integer, ForeignKey("plan.id")),  # in force on the period's last day
    UniqueConstraint("account_id", "period_start", name="uq_closed_period_account_start"),
)


class ClosedPeriod(Row):
    """One row per closed account period; the unique constraint forbids a second close."""

    id: int
    account_id: int
    period_start: date
    period_end: date
    closed_at: datetime
    seats_cancelled: int
    invoice_id: int | None
    total_minor: int
    plan_id: int | None  # in force on the period's last day


event_table = Table(
    "event", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, index=True, nullable=False),
    Column("operator", String, nullable=False),
    Column("account_id", Integer, ForeignKey("account.id")),
    Column("licence_id", Integer, ForeignKey("licence.id")),
    Column("action", String(64), index=True, nullable=False),
    Column("quantity", Integer),  # seats counted by reports (denials)
    Column("details", String, default="{}", nullable=False),
    Index("ix_event_account_at", "account_id", "at"),
)


class Event(Row):
    """The append-only audit trail: one row per change, in the change's transaction."""

    id: int
    at: datetime
    operator: str
    account_id: int | None
    licence_id: int | None
    action: str
    quantity: int | None  # seats counted by reports (denials)
    details: str


plan_table = Table(
    "plan", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), unique=True, nullable=False),
    Column("name", String, nullable=False),
    Column("monthly_fee", String),  # exact decimal text; None: not sold monthly
    Column("annual_fee", String),
    Column("created_at", DateTime, nullable=False),
)


class Plan(Row):
    """A bundle: a base fee per period, seats included per licence, allowances per meter."""

    id: int
    code: str
    name: str
    monthly_fee: str | None  # exact decimal text; None: not sold monthly
    annual_fee: str | None
    created_at: datetime


plan_include_table = Table(
    "plan_include", metadata,
    Column("plan_id", Integer, ForeignKey("plan.id"), primary_key=True),
    Column("licence_id", Integer, ForeignKey("licence.id"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)


class PlanInclude(Row):
    plan_id: int
    licence_id: int
    quantity: int


plan_allowance_table = Table(
    "plan_allowance", metadata,
    Column("plan_id", Integer, ForeignKey("plan.id"), primary_key=True),
    Column("meter_id", Integer, ForeignKey("meter.id"), primary_key=True),
    Column("quantity", Big, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)


class PlanAllowance(Row):
    plan_id: int
    meter_id: int
    quantity: int


meter_table = Table(
    "meter", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), unique=True, nullable=False),
    Column("name", String, nullable=False),
    Column("tiers", String, nullable=False),  # "inf:0.05" for a flat unit price
    Column("tier_mode", String(16), default="volume", nullable=False),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),
)


class Meter(Row):
    """A metered service (SMS, e-mail, calls…) billed per unit above the plan's allowance."""

    id: int
    code: str
    name: str
    tiers: str  # "inf:0.05" for a flat unit price
    tier_mode: str
    created_at: datetime


usage_record_table = Table(
    "usage_record", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("meter_id", Integer, ForeignKey("meter.id"), nullable=False),
    Column("quantity", Big, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("external_id", String(200), unique=True),  # a repeated id is ignored
    Column("recorded_at", DateTime, nullable=False),
    Column("recorded_by", String, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    Index("ix_usage_record_account_meter_at", "account_id", "meter_id", "at"),
)


class UsageRecord(Row):
    id: int
    account_id: int
    meter_id: int
    quantity: int
    at: datetime
    external_id: str | None  # a repeated id is ignored
    recorded_at: datetime
    recorded_by: str


waitlist_table = Table(
    "waitlist", metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    Column("licence_id", Integer, ForeignKey("licence.id"), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("requested_by", String, nullable=False),
    Column("source", String(16), nullable=False),  # assign, sync
    Column("resolved_at", DateTime),
    Column("resolution", String(16)),  # seated, cancelled, dropped
    Column("assignment_id", Integer, ForeignKey("assignment.id")),
    CheckConstraint("source IN ('assign','sync')", name="source"),
    CheckConstraint("resolution IS NULL OR resolution IN ('seated','cancelled','dropped')", name="resolution"),
    CheckConstraint("(resolved_at IS NULL) = (resolution IS NULL)", name="resolved"),
    Index("ix_waitlist_account_licence", "account_id", "licence_id", "resolved_at", "id"),
    # At most one open request per user and licence (PostgreSQL's predicate is named in the migration).
    Index("uq_waitlist_open_user_licence", "user_id", "licence_id", unique=True,
          sqlite_where=text("resolved_at IS NULL")),
)


class Waitlist(Row):
    """An assignment waiting for a free seat, seated oldest first; resolved requests are kept."""

    id: int
    account_id: int
    user_id: int
    licence_id: int
    requested_at: datetime
    requested_by: str
    source: str  # assign, sync
    resolved_at: datetime | None
    resolution: str | None  # seated, cancelled, dropped
    assignment_id: int | None


for _row, _table in (
    (Setting, setting_table),
    (Operator, operator_table),
    (Licence, licence_table),
    (LicencePrice, licence_price_table),
    (Account, account_table),
    (Minimum, minimum_table),
    (User, app_user_table),
    (Seat, seat_table),
    (Assignment, assignment_table),
    (PurchaseOrder, purchase_order_table),
    (Invoice, invoice_table),
    (InvoiceLine, invoice_line_table),
    (InvoiceCounter, invoice_counter_table),
    (ClosedPeriod, closed_period_table),
    (Event, event_table),
    (Plan, plan_table),
    (PlanInclude, plan_include_table),
    (PlanAllowance, plan_allowance_table),
    (Meter, meter_table),
    (UsageRecord, usage_record_table),
    (Waitlist, waitlist_table),
):
    _registry.map_imperatively(_row, _table)
    _row.__table__ = _table

APPEND_ONLY_TABLES = ("invoice", "invoice_line", "event")
