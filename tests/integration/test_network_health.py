"""The network's health per relay and the unmet demand, on booking's real
database. The figures are computed for a fixed moment (the report takes
``now``), from bookings written as they would stand then; the RPCs are driven
for the demand they record and for who may see what."""
from datetime import date, datetime, timedelta, timezone

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy.orm import Session

from common.caller import load_caller
from services.booking import network_health
from services.booking.models import Booking, Closure
from tests.integration.booking_helpers import (
    corporate_admin, manager_of, next_open_day, refusal, relay_with,
)
from tests.integration.conftest import ADMIN, member, rows

# Wednesday 18 March 2026, 13:00 in Paris: the 7 days are 12-18 March (five
# weekdays open, ten desk half-days), the 30 days 17 February-18 March (22
# weekdays, 44 half-days); no public holiday in either.
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=timezone.utc)
ORG = "00000000-0000-4000-8000-0000000000bb"
OTHER_ORG = "00000000-0000-4000-8000-0000000000dd"


def booking_row(relay, desk, who, day, slot, status, organisation_id=ORG, late=None):
    starts = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=8)
    return Booking(relay_id=relay["id"], space_id=desk["id"], member_id=who["user_id"],
                   organisation_id=organisation_id, date=day, slot=slot, starts_at=starts,
                   ends_at=starts + timedelta(hours=9 if slot == "day" else 4), status=status,
                   late_cancellation=late,
                   checked_in_at=starts if status == "completed" else None,
                   created_at=datetime.combine(day - timedelta(days=3), datetime.min.time(),
                                               timezone.utc) + timedelta(hours=9))


@pytest.fixture
def network_of_two(booking, databases):
    """Relay A, busy; relay B, quiet since 1 March; a closure ahead at A."""
    a, (desk_a,) = relay_with(booking, name="Relais d'Aubusson", postcode="23200")
    b, (desk_b,) = relay_with(booking, name="Relais de Guéret", postcode="23000")
    with Session(databases["booking"]) as session, session.begin():
        session.add_all([
            booking_row(a, desk_a, member(1), date(2026, 3, 16), "morning", "completed"),
            booking_row(a, desk_a, member(2), date(2026, 3, 17), "day", "completed"),
            booking_row(a, desk_a, member(1), date(2026, 3, 18), "morning", "no_show"),
            booking_row(a, desk_a, member(3), date(2026, 3, 13), "afternoon", "cancelled",
                        organisation_id=OTHER_ORG, late=True),
            booking_row(a, desk_a, member(4), date(2026, 3, 2), "morning", "completed",
                        organisation_id=OTHER_ORG),
            booking_row(b, desk_b, member(5), date(2026, 3, 2), "morning", "completed",
                        organisation_id=OTHER_ORG),
            Closure(relay_id=a["id"], starts_on=date(2026, 3, 20), ends_on=date(2026, 3, 22),
                    reason="Travaux"),
            Closure(relay_id=a["id"], starts_on=date(2026, 2, 9), ends_on=date(2026, 2, 10),
                    reason="Inventaire"),
        ])
    return a, b


def report(databases, caller):
    with Session(databases["booking"]) as session:
        return network_health.report(session, load_caller(caller), NOW)


def test_network_staff_see_every_relay_with_hand_computed_figures(network_of_two, databases):
    a, b = network_of_two
    found = report(databases, ADMIN)
    assert found["as_of"] == date(2026, 3, 18)
    by_id = {relay["relay_id"]: relay for relay in found["relays"]}
    assert set(by_id) == {a["id"], b["id"]}
    busy = by_id[a["id"]]
    assert {key: busy[key] for key in (
        "bookings_7d", "desk_occupancy_7d", "no_show_rate_7d", "late_cancellation_rate_7d",
        "distinct_members_7d", "bookings_30d", "desk_occupancy_30d", "no_show_rate_30d",
        "late_cancellation_rate_30d", "distinct_members_30d", "inactive_14_days")} == {
        # 7 days: 3 held (2 completed, 1 no-show) + 1 late cancellation; 3 of 10 half-days.
        "bookings_7d": 3, "desk_occupancy_7d": 0.3, "no_show_rate_7d": 0.333,
        "late_cancellation_rate_7d": 0.25, "distinct_members_7d": 2,
        # 30 days: plus 2 March; 4 of 44 half-days.
        "bookings_30d": 4, "desk_occupancy_30d": 0.091, "no_show_rate_30d": 0.25,
        "late_cancellation_rate_30d": 0.2, "distinct_members_30d": 3,
        "inactive_14_days": False}
    assert busy["last_booking_at"] == datetime(2026, 3, 15, 9, tzinfo=timezone.utc)
    assert busy["open_closures"] == [
        {"starts_on": date(2026, 3, 20), "ends_on": date(2026, 3, 22), "reason": "Travaux"}]
    # Its desk was added when the test ran, and a closure written above.
    assert busy["last_manager_action_at"] is not None
    assert by_id[b["id"]]["last_manager_action_at"] is not None
    quiet = by_id[b["id"]]
    assert (quiet["bookings_7d"], quiet["bookings_30d"], quiet["inactive_14_days"]) == (0, 1, True)
    assert quiet["no_show_rate_7d"] is None and quiet["desk_occupancy_30d"] == 0.023


def test_a_relay_manager_sees_their_relays_only(network_of_two, databases):
    a, b = network_of_two
    assert [relay["relay_id"] for relay in report(databases, manager_of(b["id"]))["relays"]] \
        == [b["id"]]
    assert report(databases, {**manager_of(b["id"]), "relay_ids": []})["relays"] == []


def test_a_company_sees_its_employees_use_only(network_of_two, databases):
    a, _ = network_of_two
    (relay,) = report(databases, corporate_admin(ORG))["relays"]
    # Members 1 and 2 of ORG only: not OTHER_ORG's late cancellation nor 2 March.
    assert relay["relay_id"] == a["id"]
    assert (relay["bookings_30d"], relay["distinct_members_30d"],
            relay["late_cancellation_rate_30d"]) == (3, 2, 0.0)
    assert relay["desk_occupancy_7d"] is None  # it would reveal other customers' use
    assert relay["last_manager_action_at"] is None
    assert report(databases, corporate_admin("00000000-0000-4000-8000-0000000000ee"))[
        "relays"] == []


def test_members_may_not_ask(booking):
    assert refusal(booking.network_health, caller=member(1))[0] == "Forbidden"


def test_searches_and_bookings_refused_for_lack_of_space_are_recorded_anonymously(
        booking, databases):
    relay, (desk,) = relay_with(booking, name="Relais de Felletin", postcode="23500")
    day = next_open_day(7)
    booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day,
                                            "slot": "morning"})
    assert "space-taken" in refusal(booking.book, caller=member(2), payload={
        "space_id": desk["id"], "date": day, "slot": "morning"})[1]
    assert "no-space-free" in refusal(booking.book, caller=member(3), payload={
        "relay_id": relay["id"], "date": day, "slot": "morning"})[1]
    # Full near Felletin; nothing at all near Brest.
    assert booking.search_availability(query={
        "latitude": 45.8812, "longitude": 2.1734, "date": day, "slot": "morning"}) == []
    assert booking.search_availability(query={
        "latitude": 48.39, "longitude": -4.49, "date": day, "slot": "morning"}) == []
    assert booking.search_availability(query={
        "latitude": 45.88, "longitude": 2.17, "date": day, "slot": "afternoon"}) != []
    recorded = rows(databases["booking"], "SELECT * FROM unmet_demand ORDER BY id")
    assert [(r["source"], r["kind"], r["department"], r["latitude"], r["longitude"])
            for r in recorded] == [
        ("booking", "desk", "23", 45.9, 2.2), ("booking", "desk", "23", 45.9, 2.2),
        ("search", "desk", "23", 45.9, 2.2), ("search", "desk", "23", 48.4, -4.5)]
    # Nothing that names or times a person.
    assert set(recorded[0]) == {"id", "source", "wanted_on", "kind", "department", "latitude",
                                "longitude", "relay_id", "recorded_on"}
    month = day[:7]
    report = booking.unmet_demand(caller=ADMIN, query={"from_month": month, "to_month": month})
    assert report["rows"] == [{"department": "23", "month": month, "kind": "desk",
                               "searches": 2, "refused_bookings": 2}]
    for caller in (manager_of(relay["id"]), corporate_admin(), member(1)):
        with pytest.raises(RemoteError) as refused:
            booking.unmet_demand(caller=caller, query={"from_month": month, "to_month": month})
        assert refused.value.exc_type == "Forbidden"
