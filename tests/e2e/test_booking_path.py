"""The foundation's five steps over HTTP, and what a service outage does to them."""
from tests.e2e.conftest import (
    PASSWORD, Client, assert_problem, mails_to, next_weekday, unique, wait_for,
)


def test_an_employee_books_a_desk_and_billing_and_notify_follow(
        relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee
    day = next_weekday()

    booked = member.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                               "slot": "morning"})

    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert (booking["space_id"], booking["relay_id"], booking["member_id"]) == (
        desk["id"], relay["id"], employee["id"])
    assert (booking["date"], booking["slot"], booking["status"]) == (day, "morning", "confirmed")

    lines = wait_for(lambda: admin.get("/v1/usage-lines",
                                       params={"booking_id": booking["id"]}).json())
    assert len(lines) == 1
    line = lines[0]
    assert (line["status"], line["unit_price_cents"], line["amount_excl_vat_cents"],
            line["vat_cents"], line["amount_incl_vat_cents"]) == ("priced", 1490, 1490, 298, 1788)
    assert line["organisation_id"] == employee["organisation_id"]

    (mail,) = wait_for(lambda: mails_to(network, employee["email"]))
    assert relay["name"] in mail["subject"]
    assert booking["id"] in mail["text"]
    assert "08:30" in mail["text"]

    # The member sees their booking; the company's usage is theirs to read too.
    assert member.get(f"/v1/bookings/{booking['id']}").json() == booking
    assert [b["id"] for b in member.get("/v1/bookings").json()] == [booking["id"]]


def test_a_desk_is_never_booked_twice(relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee
    day = next_weekday(2)
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                             "slot": "day"}).status_code == 201
    organisation_id = employee["organisation_id"]
    other_email = f"{unique('autre')}@assureur.example"
    created = admin.post(f"/v1/organisations/{organisation_id}/users", json={
        "email": other_email, "full_name": "Autre", "password": PASSWORD})
    assert created.status_code == 201
    other = Client(network.gateway_url).login(other_email, PASSWORD)

    refused = other.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                               "slot": "afternoon"})

    assert_problem(refused, 409, "space-taken")


def test_a_retried_post_with_its_idempotency_key_books_once(relay_company_employee, admin):
    relay, desk, employee, member = relay_company_employee
    body = {"space_id": desk["id"], "date": next_weekday(3), "slot": "afternoon"}
    first = member.post("/v1/bookings", json=body, headers={"Idempotency-Key": "retry-1"})
    second = member.post("/v1/bookings", json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    lines = wait_for(lambda: admin.get("/v1/usage-lines",
                                       params={"booking_id": first.json()["id"]}).json())
    assert len(lines) == 1


def test_a_stopped_service_gives_clear_errors_and_loses_no_event(
        relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee
    network.stop_service("billing")
    try:
        ready = admin.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["services"]["billing"] == "no consumer"
        assert ready.json()["services"]["booking"] == "ok"

        assert_problem(admin.get("/v1/usage-lines"), 504, "service-timeout")

        # Booking needs only booking: it works while billing is down.
        booked = member.post("/v1/bookings", json={"space_id": desk["id"],
                                                   "date": next_weekday(4), "slot": "morning"})
        assert booked.status_code == 201, booked.text
    finally:
        network.start_service("billing")
        network.wait_until_ready(60)

    lines = wait_for(lambda: admin.get("/v1/usage-lines",
                                       params={"booking_id": booked.json()["id"]}).json())
    assert len(lines) == 1 and lines[0]["status"] == "priced"
