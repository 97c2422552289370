"""this round: the waitlist, exact unit prices on invoice lines

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

- `waitlist`: assignments queued by `assign --wait` and `sync --wait`, seated oldest first when seats
  come free. Resolved requests are kept (resolved_at, resolution) for reports; at most one open
  request per user and licence.
- `invoice_line.unit_price`: the unit price as shown, exact decimal text (a metered line's unit price
  may carry up to 6 decimals). NULL on lines written before this revision, which show
  `unit_price_minor`. Adding a column changes no existing row, so invoices stay as written.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waitlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by', sa.String(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('assign','sync')", name=op.f('ck_waitlist_source')),
    sa.CheckConstraint("resolution IS NULL OR resolution IN ('seated','cancelled','dropped')",
                       name=op.f('ck_waitlist_resolution')),
    sa.CheckConstraint("(resolved_at IS NULL) = (resolution IS NULL)", name=op.f('ck_waitlist_resolved')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_waitlist_account_id_account')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_waitlist_user_id_app_user')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_waitlist_licence_id_licence')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'],
                            name=op.f('fk_waitlist_assignment_id_assignment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist'))
    )
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_account_licence', ['account_id', 'licence_id', 'resolved_at', 'id'],
                              unique=False)
        batch_op.create_index('uq_waitlist_open_user_licence', ['user_id', 'licence_id'], unique=True,
                              sqlite_where=sa.text('resolved_at IS NULL'),
                              postgresql_where=sa.text('resolved_at IS NULL'))
    # Plain ADD COLUMN (not a batch copy): the table keeps its rows and its append-only triggers.
    op.add_column('invoice_line', sa.Column('unit_price', sa.String(), nullable=True))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # SQLite drops a column in place (3.35+), which the append-only triggers do not forbid.
        op.execute("ALTER TABLE invoice_line DROP COLUMN unit_price")
    else:
        op.drop_column('invoice_line', 'unit_price')
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_open_user_licence', sqlite_where=sa.text('resolved_at IS NULL'),
                            postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.drop_index('ix_waitlist_account_licence')
    op.drop_table('waitlist')
