"""What ops and integrators rely on: health, readiness, metrics, OpenAPI, docs."""
import requests

from common.config import SERVICE_HTTP_PORTS
from gateway.routes import ROUTES
from tests.e2e.conftest import next_weekday


def test_ready_reports_the_broker_and_every_service(anonymous):
    response = anonymous.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "broker": "ok", "services": {
        "identity": "ok", "booking": "ok", "billing": "ok", "notify": "ok"}}


def test_every_service_has_health_and_metrics(network, anonymous):
    anonymous.get("/v1/relays")  # at least one entrypoint call to count
    for service in SERVICE_HTTP_PORTS:
        base = f"http://127.0.0.1:{network.service_port(service)}"
        health = requests.get(base + "/health", timeout=5)
        assert health.json() == {"status": "ok", "service": service}
        metrics = requests.get(base + "/metrics", timeout=5).text
        assert f'relais_outbox_backlog{{service="{service}"}}' in metrics
    booking_metrics = requests.get(
        f"http://127.0.0.1:{network.service_port('booking')}/metrics", timeout=5).text
    assert 'entrypoint="list_relays"' in booking_metrics


def test_gateway_metrics_count_requests_by_route(anonymous):
    anonymous.get("/v1/relays")
    metrics = anonymous.get("/metrics").text
    assert 'relais_http_request_duration_seconds_count{method="GET",route="booking.list_relays",status="200"}' in metrics


def test_openapi_documents_every_route(anonymous):
    spec = anonymous.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for route in ROUTES:
        operation = spec["paths"][route.path][route.method.lower()]
        assert str(route.status) in operation["responses"]
        if route.body is not None:
            assert "requestBody" in operation


def test_docs_render_offline(anonymous):
    page = anonymous.get("/docs").text
    assert "https://" not in page and "http://" not in page
    assert anonymous.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert "SwaggerUIBundle" in anonymous.get("/docs/static/swagger-ui-bundle.js").text[:5_000_000]


def test_booking_outcomes_are_counted(network, relay_company_employee):
    relay, desk, employee, member = relay_company_employee
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(5),
                                             "slot": "morning"}).status_code == 201
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(5),
                                             "slot": "morning"}).status_code == 409
    metrics = requests.get(f"http://127.0.0.1:{network.service_port('booking')}/metrics",
                           timeout=5).text
    counts = {line.split('"')[1]: float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith("relais_bookings_total{")}
    assert counts["confirmed"] >= 1
    # The same member and desk twice: whichever exclusion constraint PostgreSQL checks first.
    assert counts.get("member-already-booked", 0) + counts.get("space-taken", 0) >= 1
