"""Slots in a relay's own time zone, and the rules for booking one.

Pure domain code: no nameko, no SQL. A slot is a half-day (morning, afternoon)
or a whole day; its local times come from the relay's opening hours and are
turned into UTC instants with the relay's IANA time zone, so a slot stays
"08:30 local" across daylight-saving changes and in overseas relays.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SLOTS = ("morning", "afternoon", "day")
HALF_DAYS = {"morning": 1, "afternoon": 1, "day": 2}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SlotRefused(Exception):
    """The slot cannot be booked; ``rule`` names the rule that refused it."""

    def __init__(self, rule, detail):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class OpeningHours:
    morning_opens: time
    morning_closes: time
    afternoon_opens: time
    afternoon_closes: time
    open_weekdays: frozenset  # 0 = Monday

    def local_range(self, slot):
        return {
            "morning": (self.morning_opens, self.morning_closes),
            "afternoon": (self.afternoon_opens, self.afternoon_closes),
            "day": (self.morning_opens, self.afternoon_closes),
        }[slot]


@dataclass(frozen=True)
class SlotTimes:
    local_starts_at: datetime
    local_ends_at: datetime

    @property
    def starts_at(self):
        return self.local_starts_at.astimezone(timezone.utc)

    @property
    def ends_at(self):
        return self.local_ends_at.astimezone(timezone.utc)

    @property
    def duration_minutes(self):
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def slot_times(day: date, slot: str, hours: OpeningHours, tz_name: str) -> SlotTimes:
    tz = ZoneInfo(tz_name)
    opens, closes = hours.local_range(slot)
    return SlotTimes(datetime.combine(day, opens, tz), datetime.combine(day, closes, tz))


def check_bookable(day, slot, hours, tz_name, now, horizon_days):
    """The slot's times if it can be booked at ``now`` (an aware UTC instant);
    otherwise SlotRefused naming the rule."""
    if day.weekday() not in hours.open_weekdays:
        raise SlotRefused("relay-closed", f"The relay is closed on {WEEKDAYS[day.weekday()]}s.")
    times = slot_times(day, slot, hours, tz_name)
    if times.ends_at <= now:
        raise SlotRefused("slot-in-past", "This slot is already over.")
    local_today = now.astimezone(ZoneInfo(tz_name)).date()
    if day > local_today + timedelta(days=horizon_days):
        raise SlotRefused("beyond-horizon",
                          f"Bookings open {horizon_days} days ahead at most.")
    return times
