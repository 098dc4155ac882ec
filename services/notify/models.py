"""Notify's tables: who to tell (contacts, from identity's events) and what was sent."""
from datetime import date, datetime

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from common.db import new_id, service_base

Base = service_base()


class Contact(Base):
    __tablename__ = "contacts"

    user_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    # A relay operator's relay managers are told of its settlements.
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    # The relays a relay manager runs: they get the digest of tomorrow's arrivals.
    relay_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    # The language they are written to in (identity's user locale).
    locale: Mapped[str] = mapped_column(Text, server_default=text("'fr'"))


class Preference(Base):
    """A person's choice for one category of optional mails (message_categories.py);
    no row: the category's default (on)."""
    __tablename__ = "preferences"

    user_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class Booking(Base):
    """What notify keeps of a booking (from booking.confirmed / cancelled) to
    remind its member the day before and tell the relay's managers who
    arrives: ``date`` is the relay's local day, ``data`` the event's data."""
    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_date_status", "date", "status"),)

    booking_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    member_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)      # confirmed, cancelled
    data: Mapped[dict] = mapped_column(JSONB)
    # Set in the transaction that sends (or skips) the reminder: never twice.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """One message sent because of one event: the unique key is what keeps a
    redelivered event from mailing twice.

    ``state``: ``handed_over``, committed on its own just before the SMTP DATA
    terminator (deliveries.py): from then on the mail is never sent again,
    whoever handles the event next; ``sent`` once the server answered 250 (in
    the transaction of the inbox mark). A row that stays ``handed_over`` is a
    mail whose answer notify never read (it was killed, or the connection broke
    after the terminator): most likely delivered, not certainly."""
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", "recipient"),
                      CheckConstraint("state IN ('handed_over', 'sent')", name="state"))

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    event_type: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    state: Mapped[str] = mapped_column(Text, server_default=text("'sent'"))


class WebhookEndpoint(Base):
    """A URL an organisation's admins registered to receive events. ``scope``
    and ``relay_ids`` are fixed at creation from the creator (webhook_rules.py)."""
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    scope: Mapped[str] = mapped_column(Text)
    relay_ids: Mapped[list] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(UUID(as_uuid=False))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list] = mapped_column(JSONB)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookSecret(Base):
    """Signing secrets of an endpoint: the current one (no expiry) and, after a
    rotation, the previous one until ``expires_at``. Kept in clear: signing
    needs them (the database is the secret store)."""
    __tablename__ = "webhook_secrets"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    endpoint_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookDelivery(Base):
    """One event for one endpoint; ``id`` is the ``webhook-id`` header, stable
    across retries and replays so receivers can de-duplicate."""
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    event_type: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending")  # pending, succeeded, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookAttempt(Base):
    """One HTTP call of a delivery: what the receiver answered, how fast."""
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        Text, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
