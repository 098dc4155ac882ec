"""Booking rules over real RPC, RabbitMQ and PostgreSQL: any desk, rooms by
the hour, cancellations (late or not), check-in, policies and deactivation
from identity's events, series, timers with two replicas, calendar feeds,
managers' and corporate admins' views."""
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook
from sqlalchemy import text

from services.booking.service import BookingService
from services.notify import templates
from devtools import dates
from tests.clock import PARIS, travel_to
from tests.integration.booking_helpers import (
    ALWAYS_OPEN, booked_for_now, corporate_admin, manager_of, next_open_day, refusal, relay_with,
)
from tests.integration.conftest import member, rows, wait_for

ORG = "00000000-0000-4000-8000-0000000000bb"


def events_of(databases, event_type):
    return [row["envelope"]["data"] for row in rows(
        databases["booking"], "SELECT envelope FROM outbox WHERE event_type = :t ORDER BY id",
        t=event_type)]


def test_any_desk_at_a_relay_is_assigned_until_none_is_left(booking):
    relay, desks = relay_with(booking, desks=2)
    day = next_open_day()
    made = [booking.book(caller=member(n), payload={"relay_id": relay["id"], "date": day,
                                                    "slot": "morning"}) for n in (1, 2)]
    assert sorted(b["space_id"] for b in made) == sorted(d["id"] for d in desks)
    assert made[0]["space_name"] == "Bureau 01" and made[0]["space_kind"] == "desk"
    kind, detail = refusal(booking.book, caller=member(3), payload={
        "relay_id": relay["id"], "date": day, "slot": "morning"})
    assert kind == "Conflict" and "no-space-free" in detail
    # The afternoon is still free.
    assert booking.book(caller=member(3), payload={"relay_id": relay["id"], "date": day,
                                                   "slot": "afternoon"})["status"] == "confirmed"


def test_many_clients_racing_for_any_desk_get_exactly_one_booking_per_desk(
        start_service, rpc, databases):
    start_service(BookingService, max_workers=20)
    relay, desks = relay_with(rpc("booking"), desks=5)
    day, clients = next_open_day(), 40

    def attempt(number):
        try:
            rpc("booking").book(caller=member(number), payload={
                "relay_id": relay["id"], "date": day, "slot": "day"})
            return "booked"
        except RemoteError as error:
            return error.exc_type + (":no-space-free" if "no-space-free" in str(error) else ":?")

    outcomes = list(eventlet.GreenPool(clients).imap(attempt, range(1, clients + 1)))
    assert outcomes.count("booked") == 5
    assert outcomes.count("Conflict:no-space-free") == clients - 5
    per_desk = rows(databases["booking"], "SELECT space_id, count(*) AS n FROM bookings "
                    "WHERE status = 'confirmed' GROUP BY space_id")
    assert sorted(row["n"] for row in per_desk) == [1] * 5


def test_rooms_are_booked_by_the_hour_and_desks_by_the_slot(booking):
    relay, (desk, room) = relay_with(booking, desks=1, rooms=1)
    day = next_open_day()
    made = booking.book(caller=member(1), payload={"space_id": room["id"], "date": day,
                                                   "start": "14:00", "end": "16:00"})
    assert (made["slot"], made["local_starts_at"][11:16], made["local_ends_at"][11:16]) == (
        "hours", "14:00", "16:00")
    assert made["release_at"] is None  # rooms are never released as no-shows
    after = booking.book(caller=member(2), payload={"space_id": room["id"], "date": day,
                                                    "start": "16:00", "end": "17:00"})
    assert after["status"] == "confirmed"
    assert "space-taken" in refusal(booking.book, caller=member(3), payload={
        "space_id": room["id"], "date": day, "start": "15:00", "end": "16:30"})[1]
    assert "room-by-hours" in refusal(booking.book, caller=member(3), payload={
        "space_id": room["id"], "date": day, "slot": "morning"})[1]
    assert "desk-by-slot" in refusal(booking.book, caller=member(3), payload={
        "space_id": desk["id"], "date": day, "start": "09:00", "end": "10:00"})[1]
    assert "outside-opening-hours" in refusal(booking.book, caller=member(3), payload={
        "space_id": room["id"], "date": day, "start": "12:00", "end": "14:00"})[1]


def test_an_overseas_relay_books_in_its_own_time(booking):
    relay, (desk,) = relay_with(booking, postcode="97300", commune="Cayenne", latitude=4.93,
                                longitude=-52.33, timezone="America/Cayenne")
    day = next_open_day(department="973")
    made = booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day,
                                                   "slot": "morning"})
    assert made["local_starts_at"] == f"{day}T08:30:00-03:00"
    assert made["starts_at"] == f"{day}T11:30:00+00:00"
    # Guyane's abolition day (10 June) on a weekday, seen from a month before it.
    abolition = dates.next_holiday_on_weekday("973", "abolition")
    with travel_to(abolition - timedelta(days=30)):
        kind, detail = refusal(booking.book, caller=member(1), payload={
            "space_id": desk["id"], "date": abolition.isoformat(), "slot": "morning"})
    assert kind == "InvalidInput" and "public-holiday" in detail


def test_cancellations_late_or_not_and_who_may_cancel(booking, databases):
    relay, (desk, other) = relay_with(booking, desks=2, opening_hours=ALWAYS_OPEN,
                                      closed_on_public_holidays=False)
    tomorrow = (dates.today() + timedelta(days=1)).isoformat()
    soon = booking.book(caller=member(1), payload={"space_id": desk["id"], "date": tomorrow,
                                                   "slot": "morning"})
    later = booking.book(caller=member(1), payload={
        "space_id": desk["id"], "date": (dates.today() + timedelta(days=5)).isoformat(),
        "slot": "morning"})

    late = booking.cancel_booking(caller=member(1), booking_id=soon["id"])
    assert (late["status"], late["late_cancellation"], late["cancelled_by"]) == (
        "cancelled", True, "member")
    again = booking.cancel_booking(caller=member(1), booking_id=soon["id"])
    assert again == late  # cancelling twice changes nothing
    # The desk is free again.
    assert booking.book(caller=member(2), payload={"space_id": desk["id"], "date": tomorrow,
                                                   "slot": "morning"})["status"] == "confirmed"

    assert refusal(booking.cancel_booking, caller=member(9), booking_id=later["id"])[0] == \
        "NotFound"
    assert "reason-required" in refusal(booking.cancel_booking, caller=manager_of(relay["id"]),
                                        booking_id=later["id"])[1]
    by_relay = booking.cancel_booking(caller=manager_of(relay["id"]), booking_id=later["id"],
                                      payload={"reason": "dégât des eaux"})
    assert (by_relay["late_cancellation"], by_relay["cancelled_by"],
            by_relay["cancellation_reason"]) == (False, "relay_manager", "dégât des eaux")

    cancelled = events_of(databases, "booking.cancelled")
    assert [(e["booking_id"], e["late"], e["cancelled_by"]) for e in cancelled] == [
        (soon["id"], True, "member"), (later["id"], False, "relay_manager")]
    assert cancelled[0]["space_kind"] == "desk" and cancelled[0]["organisation_id"] == ORG
    assert cancelled[0]["local_starts_at"].startswith(f"{tomorrow}T00:00:00")


def test_check_in_needs_the_relays_code_from_members(booking, databases, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    wrong = "000000" if code != "000000" else "111111"
    assert "wrong-check-in-code" in refusal(booking.check_in, caller=member(1),
                                            booking_id=made["id"], payload={"code": wrong})[1]
    assert "wrong-check-in-code" in refusal(booking.check_in, caller=member(1),
                                            booking_id=made["id"])[1]
    checked = booking.check_in(caller=member(1), booking_id=made["id"], payload={"code": code})
    assert (checked["status"], checked["checked_in_by"]) == ("checked_in", "member")
    assert "not-cancellable" in refusal(booking.cancel_booking, caller=member(1),
                                        booking_id=made["id"])[1]
    (event,) = events_of(databases, "booking.checked_in")
    assert event["booking_id"] == made["id"] and event["checked_in_by"] == "member"


def test_a_relay_manager_checks_in_without_the_code_but_not_too_early(booking):
    relay, (desk,) = relay_with(booking)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                   "date": next_open_day(3), "slot": "morning"})
    assert "check-in-too-early" in refusal(booking.check_in, caller=manager_of(relay["id"]),
                                           booking_id=made["id"])[1]
    assert refusal(booking.check_in, caller=corporate_admin(), booking_id=made["id"])[0] == \
        "Forbidden"


def test_policy_from_identity_is_enforced_and_names_the_rule(booking, publish_event, databases):
    near, (near_desk,) = relay_with(booking, name="Guéret", latitude=46.1714, longitude=1.8717)
    far, (far_desk,) = relay_with(booking, name="Limoges", latitude=45.8336, longitude=1.2611)
    publish_event("identity", "identity.profile_changed", {
        "user_id": member(1)["user_id"], "organisation_id": ORG, "home_commune": "Guéret",
        "home_latitude": 46.17, "home_longitude": 1.87, "usual_office": "Limoges",
        "commute_km": 90, "commute_mode": "car", "policy_home_commune": "Guéret",
        "policy_home_latitude": 46.17, "policy_home_longitude": 1.87})
    publish_event("identity", "identity.policy_changed", {
        "organisation_id": ORG, "allowed_relays": "radius", "relay_ids": [], "radius_km": 30,
        "max_days_per_month": 2, "booking_horizon_days": 60, "space_kinds": ["desk"],
        "monthly_budget_cents": None})  # a budget needs billing: test_booking_budget.py
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM organisation_policies")
                    and rows(databases["booking"], "SELECT 1 FROM members"))

    kind, detail = refusal(booking.book, caller=member(1), payload={
        "space_id": far_desk["id"], "date": next_open_day(), "slot": "morning"})
    assert kind == "Forbidden" and "policy-relay-too-far" in detail and "30 km" in detail
    # Three open days of one month, all within the policy's 60-day horizon.
    days = dates.open_days_in_one_month(3, first_after_days=1, last_before_days=60)
    for day in days[:2]:
        booking.book(caller=member(1), payload={"space_id": near_desk["id"],
                                                "date": day.isoformat(), "slot": "morning"})
    # The afternoon of a day already booked does not count as another day.
    booking.book(caller=member(1), payload={"space_id": near_desk["id"],
                                            "date": days[0].isoformat(), "slot": "afternoon"})
    assert "policy-days-per-month" in refusal(booking.book, caller=member(1), payload={
        "space_id": near_desk["id"], "date": days[2].isoformat(), "slot": "morning"})[1]
    kind, detail = refusal(booking.book, caller=member(1), payload={
        "space_id": near_desk["id"], "date": dates.open_day_beyond(60).isoformat(),
        "slot": "morning"})
    assert "beyond-horizon" in detail and "60 days" in detail
    # An older policy arriving late changes nothing.
    publish_event("identity", "identity.policy_changed", {
        "organisation_id": ORG, "allowed_relays": "all"},
        envelope={"event_id": "11111111-1111-4111-8111-111111111111",
                  "type": "identity.policy_changed", "occurred_at": "2020-01-01T00:00:00+00:00",
                  "version": 1, "source": "identity",
                  "data": {"organisation_id": ORG, "allowed_relays": "all"}})
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM inbox WHERE event_id = "
                                 "'11111111-1111-4111-8111-111111111111'"))
    assert rows(databases["booking"], "SELECT allowed_relays FROM organisation_policies")[0][
        "allowed_relays"] == "radius"


def test_a_deactivated_member_loses_their_bookings_to_come(booking, publish_event, databases):
    relay, (desk,) = relay_with(booking)
    made = [booking.book(caller=member(1), payload={
        "space_id": desk["id"], "date": next_open_day(n), "slot": "morning"}) for n in (3, 10)]
    publish_event("identity", "identity.user_deactivated", {
        "user_id": member(1)["user_id"], "organisation_id": ORG,
        "deactivated_at": datetime.now(timezone.utc).isoformat()})
    cancelled = wait_for(lambda: len(events_of(databases, "booking.cancelled")) == 2 and
                         events_of(databases, "booking.cancelled"))
    assert sorted(e["booking_id"] for e in cancelled) == sorted(b["id"] for b in made)
    assert {(e["late"], e["cancelled_by"], e["reason"]) for e in cancelled} == {
        (False, "system", "member deactivated")}
    assert "member-deactivated" in refusal(booking.book, caller=member(1), payload={
        "space_id": desk["id"], "date": next_open_day(4), "slot": "morning"})[1]


def test_a_series_books_what_it_can_and_reports_the_rest(booking, databases):
    relay, (desk,) = relay_with(booking)
    first = date.fromisoformat(next_open_day(7))
    taken = first + timedelta(weeks=1)
    booking.book(caller=member(2), payload={"space_id": desk["id"], "date": taken.isoformat(),
                                            "slot": "morning"})
    series = booking.book_series(caller=member(1), payload={
        "space_id": desk["id"], "date": first.isoformat(), "slot": "morning", "occurrences": 4})
    outcomes = [(o["date"], o["outcome"], o["rule"]) for o in series["occurrences"]]
    assert outcomes[1] == (taken.isoformat(), "refused", "space-taken")
    assert outcomes[0] == (first.isoformat(), "booked", None)
    assert series["booked"] == sum(1 for o in outcomes if o[1] == "booked")
    assert all(b["series_id"] == series["id"] for b in series["bookings"])

    rest = booking.cancel_series(caller=member(1), series_id=series["id"], payload={
        "start": (first + timedelta(days=1)).isoformat()})
    assert [b["date"] for b in rest["cancelled"]] == [
        o[0] for o in outcomes[2:] if o[1] == "booked"]
    again = booking.get_series(caller=member(1), series_id=series["id"])
    assert [b["status"] for b in again["bookings"]][0] == "confirmed"
    assert refusal(booking.get_series, caller=member(2), series_id=series["id"])[0] == "NotFound"


def test_a_closure_cancels_the_bookings_it_covers(booking, databases):
    relay, (desk,) = relay_with(booking)
    day = next_open_day(5)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day,
                                                   "slot": "day"})
    closure = booking.add_closure(caller=manager_of(relay["id"]), relay_id=relay["id"], payload={
        "starts_on": day, "ends_on": day, "reason": "panne de chauffage"})
    assert closure["cancelled_bookings"] == 1
    assert booking.get_booking(caller=member(1), booking_id=made["id"])["cancellation_reason"] \
        == "relay closed: panne de chauffage"
    assert "relay-closure" in refusal(booking.book, caller=member(1), payload={
        "space_id": desk["id"], "date": day, "slot": "morning"})[1]


def test_timers_release_no_shows_and_complete_bookings_once_with_two_replicas(
        start_service, rpc, databases):
    replicas = [start_service(BookingService), start_service(BookingService)]
    booking = rpc("booking")
    relay, desks = relay_with(booking, desks=6, rooms=1)
    day = next_open_day(3)
    made = [booking.book(caller=member(n), payload={"space_id": desks[n]["id"], "date": day,
                                                    "slot": "morning"}) for n in range(6)]
    room = booking.book(caller=member(7), payload={"space_id": desks[6]["id"], "date": day,
                                                   "start": "09:00", "end": "10:00"})
    # Move them into the past: three desks checked in, three never came.
    with databases["booking"].begin() as conn:
        # The test's clock, not PostgreSQL's now(): the clock may be injected.
        conn.execute(text("UPDATE bookings SET starts_at = :now - interval '5 hours', "
                          "ends_at = :now - interval '1 hour', no_show_at = CASE WHEN "
                          "no_show_at IS NULL THEN NULL ELSE :now - interval '270 minutes' END"),
                     {"now": datetime.now(timezone.utc)})
        conn.execute(text("UPDATE bookings SET status = 'checked_in' WHERE id IN :ids")
                     .bindparams(ids=tuple(b["id"] for b in made[:3])))

    def run(container):
        with entrypoint_hook(container, "run_timers") as tick:
            tick()
    # Both replicas' timers fire at once (one hook per container: a hook waits
    # for the first worker of its method to finish, whichever that is).
    list(eventlet.GreenPool(2).imap(run, replicas))
    list(eventlet.GreenPool(2).imap(run, replicas))  # and again: nothing changes twice

    statuses = {r["id"]: r["status"] for r in rows(databases["booking"],
                                                    "SELECT id::text, status FROM bookings")}
    assert [statuses[b["id"]] for b in made] == ["completed"] * 3 + ["no_show"] * 3
    assert statuses[room["id"]] == "completed"
    no_shows = events_of(databases, "booking.no_show")
    completed = events_of(databases, "booking.completed")
    assert sorted(e["booking_id"] for e in no_shows) == sorted(b["id"] for b in made[3:])
    assert sorted(e["booking_id"] for e in completed) == sorted(
        [b["id"] for b in made[:3]] + [room["id"]])
    assert {e["checked_in"] for e in completed if e["space_kind"] == "desk"} == {True}


def test_the_calendar_feed_follows_bookings_and_can_be_revoked(booking):
    relay, (desk,) = relay_with(booking)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                   "date": next_open_day(), "slot": "morning"})
    feed = booking.create_calendar_feed(caller=member(1))
    token = feed["url"].rsplit("/", 1)[1][:-len(".ics")]
    ics = booking.calendar_feed(token=token)
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and f"UID:{made['id']}@" in ics
    assert "STATUS:CONFIRMED" in ics
    booking.cancel_booking(caller=member(1), booking_id=made["id"])
    assert "STATUS:CANCELLED" in booking.calendar_feed(token=token)
    assert refusal(booking.calendar_feed, token="guess")[0] == "NotFound"
    booking.create_calendar_feed(caller=member(1))  # a new URL replaces the old one
    assert refusal(booking.calendar_feed, token=token)[0] == "NotFound"
    booking.revoke_calendar_feed(caller=member(1))
    assert refusal(booking.revoke_calendar_feed, caller=member(1))[0] == "NotFound"


def test_a_managers_day_and_week_and_a_corporate_admins_month(booking, publish_event, databases):
    relay, desks = relay_with(booking, desks=2)
    publish_event("identity", "identity.user_provisioned", {
        "user_id": member(1)["user_id"], "organisation_id": ORG, "email": "lou@example.org",
        "full_name": "Lou Nomade", "roles": ["member"], "extra": "ignored"})
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM members"))
    day = next_open_day(3)
    booking.book(caller=member(1), payload={"space_id": desks[0]["id"], "date": day,
                                            "slot": "day"})
    booking.book(caller=member(2, organisation_id="00000000-0000-4000-8000-0000000000dd"),
                 payload={"space_id": desks[1]["id"], "date": day, "slot": "morning"})

    view = booking.relay_day(caller=manager_of(relay["id"]), relay_id=relay["id"],
                             query={"date": day})
    assert [(a["member_name"], a["slot"]) for a in view["arrivals"]] == [
        ("Lou Nomade", "day"), (None, "morning")]
    assert (view["occupancy"]["desk_half_days_booked"], view["occupancy"]["desk_half_days_open"],
            view["occupancy"]["desk_occupancy"]) == (3, 4, 0.75)
    week = booking.relay_week(caller=manager_of(relay["id"]), relay_id=relay["id"],
                              query={"start": day})
    assert len(week["days"]) == 7 and week["days"][0]["desk_occupancy"] == 0.75
    assert refusal(booking.relay_day, caller=manager_of("5f0c2a51-3d2a-4b8e-9c86-000000000000"),
                   relay_id=relay["id"])[0] == "NotFound"

    month = booking.organisation_usage(caller=corporate_admin(ORG), query={"month": day[:7]})
    assert [(m["member_name"], m["days_booked"], m["half_days"]) for m in month["members"]] == [
        ("Lou Nomade", 1, 2)]
    assert refusal(booking.organisation_usage, caller=member(1))[0] == "Forbidden"


def test_the_database_itself_refuses_overlapping_active_bookings(booking, databases):
    relay, (desk,) = relay_with(booking)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                   "date": next_open_day(), "slot": "morning"})
    insert = text("INSERT INTO bookings (id, space_id, relay_id, member_id, date, slot, "
                  "starts_at, ends_at, status) SELECT gen_random_uuid(), space_id, relay_id, "
                  ":member, date, slot, starts_at + interval '1 hour', ends_at, :status "
                  "FROM bookings WHERE id = :id")
    with databases["booking"].begin() as conn:  # a cancelled or no-show one does not hold it
        conn.execute(insert, {"member": member(2)["user_id"], "status": "cancelled", "id": made["id"]})
        conn.execute(insert, {"member": member(3)["user_id"], "status": "no_show", "id": made["id"]})
    for status in ("confirmed", "checked_in", "completed"):
        with pytest.raises(Exception) as refused, databases["booking"].begin() as conn:
            conn.execute(insert, {"member": member(4)["user_id"], "status": status,
                                  "id": made["id"]})
        assert "no_double_booking_of_space" in str(refused.value)


def test_a_walk_in_after_the_start_has_the_whole_release_delay_from_booking(
        start_service, rpc, databases):
    """A member who books this morning's desk at 10:00 (the morning opened at
    08:30) is released about 10:30 if nobody checks in, not at once: the booking's
    release time, the timer, and the mails (which read the events) agree."""
    container = start_service(BookingService)
    booking = rpc("booking")
    relay, (desk,) = relay_with(booking)  # 08:30–12:30 mornings, 30 min release
    day = dates.open_day(7)

    def at(hour, minute):
        return datetime.combine(day, time(hour, minute), PARIS)

    def run_timers_at(moment):
        with travel_to(moment), entrypoint_hook(container, "run_timers") as tick:
            tick()
        return booking.get_booking(caller=member(1), booking_id=made["id"])["status"]

    with travel_to(at(10, 0)):
        made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                       "date": day.isoformat(), "slot": "morning"})
    # The clock ticks on from 10:00: the release is 10:31, to the minute above.
    assert datetime.fromisoformat(made["release_at"]) == at(10, 31)
    assert run_timers_at(at(10, 1)) == "confirmed"
    assert run_timers_at(at(10, 30)) == "confirmed"
    assert run_timers_at(at(10, 32)) == "no_show"

    (confirmed,) = [e for e in events_of(databases, "booking.confirmed")
                    if e["booking_id"] == made["id"]]
    (no_show,) = events_of(databases, "booking.no_show")
    assert confirmed["local_release_at"] == no_show["local_release_at"] == \
        at(10, 31).isoformat()
    lou = SimpleNamespace(full_name="Lou Nomade", email="lou@example.org", locale="fr")
    assert "avant 10:31" in templates.booking_confirmed(lou, confirmed).body
    assert "arrivée avant 10:31" in templates.booking_no_show(lou, no_show).body


def test_a_booking_made_ahead_is_released_its_delay_after_the_start(booking):
    relay, (desk,) = relay_with(booking)
    day = dates.open_day(7)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"],
                                                   "date": day.isoformat(), "slot": "morning"})
    assert datetime.fromisoformat(made["release_at"]) == \
        datetime.combine(day, time(9, 0), PARIS)


def test_group_policies_from_identity_replace_the_organisations(booking, publish_event,
                                                                 databases):
    """Issue 15: a member of groups mapped to policies books what any one of
    them allows; a refusal names the groups; a membership change pushed later
    takes effect for the next booking."""
    limousin, (limousin_desk,) = relay_with(booking, name="Limoges")
    paris, (paris_desk,) = relay_with(booking, name="Paris")
    publish_event("identity", "identity.policy_changed", {
        "organisation_id": ORG, "allowed_relays": "list", "relay_ids": [paris["id"]]})
    nomades = {"group_id": "00000000-0000-4000-8000-00000000a001", "name": "Nomades Limousin",
               "allowed_relays": "list", "relay_ids": [limousin["id"]]}
    publish_event("identity", "identity.member_policies_changed", {
        "user_id": member(1)["user_id"], "organisation_id": ORG, "policies": [nomades]})
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM members WHERE "
                                 "group_policies::text LIKE '%Nomades%'")
                    and rows(databases["booking"], "SELECT 1 FROM organisation_policies"))
    booking.book(caller=member(1), payload={"space_id": limousin_desk["id"],
                                            "date": next_open_day(), "slot": "morning"})
    kind, detail = refusal(booking.book, caller=member(1), payload={
        "space_id": paris_desk["id"], "date": next_open_day(), "slot": "morning"})
    assert kind == "Forbidden" and "policy-relay-not-allowed" in detail
    assert "Nomades Limousin" in detail
    # Another member, in no group, books under the organisation's policy.
    booking.book(caller=member(2), payload={"space_id": paris_desk["id"],
                                            "date": next_open_day(), "slot": "morning"})
    # The provider moves member 1 out of every mapped group.
    publish_event("identity", "identity.member_policies_changed", {
        "user_id": member(1)["user_id"], "organisation_id": ORG, "policies": []})
    assert wait_for(lambda: rows(databases["booking"], "SELECT 1 FROM members WHERE "
                                 "group_policies = '[]'::jsonb AND user_id = :u",
                                 u=member(1)["user_id"]))
    assert "policy-relay-not-allowed" in refusal(booking.book, caller=member(1), payload={
        "space_id": limousin_desk["id"], "date": next_open_day(8), "slot": "morning"})[1]
