"""a space's bookings are found by time, not read whole: drop ix_bookings_space_id

The availability search and the "any desk" pick ask, for each space, whether an
active booking overlaps the wanted times. no_double_booking_of_space's GiST
index answers that in a probe; with a plain btree on space_id beside it the
planner preferred the btree and read every booking the space ever had (19 ms
against 1.5 ms for a search at 1,000 relays and 1,000,000 bookings, and
growing with the years). Nothing else looks bookings up by space alone: the
block check goes through ix_bookings_relay_id_date, and spaces are never
deleted (only a space's deletion would make the foreign key scan bookings).

Revision ID: booking_0012_bookings_by_time
Revises: booking_0011_organisation_kinds
Create Date: 2026-12-01 23:40:00.000000
"""
from alembic import op


revision = 'booking_0012_bookings_by_time'
down_revision = 'booking_0011_organisation_kinds'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_bookings_space_id', table_name='bookings')


def downgrade():
    op.create_index('ix_bookings_space_id', 'bookings', ['space_id'], unique=False)
