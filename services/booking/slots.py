"""Slots in a relay's own time zone, and the rules for booking one.

Pure domain code: no nameko, no SQL. A desk is booked by slot (morning,
afternoon, or the whole day); a room by the hour. Local times come from the
relay's opening hours for that weekday, and become UTC instants with the relay's
IANA time zone, so a slot stays "08:30 local" across daylight-saving changes and
in overseas relays. Whether the relay is open at all on a date (weekday,
public holiday, ad-hoc closure) is ``RelayCalendar``'s business.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from contracts.vocabulary import SLOTS, WEEKDAYS
from services.booking.public_holidays import holiday_name

HOURS = "hours"  # the slot of a booking made by the hour (rooms)
HALF_DAYS = {"morning": 1, "afternoon": 1, "day": 2}
HALF_DAY_MINUTES = 240
ROOM_STEP_MINUTES = 30
ROOM_MIN_MINUTES = 60


class SlotRefused(Exception):
    """The slot cannot be booked; ``rule`` names the rule that refused it."""

    def __init__(self, rule, detail):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class DayHours:
    """One weekday's opening: a morning and/or an afternoon range (local times)."""
    morning: tuple | None = None
    afternoon: tuple | None = None

    def slot_range(self, slot):
        """(opens, closes) of a slot on this day, or None if the relay does not
        offer it (a whole day needs both halves)."""
        if slot == "day":
            if self.morning and self.afternoon:
                return self.morning[0], self.afternoon[1]
            return None
        return getattr(self, slot)

    def periods(self):
        """Opening periods, touching ones merged (a relay open without a lunch
        break has one period)."""
        merged = []
        for period in (self.morning, self.afternoon):
            if period is None:
                continue
            if merged and merged[-1][1] >= period[0]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], period[1]))
            else:
                merged.append(period)
        return merged


DEFAULT_DAY = DayHours((time(8, 30), time(12, 30)), (time(13, 30), time(18, 0)))
DEFAULT_WEEK = {weekday: DEFAULT_DAY for weekday in range(5)}


@dataclass(frozen=True)
class Closure:
    starts_on: date
    ends_on: date
    reason: str


@dataclass(frozen=True)
class RelayCalendar:
    """When a relay is open: weekly hours, public holidays of its department
    (unless it opens on them), ad-hoc closures."""
    timezone: str
    department: str
    weekly: dict = field(default_factory=lambda: dict(DEFAULT_WEEK))  # weekday (0=Mon) -> DayHours
    closed_on_public_holidays: bool = True
    closures: tuple = ()

    def closed_because(self, day):
        """Why the relay is closed all day on ``day`` as (rule, detail), or None."""
        for closure in self.closures:
            if closure.starts_on <= day <= closure.ends_on:
                return "relay-closure", f"The relay is closed from {closure.starts_on} " \
                                        f"to {closure.ends_on}: {closure.reason}."
        if self.closed_on_public_holidays:
            name = holiday_name(day, self.department)
            if name:
                return "public-holiday", f"The relay is closed on {day} ({name})."
        if day.weekday() not in self.weekly:
            return "relay-closed", f"The relay is closed on {WEEKDAYS[day.weekday()]}s."
        return None

    def hours_on(self, day):
        """The day's opening, or SlotRefused if the relay is closed that day."""
        closed = self.closed_because(day)
        if closed:
            raise SlotRefused(*closed)
        return self.weekly[day.weekday()]


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


def local_instant(day, at, tz_name):
    """An aware local datetime. A wall-clock time skipped by a daylight-saving
    change (02:30 on the last Sunday of March in Paris) does not exist; one
    that happens twice when clocks go back (02:30 on the last Sunday of
    October) is refused too rather than guessed: read either way, "02:00–03:00"
    would not be the hour the member asked for (02:00 first time to 03:00 is
    two real hours, billed as such)."""
    tz = ZoneInfo(tz_name)
    local = datetime.combine(day, at, tz)
    if local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise SlotRefused("nonexistent-local-time",
                          f"{at:%H:%M} does not exist on {day} in {tz_name} (clocks go forward).")
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        raise SlotRefused("ambiguous-local-time",
                          f"{at:%H:%M} happens twice on {day} in {tz_name} (clocks go back): "
                          "choose times outside the repeated hour.")
    return local


def slot_times(day, slot, hours, tz_name):
    """The local and UTC times of a half-day or day slot on ``day``."""
    span = hours.slot_range(slot)
    if span is None:
        offered = [name for name in SLOTS if hours.slot_range(name)]
        raise SlotRefused("relay-closed", f"On {WEEKDAYS[day.weekday()]}s the relay offers "
                          f"no {slot} slot (only: {', '.join(offered) or 'none'}).")
    return SlotTimes(local_instant(day, span[0], tz_name), local_instant(day, span[1], tz_name))


def hours_times(day, starts, ends, hours, tz_name):
    """The times of a room booked by the hour: at least an hour, in half-hour
    steps, inside one opening period."""
    minutes = (datetime.combine(day, ends) - datetime.combine(day, starts)).total_seconds() // 60
    if minutes < ROOM_MIN_MINUTES or minutes % ROOM_STEP_MINUTES:
        raise SlotRefused("invalid-duration", "A room is booked for at least one hour, "
                          "in steps of half an hour.")
    if not any(opens <= starts and ends <= closes for opens, closes in hours.periods()):
        periods = ", ".join(f"{o:%H:%M}–{c:%H:%M}" for o, c in hours.periods())
        raise SlotRefused("outside-opening-hours",
                          f"{starts:%H:%M}–{ends:%H:%M} is not within the opening hours ({periods}).")
    return SlotTimes(local_instant(day, starts, tz_name), local_instant(day, ends, tz_name))


def requested_times(calendar, day, slot=None, starts=None, ends=None):
    """The times of a slot (or of hours) at a relay on a local date, refusing
    closed days and hours outside the opening."""
    hours = calendar.hours_on(day)
    if slot == HOURS or slot is None:
        return hours_times(day, starts, ends, hours, calendar.timezone)
    return slot_times(day, slot, hours, calendar.timezone)


def check_session(sessions, starts, ends):
    """A space with sessions (name, start, end) is booked for one of them
    exactly; one without is booked by the hour."""
    if sessions and not any((start, end) == (starts, ends) for _, start, end in sessions):
        offered = ", ".join(f"{name} {start:%H:%M}–{end:%H:%M}" for name, start, end in sessions)
        raise SlotRefused("outside-sessions",
                          f"This space is booked by session only: {offered}.")


def check_bookable(times, tz_name, now, horizon_days, horizon_rule_detail=None):
    """Refuse a slot that is over, or beyond the booking horizon (in the
    relay's local dates)."""
    if times.ends_at <= now:
        raise SlotRefused("slot-in-past", "This slot is already over.")
    local_today = now.astimezone(ZoneInfo(tz_name)).date()
    if times.local_starts_at.date() > local_today + timedelta(days=horizon_days):
        raise SlotRefused("beyond-horizon", horizon_rule_detail or
                          f"Bookings open {horizon_days} days ahead at most.")
    return times


def half_days_of(slot, duration_minutes):
    """Billing's unit: a slot's half-days; a room booked by the hour counts
    one half-day per started four hours."""
    if slot in HALF_DAYS:
        return HALF_DAYS[slot]
    return max(1, -(-duration_minutes // HALF_DAY_MINUTES))
