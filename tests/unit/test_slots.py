"""Slots and opening rules in the relay's own time zone, including the
daylight-saving changes and relays outside metropolitan France."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.booking.slots import (
    Closure, DayHours, RelayCalendar, SlotRefused, check_bookable, check_session, half_days_of,
    requested_times,
)
from devtools import dates

PARIS = RelayCalendar(timezone="Europe/Paris", department="23")
SEVEN_DAYS = {d: DayHours((time(8, 30), time(12, 30)), (time(13, 30), time(18, 0))) for d in range(7)}


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def refusal(calendar, day, slot=None, starts=None, ends=None):
    with pytest.raises(SlotRefused) as refused:
        requested_times(calendar, day, slot, starts, ends)
    return refused.value.rule


def test_a_morning_in_winter_and_in_summer_keeps_its_local_hours():
    winter = requested_times(PARIS, date(2026, 12, 3), "morning")
    summer = requested_times(PARIS, date(2026, 7, 2), "morning")
    assert winter.starts_at == utc(2026, 12, 3, 7, 30)
    assert summer.starts_at == utc(2026, 7, 2, 6, 30)
    assert winter.local_starts_at.strftime("%H:%M") == summer.local_starts_at.strftime("%H:%M") == "08:30"


def test_across_the_spring_change_the_utc_start_moves_an_hour():
    # Clocks go forward on Sunday 29 March 2026 (last Sunday of March).
    friday = requested_times(PARIS, date(2026, 3, 27), "day")
    monday = requested_times(PARIS, date(2026, 3, 30), "day")
    assert friday.starts_at == utc(2026, 3, 27, 7, 30)
    assert monday.starts_at == utc(2026, 3, 30, 6, 30)
    assert friday.duration_minutes == monday.duration_minutes == 570


def test_on_the_day_clocks_change_a_slot_spanning_the_change_is_an_hour_shorter_or_longer():
    night = {6: DayHours((time(0, 0), time(6, 0)), None)}
    calendar = RelayCalendar("Europe/Paris", "23", weekly=night, closed_on_public_holidays=False)
    spring = requested_times(calendar, date(2026, 3, 29), "morning")   # last Sunday of March
    autumn = requested_times(calendar, date(2026, 10, 25), "morning")  # last Sunday of October
    assert spring.duration_minutes == 5 * 60
    assert autumn.duration_minutes == 7 * 60
    assert spring.starts_at == utc(2026, 3, 28, 23, 0)
    assert autumn.starts_at == utc(2026, 10, 24, 22, 0)


def test_a_local_time_skipped_by_the_spring_change_is_refused():
    calendar = RelayCalendar("Europe/Paris", "23", weekly={6: DayHours((time(0, 0), time(6, 0)))},
                             closed_on_public_holidays=False)
    assert refusal(calendar, date(2026, 3, 29), "hours", time(2, 30), time(4, 0)) == \
        "nonexistent-local-time"


def test_an_overseas_relay_uses_its_own_time_zone_and_holidays():
    cayenne = RelayCalendar(timezone="America/Cayenne", department="973")
    times = requested_times(cayenne, date(2026, 3, 30), "morning")  # no DST in Guyane
    assert times.starts_at == utc(2026, 3, 30, 11, 30)
    assert times.local_starts_at.utcoffset() == timedelta(hours=-3)
    assert refusal(cayenne, date(2026, 6, 10), "morning") == "public-holiday"
    assert requested_times(PARIS, date(2026, 6, 10), "morning")  # open in the Creuse


def test_closed_weekdays_public_holidays_and_closures_name_their_rule():
    assert refusal(PARIS, date(2026, 12, 5), "morning") == "relay-closed"        # a Saturday
    assert refusal(PARIS, date(2026, 12, 25), "morning") == "public-holiday"
    closed = RelayCalendar("Europe/Paris", "23",
                           closures=(Closure(date(2026, 12, 1), date(2026, 12, 3), "travaux"),))
    assert refusal(closed, date(2026, 12, 2), "day") == "relay-closure"
    assert requested_times(closed, date(2026, 12, 4), "day")
    opens_on_holidays = RelayCalendar("Europe/Paris", "23", closed_on_public_holidays=False)
    assert requested_times(opens_on_holidays, date(2026, 12, 25), "morning")


def test_a_saturday_morning_only_relay_offers_no_afternoon_and_no_day():
    week = {0: SEVEN_DAYS[0], 5: DayHours((time(9, 0), time(12, 0)), None)}
    calendar = RelayCalendar("Europe/Paris", "23", weekly=week)
    assert requested_times(calendar, date(2026, 12, 5), "morning").duration_minutes == 180
    assert refusal(calendar, date(2026, 12, 5), "afternoon") == "relay-closed"
    assert refusal(calendar, date(2026, 12, 5), "day") == "relay-closed"


def test_rooms_by_the_hour_fit_in_an_opening_period():
    day = date(2026, 12, 3)
    assert requested_times(PARIS, day, "hours", time(14, 0), time(16, 0)).duration_minutes == 120
    assert requested_times(PARIS, day, "hours", time(13, 30), time(18, 0)).duration_minutes == 270
    assert refusal(PARIS, day, "hours", time(11, 0), time(14, 0)) == "outside-opening-hours"
    assert refusal(PARIS, day, "hours", time(7, 0), time(9, 0)) == "outside-opening-hours"
    assert refusal(PARIS, day, "hours", time(14, 0), time(14, 30)) == "invalid-duration"
    assert refusal(PARIS, day, "hours", time(14, 0), time(15, 15)) == "invalid-duration"
    no_lunch_break = RelayCalendar("Europe/Paris", "23", weekly={
        3: DayHours((time(9, 0), time(13, 0)), (time(13, 0), time(17, 0)))})
    assert requested_times(no_lunch_break, day, "hours", time(11, 0), time(15, 0))


def test_bookable_refuses_past_slots_and_beyond_the_horizon_in_local_dates():
    times = requested_times(PARIS, date(2026, 12, 3), "morning")
    with pytest.raises(SlotRefused) as past:
        check_bookable(times, "Europe/Paris", utc(2026, 12, 3, 11, 30), 90)
    assert past.value.rule == "slot-in-past"
    # Still bookable while the morning is running.
    assert check_bookable(times, "Europe/Paris", utc(2026, 12, 3, 10, 0), 90)
    with pytest.raises(SlotRefused) as far:
        check_bookable(times, "Europe/Paris", utc(2026, 11, 1, 12), 30, "Your organisation…")
    assert (far.value.rule, far.value.detail) == ("beyond-horizon", "Your organisation…")
    assert check_bookable(times, "Europe/Paris", utc(2026, 11, 2, 12), 31)


def test_half_days_for_billing():
    assert [half_days_of(s, 0) for s in ("morning", "afternoon", "day")] == [1, 1, 2]
    assert [half_days_of("hours", m) for m in (60, 240, 270, 480)] == [1, 1, 2, 2]


ALL_NIGHT = {d: DayHours((time(0, 0), time(6, 0)), None) for d in range(7)}


@pytest.mark.parametrize("tz_name", ["Europe/Paris", "Africa/Casablanca"])
def test_a_local_time_repeated_when_clocks_go_back_is_refused_not_doubled(tz_name):
    """02:00–03:00 on the day 02:00 happens twice would be two real hours
    (02:00 the first time to 03:00): refused by name. The hours around it are
    booked as asked."""
    day, repeated = dates.next_clock_change(tz_name, back=True)
    calendar = RelayCalendar(tz_name, "23", weekly=ALL_NIGHT, closed_on_public_holidays=False)
    hour = lambda h, m=0: time(h, m)  # noqa: E731
    assert refusal(calendar, day, "hours", hour(repeated), hour(repeated + 1)) == \
        "ambiguous-local-time"
    assert refusal(calendar, day, "hours", hour(repeated - 1), hour(repeated, 30)) == \
        "ambiguous-local-time"
    after = requested_times(calendar, day, "hours", hour(repeated + 1), hour(repeated + 2))
    before = requested_times(calendar, day, "hours", hour(repeated - 2), hour(repeated - 1))
    assert after.duration_minutes == before.duration_minutes == 60
    # A slot spanning the change is the real time it lasts: one hour longer.
    assert requested_times(calendar, day, "morning").duration_minutes == 7 * 60


@pytest.mark.parametrize("tz_name", ["Europe/Paris", "Africa/Casablanca"])
def test_a_local_time_skipped_when_clocks_go_forward_is_refused(tz_name):
    day, skipped = dates.next_clock_change(tz_name, back=False)
    calendar = RelayCalendar(tz_name, "23", weekly=ALL_NIGHT, closed_on_public_holidays=False)
    assert refusal(calendar, day, "hours", time(skipped), time(skipped + 1, 30)) == \
        "nonexistent-local-time"
    assert requested_times(calendar, day, "hours", time(skipped + 1), time(skipped + 2)
                           ).duration_minutes == 60
    assert requested_times(calendar, day, "morning").duration_minutes == 5 * 60


def test_a_space_with_sessions_is_booked_for_exactly_one_of_them():
    sessions = [("Matin", time(9), time(11)), ("Après-midi", time(14), time(17))]
    check_session(sessions, time(9), time(11))
    check_session([], time(10), time(12))      # no session: by the hour
    for start, end in ((time(9), time(10)), (time(10), time(11)), (time(13), time(17))):
        with pytest.raises(SlotRefused) as refused:
            check_session(sessions, start, end)
        assert refused.value.rule == "outside-sessions"
        assert "Matin 09:00–11:00" in refused.value.detail


def test_a_block_holds_its_weekday_until_its_release_then_everyone_may_book():
    from services.booking.reserved_capacity import (
        Place, PlaceRefused, block_days, block_of_booking, release_at,
    )
    # Tuesdays from Wednesday 2027-03-03 to Tuesday 2027-03-30: four of them.
    assert block_days(1, date(2027, 3, 3), date(2027, 3, 30)) == [
        date(2027, 3, 9), date(2027, 3, 16), date(2027, 3, 23), date(2027, 3, 30)]
    assert block_days(1, date(2027, 3, 3), date(2027, 3, 8)) == []
    starts = datetime(2027, 3, 9, 7, 30, tzinfo=timezone.utc)
    release = release_at(starts, 48)
    assert release == datetime(2027, 3, 7, 7, 30, tzinfo=timezone.utc)
    places = [Place("block-a", "company-a", release)]
    before, after = release - timedelta(seconds=1), release
    assert block_of_booking(places, "company-a", before) == "block-a"
    assert block_of_booking(places, "company-a", after) == "block-a"
    with pytest.raises(PlaceRefused) as refused:
        block_of_booking(places, "company-b", before)
    assert refused.value.release_at == release
    assert block_of_booking(places, "company-b", after) is None
    assert block_of_booking(places, None, after) is None
    assert block_of_booking([], "company-b", before) is None
