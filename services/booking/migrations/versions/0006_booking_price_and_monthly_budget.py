"""the monthly budget cap: each booking's price (billing's quote, when booked
under a budget) and the policy's monthly budget and whom it applies to

Revision ID: booking_0006
Revises: booking_0005
Create Date: 2026-12-01 11:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'booking_0006'
down_revision = 'booking_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bookings', sa.Column('price_cents', sa.BigInteger(), nullable=True))
    op.add_column('organisation_policies', sa.Column('monthly_budget_cents', sa.BigInteger(), nullable=True))
    op.add_column('organisation_policies', sa.Column('budget_per', sa.Text(), server_default=sa.text("'organisation'"), nullable=False))


def downgrade():
    op.drop_column('organisation_policies', 'budget_per')
    op.drop_column('organisation_policies', 'monthly_budget_cents')
    op.drop_column('bookings', 'price_cents')
