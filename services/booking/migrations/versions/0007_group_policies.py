"""each member's group policies (identity.member_policies_changed)

Revision ID: booking_0007_scim
Revises: booking_0006
Create Date: 2026-12-01 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'booking_0007_scim'
down_revision = 'booking_0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('members', sa.Column('group_policies', postgresql.JSONB(astext_type=sa.Text()),
                                       server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.add_column('members', sa.Column('group_policies_as_of', sa.DateTime(timezone=True),
                                       nullable=True))


def downgrade():
    op.drop_column('members', 'group_policies_as_of')
    op.drop_column('members', 'group_policies')
