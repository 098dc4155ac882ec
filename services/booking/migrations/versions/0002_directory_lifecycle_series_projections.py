"""directory (weekly hours, closures, services), booking lifecycle, series,
identity projections, calendar feeds

Revision ID: booking_0002
Revises: booking_0001
Create Date: 2026-11-25 13:17:45.682712
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'booking_0002'
down_revision = 'booking_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking_series',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('request', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_series'))
    )
    op.create_index(op.f('ix_booking_series_member_id'), 'booking_series', ['member_id'], unique=False)
    op.create_table('calendar_feeds',
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table('members',
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('full_name', sa.Text(), nullable=True),
    sa.Column('home_commune', sa.Text(), nullable=True),
    sa.Column('home_latitude', sa.Float(), nullable=True),
    sa.Column('home_longitude', sa.Float(), nullable=True),
    sa.Column('profile_as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_members'))
    )
    op.create_index(op.f('ix_members_organisation_id'), 'members', ['organisation_id'], unique=False)
    op.create_table('organisation_policies',
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('allowed_relays', sa.Text(), nullable=False),
    sa.Column('relay_ids', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('radius_km', sa.Integer(), nullable=True),
    sa.Column('max_days_per_month', sa.Integer(), nullable=True),
    sa.Column('booking_horizon_days', sa.Integer(), nullable=True),
    sa.Column('space_kinds', sa.ARRAY(sa.Text()), nullable=True),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("allowed_relays IN ('all', 'list', 'radius')", name=op.f('ck_organisation_policies_allowed_relays')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisation_policies'))
    )
    op.create_table('closures',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_closures_date_order')),
    sa.ForeignKeyConstraint(['relay_id'], ['relays.id'], name=op.f('fk_closures_relay_id_relays')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closures'))
    )
    op.create_index(op.f('ix_closures_relay_id'), 'closures', ['relay_id'], unique=False)
    op.create_table('opening_hours',
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('morning_opens', sa.Time(), nullable=True),
    sa.Column('morning_closes', sa.Time(), nullable=True),
    sa.Column('afternoon_opens', sa.Time(), nullable=True),
    sa.Column('afternoon_closes', sa.Time(), nullable=True),
    sa.CheckConstraint('(morning_opens IS NULL) = (morning_closes IS NULL) AND (afternoon_opens IS NULL) = (afternoon_closes IS NULL)', name=op.f('ck_opening_hours_pairs')),
    sa.CheckConstraint('afternoon_opens < afternoon_closes', name=op.f('ck_opening_hours_afternoon_order')),
    sa.CheckConstraint('morning_closes <= afternoon_opens', name=op.f('ck_opening_hours_morning_before_afternoon')),
    sa.CheckConstraint('morning_opens < morning_closes', name=op.f('ck_opening_hours_morning_order')),
    sa.CheckConstraint('morning_opens IS NOT NULL OR afternoon_opens IS NOT NULL', name=op.f('ck_opening_hours_some_hours')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_opening_hours_weekday_range')),
    sa.ForeignKeyConstraint(['relay_id'], ['relays.id'], name=op.f('fk_opening_hours_relay_id_relays'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('relay_id', 'weekday', name=op.f('pk_opening_hours'))
    )
    op.add_column('bookings', sa.Column('series_id', sa.UUID(as_uuid=False), nullable=True))
    op.add_column('bookings', sa.Column('no_show_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('bookings', sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('bookings', sa.Column('checked_in_by', sa.Text(), nullable=True))
    op.add_column('bookings', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('bookings', sa.Column('cancelled_by', sa.Text(), nullable=True))
    op.add_column('bookings', sa.Column('cancellation_reason', sa.Text(), nullable=True))
    op.add_column('bookings', sa.Column('late_cancellation', sa.Boolean(), nullable=True))
    op.add_column('bookings', sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('bookings', sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.drop_index(op.f('ix_bookings_member_id'), table_name='bookings')
    op.drop_index(op.f('ix_bookings_relay_id'), table_name='bookings')
    op.create_index('ix_bookings_completion_due', 'bookings', ['ends_at'], unique=False, postgresql_where=sa.text("status IN ('confirmed', 'checked_in')"))
    op.create_index('ix_bookings_member_id_date', 'bookings', ['member_id', 'date'], unique=False)
    op.create_index('ix_bookings_no_show_due', 'bookings', ['no_show_at'], unique=False, postgresql_where=sa.text("status = 'confirmed'"))
    op.create_index('ix_bookings_relay_id_date', 'bookings', ['relay_id', 'date'], unique=False)
    op.create_index(op.f('ix_bookings_series_id'), 'bookings', ['series_id'], unique=False)
    op.create_foreign_key(op.f('fk_bookings_series_id_booking_series'), 'bookings', 'booking_series', ['series_id'], ['id'])
    op.add_column('relays', sa.Column('department', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('services', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False))
    op.add_column('relays', sa.Column('accessibility', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False))
    op.add_column('relays', sa.Column('accessibility_notes', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('contact_email', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('contact_phone', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('website', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('managers', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False))
    op.add_column('relays', sa.Column('closed_on_public_holidays', sa.Boolean(), server_default=sa.text('true'), nullable=False))
    op.add_column('relays', sa.Column('check_in_code', sa.Text(), nullable=True))
    op.add_column('relays', sa.Column('no_show_after_minutes', sa.Integer(), server_default=sa.text('30'), nullable=True))
    op.create_index(op.f('ix_relays_department'), 'relays', ['department'], unique=False)
    op.create_index('ix_relays_latitude_longitude', 'relays', ['latitude', 'longitude'], unique=False)
    # Existing relays keep their hours, now one row per open weekday.
    op.execute("""
        INSERT INTO opening_hours (relay_id, weekday, morning_opens, morning_closes,
                                   afternoon_opens, afternoon_closes)
        SELECT id, unnest(open_weekdays), morning_opens, morning_closes,
               afternoon_opens, afternoon_closes FROM relays
    """)
    # Department from the postcode (Corsica 2A/2B, overseas three digits), as
    # public_holidays.department_of_postcode does for new relays.
    op.execute("""
        UPDATE relays SET department = CASE
            WHEN postcode LIKE '97%' OR postcode LIKE '98%' THEN left(postcode, 3)
            WHEN postcode LIKE '20%' THEN CASE WHEN postcode < '20200' THEN '2A' ELSE '2B' END
            ELSE left(postcode, 2) END,
          check_in_code = lpad((floor(random() * 1000000))::int::text, 6, '0')
    """)
    op.alter_column('relays', 'department', nullable=False)
    op.alter_column('relays', 'check_in_code', nullable=False)
    op.drop_column('relays', 'afternoon_closes')
    op.drop_column('relays', 'morning_closes')
    op.drop_column('relays', 'open_weekdays')
    op.drop_column('relays', 'morning_opens')
    op.drop_column('relays', 'afternoon_opens')
    op.create_check_constraint(op.f('ck_relays_no_show_after_range'), 'relays',
                               'no_show_after_minutes IS NULL OR no_show_after_minutes BETWEEN 5 AND 240')
    # The booking lifecycle: new statuses and bookings by the hour. A booking
    # holds its space while confirmed, checked in or completed (hand-written:
    # autogenerate does not compare check or exclusion constraints).
    op.drop_constraint(op.f('ck_bookings_slot'), 'bookings', type_='check')
    op.create_check_constraint(op.f('ck_bookings_slot'), 'bookings',
                               "slot IN ('morning', 'afternoon', 'day', 'hours')")
    op.drop_constraint(op.f('ck_bookings_status'), 'bookings', type_='check')
    op.create_check_constraint(op.f('ck_bookings_status'), 'bookings',
                               "status IN ('confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')")
    for column in ('space', 'member'):
        op.execute(f'ALTER TABLE bookings DROP CONSTRAINT no_double_booking_of_{column}')
        op.execute(f"""
            ALTER TABLE bookings ADD CONSTRAINT no_double_booking_of_{column}
            EXCLUDE USING gist ({column}_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
            WHERE (status IN ('confirmed', 'checked_in', 'completed'))
        """)
    op.add_column('spaces', sa.Column('amenities', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False))



def downgrade():
    for column in ('space', 'member'):
        op.execute(f'ALTER TABLE bookings DROP CONSTRAINT no_double_booking_of_{column}')
    op.execute("UPDATE bookings SET status = 'cancelled' WHERE status NOT IN ('confirmed', 'cancelled')")
    op.execute("DELETE FROM bookings WHERE slot = 'hours'")
    op.drop_constraint(op.f('ck_bookings_status'), 'bookings', type_='check')
    op.create_check_constraint(op.f('ck_bookings_status'), 'bookings', "status IN ('confirmed', 'cancelled')")
    op.drop_constraint(op.f('ck_bookings_slot'), 'bookings', type_='check')
    op.create_check_constraint(op.f('ck_bookings_slot'), 'bookings', "slot IN ('morning', 'afternoon', 'day')")
    for column in ('space', 'member'):
        op.execute(f"""
            ALTER TABLE bookings ADD CONSTRAINT no_double_booking_of_{column}
            EXCLUDE USING gist ({column}_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
            WHERE (status = 'confirmed')
        """)
    op.drop_constraint(op.f('ck_relays_no_show_after_range'), 'relays', type_='check')
    op.drop_column('spaces', 'amenities')
    op.add_column('relays', sa.Column('afternoon_opens', postgresql.TIME(), server_default=sa.text("'13:30:00'::time without time zone"), autoincrement=False, nullable=False))
    op.add_column('relays', sa.Column('morning_opens', postgresql.TIME(), server_default=sa.text("'08:30:00'::time without time zone"), autoincrement=False, nullable=False))
    op.add_column('relays', sa.Column('open_weekdays', postgresql.ARRAY(sa.SMALLINT()), server_default=sa.text("'{0,1,2,3,4}'::smallint[]"), autoincrement=False, nullable=False))
    op.add_column('relays', sa.Column('morning_closes', postgresql.TIME(), server_default=sa.text("'12:30:00'::time without time zone"), autoincrement=False, nullable=False))
    op.add_column('relays', sa.Column('afternoon_closes', postgresql.TIME(), server_default=sa.text("'18:00:00'::time without time zone"), autoincrement=False, nullable=False))
    op.drop_index('ix_relays_latitude_longitude', table_name='relays')
    op.drop_index(op.f('ix_relays_department'), table_name='relays')
    op.drop_column('relays', 'no_show_after_minutes')
    op.drop_column('relays', 'check_in_code')
    op.drop_column('relays', 'closed_on_public_holidays')
    op.drop_column('relays', 'managers')
    op.drop_column('relays', 'website')
    op.drop_column('relays', 'contact_phone')
    op.drop_column('relays', 'contact_email')
    op.drop_column('relays', 'accessibility_notes')
    op.drop_column('relays', 'accessibility')
    op.drop_column('relays', 'services')
    op.drop_column('relays', 'department')
    op.drop_constraint(op.f('fk_bookings_series_id_booking_series'), 'bookings', type_='foreignkey')
    op.drop_index(op.f('ix_bookings_series_id'), table_name='bookings')
    op.drop_index('ix_bookings_relay_id_date', table_name='bookings')
    op.drop_index('ix_bookings_no_show_due', table_name='bookings', postgresql_where=sa.text("status = 'confirmed'"))
    op.drop_index('ix_bookings_member_id_date', table_name='bookings')
    op.drop_index('ix_bookings_completion_due', table_name='bookings', postgresql_where=sa.text("status IN ('confirmed', 'checked_in')"))
    op.create_index(op.f('ix_bookings_relay_id'), 'bookings', ['relay_id'], unique=False)
    op.create_index(op.f('ix_bookings_member_id'), 'bookings', ['member_id'], unique=False)
    op.drop_column('bookings', 'updated_at')
    op.drop_column('bookings', 'completed_at')
    op.drop_column('bookings', 'late_cancellation')
    op.drop_column('bookings', 'cancellation_reason')
    op.drop_column('bookings', 'cancelled_by')
    op.drop_column('bookings', 'cancelled_at')
    op.drop_column('bookings', 'checked_in_by')
    op.drop_column('bookings', 'checked_in_at')
    op.drop_column('bookings', 'no_show_at')
    op.drop_column('bookings', 'series_id')
    op.drop_table('opening_hours')
    op.drop_index(op.f('ix_closures_relay_id'), table_name='closures')
    op.drop_table('closures')
    op.drop_table('organisation_policies')
    op.drop_index(op.f('ix_members_organisation_id'), table_name='members')
    op.drop_table('members')
    op.drop_table('calendar_feeds')
    op.drop_index(op.f('ix_booking_series_member_id'), table_name='booking_series')
    op.drop_table('booking_series')
