"""Every rule of devtools/dates.py keeps its promise on every day of a year.

The tests that book choose their days with these rules; this sweep is what
makes them pass on any day. The promises are checked with booking's own
calendar (``RelayCalendar``, ``check_bookable``), not with the rules' code.
The year runs from 1 December 2027 (the day of year the "today + 75 days"
test broke) across New Year, a 29 February and both daylight-saving changes.
"""
from datetime import date, datetime, time, timedelta

import pytest

from services.booking.slots import RelayCalendar, SlotRefused, check_bookable, slot_times
from devtools import dates
from tests.clock import PARIS, travel_to

YEAR = dates.every_day_of_a_year(date(2027, 12, 1))
DEPARTMENTS = ("23", "57", "973")  # Creuse, Moselle (two more holidays), Guyane
TIMEZONES = {"23": "Europe/Paris", "57": "Europe/Paris", "973": "America/Cayenne"}
HORIZON_DAYS = 90  # booking's own horizon, the longest a policy may set


def refusal(day, today, department="23", horizon_days=HORIZON_DAYS):
    """What booking answers for a morning desk on ``day`` seen at 10:00 on
    ``today`` (Paris), with default opening hours: None if bookable, else the rule."""
    calendar = RelayCalendar(timezone=TIMEZONES[department], department=department)
    now = datetime.combine(today, time(10, 0), PARIS)
    try:
        check_bookable(slot_times(day, "morning", calendar.hours_on(day), calendar.timezone),
                       calendar.timezone, now, horizon_days)
    except SlotRefused as refused:
        return refused.rule
    return None


def test_the_sweep_is_a_whole_year_with_its_awkward_days():
    assert len(YEAR) == 366 and YEAR[0] == date(2027, 12, 1)
    assert {date(2028, 2, 29), date(2027, 12, 31), date(2028, 1, 1), date(2028, 3, 26),
            date(2028, 10, 29)} <= set(YEAR)


def test_open_days_are_bookable_and_each_the_next_after_the_one_before():
    for today in YEAR:
        days = [date.fromisoformat(day) for day in dates.open_days(6, since=today)]
        assert [refusal(day, today) for day in days] == [None] * 6, today
        assert days == sorted(set(days)) and days[-1] - days[0] <= timedelta(days=14), today


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_an_open_day_is_bookable_soon_after_its_lead_time(department):
    for today in YEAR:
        for lead in (1, 2, 3, 5, 7, 10):
            day = dates.open_day(lead, department, since=today)
            assert refusal(day, today, department) is None, (today, lead, day)
            assert timedelta(days=lead) <= day - today <= timedelta(days=lead + 5), (today, lead)


def test_a_day_beyond_a_policy_horizon_is_refused_for_the_horizon_alone():
    for today in YEAR:
        day = dates.open_day_beyond(60, since=today)
        assert refusal(day, today, horizon_days=60) == "beyond-horizon", (today, day)
        assert refusal(day, today) is None, (today, day)  # open, and within booking's own 90


def test_days_of_one_month_are_open_within_the_horizon_and_in_one_month():
    for today in YEAR:
        days = dates.open_days_in_one_month(3, first_after_days=1, last_before_days=60,
                                            since=today)
        assert len(days) == 3 and len({(d.year, d.month) for d in days}) == 1, today
        assert all(today + timedelta(days=2) <= d <= today + timedelta(days=60) for d in days)
        assert all(refusal(d, today, horizon_days=60) is None for d in days), (today, days)
        # Past the horizon, the first open day lands in a later month than those.
        beyond = dates.open_day_beyond(60, since=today)
        assert (beyond.year, beyond.month) != (days[0].year, days[0].month), today


def test_a_weekend_day_is_refused_because_the_relay_is_closed():
    for today in YEAR:
        day = dates.weekend_day(7, since=today)
        assert refusal(day, today) in ("relay-closed", "public-holiday"), (today, day)
        assert day - today <= timedelta(days=13)


def test_the_next_weekday_holiday_is_closed_for_that_holiday():
    for today in YEAR[::7]:
        day = dates.next_holiday_on_weekday("973", "abolition", since=today)
        assert (day.month, day.day) == (6, 10) and day.weekday() < 5 and day > today
        assert refusal(day, day - timedelta(days=30), "973") == "public-holiday"


def test_today_is_the_date_in_paris_and_follows_an_injected_clock():
    # 23:30 UTC on 31 December is already New Year's Day in Paris.
    with travel_to(datetime(2028, 1, 1, 0, 30, tzinfo=PARIS)):
        assert dates.today() == date(2028, 1, 1)
        assert date.today() == date(2027, 12, 31)  # the machine's UTC date lags
        assert dates.open_day(1) == date(2028, 1, 3)


@pytest.mark.parametrize("tz_name,back,expected", [
    ("Europe/Paris", True, (date(2027, 10, 31), 2)),
    ("Europe/Paris", False, (date(2027, 3, 28), 2)),
    ("Africa/Casablanca", True, (date(2027, 2, 7), 2)),  # the Sunday before Ramadan
    ("Africa/Casablanca", False, (date(2027, 3, 14), 2)),
])
def test_the_next_clock_change_is_the_day_and_hour_that_repeats_or_is_skipped(
        tz_name, back, expected):
    assert dates.next_clock_change(tz_name, back, since=date(2027, 1, 1)) == expected
    # From any day of the sweep, it is the first such day after it.
    for today in YEAR[::15]:
        day, hour = dates.next_clock_change(tz_name, back, since=today)
        assert day > today and 0 <= hour < 23


def test_a_time_zone_at_midday_is_at_midday_at_every_minute_of_a_day():
    from zoneinfo import ZoneInfo, available_timezones
    start = datetime(2027, 3, 27, 0, 0, tzinfo=PARIS)   # a day whose clock changes
    for minutes in range(0, 25 * 60, 7):
        moment = start + timedelta(minutes=minutes)
        zone, local_date = dates.a_time_zone_at_midday(moment)
        local = moment.astimezone(ZoneInfo(zone))
        assert zone in available_timezones()
        assert 12 <= local.hour < 13 and local.date() == local_date, (moment, zone)
