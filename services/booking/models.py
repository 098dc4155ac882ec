"""Booking's tables: the relay directory (relays, weekly opening hours,
closures, spaces), bookings and series, and projections of identity's events
(members, organisations' kinds and policies), plus members' calendar feeds.

No double booking is guaranteed by PostgreSQL itself: two exclusion constraints
refuse overlapping active bookings (confirmed, checked in or completed) of one
space, and of one member. A cancelled or no-show booking frees the space.
"""
from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer,
    SmallInteger, Text, Time, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import new_id, service_base
from contracts.vocabulary import ONE_SEAT_SPACE_KINDS, SPACE_KINDS

Base = service_base()

ACTIVE = "status IN ('confirmed', 'checked_in', 'completed')"



class Relay(Base):
    __tablename__ = "relays"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("no_show_after_minutes IS NULL OR no_show_after_minutes BETWEEN 5 AND 240",
                        name="no_show_after_range"),
        # The proximity search's bounding-box prefilter.
        Index("ix_relays_latitude_longitude", "latitude", "longitude"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(Text)
    commune: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(Text, index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(Text)
    services: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    accessibility: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    accessibility_notes: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    managers: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    closed_on_public_holidays: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The secret the check-in code of each day is derived from (check_in_codes.py).
    check_in_secret: Mapped[str] = mapped_column(Text)
    no_show_after_minutes: Mapped[int | None] = mapped_column(Integer, server_default=text("30"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    spaces: Mapped[list["Space"]] = relationship(back_populates="relay", order_by="Space.name")

    @property
    def postal_address(self):
        """One line, as calendars show a location: "2 rue X, 23500 Felletin"."""
        return f"{self.address}, {self.postcode} {self.commune}"
    opening_hours: Mapped[list["OpeningHours"]] = relationship(
        order_by="OpeningHours.weekday", cascade="all, delete-orphan")
    closures: Mapped[list["Closure"]] = relationship(order_by="Closure.starts_on")


class OpeningHours(Base):
    """One weekday's opening at a relay; no row: closed that weekday."""
    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("(morning_opens IS NULL) = (morning_closes IS NULL) AND "
                        "(afternoon_opens IS NULL) = (afternoon_closes IS NULL)", name="pairs"),
        CheckConstraint("morning_opens IS NOT NULL OR afternoon_opens IS NOT NULL", name="some_hours"),
        CheckConstraint("morning_opens < morning_closes", name="morning_order"),
        CheckConstraint("afternoon_opens < afternoon_closes", name="afternoon_order"),
        CheckConstraint("morning_closes <= afternoon_opens", name="morning_before_afternoon"),
    )

    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id", ondelete="CASCADE"),
                                          primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    morning_opens: Mapped[time | None] = mapped_column(Time)
    morning_closes: Mapped[time | None] = mapped_column(Time)
    afternoon_opens: Mapped[time | None] = mapped_column(Time)
    afternoon_closes: Mapped[time | None] = mapped_column(Time)


class Closure(Base):
    """An ad-hoc closure of a relay, whole days in its local calendar."""
    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="date_order"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (
        UniqueConstraint("relay_id", "name"),
        CheckConstraint(f"kind IN {SPACE_KINDS!r}", name="kind"),
        CheckConstraint(f"capacity >= 1 AND (kind NOT IN {ONE_SEAT_SPACE_KINDS!r} OR capacity = 1)",
                        name="capacity"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    # Validated against its kind (contracts.vocabulary.SPACE_FEATURES_BY_KIND).
    features: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    relay: Mapped[Relay] = relationship(back_populates="spaces")
    sessions: Mapped[list["SpaceSession"]] = relationship(
        order_by="SpaceSession.start", cascade="all, delete-orphan", lazy="selectin")


class SpaceSession(Base):
    """A named session the relay defines for a space (local times): a space
    with sessions is booked for one of them, never at other times."""
    __tablename__ = "space_sessions"
    __table_args__ = (CheckConstraint("start < \"end\"", name="order"),)

    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"),
                                          primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)


class Block(Base):
    """Reserved capacity: spaces of a relay held for an organisation every
    ``weekday`` of a period, agreed with the relay's manager. Its places are
    materialised (``BlockPlace``); a place is held until its ``release_at``."""
    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="period_order"),
        CheckConstraint("billing IN ('whole', 'per_use')", name="billing"),
        CheckConstraint("(billing = 'whole') = (monthly_price_cents IS NOT NULL)",
                        name="whole_has_a_price"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    space_ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    space_kind: Mapped[str] = mapped_column(Text)
    weekday: Mapped[str] = mapped_column(Text)
    slot: Mapped[str] = mapped_column(Text)          # morning, afternoon, day, hours
    local_start: Mapped[time] = mapped_column(Time)
    local_end: Mapped[time] = mapped_column(Time)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    release_hours: Mapped[int] = mapped_column(Integer)
    billing: Mapped[str] = mapped_column(Text)
    monthly_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    places: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(UUID(as_uuid=False))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BlockPlace(Base):
    """One space held on one day for a block, from ``starts_at`` to
    ``ends_at``, until ``release_at``. Bookings of the space check these rows
    under the space's row lock (blocks.check_places)."""
    __tablename__ = "block_places"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range_order"),
        Index("ix_block_places_space_id_starts_at", "space_id", "starts_at"),
    )

    block_id: Mapped[str] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"),
                                          primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    release_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BookingSeries(Base):
    """A recurring booking: the request, and its occurrences (bookings)."""
    __tablename__ = "booking_series"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    request: Mapped[dict] = mapped_column(JSONB)
    report: Mapped[list] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("slot IN ('morning', 'afternoon', 'day', 'hours')", name="slot"),
        CheckConstraint("status IN ('confirmed', 'checked_in', 'completed', 'cancelled', "
                        "'no_show')", name="status"),
        CheckConstraint("starts_at < ends_at", name="range_order"),
        ExcludeConstraint(
            ("space_id", "="), (func.tstzrange(text("starts_at"), text("ends_at")), "&&"),
            name="no_double_booking_of_space", using="gist", where=text(ACTIVE),
        ),
        ExcludeConstraint(
            ("member_id", "="), (func.tstzrange(text("starts_at"), text("ends_at")), "&&"),
            name="no_double_booking_of_member", using="gist", where=text(ACTIVE),
        ),
        # The timers' work lists stay small: only bookings still waiting.
        Index("ix_bookings_no_show_due", "no_show_at", postgresql_where=text("status = 'confirmed'")),
        Index("ix_bookings_completion_due", "ends_at",
              postgresql_where=text("status IN ('confirmed', 'checked_in')")),
        Index("ix_bookings_relay_id_date", "relay_id", "date"),
        Index("ix_bookings_member_id_date", "member_id", "date"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    # No index on the space alone: a space's bookings are found by time through
    # no_double_booking_of_space's GiST index; a plain one on space_id lured the
    # planner into reading every booking the space ever had (booking_0012).
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"))
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"))
    series_id: Mapped[str | None] = mapped_column(ForeignKey("booking_series.id"), index=True)
    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default=text("'confirmed'"))
    no_show_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(Text)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    late_cancellation: Mapped[bool | None] = mapped_column(Boolean)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # billing's quote (excl. VAT) when booked under a monthly budget; 0 when unpriced,
    # NULL when no budget applied (it then counts 0 against a budget set later).
    price_cents: Mapped[int | None] = mapped_column(BigInteger)
    # The programme the booking was made under (it pays: billing invoices it); null: none.
    programme_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    # The block whose place its holder's member booked (blocks.py), else NULL.
    block_id: Mapped[str | None] = mapped_column(ForeignKey("blocks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    space: Mapped[Space] = relationship()
    relay: Mapped[Relay] = relationship()


class CheckInFailure(Base):
    """Wrong check-in codes a member gave at a relay on one (local) day: the
    guessing limit, whatever booking they were given for."""
    __tablename__ = "check_in_failures"

    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    failures: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class Member(Base):
    """Projection of identity's users: name for relay managers' arrivals, home
    for the radius policy, whether they may still book."""
    __tablename__ = "members"

    user_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    email: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    home_commune: Mapped[str | None] = mapped_column(Text)
    home_latitude: Mapped[float | None] = mapped_column(Float)
    home_longitude: Mapped[float | None] = mapped_column(Float)
    # Declared commute, one way, home to usual office: the impact figures.
    commute_km: Mapped[float | None] = mapped_column(Float)
    commute_mode: Mapped[str | None] = mapped_column(Text)
    profile_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the name and e-mail kept were true (the event's occurred_at).
    contact_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last reactivation applied: an older deactivation arriving late is ignored.
    reactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The booking rules of the groups holding the member (identity's
    # member_policies_changed, whole): empty, the corporate policy's apply.
    group_policies: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    group_policies_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A resident's programmes (identity's member_programmes_changed, whole) and
    # where they live, which a programme may require (its communes or départements).
    programmes: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    resident_commune: Mapped[str | None] = mapped_column(Text)
    resident_postcode: Mapped[str | None] = mapped_column(Text)
    programmes_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OrganisationKind(Base):
    """Projection of ``identity.organisation_created``: an organisation's kind
    (corporate, individual, programme...), which the audience rule reads
    (audience.py). Kinds never change, so the first event kept is the truth."""
    __tablename__ = "organisation_kinds"

    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)


class OrganisationPolicy(Base):
    """Projection of identity's corporate policies (``identity.policy_changed``)."""
    __tablename__ = "organisation_policies"
    __table_args__ = (
        CheckConstraint("allowed_relays IN ('all', 'list', 'radius')", name="allowed_relays"),
    )

    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    allowed_relays: Mapped[str] = mapped_column(Text)
    relay_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    radius_km: Mapped[int | None] = mapped_column(Integer)
    max_days_per_month: Mapped[int | None] = mapped_column(Integer)
    booking_horizon_days: Mapped[int | None] = mapped_column(Integer)
    space_kinds: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    monthly_budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    budget_per: Mapped[str] = mapped_column(Text, server_default=text("'organisation'"))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarFeed(Base):
    """A member's private iCalendar feed: only the token's SHA-256 is kept."""
    __tablename__ = "calendar_feeds"

    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UnmetDemand(Base):
    """A search that found no free space, or a booking refused because none
    was free: where the network should open or grow a relay. No personal
    data: no member, no time of day, the place rounded to 0.1 degree (about
    11 km by 8 km in metropolitan France)."""
    __tablename__ = "unmet_demand"
    __table_args__ = (
        CheckConstraint("source IN ('search', 'booking')", name="source"),
        Index("ix_unmet_demand_wanted_on", "wanted_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    wanted_on: Mapped[date] = mapped_column(Date)     # the day asked for
    kind: Mapped[str] = mapped_column(Text)           # desk, meeting_room...
    # The nearest relay's department: where the demand would be served.
    department: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)    # rounded
    longitude: Mapped[float] = mapped_column(Float)   # rounded
    relay_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))  # a refused booking's
    recorded_on: Mapped[date] = mapped_column(Date)
