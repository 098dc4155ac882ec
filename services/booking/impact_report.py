"""Monthly impact reports: what the network's completed bookings avoided
(impact.py computes each booking's trip), per relay, department, organisation,
or, for a company's own admins, per member; and the per-booking audit file a
third party can recompute from. Plain queries, no state change.

Who sees what: network staff every booking; a relay manager their relays'; a
corporate admin their employees' (and only they get ``by=member``). Aggregates
by relay, department or organisation blank every cell of fewer than 5 people.
Months are the network's calendar months (Europe/Paris).
"""
import csv
import io
from calendar import monthrange
from datetime import date

from sqlalchemy import select

from common import errors
from services.booking import impact, views
from services.booking.models import Booking, Member, Relay
from services.booking.slots import half_days_of

GROUPINGS = ("relay", "department", "organisation", "member")
AUDIT_COLUMNS = ("booking_id", "date", "relay_id", "half_days", "known", "km_avoided",
                 "kg_co2e_avoided", "mode", "factor_kg_per_km", "factors_version",
                 "unknown_because")


def scope(caller, by):
    """A filter on the bookings the caller may count (None: all)."""
    if by == "member":
        if not (caller.has("corporate_admin") and caller.organisation_id):
            raise errors.Forbidden("Per member figures are for the company's admins only.")
        return Booking.organisation_id == caller.organisation_id
    if caller.sees_whole_network:
        return None
    if caller.has("relay_manager"):
        return Booking.relay_id.in_(list(caller.relay_ids))
    if caller.has("corporate_admin") and caller.organisation_id:
        return Booking.organisation_id == caller.organisation_id
    raise errors.Forbidden("This is for network staff, relay managers and corporate admins.")


def month_bounds(month):
    """The first and last days of a ``YYYY-MM`` month."""
    year, number = map(int, month.split("-"))
    return date(year, number, 1), date(year, number, monthrange(year, number)[1])


def trips(session, caller, month, by, factors):
    """(booking, relay, trip) of the month's completed bookings in scope."""
    first, last = month_bounds(month)
    statement = (select(Booking, Relay, Member).join(Relay, Relay.id == Booking.relay_id)
                 .outerjoin(Member, Member.user_id == Booking.member_id)
                 .where(Booking.status == "completed", Booking.date.between(first, last))
                 .order_by(Booking.date, Booking.id))
    condition = scope(caller, by)
    if condition is not None:
        statement = statement.where(condition)
    for booking, relay, member in session.execute(statement):
        home = (member.home_latitude, member.home_longitude) \
            if member is not None and member.home_latitude is not None else None
        trip = impact.trip_avoided(
            member.commute_km if member else None, member.commute_mode if member else None,
            home, (relay.latitude, relay.longitude), half_days(booking), factors)
        yield booking, relay, trip


def half_days(booking):
    return half_days_of(booking.slot, views.minutes(booking))


def report(session, caller, month, by, factors):
    groups = {}
    for booking, relay, trip in trips(session, caller, month, by, factors):
        key = {"relay": lambda: (relay.id, relay.name), "department": lambda: relay.department,
               "organisation": lambda: booking.organisation_id,
               "member": lambda: booking.member_id}[by]()
        group = groups.setdefault(key, {"members": set(), "days": set(), "bookings": 0,
                                        "unknown": 0, "km": 0.0, "kg": 0.0})
        group["members"].add(booking.member_id)
        group["days"].add((booking.member_id, booking.date))
        group["bookings"] += 1
        if trip.known:
            group["km"] += trip.km_avoided
            group["kg"] += trip.kg_co2e_avoided
        else:
            group["unknown"] += 1
    rows = []
    for key, group in sorted(groups.items(), key=lambda item: str(item[0])):
        label = {"relay": lambda: {"relay_id": key[0], "relay_name": key[1]}}.get(
            by, lambda: {f"{by}_id" if by != "department" else by: key})()
        rows.append(label | {
            "people": len(group["members"]), "days": len(group["days"]),
            "bookings": group["bookings"], "bookings_without_profile": group["unknown"],
            "km_avoided": round(group["km"], 1), "kg_co2e_avoided": round(group["kg"], 2)})
    if by != "member":
        rows = impact.suppress_small_cells(rows)
    return {"month": month, "by": by, "factors_version": factors.version, "rows": rows}


def report_csv(session, caller, month, by, factors):
    found = report(session, caller, month, by, factors)
    rows = found["rows"]
    columns = list(rows[0]) if rows else ["people", "days", "bookings",
                                         "bookings_without_profile", "km_avoided",
                                         "kg_co2e_avoided"]
    return to_csv(columns, rows, f"# month={month} by={by} factors={factors.version}\n")


def audit_csv(session, caller, month, factors):
    """One line per completed booking: enough to recompute each figure."""
    if not (caller.sees_whole_network or caller.has("corporate_admin")):
        raise errors.Forbidden("The audit file is for network staff and corporate admins.")
    rows = [{"booking_id": booking.id, "date": booking.date.isoformat(),
             "relay_id": relay.id, "half_days": half_days(booking), "known": trip.known,
             "km_avoided": trip.km_avoided, "kg_co2e_avoided": trip.kg_co2e_avoided,
             "mode": trip.mode, "factor_kg_per_km": trip.factor_kg_per_km,
             "factors_version": trip.factors_version or factors.version,
             "unknown_because": trip.unknown_because}
            for booking, relay, trip in trips(session, caller, month, "relay", factors)]
    return to_csv(AUDIT_COLUMNS, rows, f"# month={month} factors={factors.version}\n")


def to_csv(columns, rows, header):
    out = io.StringIO()
    out.write(header)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()
                         if key in columns})
    return out.getvalue()
