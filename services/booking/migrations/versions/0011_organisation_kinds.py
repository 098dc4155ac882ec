"""organisations' kinds, from identity.organisation_created: who benefits from
a relay (audience.py)

Organisations created before this revision are unknown to booking until
identity's events are replayed; their bookings count as audience "other".

Revision ID: booking_0011_organisation_kinds
Revises: booking_0010_blocks
Create Date: 2026-12-01 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'booking_0011_organisation_kinds'
down_revision = 'booking_0010_blocks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisation_kinds',
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('kind', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisation_kinds')),
    )


def downgrade():
    op.drop_table('organisation_kinds')
