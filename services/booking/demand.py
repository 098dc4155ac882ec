"""Unmet demand: availability searches that found no free space and bookings
refused because none was free, recorded without personal data (no member, no
time of day, the place rounded to 0.1 degree) and reported by department and
month, so the network sees where to open or grow a relay.

A search is recorded when it returns nothing, whatever the reason (no relay
near, all closed that day, all full): from the member's side each is a need
the network did not meet. The department is the nearest relay's: where the
demand would be served.
"""
from sqlalchemy import func, select

from common import errors
from services.booking import directory, views
from services.booking.models import Relay, Space, UnmetDemand

PLACE_DECIMALS = 1
# A booking refused by these rules was refused for lack of space.
NO_SPACE_CODES = frozenset({"space-taken", "no-space-free"})


def rounded(latitude, longitude):
    return round(latitude, PLACE_DECIMALS), round(longitude, PLACE_DECIMALS)


def nearest_department(session, latitude, longitude):
    return session.execute(
        select(Relay.department).order_by(directory.distance_km_sql(
            directory.sql_degrees(latitude), directory.sql_degrees(longitude)))
        .limit(1)).scalar_one_or_none()


def record_search(session, query, now):
    latitude, longitude = rounded(query["latitude"], query["longitude"])
    session.add(UnmetDemand(
        source="search", wanted_on=query["date"], kind=query["kind"],
        department=nearest_department(session, query["latitude"], query["longitude"]),
        latitude=latitude, longitude=longitude, recorded_on=views.billing_day(now)))


def record_refused_booking(session, data, now):
    """``data``: the booking request (BookingCreateSchema), by space or by relay."""
    if "space_id" in data:
        space = session.get(Space, str(data["space_id"]))
        relay, kind = (space.relay, space.kind) if space else (None, None)
    else:
        relay, kind = session.get(Relay, str(data["relay_id"])), data.get("kind", "desk")
    if relay is None:
        return
    latitude, longitude = rounded(relay.latitude, relay.longitude)
    session.add(UnmetDemand(
        source="booking", wanted_on=data["date"], kind=kind, department=relay.department,
        latitude=latitude, longitude=longitude, relay_id=relay.id,
        recorded_on=views.billing_day(now)))


def report(session, caller, first_month, last_month):
    """Per department, month (of the day wanted) and kind of space: searches
    that found nothing and bookings refused for lack of space. Network staff
    only: it is about where the network grows."""
    if not caller.sees_whole_network:
        raise errors.Forbidden("This is for network staff.")
    month = func.to_char(UnmetDemand.wanted_on, "YYYY-MM")
    rows = session.execute(
        select(UnmetDemand.department, month.label("month"), UnmetDemand.kind,
               func.count().filter(UnmetDemand.source == "search").label("searches"),
               func.count().filter(UnmetDemand.source == "booking").label("refused_bookings"))
        .where(month.between(first_month, last_month))
        .group_by(UnmetDemand.department, month, UnmetDemand.kind)
        .order_by(month, UnmetDemand.department.nulls_last(), UnmetDemand.kind)).all()
    return {"from_month": first_month, "to_month": last_month,
            "rows": [row._asdict() for row in rows]}
