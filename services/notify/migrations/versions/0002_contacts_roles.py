"""contacts keep their roles (relay managers are told of settlements)

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'notify_0002'
down_revision = 'notify_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('contacts', sa.Column('roles', sa.ARRAY(sa.Text()),
                                        server_default=sa.text("'{}'"), nullable=False))


def downgrade():
    op.drop_column('contacts', 'roles')
