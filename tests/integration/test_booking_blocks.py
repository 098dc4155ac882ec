"""Reserved capacity over real RPC and PostgreSQL: a block's places are held
for its holder's members, released to everyone at the block's delay (the
clock injected), and never over-booked by outside bookings racing it."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.exceptions import RemoteError

from common.caller import load_caller
from common.validation import load
from contracts.rpc.booking import BlockCreateSchema, BookingCreateSchema, RelayUpdateSchema
from services.booking import blocks, bookings, directory
from services.booking.models import Base
from services.booking.service import BookingService
from tests.clock import PARIS, travel_to
from tests.integration.booking_helpers import manager_of, next_open_day, refusal, relay_with
from tests.integration.conftest import member, rows, second_waits_for_first

HOLDER = "00000000-0000-4000-8000-0000000000a1"     # the company holding the block
OTHER = "00000000-0000-4000-8000-0000000000b2"      # everyone else


def holder_member(number):
    return member(number, HOLDER)


def outsider(number):
    return member(100 + number, OTHER)


def hold(booking, relay, spaces, day, **fields):
    return booking.create_block(caller=manager_of(relay["id"]), relay_id=relay["id"], payload=dict({
        "organisation_id": HOLDER, "space_ids": [s["id"] for s in spaces],
        "weekday": day.strftime("%A").lower(), "slot": "morning",
        "starts_on": day.isoformat(), "ends_on": day.isoformat(), "billing": "per_use"},
        **fields))


def test_the_block_is_released_to_everyone_at_its_delay(start_service, rpc, databases):
    start_service(BookingService)
    booking = rpc("booking")
    relay, (desk,) = relay_with(booking, desks=1)
    day = datetime.fromisoformat(next_open_day(7)).date()
    block = hold(booking, relay, [desk], day, release_hours=72)
    assert block["places"] == 1 and block["release_hours"] == 72
    starts = datetime.combine(day, datetime.min.time().replace(hour=8, minute=30), PARIS)
    release = starts - timedelta(hours=72)
    (place,) = rows(databases["booking"], "SELECT release_at FROM block_places")
    assert place["release_at"] == release
    wanted = {"space_id": desk["id"], "date": day.isoformat(), "slot": "morning"}

    with travel_to(release - timedelta(minutes=1)):
        exc_type, detail = refusal(booking.book, caller=outsider(1), payload=wanted)
        assert exc_type == "Conflict" and "space-reserved" in detail
        assert booking.search_availability(query={
            "latitude": 45.88, "longitude": 2.17, "date": day.isoformat(),
            "slot": "morning"}) == []
    with travel_to(release + timedelta(minutes=1)):
        made = booking.book(caller=outsider(1), payload=wanted)
    assert made["status"] == "confirmed" and made["block_id"] is None


def test_the_holders_members_book_inside_the_block_first(start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, desks = relay_with(booking, desks=3)
    day = datetime.fromisoformat(next_open_day(7)).date()
    block = hold(booking, relay, desks[1:], day)
    any_desk = {"relay_id": relay["id"], "date": day.isoformat(), "slot": "morning"}

    inside = booking.book(caller=holder_member(1), payload=any_desk)
    assert inside["space_id"] == desks[1]["id"] and inside["block_id"] == block["id"]
    outside = booking.book(caller=outsider(1), payload=any_desk)
    assert outside["space_id"] == desks[0]["id"] and outside["block_id"] is None
    exc_type, detail = refusal(booking.book, caller=outsider(2), payload=any_desk)
    assert "no-space-free" in detail        # the held desk stays the holder's
    second = booking.book(caller=holder_member(2), payload=any_desk)
    assert second["space_id"] == desks[2]["id"] and second["block_id"] == block["id"]
    # The holder's admins see the block; its relay's manager cancels it.
    admin = {"user_id": "00000000-0000-4000-8000-000000000a99", "organisation_id": HOLDER,
             "roles": ["corporate_admin"]}
    assert [b["id"] for b in booking.list_blocks(caller=admin, query={})] == [block["id"]]
    assert booking.list_blocks(caller=dict(admin, organisation_id=OTHER), query={}) == []
    booking.cancel_block(caller=manager_of(relay["id"]), block_id=block["id"])


def test_a_block_over_a_day_already_booked_is_refused_whole(start_service, rpc):
    start_service(BookingService)
    booking = rpc("booking")
    relay, desks = relay_with(booking, desks=2)
    day = datetime.fromisoformat(next_open_day(7)).date()
    booking.book(caller=outsider(1), payload={"space_id": desks[0]["id"],
                                              "date": day.isoformat(), "slot": "day"})
    exc_type, detail = refusal(lambda: hold(booking, relay, desks, day))
    assert exc_type == "Conflict" and "block-space-taken" in detail
    assert booking.list_blocks(caller=manager_of(relay["id"]), query={}) == []


def test_a_block_and_outside_bookings_racing_never_over_book(start_service, rpc, databases):
    """Rounds of a block being created over 4 desks while 12 outsiders (each
    a desk by its id, or any desk) and 4 of the holder's members book: whatever
    wins, no desk is held and booked by an outsider at once, and no desk is
    booked twice."""
    start_service(BookingService, max_workers=20)
    day = datetime.fromisoformat(next_open_day(7)).date()
    for round_ in range(8):
        booking = rpc("booking")
        relay, desks = relay_with(booking, desks=4, name=f"Relais {round_}")
        any_desk = {"relay_id": relay["id"], "date": day.isoformat(), "slot": "morning"}

        def attempt(number):
            proxy = rpc("booking")
            try:
                if number == 0:
                    hold(proxy, relay, desks, day)
                    return "block"
                if number % 4 == 0:
                    proxy.book(caller=holder_member(round_ * 50 + number), payload=any_desk)
                else:
                    this_desk = {"space_id": desks[number % 4]["id"], "date": day.isoformat(),
                                 "slot": "morning"}
                    proxy.book(caller=outsider(round_ * 50 + number),
                               payload=this_desk if number % 2 else any_desk)
                return "booked"
            except RemoteError as error:
                return error.exc_type

        outcomes = list(eventlet.GreenPool(17).imap(attempt, range(17)))
        assert set(outcomes) <= {"block", "booked", "Conflict"}, outcomes
        over = rows(databases["booking"], """
            SELECT b.id FROM bookings b
            JOIN block_places p ON p.space_id = b.space_id
             AND tstzrange(p.starts_at, p.ends_at) && tstzrange(b.starts_at, b.ends_at)
            JOIN blocks bl ON bl.id = p.block_id AND bl.cancelled_at IS NULL
            WHERE b.relay_id = :relay AND b.status = 'confirmed'
              AND b.organisation_id IS DISTINCT FROM bl.organisation_id""", relay=relay["id"])
        assert over == []
        (booked,) = rows(databases["booking"], "SELECT count(*) AS n, count(DISTINCT space_id) "
                         "AS desks FROM bookings WHERE relay_id = :relay", relay=relay["id"])
        assert booked["n"] == booked["desks"] <= 4
        if "block" in outcomes:   # the block won some desks: only its members are on them
            inside = rows(databases["booking"], "SELECT organisation_id FROM bookings "
                          "WHERE relay_id = :relay AND block_id IS NOT NULL", relay=relay["id"])
            assert {str(r["organisation_id"]) for r in inside} <= {HOLDER}


@pytest.mark.parametrize("first, second, refused", [
    ("block", "booking", "space-reserved"), ("booking", "block", "block-space-taken")])
def test_a_block_and_a_booking_of_its_space_the_second_waits_for_the_first_and_sees_it(
        start_service, rpc, databases, first, second, refused):
    """The race, made deterministic: one transaction writes its side (a block
    over a desk, or an outsider's booking of it) and stays open; another then
    writes the other side. The second must wait for the first's locks (the
    relay's row, FOR UPDATE by a block and FOR SHARE by a booking, and the
    space's row) until it commits, then see it and be refused. Unserialised,
    neither sees the other's uncommitted rows and both commit: over-booked."""
    start_service(BookingService)
    booking = rpc("booking")
    day = datetime.fromisoformat(next_open_day(7)).date()
    now = datetime.now(timezone.utc)
    relay, (desk,) = relay_with(booking, desks=1)
    block = {"organisation_id": HOLDER, "space_ids": [desk["id"]],
             "weekday": day.strftime("%A").lower(), "slot": "morning",
             "starts_on": day.isoformat(), "ends_on": day.isoformat(), "billing": "per_use"}
    outside = {"space_id": desk["id"], "date": day.isoformat(), "slot": "morning"}
    sides = {
        "block": lambda uow: blocks.create_block(
            uow, load_caller(manager_of(relay["id"])), relay["id"],
            load(BlockCreateSchema(), block), now),
        "booking": lambda uow: bookings.book(
            uow, load_caller(outsider(1)), load(BookingCreateSchema(), outside), now)}
    assert second_waits_for_first(databases["booking"], "booking", Base.metadata,
                                  sides[first], sides[second]) == refused


def test_a_booking_racing_a_change_of_opening_hours_waits_for_it_and_sees_it(
        start_service, rpc, databases):
    """The relay's manager closes the relay on the booked weekday, in a
    transaction kept open (the relay's row FOR UPDATE); a booking of that day
    meanwhile must wait for the relay's lock, then read the new hours and be
    refused. Read in the locking statement itself, the hours would come from
    the snapshot taken before the wait: the booking would pass on a closed day."""
    start_service(BookingService)
    booking = rpc("booking")
    day = datetime.fromisoformat(next_open_day(7)).date()
    now = datetime.now(timezone.utc)
    relay, (desk,) = relay_with(booking, desks=1)
    hours = {"morning": {"opens": "08:30", "closes": "12:30"}}
    open_but_that_day = {name: hours for name in ("monday", "tuesday", "wednesday", "thursday",
                                                  "friday") if name != day.strftime("%A").lower()}
    wanted = {"space_id": desk["id"], "date": day.isoformat(), "slot": "morning"}

    def close_that_weekday(uow):
        directory.update_relay(uow, load_caller(manager_of(relay["id"])), relay["id"],
                               load(RelayUpdateSchema(), {"opening_hours": open_but_that_day}))

    def book_that_day(uow):
        bookings.book(uow, load_caller(outsider(1)), load(BookingCreateSchema(), wanted), now)
    assert second_waits_for_first(databases["booking"], "booking", Base.metadata,
                                  close_that_weekday, book_that_day) == "relay-closed"
    assert rows(databases["booking"], "SELECT id FROM bookings") == []
