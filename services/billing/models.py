"""Billing's tables: rate cards, usage lines, and its projection of relays."""
from datetime import date, datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, Text, UniqueConstraint, func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from common.db import new_id, service_base

Base = service_base()



class KnownRelay(Base):
    """Relays as booking announced them (``booking.relay_created``)."""
    __tablename__ = "known_relays"

    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)


class RateCard(Base):
    """The price of a half-day of one kind of space at one relay, from a date on."""
    __tablename__ = "rate_cards"
    __table_args__ = (
        UniqueConstraint("relay_id", "space_kind", "valid_from"),
        CheckConstraint("half_day_price_cents >= 0", name="price_not_negative"),
        CheckConstraint("vat_rate_bp BETWEEN 0 AND 10000", name="vat_rate_range"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("known_relays.relay_id"), index=True)
    space_kind: Mapped[str] = mapped_column(Text)
    half_day_price_cents: Mapped[int] = mapped_column(Integer)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UsageLine(Base):
    """What one booking costs, priced from the rate card in force on its date.
    ``unpriced`` when the relay had no rate card for that kind of space yet;
    ``void`` when the booking was cancelled in time (a late cancellation stays
    billable, flagged ``late_cancellation``)."""
    __tablename__ = "usage_lines"
    __table_args__ = (
        CheckConstraint("status IN ('priced', 'unpriced', 'void')", name="status"),
        CheckConstraint(
            "status = 'unpriced' OR amount_incl_vat_cents = amount_excl_vat_cents + vat_cents",
            name="totals_add_up"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    # One line per booking, whatever happens to the event that announced it.
    booking_id: Mapped[str] = mapped_column(UUID(as_uuid=False), unique=True)
    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    space_kind: Mapped[str] = mapped_column(Text)
    date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(Text)
    half_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    rate_card_id: Mapped[str | None] = mapped_column(ForeignKey("rate_cards.id"))
    unit_price_cents: Mapped[int | None] = mapped_column(Integer)
    vat_rate_bp: Mapped[int | None] = mapped_column(Integer)
    amount_excl_vat_cents: Mapped[int | None] = mapped_column(Integer)
    vat_cents: Mapped[int | None] = mapped_column(Integer)
    amount_incl_vat_cents: Mapped[int | None] = mapped_column(Integer)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_cancellation: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
