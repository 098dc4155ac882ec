"""When the day-before mails go out, in each relay's own time zone. Pure.

A member who booked gets a reminder from ``REMINDER_AT`` the evening before
(the relay's local time); each relay's managers get the list of tomorrow's
arrivals from ``DIGEST_AT``, the end of their afternoon. From that hour until
midnight local time, "tomorrow" is the next local day; before it, nothing is
due. A mail is keyed by what it is about (a booking, a relay and a day), so
sending it is idempotent whatever the number of replicas or restarts
(``daily_mails.py``).
"""
import uuid
from datetime import time, timedelta
from zoneinfo import ZoneInfo

REMINDER_AT = time(18, 0)
DIGEST_AT = time(17, 0)

# The namespace of the ids of mails no event caused (a reminder, a digest).
DAILY_MAILS = uuid.UUID("5f0c3d1e-6a44-4f0e-9d1b-7a2b1c0d9e11")


def due_day(now, timezone_name, at):
    """The local day whose mails are due at ``now`` (aware), or None."""
    local = now.astimezone(ZoneInfo(timezone_name))
    return local.date() + timedelta(days=1) if local.time() >= at else None


def reminder_key(booking_id):
    return str(uuid.uuid5(DAILY_MAILS, f"reminder:{booking_id}"))


def digest_key(relay_id, day):
    return str(uuid.uuid5(DAILY_MAILS, f"digest:{relay_id}:{day.isoformat()}"))
