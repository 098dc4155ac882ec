"""A relay's occupancy on one day. Pure domain code.

Desks: booked half-days over open half-days (a day booking counts two).
Rooms: booked hours over open hours. Bookings that hold a space (confirmed,
checked in, completed) count; no-shows released their desk and do not.
"""
from dataclasses import dataclass

from services.booking.lifecycle import ACTIVE_STATUSES
from services.booking.slots import HALF_DAYS


@dataclass(frozen=True)
class DayBooking:
    kind: str
    slot: str
    duration_minutes: int
    status: str


def open_minutes(day_hours):
    return sum((c.hour * 60 + c.minute) - (o.hour * 60 + o.minute) for o, c in day_hours.periods())


def day_occupancy(day, closed_because, day_hours, desks, rooms, bookings):
    open_half_days = 0 if closed_because else sum(
        1 for period in (day_hours.morning, day_hours.afternoon) if period)
    active = [b for b in bookings if b.status in ACTIVE_STATUSES]
    desk_booked = sum(HALF_DAYS.get(b.slot, 0) for b in active if b.kind == "desk")
    room_minutes = sum(b.duration_minutes for b in active if b.kind != "desk")
    room_open = 0 if closed_because else open_minutes(day_hours) * rooms
    desk_open = desks * open_half_days
    return {
        "date": day, "open": not closed_because, "closed_because": closed_because,
        "desks": desks, "desk_half_days_booked": desk_booked, "desk_half_days_open": desk_open,
        "desk_occupancy": round(desk_booked / desk_open, 3) if desk_open else None,
        "room_hours_booked": round(room_minutes / 60, 2), "room_hours_open": round(room_open / 60, 2),
        "room_occupancy": round(room_minutes / room_open, 3) if room_open else None,
        "checked_in": sum(1 for b in bookings if b.status in ("checked_in", "completed")),
        "no_shows": sum(1 for b in bookings if b.status == "no_show"),
    }
