"""Webhooks over HTTP: a corporate admin registers an endpoint through the
gateway, an employee books, the receiver (in this test process) gets a
delivery it verifies with ``standardwebhooks``; another company's admin finds
nothing of it. A guard fails when a webhook route is added without a case."""
import pytest

from gateway.routes import ROUTES
from tests.e2e.conftest import (
    PASSWORD, Client, assert_problem, corporate_account, next_weekday, unique, wait_for,
)
from tests.integration.test_webhooks import Receiver


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


def webhook_cases(endpoint_id, delivery_id):
    base = f"/v1/webhook-endpoints/{endpoint_id}"
    return [
        ("GET", "/v1/webhook-endpoints/{endpoint_id}", base, None),
        ("PATCH", "/v1/webhook-endpoints/{endpoint_id}", base, {"enabled": False}),
        ("DELETE", "/v1/webhook-endpoints/{endpoint_id}", base, None),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", base + "/rotate-secret", {}),
        ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", base + "/deliveries", None),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
         f"{base}/deliveries/{delivery_id}/replay", None),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay", base + "/replay",
         {"since": "2026-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/test", base + "/test", None),
    ]


def test_every_webhook_route_has_a_cross_tenant_case():
    covered = {(method, template) for method, template, _, _ in webhook_cases("e", "d")}
    routes = {(route.method, route.path) for route in ROUTES
              if route.path.startswith("/v1/webhook-endpoints/")}
    assert routes == covered


def test_a_company_receives_its_employees_booking_and_another_company_sees_nothing(
        relay_company_employee, admin, network, receiver):
    relay, desk, employee, member = relay_company_employee
    hr_email = f"{unique('rh')}@assureur.example"
    assert admin.post(f"/v1/organisations/{employee['organisation_id']}/users", json={
        "email": hr_email, "full_name": "RH", "roles": ["corporate_admin"],
        "password": PASSWORD}).status_code == 201
    hr = Client(network.gateway_url).login(hr_email, PASSWORD)

    created = hr.post("/v1/webhook-endpoints", json={
        "url": receiver.url, "event_types": ["booking.confirmed"], "description": "SIRH"})
    assert created.status_code == 201, created.text
    endpoint = created.json()
    receiver.secrets.append(endpoint["secret"])
    assert "secret" not in hr.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()

    booked = member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(),
                                               "slot": "morning"})
    assert booked.status_code == 201, booked.text
    (payload,) = wait_for(receiver.verified, timeout=10)
    assert payload["type"] == "booking.confirmed"
    assert payload["data"]["booking_id"] == booked.json()["id"]
    (delivery,) = wait_for(lambda: [d for d in hr.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()
        if d["status"] == "succeeded"])

    _, other_hr = corporate_account(admin, network, "Concurrent")
    assert other_hr.get("/v1/webhook-endpoints").json() == []
    for method, template, path, body in webhook_cases(endpoint["id"], delivery["id"]):
        response = other_hr.request(method, path, json=body) if body is not None else \
            other_hr.request(method, path)
        assert_problem(response, 404, "not-found")
    assert member.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    assert_problem(member.post("/v1/webhook-endpoints", json={
        "url": receiver.url, "event_types": ["booking.*"]}), 403, "forbidden")
    assert hr.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["enabled"] is True


def test_bad_endpoints_are_precise_422s(admin):
    for body, code in (({"url": "http://example.org/x", "event_types": ["booking.*"]},
                        "unsafe-webhook-url"),
                       ({"url": "https://10.1.2.3/x", "event_types": ["booking.*"]},
                        "unsafe-webhook-url"),
                       ({"url": "https://example.org/x", "event_types": ["booking.exploded"]},
                        "unknown-event-type"),
                       ({"url": "https://example.org/x", "event_types": []}, "validation-error")):
        assert_problem(admin.post("/v1/webhook-endpoints", json=body), 422, code)
    assert_problem(admin.get("/v1/webhook-endpoints/not-a-uuid"), 404, "not-found")
