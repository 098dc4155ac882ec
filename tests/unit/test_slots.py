"""Slots in the relay's own time zone, turned into UTC, and the booking rules."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.booking.slots import HALF_DAYS, OpeningHours, SlotRefused, check_bookable, slot_times

WEEKDAYS_ONLY = frozenset(range(5))
HOURS = OpeningHours(time(8, 30), time(12, 30), time(13, 30), time(18, 0), WEEKDAYS_ONLY)
EVERY_DAY = OpeningHours(time(8, 30), time(12, 30), time(13, 30), time(18, 0), frozenset(range(7)))


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


# --- local slot times to UTC, across daylight-saving changes -----------------

@pytest.mark.parametrize("day, expected_start", [
    (date(2027, 3, 26), utc(2027, 3, 26, 7, 30)),    # Friday before the spring change: CET
    (date(2027, 3, 28), utc(2027, 3, 28, 6, 30)),    # the change itself (02:00 -> 03:00)
    (date(2027, 3, 29), utc(2027, 3, 29, 6, 30)),    # Monday after: CEST
    (date(2026, 10, 23), utc(2026, 10, 23, 6, 30)),  # Friday before the autumn change: CEST
    (date(2026, 10, 25), utc(2026, 10, 25, 7, 30)),  # the change itself (03:00 -> 02:00)
    (date(2026, 10, 26), utc(2026, 10, 26, 7, 30)),  # Monday after: CET
])
def test_paris_morning_stays_0830_local_across_dst(day, expected_start):
    times = slot_times(day, "morning", EVERY_DAY, "Europe/Paris")

    assert times.starts_at == expected_start
    assert times.starts_at.tzinfo == timezone.utc
    assert (times.local_starts_at.hour, times.local_starts_at.minute) == (8, 30)
    assert times.ends_at - times.starts_at == timedelta(hours=4)


def test_local_times_carry_the_offset_of_the_day():
    winter = slot_times(date(2027, 3, 26), "afternoon", HOURS, "Europe/Paris")
    summer = slot_times(date(2027, 3, 29), "afternoon", HOURS, "Europe/Paris")

    assert winter.local_starts_at.isoformat() == "2027-03-26T13:30:00+01:00"
    assert summer.local_starts_at.isoformat() == "2027-03-29T13:30:00+02:00"
    assert summer.local_ends_at.isoformat() == "2027-03-29T18:00:00+02:00"
    assert summer.ends_at == utc(2027, 3, 29, 16, 0)


def test_duration_is_real_elapsed_time_when_a_slot_spans_the_change():
    """A slot 00:00-04:00 local on the spring-forward night lasts 3 hours, not 4."""
    night = OpeningHours(time(0, 0), time(4, 0), time(13, 0), time(18, 0), frozenset(range(7)))

    spring = slot_times(date(2027, 3, 28), "morning", night, "Europe/Paris")
    autumn = slot_times(date(2026, 10, 25), "morning", night, "Europe/Paris")

    assert spring.duration_minutes == 180
    assert autumn.duration_minutes == 300


@pytest.mark.parametrize("tz_name, day, expected_start, expected_end", [
    # Guyane, UTC-3 all year
    ("America/Cayenne", date(2027, 1, 12), utc(2027, 1, 12, 11, 30), utc(2027, 1, 12, 15, 30)),
    ("America/Cayenne", date(2027, 7, 13), utc(2027, 7, 13, 11, 30), utc(2027, 7, 13, 15, 30)),
    # La Réunion, UTC+4 all year
    ("Indian/Reunion", date(2027, 1, 12), utc(2027, 1, 12, 4, 30), utc(2027, 1, 12, 8, 30)),
    ("Indian/Reunion", date(2027, 7, 13), utc(2027, 7, 13, 4, 30), utc(2027, 7, 13, 8, 30)),
    # Nouvelle-Calédonie, UTC+11: the morning starts the previous day in UTC
    ("Pacific/Noumea", date(2026, 12, 1), utc(2026, 11, 30, 21, 30), utc(2026, 12, 1, 1, 30)),
])
def test_overseas_relays(tz_name, day, expected_start, expected_end):
    times = slot_times(day, "morning", HOURS, tz_name)

    assert times.starts_at == expected_start
    assert times.ends_at == expected_end
    assert times.local_starts_at.date() == day


def test_day_slot_spans_morning_open_to_afternoon_close():
    times = slot_times(date(2027, 3, 29), "day", HOURS, "Europe/Paris")

    assert times.local_starts_at.time() == time(8, 30)
    assert times.local_ends_at.time() == time(18, 0)
    assert times.starts_at == utc(2027, 3, 29, 6, 30)
    assert times.ends_at == utc(2027, 3, 29, 16, 0)
    assert times.duration_minutes == 9 * 60 + 30
    assert HALF_DAYS == {"morning": 1, "afternoon": 1, "day": 2}


def test_half_day_slots_use_their_own_hours():
    morning = slot_times(date(2027, 3, 29), "morning", HOURS, "Europe/Paris")
    afternoon = slot_times(date(2027, 3, 29), "afternoon", HOURS, "Europe/Paris")

    assert (morning.local_starts_at.time(), morning.local_ends_at.time()) == (time(8, 30), time(12, 30))
    assert (afternoon.local_starts_at.time(), afternoon.local_ends_at.time()) == (time(13, 30), time(18, 0))


# --- check_bookable ---------------------------------------------------------

NOW = utc(2027, 3, 1, 9, 0)  # a Monday, 10:00 in Paris


def test_bookable_slot_returns_its_times():
    times = check_bookable(date(2027, 3, 29), "morning", HOURS, "Europe/Paris", NOW, 90)

    assert times.starts_at == utc(2027, 3, 29, 6, 30)


@pytest.mark.parametrize("day, weekday", [(date(2027, 3, 27), "saturday"),
                                          (date(2027, 3, 28), "sunday")])
def test_refuses_a_day_the_relay_is_closed(day, weekday):
    with pytest.raises(SlotRefused) as refused:
        check_bookable(day, "morning", HOURS, "Europe/Paris", NOW, 90)

    assert refused.value.rule == "relay-closed"
    assert weekday in refused.value.detail


def test_refuses_a_slot_already_over():
    with pytest.raises(SlotRefused) as refused:
        check_bookable(date(2027, 2, 26), "afternoon", HOURS, "Europe/Paris", NOW, 90)

    assert refused.value.rule == "slot-in-past"


def test_refuses_a_slot_that_ends_exactly_now():
    morning_end = utc(2027, 3, 1, 11, 30)  # 12:30 in Paris
    with pytest.raises(SlotRefused) as refused:
        check_bookable(date(2027, 3, 1), "morning", HOURS, "Europe/Paris", morning_end, 90)

    assert refused.value.rule == "slot-in-past"


def test_accepts_the_slot_in_progress_and_the_rest_of_today():
    assert check_bookable(date(2027, 3, 1), "morning", HOURS, "Europe/Paris", NOW, 90)
    assert check_bookable(date(2027, 3, 1), "afternoon", HOURS, "Europe/Paris", NOW, 90)


def test_horizon_is_inclusive_and_refuses_one_day_beyond():
    assert check_bookable(date(2027, 3, 31), "morning", HOURS, "Europe/Paris", NOW, 30)

    with pytest.raises(SlotRefused) as refused:
        check_bookable(date(2027, 4, 1), "morning", HOURS, "Europe/Paris", NOW, 30)

    assert refused.value.rule == "beyond-horizon"
    assert "30 days" in refused.value.detail


def test_horizon_counts_from_the_relays_local_date():
    """At 22:00Z on 30 Nov it is already 1 Dec 09:00 in Nouméa: with no horizon,
    today's afternoon there can still be booked."""
    now = utc(2026, 11, 30, 22, 0)

    times = check_bookable(date(2026, 12, 1), "afternoon", HOURS, "Pacific/Noumea", now, 0)
    assert times.starts_at == utc(2026, 12, 1, 2, 30)

    with pytest.raises(SlotRefused) as refused:
        check_bookable(date(2026, 12, 2), "morning", HOURS, "Pacific/Noumea", now, 0)
    assert refused.value.rule == "beyond-horizon"


def test_slot_refused_is_an_exception_with_rule_and_detail():
    refusal = SlotRefused("relay-closed", "closed")

    assert isinstance(refusal, Exception)
    assert (refusal.rule, refusal.detail, str(refusal)) == ("relay-closed", "closed", "closed")
