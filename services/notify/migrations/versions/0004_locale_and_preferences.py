"""contacts' language and relays; people's choices of optional mails; the
bookings notify reminds of

Revision ID: notify_0004_messages
Revises: notify_0003
Create Date: 2026-12-01 12:45:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

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
    sa.PrimaryKeyConstraint('user_id', 'category', name=op.f('pk_preferences'))
    )
    op.create_table('bookings',
    sa.Column('booking_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('booking_id', name=op.f('pk_bookings'))
    )
    op.create_index('ix_bookings_date_status', 'bookings', ['date', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_bookings_date_status', table_name='bookings')
    op.drop_table('bookings')
    op.drop_table('preferences')
    op.drop_column('contacts', 'locale')
    op.drop_column('contacts', 'relay_ids')
