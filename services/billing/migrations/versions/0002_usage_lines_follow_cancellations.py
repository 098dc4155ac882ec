"""usage lines follow cancellations: void status, late flag

Revision ID: billing_0002
Revises: billing_0001
Create Date: 2026-11-25 14:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'billing_0002'
down_revision = 'billing_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('usage_lines', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('usage_lines', sa.Column('late_cancellation', sa.Boolean(),
                                           server_default=sa.text('false'), nullable=False))
    op.drop_constraint(op.f('ck_usage_lines_status'), 'usage_lines', type_='check')
    op.create_check_constraint(op.f('ck_usage_lines_status'), 'usage_lines',
                               "status IN ('priced', 'unpriced', 'void')")


def downgrade():
    op.execute("DELETE FROM usage_lines WHERE status = 'void'")
    op.drop_constraint(op.f('ck_usage_lines_status'), 'usage_lines', type_='check')
    op.create_check_constraint(op.f('ck_usage_lines_status'), 'usage_lines',
                               "status IN ('priced', 'unpriced')")
    op.drop_column('usage_lines', 'late_cancellation')
    op.drop_column('usage_lines', 'cancelled_at')
