"""The ledger's tables. Timestamps are naive UTC; money is integer minor units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, DateTime, Index, MetaData, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Named constraints so migrations (batch mode on SQLite) can find them again.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

ROLES = ("viewer", "operator", "billing", "owner")


class Setting(SQLModel, table=True):
    """Ledger-wide facts fixed at `init`: currency, minor digits, time zone."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class Operator(SQLModel, table=True):
    __tablename__ = "operator"
    __table_args__ = (CheckConstraint("role IN ('viewer','operator','billing','owner')", name="role"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=DateTime)


class Licence(SQLModel, table=True):
    __tablename__ = "licence"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    created_at: datetime = Field(sa_type=DateTime)


class LicencePrice(SQLModel, table=True):
    """One price version of a licence for one cycle length; the latest one set before a
    period starts prices that period (the first version prices everything before it)."""

    __tablename__ = "licence_price"
    __table_args__ = (
        CheckConstraint("block >= 1", name="block_positive"),
        CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),
        CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
    )
    id: int | None = Field(default=None, primary_key=True)
    licence_id: int = Field(foreign_key="licence.id", index=True)
    cycle: str = Field(max_length=16)
    tiers: str  # "inf:30.00" for a flat price
    tier_mode: str = Field(default="volume", max_length=16)
    block: int = 1
    set_at: datetime = Field(sa_type=DateTime)


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
        CheckConstraint("mode IN ('allocation','peak')", name="mode"),
        CheckConstraint("status IN ('trial','active','suspended','closed')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str
    mode: str = Field(default="allocation", max_length=16)
    cycle: str = Field(default="monthly", max_length=16)
    anchor: date
    timezone: str = Field(max_length=64)
    status: str = Field(default="active", max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    billed_via_parent: bool = False
    discount: str | None = None  # percent, exact decimal text
    created_at: datetime = Field(sa_type=DateTime)
    # The period the next close ends; kept on the row so cron finds due accounts in one query.
    period_start: date
    period_end: date
    period_end_at: datetime = Field(index=True, sa_type=DateTime)  # period_end's local midnight, in UTC
    pending_cycle: str | None = Field(default=None, max_length=16)
    pending_anchor: date | None = None
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    pending_plan_id: int | None = Field(default=None, foreign_key="plan.id")
    activated_at: datetime | None = Field(default=None, sa_type=DateTime)  # when a trial became active
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)  # set when the final period is closed


class Minimum(SQLModel, table=True):
    __tablename__ = "minimum"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("pending_quantity IS NULL OR pending_quantity >= 0", name="pending_not_negative"),
    )
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    licence_id: int = Field(foreign_key="licence.id", primary_key=True)
    quantity: int = 0
    pending_quantity: int | None = None  # a lowered minimum, applied at the next close


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("account_id", "email", name="uq_app_user_account_email"),
        CheckConstraint("status IN ('active','inactive')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    email: str = Field(max_length=320)
    name: str | None = None
    role: str = Field(default="member", max_length=64)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(sa_type=DateTime)


class Seat(SQLModel, table=True):
    """One owned unit of a licence, from purchase until cancelled (never deleted)."""

    __tablename__ = "seat"
    __table_args__ = (
        Index("ix_seat_pool", "account_id", "licence_id", "cancelled_at"),
        CheckConstraint("cancelled_at IS NULL OR cancelled_at >= bought_at", name="cancel_after_buy"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    licence_id: int = Field(foreign_key="licence.id")
    bought_at: datetime = Field(sa_type=DateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=DateTime)
    order_id: int | None = Field(default=None, foreign_key="purchase_order.id")


class Assignment(SQLModel, table=True):
    """A seat held by a user from `assigned_at` until `released_at` (history is kept)."""

    __tablename__ = "assignment"
    __table_args__ = (
        # One holder per seat and one seat of a licence per user, at any time.
        Index("uq_assignment_open_seat", "seat_id", unique=True,
              sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL")),
        Index("uq_assignment_open_user_licence", "user_id", "licence_id", unique=True,
              sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL")),
        Index("ix_assignment_account_licence", "account_id", "licence_id", "assigned_at"),
        CheckConstraint("released_at IS NULL OR released_at >= assigned_at", name="release_after_assign"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    licence_id: int = Field(foreign_key="licence.id")
    user_id: int = Field(foreign_key="app_user.id")
    seat_id: int | None = Field(default=None, foreign_key="seat.id")  # None in peak mode
    assigned_at: datetime = Field(sa_type=DateTime)
    released_at: datetime | None = Field(default=None, sa_type=DateTime)


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_order"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('pending','confirmed','cancelled')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    licence_id: int = Field(foreign_key="licence.id")
    quantity: int
    status: str = Field(max_length=16)
    requested_by: str
    requested_at: datetime = Field(sa_type=DateTime)
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=DateTime)
    request_id: str | None = Field(default=None, unique=True, max_length=200)
    quote_minor: int = 0
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")


class Invoice(SQLModel, table=True):
    """Immutable once written (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint("kind IN ('purchase','renewal','usage','credit')", name="kind"),
        UniqueConstraint("series", "year", "seq", name="uq_invoice_series_year_seq"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=64)
    series: str = Field(max_length=32)
    year: int
    seq: int
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16)
    issued_at: datetime = Field(sa_type=DateTime)
    period_start: date
    period_end: date
    currency: str = Field(max_length=3)
    subtotal_minor: int
    tax_minor: int = 0
    total_minor: int
    credit_of: int | None = Field(default=None, foreign_key="invoice.id", unique=True)
    reason: str | None = None


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no", name="uq_invoice_line_invoice_no"),)
    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id")
    line_no: int
    account_id: int = Field(foreign_key="account.id")
    licence_id: int | None = Field(default=None, foreign_key="licence.id")
    meter_id: int | None = Field(default=None, foreign_key="meter.id")
    kind: str = Field(max_length=16)  # seat, fee, usage, discount, tax
    description: str
    quantity: int
    unit_price_minor: int
    period_start: date
    period_end: date
    days: int
    period_days: int
    amount_minor: int


class InvoiceCounter(SQLModel, table=True):
    """The last number issued per series and year: gapless because it moves in the same
    transaction as the invoice it numbers."""

    __tablename__ = "invoice_counter"
    series: str = Field(primary_key=True, max_length=32)
    year: int = Field(primary_key=True)
    last: int = 0


class ClosedPeriod(SQLModel, table=True):
    """One row per closed account period; the unique constraint forbids a second close."""

    __tablename__ = "closed_period"
    __table_args__ = (UniqueConstraint("account_id", "period_start", name="uq_closed_period_account_start"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    period_start: date
    period_end: date
    closed_at: datetime = Field(sa_type=DateTime)
    seats_cancelled: int = 0
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    total_minor: int = 0
    plan_id: int | None = Field(default=None, foreign_key="plan.id")  # in force on the period's last day


class Event(SQLModel, table=True):
    """The append-only audit trail: one row per change, in the change's transaction."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_account_at", "account_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True, sa_type=DateTime)
    operator: str
    account_id: int | None = Field(default=None, foreign_key="account.id")
    licence_id: int | None = Field(default=None, foreign_key="licence.id")
    action: str = Field(max_length=64, index=True)
    quantity: int | None = None  # seats counted by reports (denials)
    details: str = "{}"


class Plan(SQLModel, table=True):
    """A bundle: a base fee per period, seats included per licence, allowances per meter."""

    __tablename__ = "plan"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    monthly_fee: str | None = None  # exact decimal text; None: not sold monthly
    annual_fee: str | None = None
    created_at: datetime = Field(sa_type=DateTime)


class PlanInclude(SQLModel, table=True):
    __tablename__ = "plan_include"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)
    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    licence_id: int = Field(foreign_key="licence.id", primary_key=True)
    quantity: int


class PlanAllowance(SQLModel, table=True):
    __tablename__ = "plan_allowance"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)
    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    meter_id: int = Field(foreign_key="meter.id", primary_key=True)
    quantity: int


class Meter(SQLModel, table=True):
    """A metered service (SMS, e-mail, calls…) billed per unit above the plan's allowance."""

    __tablename__ = "meter"
    __table_args__ = (CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    tiers: str  # "inf:0.05" for a flat unit price
    tier_mode: str = Field(default="volume", max_length=16)
    created_at: datetime = Field(sa_type=DateTime)


class UsageRecord(SQLModel, table=True):
    __tablename__ = "usage_record"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_usage_record_account_meter_at", "account_id", "meter_id", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    meter_id: int = Field(foreign_key="meter.id")
    quantity: int
    at: datetime = Field(sa_type=DateTime)
    external_id: str | None = Field(default=None, unique=True, max_length=200)  # a repeated id is ignored
    recorded_at: datetime = Field(sa_type=DateTime)
    recorded_by: str


APPEND_ONLY_TABLES = ("invoice", "invoice_line", "event")
