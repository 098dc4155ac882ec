"""Recurring bookings: the same slot every N weeks. Each occurrence is booked
on its own (in a savepoint) or reported with the rule that refused it; the
series is kept only if at least one occurrence was booked."""
from datetime import timedelta

from sqlalchemy import select

from common import errors
from common.validation import is_uuid
from services.booking import bookings
from services.booking.models import Booking, BookingSeries


def occurrence_dates(first, every_weeks, occurrences):
    return [first + timedelta(weeks=every_weeks * n) for n in range(occurrences)]


def book_series(uow, caller, data, request, now, quote=None, ask_home=None):
    caller.require("member")
    series = BookingSeries(member_id=caller.user_id, organisation_id=caller.organisation_id,
                           request=request, report=[])
    uow.session.add(series)
    uow.session.flush()
    target = {key: value for key, value in data.items() if key not in ("every_weeks", "occurrences")}
    report, made = [], []
    for day in occurrence_dates(data["date"], data["every_weeks"], data["occurrences"]):
        try:
            with uow.session.begin_nested():
                booking = bookings.book(uow, caller, dict(target, date=day), now,
                                        series_id=series.id, quote=quote, ask_home=ask_home)
            made.append(booking)
            report.append({"date": day.isoformat(), "outcome": "booked",
                           "booking_id": booking.id, "rule": None, "detail": None})
        except errors.RelaisError as refusal:
            if isinstance(refusal, errors.NotFound):
                raise  # an unknown space or relay: the whole request is wrong
            report.append({"date": day.isoformat(), "outcome": "refused", "booking_id": None,
                           "rule": refusal.code, "detail": refusal.detail})
    if not made:
        raise errors.Conflict("No occurrence of this series could be booked.",
                              code="no-occurrence-bookable",
                              fields={o["date"]: [f"{o['rule']}: {o['detail']}"] for o in report})
    series.report = report
    series.bookings = made
    return series


def visible_series(session, caller, series_id):
    series = session.get(BookingSeries, series_id) if is_uuid(series_id) else None
    if series is None or not (series.member_id == caller.user_id or caller.sees_whole_network or (
            caller.has("corporate_admin") and series.organisation_id == caller.organisation_id)):
        raise errors.NotFound(f"No booking series {series_id}.")
    return series


def get_series(session, caller, series_id):
    series = visible_series(session, caller, series_id)
    series.bookings = session.execute(
        select(Booking).options(*bookings.BOOKING_LOADS).where(Booking.series_id == series.id)
        .order_by(Booking.starts_at)).unique().scalars().all()
    return series


def cancel_series(uow, caller, series_id, data, now):
    """Cancel the occurrences still to come (or those from a date on)."""
    series = visible_series(uow.session, caller, series_id)
    statement = (select(Booking).options(*bookings.BOOKING_LOADS)
                 .where(Booking.series_id == series.id, Booking.status == "confirmed",
                        Booking.ends_at > now)
                 .order_by(Booking.starts_at).with_for_update(of=Booking))
    if data.get("start"):
        statement = statement.where(Booking.date >= data["start"])
    cancelled = []
    for booking in uow.session.execute(statement).unique().scalars().all():
        by = bookings.cancelled_by(caller, booking)
        cancelled.append(bookings.cancel_booking(uow, booking, by, data.get("reason"), now))
    return {"series_id": series.id, "cancelled": cancelled}
