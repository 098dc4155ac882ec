"""Booking against identity's member events (reactivation, updates, out of
order) and against what other transactions commit at the same moment
(closures, deactivations), over real RPC, RabbitMQ and PostgreSQL; the
check-in code's attempt limit."""
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import text

from common.caller import load_caller
from common.validation import load
from contracts.rpc.booking import BookingCreateSchema
from services.booking import bookings
from services.booking.check_in_codes import MAX_WRONG_CODES_A_DAY
from services.booking.models import Base
from services.booking.service import booking_schema
from tests.integration.booking_helpers import (
    booked_for_now, manager_of, next_open_day, refusal, relay_with,
)
from tests.integration.conftest import member, rows, second_waits_for_first, wait_for

ORG = "00000000-0000-4000-8000-0000000000bb"
USER = member(1)["user_id"]


def identity_event(publish_event, databases, event_type, data, occurred_at):
    """Publish one of identity's events as of ``occurred_at`` and wait until
    booking has handled it."""
    event_id = str(uuid.uuid4())
    publish_event("identity", event_type, data, envelope={
        "event_id": event_id, "type": event_type, "occurred_at": occurred_at.isoformat(),
        "version": 1, "source": "identity", "data": data})
    assert wait_for(lambda: rows(databases["booking"],
                                 "SELECT 1 FROM inbox WHERE event_id = :id", id=event_id))


def deactivated(publish_event, databases, at):
    identity_event(publish_event, databases, "identity.user_deactivated", {
        "user_id": USER, "organisation_id": ORG, "deactivated_at": at.isoformat()}, at)


def reactivated(publish_event, databases, at):
    identity_event(publish_event, databases, "identity.user_reactivated", {
        "user_id": USER, "organisation_id": ORG}, at)


def test_a_reactivated_member_books_again_whatever_order_the_events_arrive_in(
        booking, publish_event, databases):
    relay, (desk,) = relay_with(booking)
    book = dict(caller=member(1), payload={"space_id": desk["id"], "date": next_open_day(3),
                                           "slot": "morning"})
    now = datetime.now(timezone.utc)
    deactivated(publish_event, databases, now - timedelta(minutes=10))
    assert "member-deactivated" in refusal(booking.book, **book)[1]
    # A reactivation older than the deactivation kept (arriving late) changes nothing.
    reactivated(publish_event, databases, now - timedelta(minutes=20))
    assert "member-deactivated" in refusal(booking.book, **book)[1]

    reactivated(publish_event, databases, now - timedelta(minutes=5))
    made = booking.book(**book)
    assert made["status"] == "confirmed" and made["member_id"] == USER
    # The first deactivation delivered again, or another older one: still active.
    deactivated(publish_event, databases, now - timedelta(minutes=7))
    assert booking.get_booking(caller=member(1), booking_id=made["id"])["status"] == "confirmed"
    assert rows(databases["booking"], "SELECT deactivated_at FROM members")[0][
        "deactivated_at"] is None
    # A new deactivation, after the reactivation, applies again.
    deactivated(publish_event, databases, now)
    assert booking.get_booking(caller=member(1), booking_id=made["id"])["status"] == "cancelled"


def test_a_reactivation_arriving_before_its_deactivation_still_wins(
        booking, publish_event, databases):
    relay, (desk,) = relay_with(booking)
    now = datetime.now(timezone.utc)
    reactivated(publish_event, databases, now - timedelta(minutes=1))
    deactivated(publish_event, databases, now - timedelta(minutes=2))
    made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                   "date": next_open_day(3), "slot": "morning"})
    assert made["status"] == "confirmed"


def test_a_members_new_name_and_email_reach_the_managers_day(booking, publish_event, databases):
    relay, (desk,) = relay_with(booking)
    day = next_open_day(3)
    now = datetime.now(timezone.utc)
    user = {"user_id": USER, "organisation_id": ORG, "roles": ["member"]}
    identity_event(publish_event, databases, "identity.user_provisioned",
                   dict(user, email="lou@example.org", full_name="Lou Nomade"),
                   now - timedelta(minutes=10))
    booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day, "slot": "day"})
    identity_event(publish_event, databases, "identity.user_updated",
                   dict(user, email="lou.martin@example.org", full_name="Lou Martin", active=True),
                   now - timedelta(minutes=5))
    # An older update delivered late is ignored.
    identity_event(publish_event, databases, "identity.user_updated",
                   dict(user, email="old@example.org", full_name="Lou Ancien", active=True),
                   now - timedelta(minutes=8))

    (arrival,) = booking.relay_day(caller=manager_of(relay["id"]), relay_id=relay["id"],
                                   query={"date": day})["arrivals"]
    assert (arrival["member_name"], arrival["member_email"]) == (
        "Lou Martin", "lou.martin@example.org")


def locks_waiting(databases):
    return rows(databases["booking"], "SELECT 1 FROM pg_locks WHERE NOT granted")


def test_a_booking_racing_a_closure_never_outlives_it(booking, databases):
    """A closure is being committed (its transaction holds the relay's row,
    as add_closure does) while a member books that day: the booking waits
    for it, then sees the closure."""
    relay, (desk,) = relay_with(booking)
    day = next_open_day(5)
    with databases["booking"].connect() as closing:
        closing.execute(text("SELECT 1 FROM relays WHERE id = :id FOR UPDATE"), {"id": relay["id"]})
        closing.execute(text("INSERT INTO closures (id, relay_id, starts_on, ends_on, reason) "
                             "VALUES (gen_random_uuid(), :id, :day, :day, 'dégât des eaux')"),
                        {"id": relay["id"], "day": day})
        attempt = eventlet.spawn(refusal_or_booking, booking, {
            "space_id": desk["id"], "date": day, "slot": "morning"})
        blocked = wait_for(lambda: locks_waiting(databases), timeout=5)
        closing.commit()
        outcome = attempt.wait()
    assert outcome[0] == "InvalidInput" and "relay-closure" in outcome[1], outcome
    assert rows(databases["booking"], "SELECT 1 FROM bookings") == []
    assert blocked  # it did wait for the closure's transaction


@pytest.mark.parametrize("idempotency_key", [None, "k-1"])
def test_a_booking_racing_a_deactivation_never_outlives_it(booking, databases, idempotency_key):
    """A deactivation is being committed (its transaction holds the member's
    lock, as deactivate_member does) while the member books: the booking
    waits, then sees the deactivation. With an idempotency key, the lock is
    taken by the claim's statement: what follows still sees what committed
    before it was granted."""
    relay, (desk,) = relay_with(booking)
    with databases["booking"].connect() as deactivating:
        deactivating.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                             {"key": f"booking-member:{USER}"})
        deactivating.execute(text("INSERT INTO members (user_id, organisation_id, deactivated_at) "
                                  "VALUES (:id, :org, now())"), {"id": USER, "org": ORG})
        attempt = eventlet.spawn(refusal_or_booking, booking, {
            "space_id": desk["id"], "date": next_open_day(3), "slot": "morning"},
            idempotency_key)
        blocked = wait_for(lambda: locks_waiting(databases), timeout=5)
        deactivating.commit()
        outcome = attempt.wait()
    assert outcome[0] == "Forbidden" and "member-deactivated" in outcome[1], outcome
    assert rows(databases["booking"], "SELECT 1 FROM bookings") == []
    assert blocked  # it did wait for the deactivation's transaction


def refusal_or_booking(booking, payload, idempotency_key=None):
    try:
        return ("booked", booking.book(caller=member(1), payload=payload,
                                       idempotency_key=idempotency_key))
    except RemoteError as error:
        return (error.exc_type, str(error))


def book_in(uow, caller, payload, idempotency_key=None):
    """``book`` as the RPC runs it (``BookingService.book_once``): under the
    key's claim, which takes the member's lock in its statement."""
    caller = load_caller(caller)
    return uow.idempotent(
        f"book:{caller.user_id}", idempotency_key, payload,
        lambda: booking_schema.dump(bookings.book(
            uow, caller, load(BookingCreateSchema(), payload), datetime.now(timezone.utc))),
        lock=bookings.member_lock(caller.user_id))


def test_the_same_key_sent_twice_at_once_books_once_and_answers_the_same(booking, rpc,
                                                                        databases):
    """The claim takes the member's lock in its statement, after its insert:
    a retry sent while the first is still running waits on the first's
    claim (not on the lock, which it never takes), then gets its answer."""
    relay, (desk,) = relay_with(booking)
    payload = {"space_id": desk["id"], "date": next_open_day(5), "slot": "morning"}
    answers = []
    assert second_waits_for_first(
        databases["booking"], "booking", Base.metadata,
        lambda uow: answers.append(book_in(uow, member(1), payload, "k-1")),
        lambda uow: answers.append(book_in(uow, member(1), payload, "k-1"))) is None
    first, again = answers
    assert again == first and first["status"] == "confirmed"
    assert len(rows(databases["booking"], "SELECT id FROM bookings")) == 1
    assert len(rows(databases["booking"], "SELECT id FROM outbox "
                    "WHERE event_type = 'booking.confirmed'")) == 1
    # and over RPC, many copies of one request at once: one booking, one answer
    again = {"space_id": desk["id"], "date": next_open_day(5), "slot": "afternoon"}
    answers = list(eventlet.GreenPool(6).imap(
        lambda _: rpc("booking").book(caller=member(1), payload=again, idempotency_key="k-2"),
        range(6)))
    assert all(answer == answers[0] for answer in answers)
    assert len(rows(databases["booking"], "SELECT id FROM bookings")) == 2


@pytest.mark.parametrize("idempotency_key", [None, "k-1"])
def test_a_double_booking_found_at_commit_is_refused_as_before(booking, databases,
                                                              idempotency_key):
    """The booking's INSERT goes with the outbox row at commit: a desk, or
    the member, booked meanwhile is still refused by the exclusion
    constraints, with the same Conflict, and nothing of it is kept."""
    relay, desks = relay_with(booking, desks=2)
    day = next_open_day(5)
    first = {"space_id": desks[0]["id"], "date": day, "slot": "morning"}
    racing = {"same desk, another member": (member(2), first, "space-taken"),
              "same member, another desk": (member(1), dict(first, space_id=desks[1]["id"]),
                                            "member-already-booked")}
    for number, (caller, payload, code) in enumerate(racing.values()):
        day_of_round = next_open_day(5 + 7 * number)
        assert second_waits_for_first(
            databases["booking"], "booking", Base.metadata,
            lambda uow: book_in(uow, member(1), dict(first, date=day_of_round)),
            lambda uow: book_in(uow, caller, dict(payload, date=day_of_round),
                                idempotency_key)) == code
    assert len(rows(databases["booking"], "SELECT id FROM bookings")) == 2
    assert len(rows(databases["booking"], "SELECT id FROM outbox "
                    "WHERE event_type = 'booking.confirmed'")) == 2
    assert rows(databases["booking"], "SELECT key FROM idempotency_keys "
                "WHERE response IS NOT NULL") == []


def test_a_deactivation_revokes_the_calendar_feed(booking, publish_event, databases):
    feed = booking.create_calendar_feed(caller=member(1))
    token = feed["url"].rsplit("/", 1)[1][:-len(".ics")]
    assert booking.calendar_feed(token=token).startswith("BEGIN:VCALENDAR")
    deactivated(publish_event, databases, datetime.now(timezone.utc))
    assert refusal(booking.calendar_feed, token=token)[0] == "NotFound"
    assert rows(databases["booking"], "SELECT 1 FROM calendar_feeds") == []


def test_after_five_wrong_check_in_codes_only_the_manager_checks_the_member_in(
        booking, databases, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, MAX_WRONG_CODES_A_DAY + 1)]
    assert "wrong-check-in-code" in refusal(booking.check_in, caller=member(1),
                                            booking_id=made["id"])[1]  # no code: not counted
    for guess in wrong:
        kind, detail = refusal(booking.check_in, caller=member(1), booking_id=made["id"],
                               payload={"code": guess})
        assert kind == "InvalidInput" and "wrong-check-in-code" in detail
    assert rows(databases["booking"], "SELECT failures FROM check_in_failures")[0][
        "failures"] == MAX_WRONG_CODES_A_DAY
    # Even the right code is refused now.
    kind, detail = refusal(booking.check_in, caller=member(1), booking_id=made["id"],
                           payload={"code": code})
    assert kind == "TooManyAttempts" and "check-in-attempts-exhausted" in detail
    checked = booking.check_in(caller=manager_of(relay["id"]), booking_id=made["id"])
    assert (checked["status"], checked["checked_in_by"]) == ("checked_in", "relay_manager")
