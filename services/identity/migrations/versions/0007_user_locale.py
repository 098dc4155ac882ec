"""users choose the language they are written to in (French by default)

Revision ID: identity_0007_messages
Revises: identity_0006
Create Date: 2026-12-01 12:50:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0007_messages'
down_revision = 'identity_0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('locale', sa.Text(), server_default=sa.text("'fr'"), nullable=False))


def downgrade():
    op.drop_column('users', 'locale')
