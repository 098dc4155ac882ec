"""reserved capacity: the blocks billing follows, a block's monthly usage line
(no booking, no member) and bookings included in a block billed whole

Revision ID: billing_0006_blocks
Revises: billing_0005_price_corrections
Create Date: 2026-12-01 17:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'billing_0006_blocks'
down_revision = 'billing_0005_price_corrections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'block_agreements',
        sa.Column('block_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('space_kind', sa.Text(), nullable=False),
        sa.Column('billing', sa.Text(), nullable=False),
        sa.Column('monthly_price_cents', sa.Integer(), nullable=True),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('block_id', name=op.f('pk_block_agreements')),
    )
    op.add_column('usage_lines', sa.Column('block_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_index('uq_usage_lines_block_month', 'usage_lines', ['block_id', 'date'],
                    unique=True, postgresql_where=sa.text('booking_id IS NULL'))
    op.alter_column('usage_lines', 'booking_id', nullable=True)
    op.alter_column('usage_lines', 'member_id', nullable=True)
    op.drop_constraint(op.f('ck_usage_lines_status'), 'usage_lines', type_='check')
    op.create_check_constraint(op.f('ck_usage_lines_status'), 'usage_lines',
                               "status IN ('priced', 'unpriced', 'void', 'included')")


def downgrade():
    op.execute("DELETE FROM usage_lines WHERE block_id IS NOT NULL")
    op.execute("UPDATE usage_lines SET status = 'void' WHERE status = 'included'")
    op.drop_constraint(op.f('ck_usage_lines_status'), 'usage_lines', type_='check')
    op.create_check_constraint(op.f('ck_usage_lines_status'), 'usage_lines',
                               "status IN ('priced', 'unpriced', 'void')")
    op.alter_column('usage_lines', 'member_id', nullable=False)
    op.alter_column('usage_lines', 'booking_id', nullable=False)
    op.drop_index('uq_usage_lines_block_month', table_name='usage_lines')
    op.drop_column('usage_lines', 'block_id')
    op.drop_table('block_agreements')
