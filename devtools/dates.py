"""Days chosen by rule, for every test and benchmark that books: never ``today + N``.

A test that books "today + 75 days" passes on most days and fails when that
day is a Sunday, a public holiday, or in the next month. Each rule below says
what it promises (an open weekday, a day past a horizon, days of one month)
and ``tests/unit/test_dates.py`` checks each promise on every day of a year.

"Today" is the date in Paris by the test process's clock, so it follows an
injected clock (``RELAIS_TEST_TODAY``, see ``tests/conftest.py``) and does not
jump a day early between 22:00 and 24:00 UTC. (In devtools, not tests: bench/soak.py
books by these rules too.)
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from services.booking.public_holidays import holiday_name

PARIS = ZoneInfo("Europe/Paris")

DEFAULT_DEPARTMENT = "23"  # Creuse: the test relays' default postcode 23500


def today(tz=PARIS):
    return datetime.now(tz).date()


def is_open_weekday(day, department=DEFAULT_DEPARTMENT):
    """Open with the default opening hours: Monday to Friday, no public holiday."""
    return day.weekday() < 5 and holiday_name(day, department) is None


def open_day(after_days=7, department=DEFAULT_DEPARTMENT, since=None):
    """The first open weekday at least ``after_days`` after ``since`` (today)."""
    day = (since or today()) + timedelta(days=after_days)
    while not is_open_weekday(day, department):
        day += timedelta(days=1)
    return day


def open_day_beyond(horizon_days, department=DEFAULT_DEPARTMENT, since=None):
    """An open weekday strictly beyond a horizon of ``horizon_days``: refused as
    beyond the horizon, never because the relay is closed that day."""
    return open_day(horizon_days + 1, department, since)


def open_days_in_one_month(count, first_after_days, last_before_days,
                           department=DEFAULT_DEPARTMENT, since=None):
    """``count`` open weekdays of one calendar month, all strictly after
    ``first_after_days`` and on or before ``last_before_days`` from today (so
    within a horizon). The month is the first that has enough of them."""
    start = since or today()
    window = [start + timedelta(days=n) for n in range(first_after_days + 1, last_before_days + 1)]
    by_month = {}
    for day in window:
        if is_open_weekday(day, department):
            by_month.setdefault((day.year, day.month), []).append(day)
    for days in by_month.values():
        if len(days) >= count:
            return days[:count]
    raise AssertionError(f"no month with {count} open days in {window[0]}..{window[-1]}")


def weekend_day(after_days=7, since=None):
    """The first Saturday or Sunday at least ``after_days`` from today."""
    day = (since or today()) + timedelta(days=after_days)
    while day.weekday() < 5:
        day += timedelta(days=1)
    return day


def next_holiday_on_weekday(department, name_contains, since=None, within_days=None):
    """The next public holiday named ``name_contains`` in ``department`` that
    falls on a weekday (so only the holiday closes the relay that day)."""
    start = since or today()
    for offset in range(1, (within_days or 366 * 8) + 1):
        day = start + timedelta(days=offset)
        name = holiday_name(day, department)
        if day.weekday() < 5 and name and name_contains.lower() in name.lower():
            return day
    return None


def every_day_of_a_year(first=date(2027, 1, 1)):
    """The 365 (or 366) days from ``first``: the sweep every rule is checked on.
    Fixed, not from today, so the sweep is the same on every run; 2028 is leap."""
    return [first + timedelta(days=n) for n in range((first.replace(year=first.year + 1) - first).days)]


def next_clock_change(tz_name, back, since=None):
    """The next day after ``since`` (today) on which clocks in ``tz_name`` go
    back (``back``) or forward, and the first local hour that day which happens
    twice (back) or not at all (forward): ``(day, hour)``."""
    tz = ZoneInfo(tz_name)
    day = (since or today()) + timedelta(days=1)
    for _ in range(366 * 2):
        before = datetime.combine(day, time(0), tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
        if (after < before) if back else (after > before):
            for hour in range(24):
                local = datetime.combine(day, time(hour), tz)
                repeated = local.utcoffset() != local.replace(fold=1).utcoffset()
                skipped = (local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
                           != local.replace(tzinfo=None))
                if repeated if back else skipped:
                    return day, hour
        day += timedelta(days=1)
    raise AssertionError(f"no clock change in {tz_name} within two years")

def a_time_zone_at_midday(now=None):
    """An IANA time zone (``Etc/GMT±N``) where the local time is now between
    12:00 and 13:00, and its local date: a relay there has a slot running now,
    far from its midnight, whatever the hour the test runs (end-to-end services
    follow the real clock, so the day cannot be injected; the place can).
    Note ``Etc/GMT-3`` is UTC+3 (POSIX signs)."""
    now = now or datetime.now(PARIS)
    utc_hour = now.astimezone(ZoneInfo("UTC")).hour
    offset = 12 - utc_hour                       # -11 .. +12, all real zones
    name = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    return name, now.astimezone(ZoneInfo(name)).date()


def open_days(count, department=DEFAULT_DEPARTMENT, since=None):
    """``count`` open weekdays, the first at least a week after ``since``
    (today), each the next open weekday after the one before; as ISO dates."""
    days = [open_day(7, department, since)]
    while len(days) < count:
        days.append(open_day(1, department, since=days[-1]))
    return [day.isoformat() for day in days]
