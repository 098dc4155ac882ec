"""relay directory, spaces and bookings

Revision ID: booking_0001
Revises: 
Create Date: 2026-11-25 12:55:04.640583
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'booking_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # The exclusion constraints compare a uuid with = inside a GiST index.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('request_hash', sa.Text(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('inbox',
    sa.Column('event_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'consumer', name=op.f('pk_inbox'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    op.create_index('ix_outbox_unpublished', 'outbox', ['id'], unique=False, postgresql_where=sa.text('published_at IS NULL'))
    op.create_table('relays',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('postcode', sa.Text(), nullable=False),
    sa.Column('commune', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=False),
    sa.Column('morning_opens', sa.Time(), server_default=sa.text("'08:30'"), nullable=False),
    sa.Column('morning_closes', sa.Time(), server_default=sa.text("'12:30'"), nullable=False),
    sa.Column('afternoon_opens', sa.Time(), server_default=sa.text("'13:30'"), nullable=False),
    sa.Column('afternoon_closes', sa.Time(), server_default=sa.text("'18:00'"), nullable=False),
    sa.Column('open_weekdays', sa.ARRAY(sa.SmallInteger()), server_default=sa.text("'{0,1,2,3,4}'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('latitude BETWEEN -90 AND 90', name=op.f('ck_relays_latitude_range')),
    sa.CheckConstraint('longitude BETWEEN -180 AND 180', name=op.f('ck_relays_longitude_range')),
    sa.CheckConstraint('morning_opens < morning_closes AND morning_closes <= afternoon_opens AND afternoon_opens < afternoon_closes', name=op.f('ck_relays_opening_hours_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relays'))
    )
    op.create_table('spaces',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("capacity >= 1 AND (kind <> 'desk' OR capacity = 1)", name=op.f('ck_spaces_capacity')),
    sa.CheckConstraint("kind IN ('desk', 'meeting_room')", name=op.f('ck_spaces_kind')),
    sa.ForeignKeyConstraint(['relay_id'], ['relays.id'], name=op.f('fk_spaces_relay_id_relays')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spaces')),
    sa.UniqueConstraint('relay_id', 'name', name=op.f('uq_spaces_relay_id'))
    )
    op.create_index(op.f('ix_spaces_relay_id'), 'spaces', ['relay_id'], unique=False)
    op.create_table('bookings',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('space_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('slot', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'confirmed'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('member_id'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'), where=sa.text("status = 'confirmed'"), using='gist', name='no_double_booking_of_member'),
    postgresql.ExcludeConstraint((sa.column('space_id'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'), where=sa.text("status = 'confirmed'"), using='gist', name='no_double_booking_of_space'),
    sa.CheckConstraint("slot IN ('morning', 'afternoon', 'day')", name=op.f('ck_bookings_slot')),
    sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name=op.f('ck_bookings_status')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_bookings_range_order')),
    sa.ForeignKeyConstraint(['relay_id'], ['relays.id'], name=op.f('fk_bookings_relay_id_relays')),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], name=op.f('fk_bookings_space_id_spaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    op.create_index(op.f('ix_bookings_member_id'), 'bookings', ['member_id'], unique=False)
    op.create_index(op.f('ix_bookings_organisation_id'), 'bookings', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_bookings_relay_id'), 'bookings', ['relay_id'], unique=False)
    op.create_index(op.f('ix_bookings_space_id'), 'bookings', ['space_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_bookings_space_id'), table_name='bookings')
    op.drop_index(op.f('ix_bookings_relay_id'), table_name='bookings')
    op.drop_index(op.f('ix_bookings_organisation_id'), table_name='bookings')
    op.drop_index(op.f('ix_bookings_member_id'), table_name='bookings')
    op.drop_table('bookings')
    op.drop_index(op.f('ix_spaces_relay_id'), table_name='spaces')
    op.drop_table('spaces')
    op.drop_table('relays')
    op.drop_index('ix_outbox_unpublished', table_name='outbox', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_table('outbox')
    op.drop_table('inbox')
    op.drop_table('idempotency_keys')
