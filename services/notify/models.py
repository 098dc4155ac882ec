"""Notify's tables: who to tell (contacts, from identity's events) and what was sent."""
from datetime import datetime

from sqlalchemy import DateTime, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
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


class Delivery(Base):
    """One message sent because of one event: the unique key is what keeps a
    redelivered event from mailing twice."""
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", "recipient"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    event_type: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
