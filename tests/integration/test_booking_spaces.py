"""Spaces for services over real RPC, PostgreSQL and RabbitMQ: the new kinds
and what they offer, sessions a relay defines, and the privacy of a
tele-consultation booth (what its booker writes is never kept: no manager
view, log line, event or webhook payload holds it)."""
import json
import logging

import eventlet

from services.booking.service import BookingService
from services.notify.service import NotifyService
from tests.integration.booking_helpers import manager_of, next_open_day, refusal, relay_with
from tests.integration.conftest import ADMIN, member, rows, wait_for
from tests.integration.test_webhooks import Receiver, register

# What a booker might type about a tele-consultation: it must never be kept.
PURPOSE = "suivi diabete glycemie 2.4 g/L"


def test_a_study_room_is_found_by_what_it_offers_and_booked_by_its_sessions(
        start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, _ = relay_with(booking, desks=0)
    study = booking.create_space(caller=ADMIN, relay_id=relay["id"], payload={
        "kind": "study_room", "name": "Salle d'étude", "capacity": 6,
        "features": ["exam_suitable", "camera"]})
    assert study["features"] == ["camera", "exam_suitable"]
    day = next_open_day()
    manager = manager_of(relay["id"])
    with_sessions = booking.set_space_sessions(caller=manager, space_id=study["id"], payload={
        "sessions": [{"name": "Matin", "start": "09:00", "end": "11:00"},
                     {"name": "Après-midi", "start": "14:00", "end": "17:00"}]})
    assert [s["name"] for s in with_sessions["sessions"]] == ["Matin", "Après-midi"]

    near = {"latitude": 45.88, "longitude": 2.17, "kind": "study_room", "date": day}
    found = booking.search_availability(query=dict(near, start="09:00", end="11:00",
                                                   feature="exam_suitable"))
    assert [s["id"] for s in found[0]["free_spaces"]] == [study["id"]]
    assert booking.search_availability(query=dict(near, start="09:00", end="10:00")) == []
    assert booking.search_availability(query=dict(
        near, start="09:00", end="11:00", feature="connected_medical_devices")) == []

    made = booking.book(caller=member(1), payload={
        "space_id": study["id"], "date": day, "start": "09:00", "end": "11:00"})
    assert made["space_kind"] == "study_room"
    exc_type, detail = refusal(booking.book, caller=member(2), payload={
        "space_id": study["id"], "date": day, "start": "11:00", "end": "12:00"})
    assert exc_type == "InvalidInput" and "outside-sessions" in detail
    # "Any study room" at the relay: only a session fits.
    any_room = booking.book(caller=member(3), payload={
        "relay_id": relay["id"], "kind": "study_room", "date": day,
        "start": "14:00", "end": "17:00"})
    assert any_room["space_id"] == study["id"]


def test_a_space_offers_only_what_its_kind_may_and_a_booth_seats_one(start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, _ = relay_with(booking, desks=0)
    exc_type, detail = refusal(booking.create_space, caller=ADMIN, relay_id=relay["id"],
                               payload={"kind": "desk", "name": "B", "features": ["camera"]})
    assert exc_type == "InvalidInput" and "features" in detail
    exc_type, detail = refusal(booking.create_space, caller=ADMIN, relay_id=relay["id"],
                               payload={"kind": "teleconsultation_booth", "name": "C",
                                        "capacity": 2})
    assert exc_type == "InvalidInput" and "capacity" in detail
    booth = booking.create_space(caller=ADMIN, relay_id=relay["id"], payload={
        "kind": "teleconsultation_booth", "name": "Cabine",
        "features": ["connected_medical_devices"]})
    assert booth["features"] == ["connected_medical_devices", "soundproof"]


def test_a_booths_purpose_is_in_no_manager_view_log_event_or_webhook(
        start_service, rpc, listen, databases, caplog):
    caplog.set_level(logging.DEBUG)
    start_service(BookingService)
    start_service(NotifyService, WEBHOOKS_ALLOW_LOOPBACK=True,
                  WEBHOOKS_RETRY_SCHEDULE_MS=[50, 100, 150], WEBHOOKS_TIMEOUT_SECONDS=1)
    events = listen("booking", "booking.#")
    booking, notify = rpc("booking"), rpc("notify")
    relay, _ = relay_with(booking, desks=0)
    booth = booking.create_space(caller=ADMIN, relay_id=relay["id"], payload={
        "kind": "teleconsultation_booth", "name": "Cabine 1", "features": ["camera"]})
    manager = manager_of(relay["id"])
    hook = Receiver()
    try:
        register(notify, hook, manager)
        day = next_open_day()
        when = {"space_id": booth["id"], "date": day, "start": "10:00", "end": "11:00"}
        # Every free-text field a booker might try is refused, not kept.
        for field in ("purpose", "notes", "reason", "comment"):
            exc_type, detail = refusal(booking.book, caller=member(1),
                                       payload=dict(when, **{field: PURPOSE}))
            assert exc_type == "InvalidInput" and PURPOSE not in detail
        made = booking.book(caller=member(1), payload=when)
        day_view = booking.relay_day(caller=manager, relay_id=relay["id"], query={"date": day})
        (arrival,) = day_view["arrivals"]
        assert arrival["private"] is True and arrival["shown_as"] == "private booth, booked"
        assert arrival["member_email"] is None
        # The booker cancels and says why: not kept either.
        cancelled = booking.cancel_booking(caller=member(1), booking_id=made["id"],
                                           payload={"reason": PURPOSE})
        assert cancelled["cancellation_reason"] is None
        assert wait_for(lambda: len(hook.verified()) >= 2)
        eventlet.sleep(0.5)

        views = [booking.relay_day(caller=manager, relay_id=relay["id"], query={"date": day}),
                 booking.list_bookings(caller=manager, query={"relay_id": relay["id"]}),
                 booking.get_booking(caller=manager, booking_id=made["id"]),
                 booking.relay_week(caller=manager, relay_id=relay["id"], query={})]
        seen = json.dumps(views) + json.dumps(events(4)) + json.dumps(hook.verified())
        seen += caplog.text + json.dumps([dict(r) for r in rows(
            databases["booking"], "SELECT * FROM bookings")], default=str)
        seen += json.dumps([dict(r) for r in rows(
            databases["booking"], "SELECT * FROM outbox")], default=str)
        assert "booking.cancelled" in seen and "Cabine 1" in seen  # the capture worked
        assert PURPOSE not in seen
    finally:
        hook.stop()
