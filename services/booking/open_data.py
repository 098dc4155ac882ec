"""The public open-data export: per relay and month, who the relay serves,
without anyone in it. Distinct people who used the relay (bookings held:
confirmed, checked in, completed), the share of them on their first visit to
that relay, and the median straight-line distance from their (coarse, about
1 km) home, for those who declared one. Cells of fewer than 5 people are
blanked (impact.suppress_small_cells); no id of a member, a booking or an
organisation leaves.

Not yet: people by audience (corporate employees, individuals...): booking
does not keep organisations' kinds (identity.organisation_created is not
projected here yet).
"""
import statistics
from calendar import monthrange
from datetime import date

from sqlalchemy import func, select

from services.booking import impact_report
from services.booking.geo import haversine_km
from services.booking.impact import suppress_small_cells
from services.booking.lifecycle import ACTIVE_STATUSES
from services.booking.models import Booking, Member, Relay

LICENCE = ("# Licence Ouverte / Open Licence 2.0 (Etalab), "
           "https://www.etalab.gouv.fr/licence-ouverte-open-licence - Relais des Possibles")
COLUMNS = ("month", "relay_name", "commune", "department", "people", "first_visit_share",
           "median_distance_km", "suppressed")


def relay_use(session, month):
    year, number = map(int, month.split("-"))
    first, last = date(year, number, 1), date(year, number, monthrange(year, number)[1])
    held = Booking.status.in_(ACTIVE_STATUSES)
    first_visits = {(relay_id, member_id): day for relay_id, member_id, day in session.execute(
        select(Booking.relay_id, Booking.member_id, func.min(Booking.date))
        .where(held).group_by(Booking.relay_id, Booking.member_id))}
    people = {}
    for relay, member_id, home_latitude, home_longitude in session.execute(
            select(Relay, Booking.member_id, Member.home_latitude, Member.home_longitude)
            .join(Relay, Relay.id == Booking.relay_id)
            .outerjoin(Member, Member.user_id == Booking.member_id)
            .where(held, Booking.date.between(first, last)).distinct()):
        home = (home_latitude, home_longitude) if home_latitude is not None else None
        people.setdefault(relay, {})[member_id] = home
    rows = []
    for relay, members in sorted(people.items(), key=lambda item: item[0].name):
        firsts = sum(1 for member_id in members
                     if first <= first_visits[(relay.id, member_id)] <= last)
        distances = [haversine_km(*home, relay.latitude, relay.longitude)
                     for home in members.values() if home is not None]
        rows.append({"month": month, "relay_name": relay.name, "commune": relay.commune,
                     "department": relay.department, "people": len(members),
                     "first_visit_share": round(firsts / len(members), 2),
                     "median_distance_km": round(statistics.median(distances), 1)
                     if distances else None})
    return suppress_small_cells(rows)


def relay_use_csv(session, month):
    return impact_report.to_csv(COLUMNS, relay_use(session, month), LICENCE + "\n")
