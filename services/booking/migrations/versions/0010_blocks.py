"""reserved capacity: blocks of spaces held for an organisation, their places,
and the block a booking was made in

Revision ID: booking_0010_blocks
Revises: booking_0009_space_kinds
Create Date: 2026-12-01 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'booking_0010_blocks'
down_revision = 'booking_0009_space_kinds'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'blocks',
        sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('space_ids', sa.ARRAY(sa.Text()), nullable=False),
        sa.Column('space_kind', sa.Text(), nullable=False),
        sa.Column('weekday', sa.Text(), nullable=False),
        sa.Column('slot', sa.Text(), nullable=False),
        sa.Column('local_start', sa.Time(), nullable=False),
        sa.Column('local_end', sa.Time(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('release_hours', sa.Integer(), nullable=False),
        sa.Column('billing', sa.Text(), nullable=False),
        sa.Column('monthly_price_cents', sa.BigInteger(), nullable=True),
        sa.Column('places', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_blocks_period_order')),
        sa.CheckConstraint("billing IN ('whole', 'per_use')", name=op.f('ck_blocks_billing')),
        sa.CheckConstraint("(billing = 'whole') = (monthly_price_cents IS NOT NULL)",
                           name=op.f('ck_blocks_whole_has_a_price')),
        sa.ForeignKeyConstraint(['relay_id'], ['relays.id'], name=op.f('fk_blocks_relay_id_relays')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks')),
    )
    op.create_index(op.f('ix_blocks_relay_id'), 'blocks', ['relay_id'])
    op.create_index(op.f('ix_blocks_organisation_id'), 'blocks', ['organisation_id'])
    op.create_table(
        'block_places',
        sa.Column('block_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('space_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('release_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_block_places_range_order')),
        sa.ForeignKeyConstraint(['block_id'], ['blocks.id'], ondelete='CASCADE',
                                name=op.f('fk_block_places_block_id_blocks')),
        sa.ForeignKeyConstraint(['space_id'], ['spaces.id'],
                                name=op.f('fk_block_places_space_id_spaces')),
        sa.PrimaryKeyConstraint('block_id', 'space_id', 'date', name=op.f('pk_block_places')),
    )
    op.create_index('ix_block_places_space_id_starts_at', 'block_places', ['space_id', 'starts_at'])
    op.add_column('bookings', sa.Column('block_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_foreign_key(op.f('fk_bookings_block_id_blocks'), 'bookings', 'blocks',
                          ['block_id'], ['id'])
    op.create_index(op.f('ix_bookings_block_id'), 'bookings', ['block_id'])


def downgrade():
    op.drop_index(op.f('ix_bookings_block_id'), table_name='bookings')
    op.drop_constraint(op.f('fk_bookings_block_id_blocks'), 'bookings', type_='foreignkey')
    op.drop_column('bookings', 'block_id')
    op.drop_table('block_places')
    op.drop_table('blocks')
