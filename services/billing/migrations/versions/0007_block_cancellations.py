"""reserved capacity: when a block billing follows was cancelled (its months
wholly after that month are not billed)

Revision ID: billing_0007_block_cancellations
Revises: billing_0006_blocks
Create Date: 2026-12-01 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'billing_0007_block_cancellations'
down_revision = 'billing_0006_blocks'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('block_agreements',
                  sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('block_agreements', 'cancelled_at')
