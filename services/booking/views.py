"""Read views for relay managers (their relay's day and week) and corporate
admins (their employees' bookings in a month). Plain queries, no state change."""
from datetime import date, timedelta
from calendar import monthrange
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from common import errors
from contracts.vocabulary import PRIVATE_SPACE_KINDS
from services.booking import check_in_codes, directory, occupancy
from services.booking.lifecycle import ACTIVE_STATUSES
from services.booking.bookings import BOOKING_LOADS, SPENDING
from services.booking.models import Booking, Member
from services.booking.slots import DayHours, half_days_of


# The network invoices companies by calendar month in metropolitan France.
BILLING_TIMEZONE = ZoneInfo("Europe/Paris")


def minutes(booking):
    return int((booking.ends_at - booking.starts_at).total_seconds() // 60)


def _occupancy_of_days(session, relay, days):
    closures = directory.closures_between(session, [relay.id], days[0], days[-1]).get(relay.id, [])
    calendar = directory.calendar_of(relay, closures)
    desks = sum(1 for space in relay.spaces if space.kind == "desk")
    rooms = len(relay.spaces) - desks
    rows = session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.relay_id == relay.id, Booking.date.between(days[0], days[-1]),
               Booking.status != "cancelled")
        .order_by(Booking.starts_at, Booking.id)).unique().scalars().all()
    result = [day_occupancy(calendar, desks, rooms, day,
                            [occupancy.DayBooking(b.space.kind, b.slot, minutes(b), b.status)
                             for b in rows if b.date == day])
              for day in days]
    return result, rows


def day_occupancy(calendar, desks, rooms, day, day_bookings):
    """One relay's occupancy on ``day`` from its calendar and that day's
    bookings (occupancy.DayBooking); the metrics read it the same way."""
    closed = calendar.closed_because(day)
    day_hours = calendar.weekly.get(day.weekday(), DayHours())
    return occupancy.day_occupancy(day, closed[1] if closed else None, day_hours,
                                   desks, rooms, day_bookings)


def relay_day(session, caller, relay_id, day, now):
    relay = directory.managed_relay(session, caller, relay_id)
    day = day or directory.local_today(relay, now)
    (summary,), bookings = _occupancy_of_days(session, relay, [day])
    members = {m.user_id: m for m in session.execute(
        select(Member).where(Member.user_id.in_({b.member_id for b in bookings}))).scalars()}
    for booking in bookings:
        member = members.get(booking.member_id)
        booking.member_name = member.full_name if member else None
        # A private booth shows that it is booked and by whom, nothing more
        # (no e-mail to write to about it; no purpose is ever kept).
        booking.private = booking.space.kind in PRIVATE_SPACE_KINDS
        booking.member_email = member.email if member and not booking.private else None
    arrivals = sorted(bookings, key=lambda b: (b.starts_at, b.member_name is None,
                                              b.member_name or "", b.id))
    return {"relay_id": relay.id, "date": day,
            "check_in_code": check_in_codes.code_of_day(relay.check_in_secret, day),
            "occupancy": summary, "arrivals": arrivals}


def relay_week(session, caller, relay_id, start, now):
    relay = directory.managed_relay(session, caller, relay_id)
    start = start or directory.local_today(relay, now)
    days, _ = _occupancy_of_days(session, relay, [start + timedelta(days=n) for n in range(7)])
    return {"relay_id": relay.id, "start": start, "days": days}


def billing_month(now):
    """The month ``now`` falls in on the network's billing calendar (Paris
    time, whatever the relays' time zones): 23:30 UTC on 30 November is
    already December there."""
    return now.astimezone(BILLING_TIMEZONE).strftime("%Y-%m")


def billing_day(now):
    """The day ``now`` falls on in the network's calendar (Paris time)."""
    return now.astimezone(BILLING_TIMEZONE).date()


def organisation_usage(session, caller, month, policy, now):
    """A corporate admin's month (default: the current billing month): each
    employee's days, half-days, late cancellations and no-shows, with their
    bookings."""
    if not caller.has("corporate_admin") or not caller.organisation_id:
        raise errors.Forbidden("This is for corporate admins.")
    year, number = map(int, (month or billing_month(now)).split("-"))
    first, last = date(year, number, 1), date(year, number, monthrange(year, number)[1])
    rows = session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.organisation_id == caller.organisation_id,
               Booking.date.between(first, last))
        .order_by(Booking.member_id, Booking.starts_at)).unique().scalars().all()
    names = {m.user_id: m.full_name for m in session.execute(
        select(Member).where(Member.user_id.in_({b.member_id for b in rows}))).scalars()}
    per_member = {}
    for booking in rows:
        per_member.setdefault(booking.member_id, []).append(booking)
    members = []
    for member_id, bookings in per_member.items():
        active = [b for b in bookings if b.status in ACTIVE_STATUSES]
        members.append({
            "member_id": member_id, "member_name": names.get(member_id),
            "days_booked": len({b.date for b in active}),
            "half_days": sum(half_days_of(b.slot, minutes(b)) for b in active),
            "late_cancellations": sum(1 for b in bookings if b.late_cancellation),
            "no_shows": sum(1 for b in bookings if b.status == "no_show"),
            "bookings": bookings})
    members.sort(key=lambda m: (m["member_name"] or "", m["member_id"]))
    return {"organisation_id": caller.organisation_id, "month": f"{year:04d}-{number:02d}",
            "max_days_per_month": policy.max_days_per_month, "members": members}


def programme_usage(session, caller, month, programme_id=None):
    """A programme's month, as its admins may read it: per relay (people,
    bookings, hours, no-shows) always; per person only if the programme's
    rules allow it (``per_person_reports``, carried with its grant on its
    residents' rows). Counted as the programme pays (``bookings.SPENDING``).
    Network staff name the programme; anyone else is refused."""
    if caller.has("programme_admin") and caller.organisation_id:
        programme_id = caller.organisation_id
    elif not (caller.sees_whole_network and programme_id):
        raise errors.Forbidden("This is for a programme's admins and network staff.")
    programme_id = str(programme_id)
    year, number = map(int, month.split("-"))
    first, last = date(year, number, 1), date(year, number, monthrange(year, number)[1])
    rows = session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.programme_id == programme_id, Booking.date.between(first, last),
               SPENDING).order_by(Booking.starts_at)).unique().scalars().all()
    relays, people = {}, {}
    for booking in rows:
        relay = relays.setdefault(booking.relay_id, {
            "relay_id": booking.relay_id, "relay_name": booking.relay.name, "members": set(),
            "bookings": 0, "hours": 0.0, "no_shows": 0})
        relay["members"].add(booking.member_id)
        relay["bookings"] += 1
        relay["hours"] += minutes(booking) / 60
        relay["no_shows"] += booking.status == "no_show"
        person = people.setdefault(booking.member_id, {"member_id": booking.member_id,
                                                       "bookings": 0, "hours": 0.0})
        person["bookings"] += 1
        person["hours"] += minutes(booking) / 60
    per_relay = [dict(relay, people=len(relay.pop("members")))
                 for relay in sorted(relays.values(), key=lambda r: r["relay_name"])]
    per_person = None
    if _reports_per_person(session, programme_id):
        names = {m.user_id: m.full_name for m in session.execute(
            select(Member).where(Member.user_id.in_(set(people)))).scalars()}
        per_person = sorted((dict(p, member_name=names.get(p["member_id"]))
                             for p in people.values()),
                            key=lambda p: (p["member_name"] or "", p["member_id"]))
    return {"programme_id": programme_id, "month": f"{year:04d}-{number:02d}",
            "relays": per_relay, "people": per_person}


def _reports_per_person(session, programme_id):
    """The programme's flag, as identity published it with its grant to its residents."""
    return bool(session.execute(PER_PERSON_REPORTS, {"programme_id": programme_id}).scalar())


PER_PERSON_REPORTS = text("""
    SELECT bool_or((grant_->>'per_person_reports')::boolean)
    FROM members, jsonb_array_elements(members.programmes) AS grant_
    WHERE grant_->>'programme_id' = :programme_id""")
