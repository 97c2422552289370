"""The ledger's tables. Timestamps are naive UTC; money is integer minor units.

Plain SQLAlchemy declarative classes. (They were SQLModel classes; building those as pydantic
models cost ~60 ms at every start-up and nothing used their validation.)
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, MetaData, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so migrations (batch mode on SQLite) can find them again.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class Table(DeclarativeBase):
    metadata = metadata

    def __init__(self, **values: Any) -> None:
        """Keyword construction, with each column's default already set (not only at INSERT),
        so a new row reads the same before and after it is flushed."""
        for column in self.__table__.columns:
            default = column.default
            if column.key not in values and default is not None and default.is_scalar:
                values[column.key] = default.arg  # type: ignore[attr-defined]
        for key, value in values.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} has no column {key!r}")
            setattr(self, key, value)


ROLES = ("viewer", "operator", "billing", "owner")


class Setting(Table):
    """Ledger-wide facts fixed at `init`: currency, minor digits, time zone."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str]


class Operator(Table):
    __tablename__ = "operator"
    __table_args__ = (CheckConstraint("role IN ('viewer','operator','billing','owner')", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Licence(Table):
    __tablename__ = "licence"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LicencePrice(Table):
    """One price version of a licence for one cycle length; the latest one set before a
    period starts prices that period (the first version prices everything before it)."""

    __tablename__ = "licence_price"
    __table_args__ = (
        CheckConstraint("block >= 1", name="block_positive"),
        CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),
        CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    cycle: Mapped[str] = mapped_column(String(16))
    tiers: Mapped[str]  # "inf:30.00" for a flat price
    tier_mode: Mapped[str] = mapped_column(String(16), default="volume")
    block: Mapped[int] = mapped_column(default=1)
    set_at: Mapped[datetime] = mapped_column(DateTime)


class Account(Table):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("cycle IN ('monthly','annual')", name="cycle"),
        CheckConstraint("mode IN ('allocation','peak')", name="mode"),
        CheckConstraint("status IN ('trial','active','suspended','closed')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    mode: Mapped[str] = mapped_column(String(16), default="allocation")
    cycle: Mapped[str] = mapped_column(String(16), default="monthly")
    anchor: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    billed_via_parent: Mapped[bool] = mapped_column(default=False)
    discount: Mapped[str | None]  # percent, exact decimal text
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # The period the next close ends; kept on the row so cron finds due accounts in one query.
    period_start: Mapped[date]
    period_end: Mapped[date]
    period_end_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # period_end's local midnight, in UTC
    pending_cycle: Mapped[str | None] = mapped_column(String(16))
    pending_anchor: Mapped[date | None]
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    pending_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)  # when a trial became active
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)  # set when the final period is closed


class Minimum(Table):
    __tablename__ = "minimum"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("pending_quantity IS NULL OR pending_quantity >= 0", name="pending_not_negative"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(default=0)
    pending_quantity: Mapped[int | None]  # a lowered minimum, applied at the next close


class User(Table):
    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("account_id", "email", name="uq_app_user_account_email"),
        CheckConstraint("status IN ('active','inactive')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None]
    role: Mapped[str] = mapped_column(String(64), default="member")
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Seat(Table):
    """One owned unit of a licence, from purchase until cancelled (never deleted)."""

    __tablename__ = "seat"
    __table_args__ = (
        Index("ix_seat_pool", "account_id", "licence_id", "cancelled_at"),
        CheckConstraint("cancelled_at IS NULL OR cancelled_at >= bought_at", name="cancel_after_buy"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"))
    bought_at: Mapped[datetime] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_order.id"))


class Assignment(Table):
    """A seat held by a user from `assigned_at` until `released_at` (history is kept)."""

    __tablename__ = "assignment"
    __table_args__ = (
        # One holder per seat and one seat of a licence per user, at any time.
        # (The migration gives PostgreSQL the same predicate; naming it here would import
        # SQLAlchemy's PostgreSQL dialect on every start-up, SQLite ledgers included.)
        Index("uq_assignment_open_seat", "seat_id", unique=True, sqlite_where=text("released_at IS NULL")),
        Index("uq_assignment_open_user_licence", "user_id", "licence_id", unique=True,
              sqlite_where=text("released_at IS NULL")),
        Index("ix_assignment_account_licence", "account_id", "licence_id", "assigned_at"),
        CheckConstraint("released_at IS NULL OR released_at >= assigned_at", name="release_after_assign"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seat.id"))  # None in peak mode
    assigned_at: Mapped[datetime] = mapped_column(DateTime)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)


class PurchaseOrder(Table):
    __tablename__ = "purchase_order"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('pending','confirmed','cancelled')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str]
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None]
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    request_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    quote_minor: Mapped[int] = mapped_column(default=0)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))


class Invoice(Table):
    """Immutable once written (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint("kind IN ('purchase','renewal','usage','credit')", name="kind"),
        UniqueConstraint("series", "year", "seq", name="uq_invoice_series_year_seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    series: Mapped[str] = mapped_column(String(32))
    year: Mapped[int]
    seq: Mapped[int]
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    period_start: Mapped[date]
    period_end: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int]
    tax_minor: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int]
    credit_of: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), unique=True)
    reason: Mapped[str | None]


class InvoiceLine(Table):
    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no", name="uq_invoice_line_invoice_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    line_no: Mapped[int]
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meter.id"))
    kind: Mapped[str] = mapped_column(String(16))  # seat, fee, usage, discount, tax
    description: Mapped[str]
    quantity: Mapped[int]
    unit_price_minor: Mapped[int]
    period_start: Mapped[date]
    period_end: Mapped[date]
    days: Mapped[int]
    period_days: Mapped[int]
    amount_minor: Mapped[int]


class InvoiceCounter(Table):
    """The last number issued per series and year: gapless because it moves in the same
    transaction as the invoice it numbers."""

    __tablename__ = "invoice_counter"
    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class ClosedPeriod(Table):
    """One row per closed account period; the unique constraint forbids a second close."""

    __tablename__ = "closed_period"
    __table_args__ = (UniqueConstraint("account_id", "period_start", name="uq_closed_period_account_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    closed_at: Mapped[datetime] = mapped_column(DateTime)
    seats_cancelled: Mapped[int] = mapped_column(default=0)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    total_minor: Mapped[int] = mapped_column(default=0)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))  # in force on the period's last day


class Event(Table):
    """The append-only audit trail: one row per change, in the change's transaction."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_account_at", "account_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    operator: Mapped[str]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int | None]  # seats counted by reports (denials)
    details: Mapped[str] = mapped_column(default="{}")


class Plan(Table):
    """A bundle: a base fee per period, seats included per licence, allowances per meter."""

    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    monthly_fee: Mapped[str | None]  # exact decimal text; None: not sold monthly
    annual_fee: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PlanInclude(Table):
    __tablename__ = "plan_include"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), primary_key=True)
    quantity: Mapped[int]


class PlanAllowance(Table):
    __tablename__ = "plan_allowance"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meter.id"), primary_key=True)
    quantity: Mapped[int]


class Meter(Table):
    """A metered service (SMS, e-mail, calls…) billed per unit above the plan's allowance."""

    __tablename__ = "meter"
    __table_args__ = (CheckConstraint("tier_mode IN ('volume','graduated')", name="tier_mode"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    tiers: Mapped[str]  # "inf:0.05" for a flat unit price
    tier_mode: Mapped[str] = mapped_column(String(16), default="volume")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class UsageRecord(Table):
    __tablename__ = "usage_record"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_usage_record_account_meter_at", "account_id", "meter_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meter.id"))
    quantity: Mapped[int]
    at: Mapped[datetime] = mapped_column(DateTime)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)  # a repeated id is ignored
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[str]


APPEND_ONLY_TABLES = ("invoice", "invoice_line", "event")
