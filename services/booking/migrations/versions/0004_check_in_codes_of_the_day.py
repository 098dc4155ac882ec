"""check-in codes of the day: a secret per relay instead of a fixed code, and
wrong codes counted per member, relay and day instead of per booking

Revision ID: booking_0004
Revises: booking_0003
Create Date: 2026-12-01 10:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'booking_0004'
down_revision = 'booking_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('relays', 'check_in_code', new_column_name='check_in_secret')
    # gen_random_uuid() draws from PostgreSQL's strong random source: 2 x 122 bits.
    op.execute("UPDATE relays SET check_in_secret = replace(gen_random_uuid()::text, '-', '') "
               "|| replace(gen_random_uuid()::text, '-', '')")
    op.create_table(
        'check_in_failures',
        sa.Column('member_id', postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column('relay_id', postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('failures', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['relay_id'], ['relays.id'],
                                name=op.f('fk_check_in_failures_relay_id_relays')),
        sa.PrimaryKeyConstraint('member_id', 'relay_id', 'day', name=op.f('pk_check_in_failures')),
    )
    op.create_index(op.f('ix_check_in_failures_day'), 'check_in_failures', ['day'], unique=False)
    op.drop_column('bookings', 'check_in_attempts')


def downgrade():
    op.add_column('bookings', sa.Column('check_in_attempts', sa.SmallInteger(),
                                        server_default=sa.text('0'), nullable=False))
    op.drop_index(op.f('ix_check_in_failures_day'), table_name='check_in_failures')
    op.drop_table('check_in_failures')
    op.execute("UPDATE relays SET check_in_secret = lpad((random() * 999999)::int::text, 6, '0')")
    op.alter_column('relays', 'check_in_secret', new_column_name='check_in_code')
