"""What time does to bookings: desks nobody checked in to are released
(no-show), and bookings whose slot is over are completed.

Safe with several replicas: each pass claims due bookings with
``FOR UPDATE SKIP LOCKED`` (two replicas take different rows), and the state
transition re-checks the status it expects, so a booking changes once and
emits its event once.
"""
from sqlalchemy import and_, or_, select

from services.booking.bookings import BOOKING_LOADS, emit
from services.booking.models import Booking

BATCH_SIZE = 100


def claim(session, condition, order_by):
    """Lock a batch of due bookings no other replica holds, then load them.
    (Locking a plain select: an eager-loading join would put the LIMIT in a
    subquery, where SKIP LOCKED no longer means what it says.)"""
    ids = session.execute(
        select(Booking.id).where(condition).order_by(order_by)
        .limit(BATCH_SIZE).with_for_update(skip_locked=True)).scalars().all()
    if not ids:
        return []
    return session.execute(
        select(Booking).options(*BOOKING_LOADS).where(Booking.id.in_(ids), condition)
        .order_by(order_by)).unique().scalars().all()


def release_no_shows(uow, now):
    """Desks still unchecked-in at their release time become no-shows; the
    exclusion constraint stops counting them, so the desk is free again."""
    due = claim(uow.session, and_(Booking.status == "confirmed", Booking.no_show_at <= now),
                Booking.no_show_at)
    for booking in due:
        booking.status = "no_show"
        booking.updated_at = now
        emit(uow, "booking.no_show", booking, released_at=now)
    return len(due)


def complete_finished(uow, now):
    """Bookings whose slot is over are completed: checked-in ones, and those
    that were never subject to release (rooms, relays without release). A desk
    with a release time always goes through no-show first."""
    due = claim(uow.session, and_(
        Booking.ends_at <= now,
        or_(Booking.status == "checked_in",
            and_(Booking.status == "confirmed", Booking.no_show_at.is_(None)))),
        Booking.ends_at)
    for booking in due:
        checked_in = booking.status == "checked_in"
        booking.status = "completed"
        booking.completed_at = booking.updated_at = now
        emit(uow, "booking.completed", booking, completed_at=now, checked_in=checked_in)
    return len(due)
