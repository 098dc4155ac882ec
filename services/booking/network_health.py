"""The network's health, per relay, for the people who run it: bookings and
occupancy over the last 7 and 30 days, no-show and late-cancellation rates,
distinct members, the last booking, the last manager action (a closure or a
space added, a booking checked in or cancelled by a relay manager), open
closures, and relays without activity for 14 days flagged. Plain queries, no state change (the read side).

Who sees what (a wrong scope is an empty list, never someone else's figures):
- network staff (``network_admin``, ``network_ops``): every relay, every booking;
- a relay manager: their relays, every booking there;
- a corporate admin: the relays their employees used, counting only their
  employees' bookings; occupancy and the manager's last action are left out
  (they would reveal other customers' use of the relay and its staff's work).

Days are the network's calendar days (Europe/Paris, as billing's months): the
window of N days ends today and counts bookings dated within it.
"""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select, union_all

from common import errors
from services.booking import directory, occupancy, views
from services.booking.lifecycle import ACTIVE_STATUSES
from services.booking.models import Booking, Closure, Relay, Space

WINDOWS = (7, 30)
INACTIVE_AFTER_DAYS = 14


def scope_of(caller):
    """(relay filter, organisation filter, show occupancy) for the caller."""
    if caller.sees_whole_network:
        return None, None, True
    if caller.has("relay_manager"):
        return frozenset(caller.relay_ids), None, True
    if caller.has("corporate_admin") and caller.organisation_id:
        return None, caller.organisation_id, False
    raise errors.Forbidden("This is for network staff, relay managers and corporate admins.")


def report(session, caller, now):
    relay_ids, organisation_id, with_occupancy = scope_of(caller)
    today = views.billing_day(now)
    first = today - timedelta(days=max(WINDOWS) - 1)
    quiet_since = today - timedelta(days=INACTIVE_AFTER_DAYS - 1)
    bookings = select(Booking.relay_id, Booking.member_id, Booking.date, Booking.slot,
                      Booking.starts_at, Booking.ends_at, Booking.status,
                      Booking.late_cancellation, Space.kind).join(Space)
    last_made = select(Booking.relay_id, func.max(Booking.created_at)).group_by(Booking.relay_id)
    if organisation_id:
        bookings = bookings.where(Booking.organisation_id == organisation_id)
        last_made = last_made.where(Booking.organisation_id == organisation_id)
    last_booking = dict(session.execute(last_made).all())
    statement = select(Relay).options(*directory.RELAY_LOADS).order_by(Relay.department,
                                                                        Relay.name)
    if relay_ids is not None:
        statement = statement.where(Relay.id.in_(list(relay_ids)))
    if organisation_id:
        statement = statement.where(Relay.id.in_(list(last_booking)))
    relays = session.execute(statement).scalars().all()
    ids = [relay.id for relay in relays]
    per_relay = defaultdict(list)
    for row in session.execute(bookings.where(Booking.relay_id.in_(ids),
                                              Booking.date.between(first, today))):
        per_relay[row.relay_id].append(row)
    closures = directory.closures_between(session, ids, first, today)
    managed = last_manager_actions(session, ids) if with_occupancy else {}
    open_closures = defaultdict(list)
    for closure in session.execute(select(Closure).where(
            Closure.relay_id.in_(ids), Closure.ends_on >= today).order_by(Closure.starts_on)
    ).scalars():
        open_closures[closure.relay_id].append(
            {"starts_on": closure.starts_on, "ends_on": closure.ends_on, "reason": closure.reason})
    result = []
    for relay in relays:
        rows = per_relay[relay.id]
        figures = {"relay_id": relay.id, "name": relay.name, "department": relay.department,
                   "last_booking_at": last_booking.get(relay.id),
                   "last_manager_action_at": managed.get(relay.id),
                   "open_closures": open_closures[relay.id]}
        for days in WINDOWS:
            since = today - timedelta(days=days - 1)
            figures.update(window_figures(
                [row for row in rows if row.date >= since], days,
                relay_occupancy(relay, closures.get(relay.id, []), rows, since, today)
                if with_occupancy else None))
        recent = figures["last_booking_at"] is not None and \
            views.billing_day(figures["last_booking_at"]) >= quiet_since
        held = any(row.date >= quiet_since and row.status != "cancelled" for row in rows)
        figures["inactive_14_days"] = not (recent or held)
        result.append(figures)
    return {"as_of": today, "relays": result}


def last_manager_actions(session, relay_ids):
    """{relay_id: when someone last looked after the relay}."""
    actions = union_all(
        select(Closure.relay_id, Closure.created_at.label("at")),
        select(Space.relay_id, Space.created_at),
        select(Booking.relay_id, Booking.checked_in_at).where(
            Booking.checked_in_by == "relay_manager"),
        select(Booking.relay_id, Booking.cancelled_at).where(
            Booking.cancelled_by == "relay_manager"),
    ).subquery()
    return dict(session.execute(
        select(actions.c.relay_id, func.max(actions.c.at))
        .where(actions.c.relay_id.in_(relay_ids)).group_by(actions.c.relay_id)).all())


def window_figures(rows, days, desk_occupancy):
    """A window's figures from its bookings (any status)."""
    held = [row for row in rows if row.status != "cancelled"]
    no_shows = sum(1 for row in held if row.status == "no_show")
    late = sum(1 for row in rows if row.late_cancellation)
    return {
        f"bookings_{days}d": len(held),
        f"desk_occupancy_{days}d": desk_occupancy,
        f"no_show_rate_{days}d": rate(no_shows, len(held)),
        f"late_cancellation_rate_{days}d": rate(late, len(rows)),
        f"distinct_members_{days}d": len({row.member_id for row in held}),
    }


def relay_occupancy(relay, closures, rows, first, last):
    """Desk half-days booked over desk half-days open, from ``first`` to
    ``last``; None when the relay had no desk open."""
    calendar = directory.calendar_of(relay, closures)
    desks = sum(1 for space in relay.spaces if space.kind == "desk")
    by_day = defaultdict(list)
    for row in rows:
        if row.status in ACTIVE_STATUSES:
            by_day[row.date].append(
                occupancy.DayBooking(row.kind, row.slot, views.minutes(row), row.status))
    booked = open_ = 0
    day = first
    while day <= last:
        summary = views.day_occupancy(calendar, desks, len(relay.spaces) - desks, day,
                                      by_day.get(day, []))
        booked += summary["desk_half_days_booked"]
        open_ += summary["desk_half_days_open"]
        day += timedelta(days=1)
    return rate(booked, open_)


def rate(part, whole):
    return round(part / whole, 3) if whole else None
