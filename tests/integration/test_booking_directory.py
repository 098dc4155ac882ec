"""The relay directory and the availability search on real PostgreSQL."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import text

from services.booking import availability

from services.booking.public_holidays import public_holidays
from devtools import dates
from tests.integration.booking_helpers import RELAY, manager_of, next_open_day, relay_with
from tests.integration.conftest import ADMIN, member

GUERET = {"latitude": 46.1714, "longitude": 1.8717}


def test_a_relay_keeps_its_week_services_and_department(booking):
    relay = booking.create_relay(caller=ADMIN, payload=dict(
        RELAY, postcode="57000", commune="Metz", services=["coworking", "fablab"],
        accessibility=["wheelchair"], contact={"email": "metz@relais.example"},
        managers=["Aline Gérant"], opening_hours={
            "monday": {"morning": {"opens": "09:00", "closes": "12:00"}},
            "saturday": {"afternoon": {"opens": "14:00", "closes": "17:00"}}}))
    assert relay["department"] == "57"
    assert relay["opening_hours"] == {
        "monday": {"morning": {"opens": "09:00", "closes": "12:00"}, "afternoon": None},
        "saturday": {"morning": None, "afternoon": {"opens": "14:00", "closes": "17:00"}}}
    assert (relay["services"], relay["accessibility"], relay["managers"]) == (
        ["coworking", "fablab"], ["wheelchair"], ["Aline Gérant"])
    assert relay["contact"]["email"] == "metz@relais.example"
    assert "check_in_code" not in relay
    # Good Friday is a public holiday in Moselle: listed with the relay's closures.
    good_friday = [d for d, n in public_holidays(dates.today().year + 1, "57").items()
                   if n == "Vendredi saint"][0]
    listed = booking.list_closures(relay_id=relay["id"], query={
        "start": good_friday.isoformat(), "days": 1})
    assert listed == [{"id": None, "relay_id": relay["id"], "starts_on": good_friday.isoformat(),
                       "ends_on": good_friday.isoformat(), "reason": "Vendredi saint",
                       "kind": "public_holiday"}]


def test_bad_opening_hours_are_refused_field_by_field(booking):
    with pytest.raises(RemoteError) as refused:
        booking.create_relay(caller=ADMIN, payload=dict(RELAY, opening_hours={
            "funday": {"morning": {"opens": "09:00", "closes": "12:00"}},
            "monday": {"morning": {"opens": "12:00", "closes": "09:00"}}}))
    assert refused.value.exc_type == "InvalidInput"
    assert "opening_hours" in str(refused.value) and "closes after it opens" in str(refused.value)


def test_search_near_a_point_orders_by_distance_and_filters(booking):
    far = booking.create_relay(caller=ADMIN, payload=dict(
        RELAY, name="Limoges", postcode="87000", latitude=45.8336, longitude=1.2611,
        services=["coworking"]))
    near = booking.create_relay(caller=ADMIN, payload=dict(
        RELAY, name="Guéret", postcode="23000", services=["coworking", "cafe"], **GUERET))
    middle = booking.create_relay(caller=ADMIN, payload=dict(
        RELAY, name="Aubusson", postcode="23200", latitude=45.956, longitude=2.168,
        services=["fablab"]))
    booking.create_relay(caller=ADMIN, payload=dict(
        RELAY, name="Cayenne", postcode="97300", latitude=4.9372, longitude=-52.326,
        timezone="America/Cayenne"))

    found = booking.list_relays(query={**GUERET, "radius_km": 100})
    assert [r["name"] for r in found] == ["Guéret", "Aubusson", "Limoges"]
    assert [r["id"] for r in found] == [near["id"], middle["id"], far["id"]]
    assert found[0]["distance_km"] == 0
    assert 30 < found[1]["distance_km"] < 40 and 55 < found[2]["distance_km"] < 65
    assert [r["name"] for r in booking.list_relays(query={**GUERET, "radius_km": 40})] == [
        "Guéret", "Aubusson"]
    assert [r["name"] for r in booking.list_relays(query={"service": "coworking"})] == [
        "Guéret", "Limoges"]
    assert [r["name"] for r in booking.list_relays(query={"service": "coworking,cafe"})] == [
        "Guéret"]
    assert [r["name"] for r in booking.list_relays(query={"department": "973"})] == ["Cayenne"]
    with pytest.raises(RemoteError) as refused:
        booking.list_relays(query={"service": "spa"})
    assert "service" in str(refused.value) and "Choose among" in str(refused.value)
    with pytest.raises(RemoteError) as refused:
        booking.list_relays(query={"latitude": 46})
    assert "'longitude': ['Give both latitude and longitude.']" in str(refused.value)


def test_availability_lists_open_relays_with_free_spaces_nearest_first(booking):
    day = next_open_day(7)
    near, (near_desk,) = relay_with(booking, desks=1, name="Guéret", postcode="23000", **GUERET)
    middle, middle_desks = relay_with(booking, desks=2, name="Aubusson", latitude=45.956,
                                      longitude=2.168)
    closed, _ = relay_with(booking, desks=1, name="Bourganeuf", latitude=45.95, longitude=1.75)
    booking.add_closure(caller=manager_of(closed["id"]), relay_id=closed["id"], payload={
        "starts_on": day, "ends_on": day, "reason": "inventaire"})
    booking.book(caller=member(1), payload={"space_id": near_desk["id"], "date": day,
                                            "slot": "morning"})

    morning = booking.search_availability(query={**GUERET, "radius_km": 50, "date": day, "slot": "morning"})
    assert [(r["relay"]["name"], len(r["free_spaces"])) for r in morning] == [("Aubusson", 2)]
    assert morning[0]["local_starts_at"] == f"{day}T08:30:00+01:00" or \
        morning[0]["local_starts_at"] == f"{day}T08:30:00+02:00"
    afternoon = booking.search_availability(query={**GUERET, "radius_km": 50, "date": day, "slot": "afternoon"})
    assert [r["relay"]["name"] for r in afternoon] == ["Guéret", "Aubusson"]
    assert afternoon[0]["free_spaces"][0]["id"] == near_desk["id"]
    saturday = date.fromisoformat(day) + timedelta(days=(5 - date.fromisoformat(day).weekday()) % 7)
    assert booking.search_availability(query={**GUERET, "date": saturday.isoformat(),
                                              "slot": "morning"}) == []


def test_a_point_a_hair_from_zero_is_searched_as_zero(booking):
    """Found by the contract fuzzer: a longitude of -6e-180 made PostgreSQL's
    haversine underflow, a 500 instead of an answer."""
    day = next_open_day(7)
    near, _ = relay_with(booking, desks=1, name="Null Island", latitude=0.0, longitude=0.0)
    found = booking.search_availability(query={
        "latitude": -1e-300, "longitude": -6.431506311806958e-180, "radius_km": 5,
        "date": day, "slot": "morning"})
    assert [r["relay"]["id"] for r in found] == [near["id"]]


def test_availability_of_rooms_by_the_hour(booking):
    day = next_open_day(7)
    relay, (room,) = relay_with(booking, desks=0, rooms=1, **GUERET)
    booking.book(caller=member(1), payload={"space_id": room["id"], "date": day,
                                            "start": "14:00", "end": "16:00"})
    query = {**GUERET, "date": day, "kind": "meeting_room"}
    assert booking.search_availability(query=dict(query, start="15:00", end="17:00")) == []
    (free,) = booking.search_availability(query=dict(query, start="16:00", end="18:00"))
    assert free["free_spaces"][0]["amenities"] == ["screen", "visio"]
    assert booking.search_availability(query=dict(query, start="16:00", end="18:00",
                                                  min_capacity=9)) == []


def test_a_relays_page_shows_its_week(booking):
    day = next_open_day(2)
    relay, (desk, other) = relay_with(booking, desks=2)
    booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day,
                                            "slot": "morning"})
    page = booking.get_relay(relay_id=relay["id"])
    assert len(page["week"]) == 7
    (that_day,) = [d for d in page["week"] if d["date"] == day]
    assert that_day["open"] is True
    spaces = {s["name"]: s for s in that_day["spaces"]}
    assert spaces["Bureau 01"]["free_slots"] == ["afternoon"]
    assert spaces["Bureau 01"]["busy"] == [["08:30", "12:30"]]
    assert spaces["Bureau 02"]["free_slots"] == ["morning", "afternoon", "day"]
    weekend = [d for d in page["week"] if date.fromisoformat(d["date"]).weekday() == 6][0]
    assert (weekend["open"], weekend["closed_because"]) == (False, "The relay is closed on sundays.")


def test_managers_change_their_relay_and_only_theirs(booking):
    relay, _ = relay_with(booking)
    other, _ = relay_with(booking, name="Autre")
    updated = booking.update_relay(caller=manager_of(relay["id"]), relay_id=relay["id"], payload={
        "services": ["repair_cafe"], "no_show_after_minutes": None,
        "opening_hours": {"tuesday": {"morning": {"opens": "09:00", "closes": "12:00"}}}})
    assert updated["services"] == ["repair_cafe"] and updated["no_show_after_minutes"] is None
    assert list(updated["opening_hours"]) == ["tuesday"]
    assert updated["name"] == RELAY["name"]
    with pytest.raises(RemoteError) as refused:
        booking.update_relay(caller=manager_of(relay["id"]), relay_id=other["id"],
                             payload={"services": []})
    assert refused.value.exc_type == "NotFound"
    with pytest.raises(RemoteError) as refused:
        booking.update_relay(caller=manager_of(relay["id"]), relay_id=relay["id"],
                             payload={"latitude": 10})
    assert refused.value.exc_type == "Forbidden"


def test_a_space_s_bookings_are_probed_by_time_not_read_whole(booking, databases):
    """The search asks of each space whether an active booking overlaps the
    wanted times. Answered by no_double_booking_of_space's GiST index, that is
    a probe; a plain index on space_id made the planner read every booking the
    space ever had (19 ms against 1.5 ms a search at 1,000,000 bookings,
    bench.booking). So bookings keep no index on the space alone, and the
    search's query probes the exclusion index."""
    day = date.fromisoformat(next_open_day(7))
    relay, desks = relay_with(booking, desks=3, **GUERET)
    engine = databases["booking"]
    with engine.begin() as conn:
        # a long past: 400 half-days a desk, none on the searched day
        conn.execute(text("""
            INSERT INTO bookings (id, space_id, relay_id, member_id, date, slot, starts_at,
                                  ends_at, status)
            SELECT gen_random_uuid(), s.id, s.relay_id, gen_random_uuid(), d::date, 'morning',
                   d + time '08:30', d + time '12:30', 'completed'
            FROM spaces s, generate_series(CAST(:day AS date) - 400, CAST(:day AS date) - 1,
                                           interval '1 day') AS d"""), {"day": day})
        conn.execute(text("ANALYZE bookings"))
        by_space_alone = conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'bookings' "
            "AND indexdef ~ 'btree \\(space_id\\)$'")).scalars().all()
        # seq scans are off so that the plan tells which index the planner
        # would take, not whether a table this small is worth one
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        starts_at = datetime.combine(day, time(8, 30), ZoneInfo("Europe/Paris"))
        plan = "\n".join(conn.execute(
            text("EXPLAIN " + str(availability.FREE_SPACES)),
            {"relay_ids": [relay["id"]], "starts": [starts_at],
             "ends": [starts_at + timedelta(hours=4)], "kind": "desk", "min_capacity": 1,
             "features": [], "organisation_id": None, "now": starts_at - timedelta(days=1),
             "local_start": None, "local_end": None}).scalars())
    assert by_space_alone == []
    assert "no_double_booking_of_space" in plan
    found = booking.search_availability(query={**GUERET, "date": day.isoformat(),
                                               "slot": "morning"})
    assert sorted(s["id"] for s in found[0]["free_spaces"]) == sorted(d["id"] for d in desks)
    assert all(s["sessions"] == [] for s in found[0]["free_spaces"])


def test_availability_filters_by_service_and_finds_relays_across_the_antimeridian(booking):
    """The search's statement is built once, every value bound at the search:
    its service filter and its second box (across the antimeridian) are
    parameters too."""
    day = next_open_day(7)
    with_fablab, _ = relay_with(booking, desks=1, name="Guéret", postcode="23000",
                                services=["coworking", "fablab"], **GUERET)
    coworking_only, _ = relay_with(booking, desks=1, name="Aubusson", latitude=45.956,
                                   longitude=2.168, services=["coworking"])
    query = {**GUERET, "radius_km": 50, "date": day, "slot": "morning"}
    assert [r["relay"]["id"] for r in booking.search_availability(
        query=dict(query, service="coworking"))] == [with_fablab["id"], coworking_only["id"]]
    assert [r["relay"]["id"] for r in booking.search_availability(
        query=dict(query, service="fablab"))] == [with_fablab["id"]]
    assert booking.search_availability(query=dict(query, service="telemedicine")) == []

    east, _ = relay_with(booking, desks=1, name="Est", postcode="98600",
                         timezone="Pacific/Wallis", latitude=-13.28, longitude=179.95)
    west, _ = relay_with(booking, desks=1, name="Ouest", postcode="98600",
                         timezone="Pacific/Wallis", latitude=-13.28, longitude=-179.9)
    across = {"latitude": -13.28, "longitude": -179.99, "radius_km": 50, "date": day,
              "slot": "morning"}
    assert [r["relay"]["id"] for r in booking.search_availability(query=across)] == [
        east["id"], west["id"]]
    assert [r["id"] for r in booking.list_relays(query={
        "latitude": -13.28, "longitude": -179.99, "radius_km": 50})] == [east["id"], west["id"]]
