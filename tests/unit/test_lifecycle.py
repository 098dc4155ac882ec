from datetime import datetime, timedelta, timezone

import pytest

from services.booking.lifecycle import (
    TransitionRefused, check_cancellable, check_check_in, is_late_cancellation, no_show_due_at,
)

START = datetime(2026, 12, 3, 7, 30, tzinfo=timezone.utc)
END = START + timedelta(hours=4)


def test_late_means_less_than_24_real_hours_before_the_start_by_the_customer():
    assert is_late_cancellation(START, START - timedelta(hours=23, minutes=59), "member")
    assert is_late_cancellation(START, START - timedelta(hours=1), "corporate_admin")
    assert not is_late_cancellation(START, START - timedelta(hours=24), "member")
    assert not is_late_cancellation(START, START - timedelta(hours=1), "relay_manager")
    assert not is_late_cancellation(START, START - timedelta(hours=1), "system")


def test_cancellable_only_while_confirmed_and_not_over():
    assert check_cancellable("confirmed", END, START) is True
    assert check_cancellable("cancelled", END, START) is False
    for status in ("checked_in", "no_show", "completed"):
        with pytest.raises(TransitionRefused) as refused:
            check_cancellable(status, END, START)
        assert refused.value.rule == "not-cancellable"
    with pytest.raises(TransitionRefused) as over:
        check_cancellable("confirmed", END, END)
    assert over.value.rule == "booking-over"


def test_check_in_opens_30_minutes_before_the_start_and_closes_at_the_end():
    with pytest.raises(TransitionRefused) as early:
        check_check_in("confirmed", START, END, START - timedelta(minutes=31))
    assert early.value.rule == "check-in-too-early"
    assert check_check_in("confirmed", START, END, START - timedelta(minutes=30))
    assert check_check_in("checked_in", START, END, START) is False
    with pytest.raises(TransitionRefused):
        check_check_in("no_show", START, END, START)
    with pytest.raises(TransitionRefused):
        check_check_in("confirmed", START, END, END)


def test_no_show_release_applies_to_desks_with_a_delay():
    booked_the_day_before = START - timedelta(days=1)
    assert no_show_due_at("desk", START, booked_the_day_before, 30) == \
        START + timedelta(minutes=30)
    assert no_show_due_at("desk", START, booked_the_day_before, None) is None
    assert no_show_due_at("meeting_room", START, booked_the_day_before, 30) is None


def test_a_walk_in_booked_after_the_start_has_the_whole_delay_from_booking():
    walk_in = START + timedelta(minutes=90)
    assert no_show_due_at("desk", START, walk_in, 30) == walk_in + timedelta(minutes=30)
    # To the minute above, the time the member is told.
    assert no_show_due_at("desk", START, walk_in + timedelta(seconds=0.5), 30) == \
        walk_in + timedelta(minutes=31)
