"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_counter',
    sa.Column('series', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_invoice_counter'))
    )
    op.create_table('licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('code', name=op.f('uq_licence_code'))
    )
    op.create_table('meter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('tiers', sa.String(), nullable=False),
    sa.Column('tier_mode', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("tier_mode IN ('volume','graduated')", name=op.f('ck_meter_tier_mode')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter')),
    sa.UniqueConstraint('code', name=op.f('uq_meter_code'))
    )
    op.create_table('operator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('viewer','operator','billing','owner')", name=op.f('ck_operator_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator')),
    sa.UniqueConstraint('name', name=op.f('uq_operator_name'))
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('monthly_fee', sa.String(), nullable=True),
    sa.Column('annual_fee', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('code', name=op.f('uq_plan_code'))
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('cycle', sa.String(length=16), nullable=False),
    sa.Column('anchor', sa.Date(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('billed_via_parent', sa.Boolean(), nullable=False),
    sa.Column('discount', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('period_end_at', sa.DateTime(), nullable=False),
    sa.Column('pending_cycle', sa.String(length=16), nullable=True),
    sa.Column('pending_anchor', sa.Date(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('pending_plan_id', sa.Integer(), nullable=True),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("cycle IN ('monthly','annual')", name=op.f('ck_account_cycle')),
    sa.CheckConstraint("mode IN ('allocation','peak')", name=op.f('ck_account_mode')),
    sa.CheckConstraint("status IN ('trial','active','suspended','closed')", name=op.f('ck_account_status')),
    sa.ForeignKeyConstraint(['parent_id'], ['account.id'], name=op.f('fk_account_parent_id_account')),
    sa.ForeignKeyConstraint(['pending_plan_id'], ['plan.id'], name=op.f('fk_account_pending_plan_id_plan')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_account_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('slug', name=op.f('uq_account_slug'))
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_period_end_at'), ['period_end_at'], unique=False)

    op.create_table('licence_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.String(length=16), nullable=False),
    sa.Column('tiers', sa.String(), nullable=False),
    sa.Column('tier_mode', sa.String(length=16), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("cycle IN ('monthly','annual')", name=op.f('ck_licence_price_cycle')),
    sa.CheckConstraint("tier_mode IN ('volume','graduated')", name=op.f('ck_licence_price_tier_mode')),
    sa.CheckConstraint('block >= 1', name=op.f('ck_licence_price_block_positive')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_licence_price_licence_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_price'))
    )
    with op.batch_alter_table('licence_price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_price_licence_id'), ['licence_id'], unique=False)

    op.create_table('plan_allowance',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_plan_allowance_quantity_not_negative')),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_plan_allowance_meter_id_meter')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_allowance_plan_id_plan')),
    sa.PrimaryKeyConstraint('plan_id', 'meter_id', name=op.f('pk_plan_allowance'))
    )
    op.create_table('plan_include',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_plan_include_quantity_not_negative')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_plan_include_licence_id_licence')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_plan_include_plan_id_plan')),
    sa.PrimaryKeyConstraint('plan_id', 'licence_id', name=op.f('pk_plan_include'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active','inactive')", name=op.f('ck_app_user_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_app_user_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('account_id', 'email', name='uq_app_user_account_email')
    )
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('operator', sa.String(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('licence_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('details', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_event_account_id_account')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_event_licence_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_at'), ['at'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('series', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_minor', sa.Integer(), nullable=False),
    sa.Column('tax_minor', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('credit_of', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(), nullable=True),
    sa.CheckConstraint("kind IN ('purchase','renewal','usage','credit')", name=op.f('ck_invoice_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_invoice_account_id_account')),
    sa.ForeignKeyConstraint(['credit_of'], ['invoice.id'], name=op.f('fk_invoice_credit_of_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('credit_of', name=op.f('uq_invoice_credit_of')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number')),
    sa.UniqueConstraint('series', 'year', 'seq', name='uq_invoice_series_year_seq')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_account_id'), ['account_id'], unique=False)

    op.create_table('minimum',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('pending_quantity', sa.Integer(), nullable=True),
    sa.CheckConstraint('pending_quantity IS NULL OR pending_quantity >= 0', name=op.f('ck_minimum_pending_not_negative')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_minimum_quantity_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_minimum_account_id_account')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_minimum_licence_id_licence')),
    sa.PrimaryKeyConstraint('account_id', 'licence_id', name=op.f('pk_minimum'))
    )
    op.create_table('usage_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_record_quantity_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_usage_record_account_id_account')),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_usage_record_meter_id_meter')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_record')),
    sa.UniqueConstraint('external_id', name=op.f('uq_usage_record_external_id'))
    )
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.create_index('ix_usage_record_account_meter_at', ['account_id', 'meter_id', 'at'], unique=False)

    op.create_table('closed_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('seats_cancelled', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_closed_period_account_id_account')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_closed_period_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_closed_period_plan_id_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_period')),
    sa.UniqueConstraint('account_id', 'period_start', name='uq_closed_period_account_start')
    )
    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=True),
    sa.Column('meter_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('period_days', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_invoice_line_account_id_account')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_invoice_line_licence_id_licence')),
    sa.ForeignKeyConstraint(['meter_id'], ['meter.id'], name=op.f('fk_invoice_line_meter_id_meter')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'line_no', name='uq_invoice_line_invoice_no')
    )
    op.create_table('purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('request_id', sa.String(length=200), nullable=True),
    sa.Column('quote_minor', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending','confirmed','cancelled')", name=op.f('ck_purchase_order_status')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_quantity_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_purchase_order_account_id_account')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_purchase_order_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_purchase_order_licence_id_licence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order')),
    sa.UniqueConstraint('request_id', name=op.f('uq_purchase_order_request_id'))
    )
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_account_id'), ['account_id'], unique=False)

    op.create_table('seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('bought_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('cancelled_at IS NULL OR cancelled_at >= bought_at', name=op.f('ck_seat_cancel_after_buy')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_seat_account_id_account')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_seat_licence_id_licence')),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_order.id'], name=op.f('fk_seat_order_id_purchase_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat'))
    )
    with op.batch_alter_table('seat', schema=None) as batch_op:
        batch_op.create_index('ix_seat_pool', ['account_id', 'licence_id', 'cancelled_at'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('licence_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('seat_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.Column('released_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('released_at IS NULL OR released_at >= assigned_at', name=op.f('ck_assignment_release_after_assign')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_assignment_account_id_account')),
    sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_assignment_licence_id_licence')),
    sa.ForeignKeyConstraint(['seat_id'], ['seat.id'], name=op.f('fk_assignment_seat_id_seat')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_assignment_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment'))
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index('ix_assignment_account_licence', ['account_id', 'licence_id', 'assigned_at'], unique=False)
        batch_op.create_index('uq_assignment_open_seat', ['seat_id'], unique=True, sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))
        batch_op.create_index('uq_assignment_open_user_licence', ['user_id', 'licence_id'], unique=True, sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))


    create_append_only_triggers()


def downgrade() -> None:
    drop_append_only_triggers()
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index('uq_assignment_open_user_licence', sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))
        batch_op.drop_index('uq_assignment_open_seat', sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'))
        batch_op.drop_index('ix_assignment_account_licence')

    op.drop_table('assignment')
    with op.batch_alter_table('seat', schema=None) as batch_op:
        batch_op.drop_index('ix_seat_pool')

    op.drop_table('seat')
    with op.batch_alter_table('purchase_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_account_id'))

    op.drop_table('purchase_order')
    op.drop_table('invoice_line')
    op.drop_table('closed_period')
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_record_account_meter_at')

    op.drop_table('usage_record')
    op.drop_table('minimum')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_account_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_at'))
        batch_op.drop_index(batch_op.f('ix_event_action'))
        batch_op.drop_index('ix_event_account_at')

    op.drop_table('event')
    op.drop_table('app_user')
    op.drop_table('plan_include')
    op.drop_table('plan_allowance')
    with op.batch_alter_table('licence_price', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_price_licence_id'))

    op.drop_table('licence_price')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_period_end_at'))
        batch_op.drop_index(batch_op.f('ix_account_parent_id'))

    op.drop_table('account')
    op.drop_table('setting')
    op.drop_table('plan')
    op.drop_table('operator')
    op.drop_table('meter')
    op.drop_table('licence')
    op.drop_table('invoice_counter')


APPEND_ONLY = ("invoice", "invoice_line", "event")


def create_append_only_triggers() -> None:
    """Invoices, their lines and events refuse UPDATE and DELETE, even from raw SQL."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION seatctl_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"trg_{table}_no_{verb.lower()}"
            if dialect == "sqlite":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
            elif dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION seatctl_append_only()"
                )


def drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"trg_{table}_no_{verb.lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS seatctl_append_only()")
