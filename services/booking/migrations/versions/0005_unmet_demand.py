"""unmet demand: searches that found no free space and bookings refused for
lack of one, without personal data; members' declared commute (impact)

Revision ID: booking_0005
Revises: booking_0004
Create Date: 2026-12-01 10:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'booking_0005'
down_revision = 'booking_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unmet_demand',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('wanted_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.Text(), nullable=False),
        sa.Column('department', sa.Text(), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=False),
        sa.Column('longitude', sa.Float(), nullable=False),
        sa.Column('relay_id', postgresql.UUID(as_uuid=False), nullable=True),
        sa.Column('recorded_on', sa.Date(), nullable=False),
        sa.CheckConstraint("source IN ('search', 'booking')", name=op.f('ck_unmet_demand_source')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unmet_demand')),
    )
    op.create_index('ix_unmet_demand_wanted_on', 'unmet_demand', ['wanted_on'], unique=False)
    op.add_column('members', sa.Column('commute_km', sa.Float(), nullable=True))
    op.add_column('members', sa.Column('commute_mode', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('members', 'commute_mode')
    op.drop_column('members', 'commute_km')
    op.drop_index('ix_unmet_demand_wanted_on', table_name='unmet_demand')
    op.drop_table('unmet_demand')
