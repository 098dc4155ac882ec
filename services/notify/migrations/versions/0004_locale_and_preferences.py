"""contacts' language and relays; people's choices of optional mails

Revision ID: notify_0004_messages
Revises: notify_0003
Create Date: 2026-12-01 12:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'notify_0004_messages'
down_revision = 'notify_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('contacts', sa.Column('relay_ids', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False))
    op.add_column('contacts', sa.Column('locale', sa.Text(), server_default=sa.text("'fr'"), nullable=False))
    op.create_table('preferences',
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'category')
    )


def downgrade():
    op.drop_table('preferences')
    op.drop_column('contacts', 'locale')
    op.drop_column('contacts', 'relay_ids')
