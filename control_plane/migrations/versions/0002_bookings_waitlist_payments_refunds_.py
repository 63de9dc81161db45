"""bookings, waitlist, payments, refunds, calendar tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:32:35.832822
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import control_plane.kits.db.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_ref', sa.String(length=128), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refunded_amount', sa.Integer(), nullable=False),
    sa.Column('created_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_payments_status_known')),
    sa.CheckConstraint('amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_payments_amounts')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_payments_booking_id_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_payments_provider_ref'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_booking_id'), ['booking_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('provider_ref', sa.String(length=128), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_refunds_provider_ref'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=False, server_default='EUR'))
        batch_op.add_column(sa.Column('updated_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('cancelled_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index('ix_bookings_waitlist', ['session_id', 'status', 'id'], unique=False)
        batch_op.create_check_constraint(
            op.f('ck_bookings_status_known'), "status IN ('pending_payment', 'confirmed', 'waitlisted', 'cancelled')"
        )

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_full_hours', sa.Integer(), nullable=False, server_default='48'))
        batch_op.add_column(sa.Column('refund_partial_hours', sa.Integer(), nullable=False, server_default='24'))
        batch_op.add_column(sa.Column('refund_partial_percent', sa.Integer(), nullable=False, server_default='50'))
        batch_op.add_column(sa.Column('cancelled_at', control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_calendar_token'), ['calendar_token'])



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_calendar_token'), type_='unique')
        batch_op.drop_column('calendar_token')

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('refund_partial_percent')
        batch_op.drop_column('refund_partial_hours')
        batch_op.drop_column('refund_full_hours')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_status_known'), type_='check')
        batch_op.drop_index('ix_bookings_waitlist')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('currency')
        batch_op.drop_column('amount')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_booking_id'))

    op.drop_table('payments')
