"""whom a policy's monthly budget caps: the organisation (default) or each member

Revision ID: identity_0006
Revises: identity_0005
Create Date: 2026-12-01 11:45:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0006'
down_revision = 'identity_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('corporate_policies', sa.Column('budget_per', sa.Text(), server_default=sa.text("'organisation'"), nullable=False))


def downgrade():
    op.drop_column('corporate_policies', 'budget_per')
