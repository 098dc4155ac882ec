"""check-in attempts per booking (brute force of the relay's code), members'
reactivation time and contact_as_of (identity's events applied in order)

Revision ID: booking_0003
Revises: booking_0002
Create Date: 2026-11-25 14:10:12.392123
"""
from alembic import op
import sqlalchemy as sa


revision = 'booking_0003'
down_revision = 'booking_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bookings', sa.Column('check_in_attempts', sa.SmallInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('members', sa.Column('contact_as_of', sa.DateTime(timezone=True), nullable=True))
    op.add_column('members', sa.Column('reactivated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('members', 'reactivated_at')
    op.drop_column('members', 'contact_as_of')
    op.drop_column('bookings', 'check_in_attempts')
