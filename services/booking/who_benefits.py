"""Who benefits: per relay and month, the distinct people a relay served, by
audience (audience.py's rule), the share of them on their first visit to that
relay, and the median distance they came from home. Plain queries, no state
change; the same figures feed the authenticated report and the public open
data (open_data.py).

- Counted: completed bookings of the month (Europe/Paris calendar months).
- A first visit: the person's first completed booking at that relay falls in
  the month.
- Distance: straight line from the home booking keeps (the profile's policy
  home, about 1 km coarse) to the relay. Without a home the person is counted
  in ``distance_unknown`` and left out of the median, never counted as zero.
- Every relay that served anyone gets a row per audience, even an empty one,
  so that a row's presence says nothing; a row of fewer than 5 people is
  blanked (impact.suppress_small_cells). Audiences may add up to more than
  the ``all`` row: someone who booked a desk and a booth is in both.
"""
import statistics

from sqlalchemy import func, select

from services.booking import impact_report
from services.booking.audience import AUDIENCES, audience_of
from services.booking.geo import haversine_km
from services.booking.impact import suppress_small_cells
from services.booking.models import Booking, Member, OrganisationKind, Relay, Space

ALL = "all"
COLUMNS = ("month", "relay_id", "relay_name", "commune", "department", "audience", "people",
           "first_visit_share", "median_distance_km", "distance_unknown", "suppressed")


def figures(session, month, condition=None):
    """Rows per relay (by name) and audience (``all`` first); ``condition``
    narrows the bookings counted to the caller's (impact_report.scope)."""
    first, last = impact_report.month_bounds(month)
    statement = (
        select(Booking.relay_id, Booking.member_id, Booking.programme_id, Space.kind,
               OrganisationKind.kind, Member.programmes, Member.home_latitude,
               Member.home_longitude)
        .join(Space, Space.id == Booking.space_id)
        .outerjoin(OrganisationKind, OrganisationKind.organisation_id == Booking.organisation_id)
        .outerjoin(Member, Member.user_id == Booking.member_id)
        .where(Booking.status == "completed", Booking.date.between(first, last)))
    if condition is not None:
        statement = statement.where(condition)
    people = {}     # relay id -> audience -> member id -> home (or None)
    for (relay_id, member_id, programme_id, space_kind, organisation_kind, programmes,
         latitude, longitude) in session.execute(statement):
        audience = audience_of(programme_id, space_kind, organisation_kind, bool(programmes))
        home = (latitude, longitude) if latitude is not None else None
        for key in (ALL, audience):
            people.setdefault(relay_id, {}).setdefault(key, {})[member_id] = home
    if not people:
        return []
    relays = session.scalars(select(Relay).where(Relay.id.in_(list(people)))
                             .order_by(Relay.name, Relay.id)).all()
    firsts = first_visits(session, people)
    rows = []
    for relay in relays:
        for audience in (ALL, *AUDIENCES):
            members = people[relay.id].get(audience, {})
            rows.append({"month": month, "relay_id": relay.id, "relay_name": relay.name,
                         "commune": relay.commune, "department": relay.department,
                         "audience": audience}
                        | served(members, relay, firsts, first, last))
    return suppress_small_cells(rows)


def first_visits(session, people):
    """(relay id, member id) -> the day of the member's first completed booking there."""
    members = {member_id for audiences in people.values() for member_id in audiences[ALL]}
    return {(relay_id, member_id): day for relay_id, member_id, day in session.execute(
        select(Booking.relay_id, Booking.member_id, func.min(Booking.date))
        .where(Booking.status == "completed", Booking.relay_id.in_(list(people)),
               Booking.member_id.in_(list(members)))
        .group_by(Booking.relay_id, Booking.member_id))}


def served(members, relay, firsts, first, last):
    """The figures of one cell: ``members`` maps each person to their home."""
    distances = [haversine_km(*home, relay.latitude, relay.longitude)
                 for home in members.values() if home is not None]
    new = sum(1 for member_id in members if first <= firsts[(relay.id, member_id)] <= last)
    return {"people": len(members),
            "first_visit_share": round(new / len(members), 2) if members else None,
            "median_distance_km": round(statistics.median(distances), 1) if distances else None,
            "distance_unknown": len(members) - len(distances)}


def report(session, caller, month):
    """Network staff every relay, a relay manager their relays, a corporate
    admin their employees' bookings (impact_report.scope)."""
    return {"month": month, "rows": figures(session, month, impact_report.scope(caller, "relay"))}


def report_csv(session, caller, month):
    return impact_report.to_csv(COLUMNS, report(session, caller, month)["rows"],
                                f"# month={month} who benefits\n")
