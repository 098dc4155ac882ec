"""booking over real RPC and PostgreSQL: the outbox, idempotency, and the
database's guarantee of no double booking under concurrent clients."""

import eventlet
import pytest
from nameko.exceptions import RemoteError

from common.events import EnvelopeSchema
from contracts import events as contracts
from services.booking.service import BookingService
from devtools import dates
from tests.integration.booking_helpers import next_open_day
from tests.integration.conftest import ADMIN, member, rows, wait_for

RELAY = {"name": "Relais de Felletin", "address": "1 rue des Tapissiers", "postcode": "23500",
         "commune": "Felletin", "latitude": 45.88, "longitude": 2.17,
         "timezone": "Europe/Paris"}


def next_weekday(days_ahead=7):
    return next_open_day(days_ahead)


def relay_with_desks(booking, count):
    relay = booking.create_relay(caller=ADMIN, payload=RELAY)
    desks = [booking.create_space(caller=ADMIN, relay_id=relay["id"],
                                  payload={"kind": "desk", "name": f"Bureau {n}"})
             for n in range(1, count + 1)]
    return relay, desks


def test_every_change_reaches_the_broker_through_the_outbox(start_service, rpc, listen, databases):
    start_service(BookingService)
    received = listen("booking", "booking.#")
    booking = rpc("booking")
    relay, (desk,) = relay_with_desks(booking, 1)
    made = booking.book(caller=member(1), payload={
        "space_id": desk["id"], "date": next_weekday(), "slot": "morning"})

    events = received(3)
    assert [event["type"] for event in events] == [
        "booking.relay_created", "booking.space_created", "booking.confirmed"]
    for event in events:
        EnvelopeSchema().load(event)  # raises if an envelope is malformed
        assert event["version"] == contracts.version_of(event["type"])
        contracts.load(event)  # its data is what the contract says consumers load
    confirmed = events[2]["data"]
    assert confirmed["booking_id"] == made["id"]
    assert confirmed["relay_name"] == RELAY["name"]
    assert confirmed["half_days"] == 1
    assert confirmed["local_starts_at"].endswith(("+01:00", "+02:00"))
    assert confirmed["local_starts_at"][11:16] == "08:30"
    unpublished = wait_for(lambda: not rows(databases["booking"],
                           "SELECT id FROM outbox WHERE published_at IS NULL"))
    assert unpublished, "every outbox row is marked published"


def test_a_retried_booking_with_the_same_key_returns_the_first_one(start_service, rpc, databases):
    start_service(BookingService)
    booking = rpc("booking")
    relay, (desk,) = relay_with_desks(booking, 1)
    payload = {"space_id": desk["id"], "date": next_weekday(), "slot": "afternoon"}

    first = booking.book(caller=member(1), payload=payload, idempotency_key="k-1")
    again = booking.book(caller=member(1), payload=payload, idempotency_key="k-1")

    assert again == first
    assert len(rows(databases["booking"], "SELECT id FROM bookings")) == 1
    assert len(rows(databases["booking"],
                    "SELECT id FROM outbox WHERE event_type = 'booking.confirmed'")) == 1
    with pytest.raises(RemoteError) as refused:
        booking.book(caller=member(1), payload=dict(payload, slot="morning"),
                     idempotency_key="k-1")
    assert refused.value.exc_type == "InvalidInput"
    assert "idempotency-key-reused" in str(refused.value)


def test_many_clients_racing_for_fewer_desks_get_exactly_one_booking_per_desk(
        start_service, rpc, databases):
    start_service(BookingService, max_workers=20)
    relay, desks = relay_with_desks(rpc("booking"), 3)
    day = next_weekday()
    clients = 24

    def attempt(number):
        proxy = rpc("booking")
        try:
            proxy.book(caller=member(number), payload={
                "space_id": desks[number % 3]["id"], "date": day, "slot": "day"})
            return "booked"
        except RemoteError as error:
            return error.exc_type + ":" + ("space-taken" if "space-taken" in str(error) else "?")

    outcomes = list(eventlet.GreenPool(clients).imap(attempt, range(1, clients + 1)))

    assert outcomes.count("booked") == 3
    assert outcomes.count("Conflict:space-taken") == clients - 3
    per_desk = rows(databases["booking"], "SELECT space_id, count(*) AS n FROM bookings "
                    "WHERE status = 'confirmed' GROUP BY space_id")
    assert sorted(row["n"] for row in per_desk) == [1, 1, 1]


def test_a_member_cannot_hold_two_desks_at_once(start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, desks = relay_with_desks(booking, 2)
    day = next_weekday()
    booking.book(caller=member(1), payload={"space_id": desks[0]["id"], "date": day,
                                            "slot": "morning"})
    with pytest.raises(RemoteError) as refused:
        booking.book(caller=member(1), payload={"space_id": desks[1]["id"], "date": day,
                                                "slot": "day"})
    assert refused.value.exc_type == "Conflict"
    assert "member-already-booked" in str(refused.value)


def test_a_refused_slot_names_the_rule(start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, (desk,) = relay_with_desks(booking, 1)
    saturday = dates.weekend_day(7)
    with pytest.raises(RemoteError) as refused:
        booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                "date": saturday.isoformat(), "slot": "morning"})
    assert refused.value.exc_type == "InvalidInput"
    assert "relay-closed" in str(refused.value)
