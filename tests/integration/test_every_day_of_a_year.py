"""Booking's date rules, on every day of a year, against the real service.

The clock is moved to 10:00 (Paris) on each of 366 days (tests/clock.py); the
booking service runs in this process, so it sees that day too. Each day, a new
member books the days the other tests choose by rule (devtools/dates.py) and gets
what those tests expect: an open day is confirmed, a day past the company's
60-day horizon is refused for the horizon, a weekend day because the relay is
closed, the third day of a month over a two-days-a-month policy for the policy,
and a cancellation is late exactly when it comes less than 24 hours before the
start. One service, one vhost and a few calls a day keep the year at well
under a minute.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import text

from devtools import dates
from tests.clock import travel_to
from tests.integration.booking_helpers import refusal, relay_with
from tests.integration.conftest import member, rows, wait_for

ORG = "00000000-0000-4000-8000-0000000000bb"
FIRST_DAY = date(2027, 12, 1)  # New Year, 29 February and both DST changes inside


def test_the_booking_rules_hold_on_every_day_of_a_year(booking, publish_event, databases):
    relay, (desk, other_desk) = relay_with(booking, desks=2)
    publish_event("identity", "identity.policy_changed", {
        "organisation_id": ORG, "allowed_relays": "all", "relay_ids": [],
        "max_days_per_month": 2, "booking_horizon_days": 60, "space_kinds": ["desk"]})
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM organisation_policies"))

    def book(caller, day, space=desk):
        return booking.book(caller=caller, payload={"space_id": space["id"],
                                                    "date": day.isoformat(), "slot": "morning"})

    def refused_because(caller, day, space=desk):
        kind, detail = refusal(book, caller=caller, day=day, space=space)
        return detail

    late_seen = set()
    for number, today in enumerate(dates.every_day_of_a_year(FIRST_DAY), start=1000):
        caller = member(number)
        with travel_to(today):
            soon = book(caller, dates.open_day(1))
            assert soon["status"] == "confirmed", today

            assert "beyond-horizon" in refused_because(caller, dates.open_day_beyond(60)), today
            weekend = refused_because(caller, dates.weekend_day(7))
            assert "relay-closed" in weekend or "public-holiday" in weekend, today

            # Another member of the company, whose month holds nothing else yet.
            colleague = member(number + 100_000)
            first, second, third = dates.open_days_in_one_month(3, 1, 60)
            book(colleague, first, other_desk), book(colleague, second, other_desk)
            assert "policy-days-per-month" in refused_because(colleague, third, other_desk), today

            cancelled = booking.cancel_booking(caller=caller, booking_id=soon["id"])
            starts_in = datetime.fromisoformat(soon["starts_at"]) - datetime.now().astimezone()
            assert cancelled["late_cancellation"] is (starts_in < timedelta(hours=24)), today
            late_seen.add(cancelled["late_cancellation"])
        with databases["booking"].begin() as conn:  # the desk is free for the next day
            conn.execute(text("DELETE FROM bookings"))
    assert late_seen == {True, False}  # both sides of the 24-hour rule were met
