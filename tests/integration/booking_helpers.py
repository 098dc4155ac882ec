"""Shared set-up for booking's integration tests: relays, callers, dates."""
import threading
from datetime import datetime

import pytest
from nameko.exceptions import RemoteError

from devtools import dates
from tests.integration.conftest import ADMIN

RELAY = {"name": "Relais de Felletin", "address": "1 rue des Tapissiers", "postcode": "23500",
         "commune": "Felletin", "latitude": 45.88, "longitude": 2.17,
         "timezone": "Europe/Paris"}
ALWAYS_OPEN = {day: {"morning": {"opens": "00:00", "closes": "12:00"},
                     "afternoon": {"opens": "12:00", "closes": "23:30"}}
               for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                           "sunday")}


def next_open_day(days_ahead=7, department="23"):
    """A weekday that is no public holiday, at least ``days_ahead`` from today
    (in Paris), as the ISO string the RPCs take."""
    return dates.open_day(days_ahead, department).isoformat()


def manager_of(relay_id, number=900):
    return {"user_id": f"00000000-0000-4000-8000-{number:012d}",
            "organisation_id": "00000000-0000-4000-8000-0000000000cc",
            "roles": ["relay_manager"], "relay_ids": [relay_id]}


def corporate_admin(organisation_id="00000000-0000-4000-8000-0000000000bb", number=800):
    return {"user_id": f"00000000-0000-4000-8000-{number:012d}",
            "organisation_id": organisation_id, "roles": ["corporate_admin"]}


def relay_with(booking, desks=1, rooms=0, **fields):
    relay = booking.create_relay(caller=ADMIN, payload=dict(RELAY, **fields))
    spaces = [booking.create_space(caller=ADMIN, relay_id=relay["id"],
                                   payload={"kind": "desk", "name": f"Bureau {n:02d}"})
              for n in range(1, desks + 1)]
    spaces += [booking.create_space(caller=ADMIN, relay_id=relay["id"], payload={
        "kind": "meeting_room", "name": f"Salle {n}", "capacity": 8,
        "amenities": ["screen", "visio"]}) for n in range(1, rooms + 1)]
    return relay, spaces


def refusal(call, **kwargs):
    with pytest.raises(RemoteError) as refused:
        call(**kwargs)
    return refused.value.exc_type, str(refused.value)


def race(calls, rule):
    """Run ``calls`` (functions of no argument) at the same instant, each in its
    thread; the outcomes, sorted: "booked", or ``rule`` when refused by it (any
    other error as its repr, so a test sees it)."""
    outcomes, start = [], threading.Barrier(len(calls))

    def run(call):
        start.wait()
        try:
            call()
            outcomes.append("booked")
        except Exception as refused:  # noqa: BLE001 (the refusal is the outcome)
            outcomes.append(rule if rule in str(refused) else repr(refused))

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def booked_for_now(booking, caller):
    """A relay open round the clock, and ``caller``'s booking of the half-day
    running now there: what check-in needs. Returns the relay, the booking and
    the relay's check-in code (as its manager sees it). The test asks for the
    ``daytime`` fixture, so a slot is running whatever the hour."""
    relay, (desk,) = relay_with(booking, opening_hours=ALWAYS_OPEN, closed_on_public_holidays=False)
    local_now = datetime.now(dates.PARIS)
    made = booking.book(caller=caller, payload={
        "space_id": desk["id"], "date": local_now.date().isoformat(),
        "slot": "morning" if local_now.hour < 12 else "afternoon"})
    code = booking.relay_day(caller=manager_of(relay["id"]), relay_id=relay["id"])["check_in_code"]
    return relay, made, code
