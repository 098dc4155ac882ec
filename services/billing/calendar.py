"""Billing's calendar: months in Europe/Paris, grace periods and due dates.
Pure: standard library only. Every function takes ``now``: no clock is read here."""
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text):
    """'2026-11' -> date(2026, 11, 1), or None if it is not a month."""
    match = MONTH.match(text or "")
    return date(int(match[1]), int(match[2]), 1) if match else None


def next_month(first_day):
    return date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)


def last_day(first_day):
    return next_month(first_day) - timedelta(days=1)


def month_ends_at(first_day):
    """The instant a month ends, midnight in Paris (a usage line's date is the
    relay's local date; Paris decides when the network's month closes)."""
    return datetime.combine(next_month(first_day), time(0), PARIS)


def paris_today(now):
    return now.astimezone(PARIS).date()


def month_is_over(first_day, now):
    return now >= month_ends_at(first_day)


def grace_is_over(first_day, now, grace_days):
    """A draft of that month is finalized automatically from then on."""
    return now >= month_ends_at(first_day) + timedelta(days=grace_days)


def month_of(day):
    return date(day.year, day.month, 1)
