"""The booking features over HTTP: search, any desk, cancel, calendar feed,
and clear problems for bad input on the new endpoints."""
import requests

from tests.e2e.conftest import assert_problem, next_weekday


def test_find_book_any_desk_cancel_and_follow_it_in_a_calendar(relay_company_employee, anonymous):
    relay, desk, employee, member = relay_company_employee
    day = next_weekday(5)
    found = anonymous.get("/v1/availability", params={
        "latitude": relay["latitude"], "longitude": relay["longitude"], "radius_km": 5,
        "date": day, "slot": "morning"})
    assert found.status_code == 200, found.text
    assert relay["id"] in [r["relay"]["id"] for r in found.json()]

    booked = member.post("/v1/bookings", json={"relay_id": relay["id"], "date": day,
                                               "slot": "morning"})
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert (booking["space_id"], booking["space_kind"]) == (desk["id"], "desk")

    feed = member.post("/v1/calendar-feed")
    assert feed.status_code == 201, feed.text
    path = "/v1/calendar/" + feed.json()["url"].rsplit("/v1/calendar/", 1)[1]
    ics = anonymous.get(path)
    assert ics.status_code == 200
    assert ics.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f"UID:{booking['id']}@relais-des-possibles.fr" in ics.text

    cancelled = member.post(f"/v1/bookings/{booking['id']}/cancel")  # no body at all
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["late_cancellation"]) == (
        "cancelled", False)
    assert "STATUS:CANCELLED" in anonymous.get(path).text

    assert member.http.delete(member.base_url + "/v1/calendar-feed", timeout=5).status_code == 200
    assert_problem(anonymous.get(path), 404, "not-found")


def test_bad_booking_requests_are_clear_problems(relay_company_employee, anonymous):
    relay, desk, employee, member = relay_company_employee
    day = next_weekday(5)
    body = assert_problem(member.post("/v1/bookings", json={
        "space_id": desk["id"], "relay_id": relay["id"], "date": day, "slot": "morning"}),
        422, "validation-error")
    assert "space_id" in body["errors"]
    body = assert_problem(member.post("/v1/bookings", json={
        "space_id": desk["id"], "date": day, "start": "25:00", "end": "10:00"}),
        422, "validation-error")
    assert "start" in body["errors"]
    assert_problem(member.post("/v1/bookings", json={
        "space_id": desk["id"], "date": day, "start": "09:00", "end": "10:00"}),
        422, "desk-by-slot")
    body = assert_problem(anonymous.get("/v1/availability", params={"date": day,
                                                                    "slot": "morning"}),
                          422, "validation-error")
    assert {"latitude", "longitude"} <= set(body["errors"])
    assert_problem(member.post("/v1/bookings/not-a-uuid/cancel"), 404, "not-found")
    assert_problem(member.post(f"/v1/bookings/{desk['id']}/check-in", data="{",
                               headers={"Content-Type": "application/json"}), 400, "malformed-json")
    assert_problem(anonymous.get("/v1/calendar/nothing.ics"), 404, "not-found")


def test_the_openapi_document_describes_the_calendar_as_text(network):
    spec = requests.get(network.gateway_url + "/openapi.json", timeout=5).json()
    feed = spec["paths"]["/v1/calendar/{token}.ics"]["get"]["responses"]["200"]["content"]
    assert feed == {"text/calendar": {"schema": {"type": "string"}}}
    cancel = spec["paths"]["/v1/bookings/{booking_id}/cancel"]["post"]["requestBody"]
    assert cancel["required"] is False
