"""The monthly budget cap, with booking and billing running: booking asks
billing's quote (only when a budget applies) and holds the budget under a
lock, so racing bookings never pass the last euro; late cancellations count,
in-time ones give the budget back; per member or per organisation."""
import functools
from datetime import datetime

import pytest

from services.billing.service import BillingService
from services.booking.service import BookingService
from devtools import dates
from tests.integration.booking_helpers import (
    ALWAYS_OPEN, next_open_day, race, refusal, relay_with,
)
from tests.integration.conftest import ADMIN, member, rows, wait_for

ORG = "00000000-0000-4000-8000-0000000000bb"
HALF_DAY, DAY = 1250, 2200


def set_policy(publish_event, databases, budget, per="organisation"):
    publish_event("identity", "identity.policy_changed", {
        "organisation_id": ORG, "allowed_relays": "all", "relay_ids": [],
        "monthly_budget_cents": budget, "budget_per": per})
    assert wait_for(lambda: rows(databases["booking"],
                                 "SELECT 1 FROM organisation_policies WHERE budget_per = :per "
                                 "AND monthly_budget_cents IS NOT DISTINCT FROM :budget",
                                 per=per, budget=budget))


@pytest.fixture
def services(start_service, rpc, databases):
    """booking and billing running; returns (booking proxy, billing proxy)."""
    start_service(BookingService)
    start_service(BillingService)
    return rpc("booking"), rpc("billing")


def priced_relay(booking, billing, databases, desks, **fields):
    """A relay with ``desks`` desks, 12.50 € a half-day and 22 € a day at billing."""
    relay, spaces = relay_with(booking, desks=desks, **fields)
    assert wait_for(lambda: rows(databases["billing"], "SELECT 1 FROM known_relays WHERE relay_id = :id",
                                 id=relay["id"]))
    billing.set_rate_card(caller=ADMIN, relay_id=relay["id"], payload={
        "space_kind": "desk", "half_day_price_cents": HALF_DAY, "day_price_cents": DAY,
        "valid_from": "2020-01-01"})
    return relay, spaces


def test_billing_quotes_the_price_in_force(services, databases, rpc):
    booking, billing = services
    relay, _ = priced_relay(booking, billing, databases, desks=1)
    billing_as_booking = rpc("billing", as_component="booking")  # quote is booking's to call
    quote = {"organisation_id": ORG, "relay_id": relay["id"], "space_kind": "desk",
             "date": next_open_day(), "duration_minutes": 240}
    assert billing_as_booking.quote(payload=dict(quote, slot="morning")) == {"priced": True,
                                                                   "price_cents": HALF_DAY}
    assert billing_as_booking.quote(payload=dict(quote, slot="day", duration_minutes=570))["price_cents"] == DAY
    assert billing_as_booking.quote(payload=dict(quote, space_kind="meeting_room", slot="hours")) == {
        "priced": False, "price_cents": 0}


def test_racing_bookings_never_pass_the_last_euro(services, rpc, publish_event, databases):
    booking, billing = services
    relay, desks = priced_relay(booking, billing, databases, desks=8)
    set_policy(publish_event, databases, 4 * HALF_DAY)
    day = next_open_day()
    proxies = [rpc("booking") for _ in range(7)]
    outcomes = race([functools.partial(proxy.book, caller=member(n + 1), payload={
        "space_id": desks[n]["id"], "date": day, "slot": "morning"})
        for n, proxy in enumerate(proxies)], "policy-monthly-budget")
    assert outcomes == ["booked"] * 4 + ["policy-monthly-budget"] * 3
    assert rows(databases["booking"], "SELECT sum(price_cents) AS spent FROM bookings "
                "WHERE status = 'confirmed'")[0]["spent"] == 4 * HALF_DAY
    kind, detail = refusal(booking.book, caller=member(20), payload={
        "space_id": desks[7]["id"], "date": day, "slot": "morning"})
    assert kind == "Forbidden" and "policy-monthly-budget" in detail
    assert "50,00 €" in detail and "0,00 € left" in detail


def test_an_in_time_cancellation_gives_the_budget_back(services, publish_event, databases):
    booking, billing = services
    relay, (first, second) = priced_relay(booking, billing, databases, desks=2)
    set_policy(publish_event, databases, DAY)
    day = next_open_day()
    made = booking.book(caller=member(1), payload={"space_id": first["id"], "date": day,
                                                    "slot": "day"})
    kind, detail = refusal(booking.book, caller=member(2), payload={
        "space_id": second["id"], "date": day, "slot": "morning"})
    assert "policy-monthly-budget" in detail and "12,50 €" in detail
    booking.cancel_booking(caller=member(1), booking_id=made["id"])
    booking.book(caller=member(2), payload={"space_id": second["id"], "date": day,
                                            "slot": "morning"})


def test_a_late_cancellation_still_counts(services, publish_event, databases, daytime):
    booking, billing = services
    relay, (first, second) = priced_relay(booking, billing, databases, desks=2,
                                          opening_hours=ALWAYS_OPEN,
                                          closed_on_public_holidays=False)
    set_policy(publish_event, databases, HALF_DAY)
    local_now = datetime.now(dates.PARIS)
    now_slot = {"date": local_now.date().isoformat(),
                "slot": "morning" if local_now.hour < 12 else "afternoon"}
    made = booking.book(caller=member(1), payload=dict(now_slot, space_id=first["id"]))
    cancelled = booking.cancel_booking(caller=member(1), booking_id=made["id"])
    assert cancelled["late_cancellation"] is True
    kind, detail = refusal(booking.book, caller=member(2),
                           payload=dict(now_slot, space_id=second["id"]))
    assert kind == "Forbidden" and "policy-monthly-budget" in detail


def test_a_budget_per_member_caps_each_member(services, publish_event, databases):
    booking, billing = services
    relay, desks = priced_relay(booking, billing, databases, desks=3)
    set_policy(publish_event, databases, 2 * HALF_DAY, per="member")
    days = dates.open_days_in_one_month(3, first_after_days=1, last_before_days=85)
    for day in days[:2]:
        booking.book(caller=member(1), payload={"space_id": desks[0]["id"],
                                                "date": day.isoformat(), "slot": "morning"})
    kind, detail = refusal(booking.book, caller=member(1), payload={
        "space_id": desks[0]["id"], "date": days[2].isoformat(), "slot": "morning"})
    assert kind == "Forbidden" and "policy-monthly-budget" in detail and "your monthly" in detail
    booking.book(caller=member(2), payload={"space_id": desks[1]["id"],
                                            "date": days[2].isoformat(), "slot": "morning"})


def test_without_a_budget_billing_is_not_asked(booking, publish_event, databases):
    """billing is not running here: a booking without a budget does not need it,
    one under a budget is refused (503) rather than let through unchecked."""
    relay, (desk,) = relay_with(booking)
    set_policy(publish_event, databases, None)
    booking.book(caller=member(1), payload={"space_id": desk["id"], "date": next_open_day(),
                                            "slot": "morning"})
    set_policy(publish_event, databases, 10_000)
    kind, detail = refusal(booking.book, caller=member(1), payload={
        "space_id": desk["id"], "date": next_open_day(14), "slot": "morning"})
    assert kind == "Unavailable" and "budget-unavailable" in detail
