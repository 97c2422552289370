"""bounds: 64-bit amounts and metered quantities on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

SPEC §8 bounds a usage quantity at 10^12 and a seat quantity at 1,000,000: a usage record, a plan's
allowance or an invoice line's quantity may not fit 32 bits, nor an invoice's amount in minor units
(1,000,000 seats at 30.00 are 3,000,000,000 cents). PostgreSQL's INTEGER is 32-bit: these columns
become BIGINT there. SQLite's INTEGER is 64-bit already, so on SQLite this revision changes nothing
(its tables, and the append-only triggers on them, stay as they are).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = [
    ("purchase_order", "quote_minor"),
    ("invoice", "subtotal_minor"),
    ("invoice", "tax_minor"),
    ("invoice", "total_minor"),
    ("invoice_line", "quantity"),
    ("invoice_line", "unit_price_minor"),
    ("invoice_line", "amount_minor"),
    ("closed_period", "total_minor"),
    ("plan_allowance", "quantity"),
    ("usage_record", "quantity"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in reversed(COLUMNS):
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
