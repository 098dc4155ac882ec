"""Members' private iCalendar feeds. The URL's token is a secret: only its
SHA-256 is stored, it is shown once when the feed is created, and creating a
new one (or revoking) makes the old URL answer 404."""
import hashlib
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from common import config, errors
from services.booking import ical
from services.booking.bookings import BOOKING_LOADS
from services.booking.models import Booking, CalendarFeed

FEED_PAST = timedelta(days=60)
FEED_LIMIT = 1000


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def feed_path(token):
    return f"/v1/calendar/{token}.ics"


def create_feed(uow, caller, now):
    """A new secret URL for the caller's bookings (replacing any previous one)."""
    token = secrets.token_urlsafe(32)
    values = {"token_hash": token_hash(token), "created_at": now}
    uow.session.execute(insert(CalendarFeed).values(member_id=caller.user_id, **values)
                        .on_conflict_do_update(index_elements=[CalendarFeed.member_id], set_=values))
    base = config.api_public_url()
    return {"url": base + feed_path(token), "created_at": now}


def revoke_feed(uow, caller):
    feed = uow.session.get(CalendarFeed, caller.user_id)
    if feed is None:
        raise errors.NotFound("You have no calendar feed.")
    uow.session.delete(feed)
    return {"revoked": True}


def revoke_feeds_of(session, member_id):
    """Make the member's feed URL answer 404 (a deactivated member's
    bookings are no one's business any more)."""
    session.execute(delete(CalendarFeed).where(CalendarFeed.member_id == member_id))


def render_feed(session, token, now):
    feed = None
    if token and len(token) <= 100:
        feed = session.execute(select(CalendarFeed).where(
            CalendarFeed.token_hash == token_hash(token))).scalar_one_or_none()
    if feed is None:
        raise errors.NotFound("No such calendar feed (it may have been revoked).")
    bookings = session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.member_id == feed.member_id, Booking.ends_at >= now - FEED_PAST)
        .order_by(Booking.starts_at).limit(FEED_LIMIT)).unique().scalars().all()
    return ical.render([entry(booking) for booking in bookings], "Relais des Possibles", now)


def entry(booking):
    tz = ZoneInfo(booking.relay.timezone)
    starts, ends = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    return ical.FeedEntry(
        booking_id=booking.id, status=booking.status, starts_at=booking.starts_at,
        ends_at=booking.ends_at, updated_at=booking.updated_at, relay_name=booking.relay.name,
        relay_address=booking.relay.postal_address,
        space_name=booking.space.name, space_kind=booking.space.kind,
        local_times=f"{starts:%d/%m/%Y %H:%M}–{ends:%H:%M} ({booking.relay.timezone})")
