"""residents' programmes on the member's row (identity.member_programmes_changed), and the
programme a booking is made under

Revision ID: booking_0008_programmes
Revises: booking_0007_scim
Create Date: 2026-12-01 17:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'booking_0008_programmes'
down_revision = 'booking_0007_scim'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('members', sa.Column('programmes', postgresql.JSONB(astext_type=sa.Text()),
                                       server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.add_column('members', sa.Column('resident_commune', sa.Text(), nullable=True))
    op.add_column('members', sa.Column('resident_postcode', sa.Text(), nullable=True))
    op.add_column('members', sa.Column('programmes_as_of', sa.DateTime(timezone=True),
                                       nullable=True))
    op.add_column('bookings', sa.Column('programme_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_index('ix_bookings_programme_id', 'bookings', ['programme_id'])


def downgrade():
    op.drop_index('ix_bookings_programme_id', table_name='bookings')
    op.drop_column('bookings', 'programme_id')
    op.drop_column('members', 'programmes_as_of')
    op.drop_column('members', 'resident_postcode')
    op.drop_column('members', 'resident_commune')
    op.drop_column('members', 'programmes')
