"""Booking's tables: the relay directory, spaces and bookings.

No double booking is guaranteed by PostgreSQL itself: two exclusion constraints
refuse overlapping confirmed bookings of one space, and of one member.
"""
import uuid
from datetime import datetime, date, time

from sqlalchemy import (
    ARRAY, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, SmallInteger,
    Text, Time, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import service_base

Base = service_base()


def new_id():
    return str(uuid.uuid4())


class Relay(Base):
    __tablename__ = "relays"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("morning_opens < morning_closes AND morning_closes <= afternoon_opens "
                        "AND afternoon_opens < afternoon_closes", name="opening_hours_order"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(Text)
    commune: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(Text)
    morning_opens: Mapped[time] = mapped_column(Time, server_default=text("'08:30'"))
    morning_closes: Mapped[time] = mapped_column(Time, server_default=text("'12:30'"))
    afternoon_opens: Mapped[time] = mapped_column(Time, server_default=text("'13:30'"))
    afternoon_closes: Mapped[time] = mapped_column(Time, server_default=text("'18:00'"))
    open_weekdays: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), server_default=text("'{0,1,2,3,4}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    spaces: Mapped[list["Space"]] = relationship(back_populates="relay", order_by="Space.name")


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (
        UniqueConstraint("relay_id", "name"),
        CheckConstraint("kind IN ('desk', 'meeting_room')", name="kind"),
        CheckConstraint("capacity >= 1 AND (kind <> 'desk' OR capacity = 1)", name="capacity"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    capacity: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    relay: Mapped[Relay] = relationship(back_populates="spaces")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("slot IN ('morning', 'afternoon', 'day')", name="slot"),
        CheckConstraint("status IN ('confirmed', 'cancelled')", name="status"),
        CheckConstraint("starts_at < ends_at", name="range_order"),
        ExcludeConstraint(
            ("space_id", "="), (func.tstzrange(text("starts_at"), text("ends_at")), "&&"),
            name="no_double_booking_of_space", using="gist",
            where=text("status = 'confirmed'"),
        ),
        ExcludeConstraint(
            ("member_id", "="), (func.tstzrange(text("starts_at"), text("ends_at")), "&&"),
            name="no_double_booking_of_member", using="gist",
            where=text("status = 'confirmed'"),
        ),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id"), index=True)
    relay_id: Mapped[str] = mapped_column(ForeignKey("relays.id"), index=True)
    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default=text("'confirmed'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    space: Mapped[Space] = relationship()
    relay: Mapped[Relay] = relationship()
