"""What crosses services: identity's decisions reach booking, billing and notify
through events, with no service reading another's tables."""
import time
import uuid

from devtools import dates
from tests.e2e.conftest import (
    PASSWORD, Client, assert_problem, mails_to, new_member, next_weekday, unique, wait_for,
)


def test_a_company_policy_set_in_identity_is_enforced_by_booking(relay_company_employee, admin):
    relay, desk, employee, member = relay_company_employee
    elsewhere = admin.post("/v1/relays", json={
        "name": unique("Relais de Bellac"), "address": "1 place du Palais", "postcode": "87300",
        "commune": "Bellac", "latitude": 46.12, "longitude": 1.05,
        "timezone": "Europe/Paris"})
    assert elsewhere.status_code == 201, elsewhere.text
    policy = admin.put(f"/v1/organisations/{employee['organisation_id']}/policy", json={
        "allowed_relays": "list", "relay_ids": [elsewhere.json()["id"]]})
    assert policy.status_code == 200, policy.text

    # booking learns the policy from identity.policy_changed: a few tries at most.
    refused = None
    for attempt in range(40):
        response = member.post("/v1/bookings", json={
            "space_id": desk["id"], "date": next_weekday(10 + attempt), "slot": "morning"})
        if response.status_code == 403:
            refused = response
            break
        assert response.status_code == 201, response.text
        time.sleep(0.1)
    assert refused is not None, "the policy never reached booking"
    assert_problem(refused, 403, "policy-relay-not-allowed")


def test_deactivating_an_employee_cancels_their_future_bookings_everywhere(
        relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee
    booked = member.post("/v1/bookings", json={"space_id": desk["id"],
                                               "date": next_weekday(2), "slot": "day"})
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    assert wait_for(lambda: admin.get("/v1/usage-lines", params={"booking_id": booking_id}).json())

    done = admin.post(f"/v1/users/{employee['id']}/deactivate")
    assert done.status_code == 200, done.text

    cancelled = wait_for(lambda: (b := admin.get(f"/v1/bookings/{booking_id}").json())
                         ["status"] == "cancelled" and b)
    assert cancelled, "booking did not cancel the deactivated member's booking"
    assert cancelled["cancellation_reason"] == "member deactivated"
    assert cancelled["late_cancellation"] is False
    (line,) = wait_for(lambda: [line for line in admin.get(
        "/v1/usage-lines", params={"booking_id": booking_id}).json() if line["status"] == "void"])
    assert line["booking_id"] == booking_id
    subjects = wait_for(lambda: len(mails_to(network, employee["email"])) >= 3 and sorted(
        mail["subject"] for mail in mails_to(network, employee["email"])))
    assert any(subject.startswith("Réservation annulée") for subject in subjects), subjects
    assert any("est fermé" in subject for subject in subjects), subjects
    # and the member can no longer book at all
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(4),
                                             "slot": "morning"}).status_code in (401, 403)


def test_a_relay_just_opened_can_be_priced_and_given_its_operator_at_once(admin):
    """booking.relay_created may not have reached billing yet: billing asks
    booking rather than answer "No relay". Looped, as the race is a race."""
    operator = admin.post("/v1/organisations", json={
        "kind": "relay_operator", "name": unique("SCIC"), "legal_name": "SCIC Tiers-lieux",
        "siret": "55208131766522", "billing_email": "compta@scic.example"}).json()
    for attempt in range(10):
        relay = admin.post("/v1/relays", json={
            "name": unique("Relais de Guéret"), "address": "1 place Bonnyaud",
            "postcode": "23000", "commune": "Guéret", "latitude": 46.17, "longitude": 1.87,
            "timezone": "Europe/Paris"})
        assert relay.status_code == 201, relay.text
        relay_id = relay.json()["id"]
        if attempt % 2:
            operated = admin.put(f"/v1/relays/{relay_id}/operator",
                                 json={"operator_organisation_id": operator["id"]})
            assert operated.status_code == 200, operated.text
        card = admin.post(f"/v1/relays/{relay_id}/rate-cards", json={
            "space_kind": "desk", "half_day_price_cents": 1500, "valid_from": "2026-01-01"})
        assert card.status_code == 201, card.text
    # A relay that does not exist is still "not found", asked of booking too.
    assert_problem(admin.post(f"/v1/relays/{uuid.uuid4()}/rate-cards", json={
        "space_kind": "desk", "half_day_price_cents": 1500, "valid_from": "2026-01-01"}),
        404, "not-found")


def test_a_home_the_company_just_saved_is_known_to_the_employees_next_booking(
        relay_company_employee, admin, network):
    """Under a radius policy, booking measures from the home the company saved
    in identity; asked at once, booking has not heard of it yet and asks
    identity rather than answer "your home address is not known yet"."""
    relay, desk, employee, member = relay_company_employee  # Aubusson
    organisation_id = employee["organisation_id"]
    hr = admin.post(f"/v1/organisations/{organisation_id}/users", json={
        "email": f"{unique('rh')}@assureur.example", "full_name": "RH", "password": PASSWORD,
        "roles": ["corporate_admin"]}).json()
    hr = Client(network.gateway_url).login(hr["email"], PASSWORD)
    assert admin.put(f"/v1/organisations/{organisation_id}/policy", json={
        "allowed_relays": "radius", "radius_km": 30}).status_code == 200
    day = dates.open_day(3)
    # Once booking enforces the policy, a member without a home is refused.
    # Asked before booking has heard of the policy, the booking goes through:
    # it is cancelled, or the space would be taken for the loop below.
    def refused_for_want_of_a_home():
        answer = member.post("/v1/bookings", json={
            "space_id": desk["id"], "date": day.isoformat(), "slot": "morning"})
        if answer.status_code == 201:
            assert member.post(f"/v1/bookings/{answer.json()['id']}/cancel", json={}
                               ).status_code == 200
        return answer.status_code == 403
    assert wait_for(refused_for_want_of_a_home)
    for attempt in range(5):
        employee, member = new_member(admin, network, organisation_id, "assureur.example")
        saved = hr.put(f"/v1/users/{employee['id']}/profile", json={
            "home_commune": "Felletin", "home_latitude": 45.88, "home_longitude": 2.17})
        assert saved.status_code == 200, saved.text
        booked = member.post("/v1/bookings", json={
            "space_id": desk["id"], "date": day.isoformat(), "slot": "morning"})
        assert booked.status_code == 201, booked.text
        assert member.post(f"/v1/bookings/{booked.json()['id']}/cancel", json={}
                           ).status_code == 200
        day = dates.open_day(1, since=day)
