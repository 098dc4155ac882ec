"""What ops and integrators rely on: health, readiness, metrics, OpenAPI, docs, logs."""
import json
from concurrent.futures import ThreadPoolExecutor

import requests

from common.config import SERVICE_HTTP_PORTS
from gateway.routes import ROUTES
from tests.broker import close_connections
from tests.e2e.conftest import next_weekday, wait_for


def test_ready_holds_when_the_broker_dropped_the_gateways_connections(network):
    """The broker drops idle connections (missed heartbeats) and restarts: the
    next /ready of each gunicorn thread reconnects instead of answering 503, so
    Kubernetes never takes a healthy gateway out of service."""
    def ready(_):
        return requests.get(network.gateway_url + "/ready", timeout=10).status_code

    with ThreadPoolExecutor(32) as pool:
        assert wait_for(lambda: list(pool.map(ready, range(32))) == [200] * 32)
        # Every thread of both workers has its connection by now, or soon.
        close_connections(network.vhost, expected=2)
        assert list(pool.map(ready, range(32))) == [200] * 32


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


def test_one_request_can_be_followed_through_the_logs(network, relay_company_employee):
    relay, desk, employee, member = relay_company_employee
    response = member.post("/v1/bookings", json={"space_id": desk["id"],
                                                 "date": next_weekday(6), "slot": "afternoon"})
    call_id = response.headers["X-Call-Id"]

    def lines_of(component):
        path = network.var_dir / "log" / f"{component}.log"
        return [json.loads(line) for line in path.read_text().splitlines()
                if line.startswith("{") and call_id in line]

    (gateway_line,) = wait_for(lambda: lines_of("gateway"))
    assert gateway_line["call_id"] == call_id and gateway_line["status"] == 201
    (booking_line,) = wait_for(lambda: lines_of("booking"))
    assert booking_line["entrypoint"] == "book"
    assert booking_line["call_id_stack"][0] == call_id
    assert booking_line["call_id_stack"][-1].startswith("booking.book.")


def test_dead_letters_are_read_over_http_by_the_network_team_only(network, admin, anonymous):
    from kombu import Connection

    from tests.e2e.conftest import corporate_account
    listed = admin.get("/v1/dead-letters")
    assert listed.status_code == 200, listed.text
    queues = listed.json()
    # one queue per reliable consumer: identity consumes no event
    assert {q["service"] for q in queues} == {"booking", "billing", "notify"}
    assert all(q["queue"].endswith(".dead") and not q["unavailable"] for q in queues)
    target = next(q["queue"] for q in queues if q["service"] == "notify")

    # a message no trusted component published (here: no envelope, no user_id)
    # is parked at once in its .dead queue, with why
    with Connection(network.amqp_uri) as connection:
        connection.Producer().publish({"not": "an envelope"}, routing_key=target[:-len(".dead")],
                                      serializer="json")
    try:
        def parked():
            rows = admin.get("/v1/dead-letters").json()
            return next(q for q in rows if q["queue"] == target)["depth"] == 1 and rows
        rows = wait_for(parked, timeout=20)
        assert rows, "the malformed message reached the dead-letter queue"
        (row,) = [q for q in rows if q["queue"] == target]
        assert "published by broker user None" in row["samples"][0]["error"]
        assert next(q for q in admin.get("/v1/dead-letters").json()
                    if q["queue"] == target)["depth"] == 1, "reading leaves it in the queue"
    finally:
        with Connection(network.amqp_uri) as connection:
            connection.default_channel.queue_purge(target)

    _, hr = corporate_account(admin, network)
    assert hr.get("/v1/dead-letters").status_code == 403
    assert anonymous.get("/v1/dead-letters").status_code == 401
