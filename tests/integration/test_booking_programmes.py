"""Residents booking under programmes, with booking running on real
PostgreSQL and RabbitMQ: each refusal names its rule, the monthly hours hold
under racing bookings, and the booking is the programme's (its events say
which, for billing). The programmes reach booking as identity publishes them
(``identity.member_programmes_changed``)."""
import functools
import json
from datetime import date, timedelta

from devtools import dates
from tests.integration.booking_helpers import next_open_day, race, refusal, relay_with
from tests.integration.conftest import rows, wait_for

PROGRAMME = "00000000-0000-4000-8000-00000000f001"
RESIDENT_ACCOUNT = "00000000-0000-4000-8000-00000000e001"
RESIDENT = {"user_id": "00000000-0000-4000-8000-00000000e101",
            "organisation_id": RESIDENT_ACCOUNT, "roles": ["member"]}


def grant(**rules):
    return dict({"programme_id": PROGRAMME, "name": "Diabète Creuse", "space_kinds": None,
                 "relay_ids": None, "communes": None, "departments": None,
                 "max_hours_per_month": None, "max_days_per_month": None,
                 "valid_from": None, "valid_until": None, "per_person_reports": False},
                **rules)


def enrol(publish_event, databases, *programmes, commune="Aubusson", postcode="23200"):
    publish_event("identity", "identity.member_programmes_changed", {
        "user_id": RESIDENT["user_id"], "organisation_id": RESIDENT_ACCOUNT,
        "home_commune": commune, "home_postcode": postcode, "programmes": list(programmes)})
    assert wait_for(lambda: rows(
        databases["booking"], "SELECT 1 FROM members WHERE user_id = :id AND "
        "programmes = CAST(:programmes AS jsonb) AND resident_postcode IS NOT DISTINCT FROM :p",
        id=RESIDENT["user_id"], programmes=json.dumps(list(programmes)), p=postcode))


def test_a_resident_outside_the_programmes_communes_is_refused_by_name(booking, publish_event,
                                                                      databases):
    relay, (desk,) = relay_with(booking)
    day = next_open_day()
    enrol(publish_event, databases, grant(communes=["Guéret"], departments=["87"]),
          commune="Aubusson", postcode="23200")
    kind, detail = refusal(booking.book, caller=RESIDENT, payload={
        "space_id": desk["id"], "date": day, "slot": "morning"})
    assert kind == "Forbidden" and "programme-commune" in detail and "Aubusson" in detail
    # A département's postcode qualifies as well as a commune's name, in any case.
    enrol(publish_event, databases, grant(communes=["aubusson"]), postcode="23200")
    made = booking.book(caller=RESIDENT, payload={"space_id": desk["id"], "date": day,
                                                  "slot": "morning"})
    assert made["status"] == "confirmed"
    assert rows(databases["booking"], "SELECT programme_id::text AS p FROM bookings")[0]["p"] \
        == PROGRAMME


def test_each_part_of_the_grant_is_a_named_rule(booking, publish_event, databases):
    relay, (desk, room) = relay_with(booking, rooms=1)
    other, (elsewhere,) = relay_with(booking, name="Relais de Guéret")
    day = date.fromisoformat(next_open_day())
    cases = [
        (grant(valid_until=(day - timedelta(days=1)).isoformat()), desk, "programme-period"),
        (grant(relay_ids=[other["id"]]), desk, "programme-relay"),
        # The kinds are the programme's strings: a kind booking does not know is fine.
        (grant(space_kinds=["study_room", "meeting_room"]), desk, "programme-space-kind"),
    ]
    for rules, space, rule in cases:
        enrol(publish_event, databases, rules)
        kind, detail = refusal(booking.book, caller=RESIDENT, payload={
            "space_id": space["id"], "date": day.isoformat(), "slot": "morning"})
        assert (kind, rule in detail) == ("Forbidden", True), detail
    # Two programmes: the first that allows it whole is the one that pays.
    second = grant(programme_id="00000000-0000-4000-8000-00000000f002", name="Région",
                   relay_ids=[relay["id"]])
    enrol(publish_event, databases, grant(relay_ids=[other["id"]]), second)
    booking.book(caller=RESIDENT, payload={"space_id": desk["id"], "date": day.isoformat(),
                                           "slot": "morning"})
    assert rows(databases["booking"], "SELECT programme_id::text AS p FROM bookings")[0]["p"] \
        == second["programme_id"]


def test_programme_hours_per_month_hold_under_racing_bookings(booking, rpc, publish_event,
                                                              databases):
    """8 hours a month: two 4-hour mornings fit; of four racing on four days of
    one month, exactly two pass and two are refused by name."""
    relay, (desk,) = relay_with(booking)
    enrol(publish_event, databases, grant(max_hours_per_month=8))
    days = dates.open_days_in_one_month(4, first_after_days=1, last_before_days=85)
    outcomes = race([functools.partial(rpc("booking").book, caller=RESIDENT, payload={
        "space_id": desk["id"], "date": day.isoformat(), "slot": "morning"}) for day in days],
        "programme-monthly-hours")
    assert outcomes == ["booked"] * 2 + ["programme-monthly-hours"] * 2
    assert rows(databases["booking"], "SELECT sum(extract(epoch FROM ends_at - starts_at)) / 3600 "
                "AS hours FROM bookings WHERE programme_id = :p", p=PROGRAMME)[0]["hours"] == 8


def test_the_confirmation_names_the_programme_and_a_member_without_one_books_as_before(
        booking, publish_event, databases, listen):
    relay, (desk, other_desk) = relay_with(booking, desks=2)
    confirmed = listen("booking", "booking.confirmed")
    enrol(publish_event, databases, grant())
    day = next_open_day()
    booking.book(caller=RESIDENT, payload={"space_id": desk["id"], "date": day,
                                           "slot": "morning"})
    (event,) = confirmed(1)
    assert (event["version"], event["data"]["programme_id"]) == (3, PROGRAMME)
    # Enrolments ended: no programme, the resident books as any individual member.
    enrol(publish_event, databases)
    booking.book(caller=RESIDENT, payload={"space_id": other_desk["id"], "date": day,
                                           "slot": "afternoon"})
    (event,) = confirmed(1)
    assert event["data"]["programme_id"] is None


def test_a_programmes_admin_reads_its_use_per_relay_and_per_person_only_if_allowed(
        booking, publish_event, databases):
    relay, (desk,) = relay_with(booking)
    day = next_open_day()
    enrol(publish_event, databases, grant())
    booking.book(caller=RESIDENT, payload={"space_id": desk["id"], "date": day,
                                           "slot": "morning"})
    admin = {"user_id": "00000000-0000-4000-8000-00000000f0a1", "organisation_id": PROGRAMME,
             "roles": ["programme_admin"]}
    month = {"month": day[:7]}
    usage = booking.programme_usage(caller=admin, query=month)
    assert usage["relays"] == [{"relay_id": relay["id"], "relay_name": relay["name"],
                                "people": 1, "bookings": 1, "hours": 4.0, "no_shows": 0}]
    assert usage["people"] is None  # the programme's rules keep people out of it
    enrol(publish_event, databases, grant(per_person_reports=True))
    assert wait_for(lambda: booking.programme_usage(caller=admin, query=month)["people"])
    (person,) = booking.programme_usage(caller=admin, query=month)["people"]
    assert (person["member_id"], person["hours"]) == (RESIDENT["user_id"], 4.0)
    # Another programme's admin reads only theirs: nothing here.
    other = dict(admin, organisation_id="00000000-0000-4000-8000-00000000f0ff")
    assert booking.programme_usage(caller=other, query=month)["relays"] == []
    kind, _ = refusal(booking.programme_usage, caller=RESIDENT, query=month)
    assert kind == "Forbidden"
