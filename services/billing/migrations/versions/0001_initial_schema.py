"""initial schema

Revision ID: billing_0001
Revises: 
Create Date: 2026-11-25 12:56:59.464450
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'billing_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
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
    op.create_table('known_relays',
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('relay_id', name=op.f('pk_known_relays'))
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
    op.create_table('rate_cards',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('space_kind', sa.Text(), nullable=False),
    sa.Column('half_day_price_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('half_day_price_cents >= 0', name=op.f('ck_rate_cards_price_not_negative')),
    sa.CheckConstraint('vat_rate_bp BETWEEN 0 AND 10000', name=op.f('ck_rate_cards_vat_rate_range')),
    sa.ForeignKeyConstraint(['relay_id'], ['known_relays.relay_id'], name=op.f('fk_rate_cards_relay_id_known_relays')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_cards')),
    sa.UniqueConstraint('relay_id', 'space_kind', 'valid_from', name=op.f('uq_rate_cards_relay_id'))
    )
    op.create_index(op.f('ix_rate_cards_relay_id'), 'rate_cards', ['relay_id'], unique=False)
    op.create_table('usage_lines',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('booking_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('space_kind', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('slot', sa.Text(), nullable=False),
    sa.Column('half_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('rate_card_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('unit_price_cents', sa.Integer(), nullable=True),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=True),
    sa.Column('amount_excl_vat_cents', sa.Integer(), nullable=True),
    sa.Column('vat_cents', sa.Integer(), nullable=True),
    sa.Column('amount_incl_vat_cents', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status = 'unpriced' OR amount_incl_vat_cents = amount_excl_vat_cents + vat_cents", name=op.f('ck_usage_lines_totals_add_up')),
    sa.CheckConstraint("status IN ('priced', 'unpriced')", name=op.f('ck_usage_lines_status')),
    sa.ForeignKeyConstraint(['rate_card_id'], ['rate_cards.id'], name=op.f('fk_usage_lines_rate_card_id_rate_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_lines')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_usage_lines_booking_id'))
    )
    op.create_index(op.f('ix_usage_lines_member_id'), 'usage_lines', ['member_id'], unique=False)
    op.create_index(op.f('ix_usage_lines_organisation_id'), 'usage_lines', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_usage_lines_relay_id'), 'usage_lines', ['relay_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_usage_lines_relay_id'), table_name='usage_lines')
    op.drop_index(op.f('ix_usage_lines_organisation_id'), table_name='usage_lines')
    op.drop_index(op.f('ix_usage_lines_member_id'), table_name='usage_lines')
    op.drop_table('usage_lines')
    op.drop_index(op.f('ix_rate_cards_relay_id'), table_name='rate_cards')
    op.drop_table('rate_cards')
    op.drop_index('ix_outbox_unpublished', table_name='outbox', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_table('outbox')
    op.drop_table('known_relays')
    op.drop_table('inbox')
    op.drop_table('idempotency_keys')
