"""The gateway's HTTP behaviour, with a fake RPC instead of RabbitMQ: request
bodies, routing, what the RPC receives, how service errors show, and the
operational endpoints (/openapi.json, /docs, /ready, /health)."""
import base64
import inspect
import json
import re
from io import BytesIO
from types import SimpleNamespace

import pytest
from nameko.exceptions import serialize
from openapi_spec_validator import validate as validate_openapi
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from common import errors
from gateway.bodies import MAX_BODY_BYTES
from gateway.problems import PROBLEM_BASE
from gateway.routes import EVERY_SERVICE, ROUTES, SERVICES
from gateway.rpc import RemoteError, RpcTimeout, RpcUnavailable
from services.billing.service import BillingService
from services.booking.service import BookingService
from services.identity import tokens
from services.identity.service import IdentityService
from services.notify.service import NotifyService

SPACE_ID = "5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f"
BOOKING = {"space_id": SPACE_ID, "date": "2027-03-29", "slot": "morning"}


def problem_of(response, status, code):
    """The problem+json body of ``response``, checked to be the expected one."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == PROBLEM_BASE + code
    assert body["status"] == status
    assert body["detail"]
    assert body["call_id"] == response.headers["X-Call-Id"]
    return body


# --- request bodies ---------------------------------------------------------------


def test_malformed_json_is_a_400(client, rpc, auth):
    response = client.post("/v1/bookings", data='{"space_id": ', headers=auth,
                           content_type="application/json")

    body = problem_of(response, 400, "malformed-json")
    assert body["instance"] == "/v1/bookings"
    assert "not valid JSON" in body["detail"]
    assert rpc.calls == []


def test_empty_body_is_malformed_json(client, rpc, auth):
    response = client.post("/v1/bookings", data=b"", headers=auth,
                           content_type="application/json")

    problem_of(response, 400, "malformed-json")
    assert rpc.calls == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_a_415(client, rpc, auth, content_type):
    response = client.post("/v1/bookings", data=json.dumps(BOOKING), headers=auth,
                           content_type=content_type)

    problem_of(response, 415, "unsupported-media-type")
    assert rpc.calls == []


def test_json_with_charset_and_problem_json_types_are_accepted(client, rpc, auth):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post("/v1/bookings", data=json.dumps(BOOKING), headers=auth,
                               content_type=content_type)
        assert response.status_code == 201
    assert len(rpc.calls) == 2


def test_body_too_large_is_a_413(client, rpc, auth):
    too_big = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = client.post("/v1/bookings", data=too_big, headers=auth,
                           content_type="application/json")

    body = problem_of(response, 413, "payload-too-large")
    assert str(MAX_BODY_BYTES) in body["detail"]
    assert rpc.calls == []


def test_body_too_large_without_content_length_is_a_413(gateway, rpc, auth):
    """A chunked body announces no length: the gateway still reads at most the limit."""
    builder = EnvironBuilder(path="/v1/bookings", method="POST", headers=auth,
                             content_type="application/json")
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = BytesIO(b'{"a": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}')
    environ["wsgi.input_terminated"] = True

    response = gateway.respond(Request(environ))

    assert response.status_code == 413
    assert json.loads(response.get_data())["type"] == PROBLEM_BASE + "payload-too-large"
    assert rpc.calls == []


def test_missing_and_wrong_fields_are_a_422_listing_each(client, rpc, auth):
    response = client.post("/v1/bookings", json={"slot": "night"}, headers=auth)

    body = problem_of(response, 422, "validation-error")
    assert set(body["errors"]) == {"space_id", "date", "slot"}
    assert body["errors"]["space_id"] == ["Give a space_id, or a relay_id for any free space there."]
    assert body["errors"]["slot"] == ["Must be one of: morning, afternoon, day."]
    assert rpc.calls == []


def test_wrongly_typed_fields_are_a_422(client, rpc, auth):
    response = client.post("/v1/bookings", headers=auth,
                           json={"space_id": 12, "date": "29/03/2027", "slot": "morning"})

    body = problem_of(response, 422, "validation-error")
    assert set(body["errors"]) == {"space_id", "date"}
    assert rpc.calls == []


def test_json_that_is_not_an_object_is_a_422(client, rpc, auth):
    response = client.post("/v1/bookings", json=[BOOKING], headers=auth)

    body = problem_of(response, 422, "validation-error")
    assert "JSON object" in body["detail"]
    assert rpc.calls == []


def test_strict_integer_refuses_a_string_price(client, rpc, private_pem):
    admin = SimpleNamespace(id="u-admin", organisation_id="o-net", roles={"network_admin"},
                            relay_ids=[])
    token = tokens.issue_access_token(private_pem, admin)["access_token"]

    response = client.post("/v1/relays/r-1/rate-cards", headers={"Authorization": f"Bearer {token}"},
                           json={"space_kind": "desk", "half_day_price_cents": "1250",
                                 "valid_from": "2027-01-01"})

    body = problem_of(response, 422, "validation-error")
    assert set(body["errors"]) == {"half_day_price_cents"}
    assert rpc.calls == []


def test_bad_query_string_is_a_422(client, rpc):
    response = client.get("/v1/relays?limit=0&postcode_prefix=x")

    body = problem_of(response, 422, "validation-error")
    assert set(body["errors"]) == {"limit", "postcode_prefix"}
    assert rpc.calls == []


def test_idempotency_key_over_255_characters_is_a_400(client, rpc, auth):
    response = client.post("/v1/bookings", json=BOOKING,
                           headers={**auth, "Idempotency-Key": "k" * 256})

    body = problem_of(response, 400, "invalid-idempotency-key")
    assert "255" in body["detail"]
    assert rpc.calls == []


def test_empty_idempotency_key_is_a_400(client, rpc, auth):
    response = client.post("/v1/bookings", json=BOOKING, headers={**auth, "Idempotency-Key": ""})

    problem_of(response, 400, "invalid-idempotency-key")
    assert rpc.calls == []


@pytest.mark.parametrize("key", ["clé-à-accents", "tab\there", "   "])
def test_idempotency_key_outside_printable_ascii_is_a_400(client, rpc, auth, key):
    # The document says printable ASCII with a visible character (the header
    # is a structured-field string): the gateway holds to it.
    response = client.post("/v1/bookings", json=BOOKING,
                           headers={**auth, "Idempotency-Key": key.encode().decode("latin-1")})

    problem_of(response, 400, "invalid-idempotency-key")
    assert rpc.calls == []


def test_idempotency_key_of_printable_ascii_is_passed_on(client, rpc, auth):
    key = "Retry #2 (2027-01-04) ~ok"

    client.post("/v1/bookings", json=BOOKING, headers={**auth, "Idempotency-Key": key})

    assert rpc.calls[0].kwargs["idempotency_key"] == key


# --- routing ----------------------------------------------------------------------


def test_unknown_endpoint_is_a_404_problem(client, rpc):
    response = client.get("/v1/nowhere")

    body = problem_of(response, 404, "no-such-endpoint")
    assert body["instance"] == "/v1/nowhere"
    assert rpc.calls == []


SCIM_CALLER = {"user_id": "k", "organisation_id": "o", "roles": ["member"], "relay_ids": [],
               "credential": "scim_token"}


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/scim/v2/Users", {"GET", "POST"}),
    ("TRACE", "/scim/v2/Users/some-id", {"GET", "PUT", "PATCH", "DELETE"}),
    ("POST", "/scim/v2/Schemas", {"GET"}),
])
def test_scim_wrong_method_is_a_405_with_allow(client, rpc, method, path, allowed):
    rpc.answer("identity", "authenticate_secret", SCIM_CALLER)

    response = client.open(path, method=method, headers={"Authorization": "Bearer rls_secret"})

    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


@pytest.mark.parametrize("count", [False, True, 2.5])
def test_scim_search_count_is_an_integer_not_a_boolean(client, rpc, count):
    rpc.answer("identity", "authenticate_secret", SCIM_CALLER)

    response = client.post("/scim/v2/Users/.search", json={"count": count},
                           headers={"Authorization": "Bearer rls_secret"})

    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert not [call for call in rpc.calls if call.method == "scim_list_users"]


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
def test_a_json_boolean_is_true_or_false_only(client, rpc, private_pem, value):
    admin = SimpleNamespace(id="u-admin", organisation_id="o-net", roles={"network_admin"},
                            relay_ids=[])
    token = tokens.issue_access_token(private_pem, admin)["access_token"]
    response = client.patch("/v1/relays/5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"closed_on_public_holidays": value})

    body = problem_of(response, 422, "validation-error")
    assert set(body["errors"]) == {"closed_on_public_holidays"}
    assert rpc.calls == []


def test_wrong_method_is_a_405_with_allow(client, rpc):
    response = client.delete("/v1/bookings")

    problem_of(response, 405, "method-not-allowed")
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed
    assert rpc.calls == []


def test_unknown_docs_asset_is_a_404(client):
    problem_of(client.get("/docs/static/..%2F..%2Fapp.py"), 404, "no-such-endpoint")
    problem_of(client.get("/docs/static/index.html"), 404, "no-such-endpoint")


# --- what the RPC receives ------------------------------------------------------


def test_valid_request_reaches_the_rpc_with_caller_payload_and_key(client, rpc, auth, member):
    created = {"id": "b-1", "space_id": SPACE_ID, "status": "confirmed"}
    rpc.answer("booking", "book", created)

    response = client.post("/v1/bookings", json=BOOKING,
                           headers={**auth, "Idempotency-Key": "retry-me-1"})

    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert response.get_json() == created
    [call] = rpc.calls
    assert (call.service, call.method) == ("booking", "book")
    assert call.kwargs == {
        "caller": {"user_id": member.id, "organisation_id": member.organisation_id,
                   "roles": ["member"], "relay_ids": [], "credential": "access_token"},
        "payload": BOOKING,
        "idempotency_key": "retry-me-1",
    }
    assert call.call_id_stack == [response.headers["X-Call-Id"]]


def test_without_idempotency_key_the_rpc_gets_none(client, rpc, auth):
    client.post("/v1/bookings", json=BOOKING, headers=auth)

    assert rpc.calls[0].kwargs["idempotency_key"] is None


def test_payload_is_the_raw_json_body_not_the_loaded_one(client, rpc, auth):
    """The service validates again: it must receive JSON-native values."""
    body = {**BOOKING, "space_id": SPACE_ID.upper()}
    client.post("/v1/bookings", json=body, headers=auth)

    assert rpc.calls[0].kwargs["payload"] == body


def test_path_parameters_and_query_are_passed_by_name(client, rpc, auth, member):
    rpc.answer("booking", "get_booking", {"id": "b-9"})

    response = client.get("/v1/bookings/b-9", headers=auth)

    assert response.get_json() == {"id": "b-9"}
    assert rpc.calls[-1].kwargs == {"booking_id": "b-9", "caller": {
        "user_id": member.id, "organisation_id": member.organisation_id,
        "roles": ["member"], "relay_ids": [], "credential": "access_token"}}

    rpc.answer("booking", "list_relays", [{"id": "r-1"}])
    response = client.get("/v1/relays?limit=5&postcode_prefix=12")

    assert response.status_code == 200
    assert response.get_json() == [{"id": "r-1"}]
    assert rpc.calls[-1].kwargs == {"query": {"limit": "5", "postcode_prefix": "12"}}


def test_public_route_needs_no_token_and_passes_no_caller(client, rpc):
    rpc.answer("booking", "get_relay", {"id": "r-1", "name": "Relais de Millau"})

    response = client.get("/v1/relays/r-1")

    assert response.get_json() == {"id": "r-1", "name": "Relais de Millau"}
    assert rpc.calls[0].kwargs == {"relay_id": "r-1"}


def test_authenticated_route_that_passes_no_caller(client, rpc, auth):
    client.get("/v1/relays/r-1/rate-cards", headers=auth)

    assert rpc.calls[0].method == "list_rate_cards"
    assert rpc.calls[0].kwargs == {"relay_id": "r-1"}


SERVICE_CLASSES = {"identity": IdentityService, "booking": BookingService,
                   "billing": BillingService, "notify": NotifyService}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_route_calls_an_rpc_that_takes_its_arguments(route):
    """The gateway builds RPC kwargs by name: a mismatch would be a 500 at run time."""
    kwargs = {name: "x" for name in re.findall(r"{(\w+)}", route.path)}
    if route.authenticated and route.passes_caller:
        kwargs["caller"] = {}
    if route.body is not None:
        kwargs["payload"] = {}
    if route.query is not None:
        kwargs["query"] = {}
    if route.idempotent_create:
        kwargs["idempotency_key"] = None

    assert route.service in SERVICES + (EVERY_SERVICE,)
    for service in SERVICES if route.service == EVERY_SERVICE else (route.service,):
        method = getattr(SERVICE_CLASSES[service], route.rpc)
        inspect.signature(method).bind(object(), **kwargs)  # raises TypeError on a mismatch


# --- service errors and RPC failures -------------------------------------------


def remote(exc):
    return RemoteError(serialize(exc))


def test_not_found_shows_the_services_detail_and_code(client, rpc, auth):
    rpc.answer("booking", "get_booking", remote(errors.NotFound("No booking b-404.")))

    body = problem_of(client.get("/v1/bookings/b-404", headers=auth), 404, "not-found")

    assert body["detail"] == "No booking b-404."
    assert "errors" not in body


def test_conflict_is_a_409_with_its_code(client, rpc, auth):
    rpc.answer("booking", "book", remote(errors.Conflict(
        "This space is already booked for that slot.", code="space-taken")))

    body = problem_of(client.post("/v1/bookings", json=BOOKING, headers=auth), 409, "space-taken")

    assert body["detail"] == "This space is already booked for that slot."


def test_remote_invalid_input_is_a_422_with_fields(client, rpc, auth):
    rpc.answer("booking", "book", remote(errors.InvalidInput(
        "The relay is closed on saturdays.", code="relay-closed",
        fields={"date": ["The relay is closed on saturdays."]})))

    body = problem_of(client.post("/v1/bookings", json=BOOKING, headers=auth), 422, "relay-closed")

    assert body["errors"] == {"date": ["The relay is closed on saturdays."]}


def test_remote_forbidden_is_a_403(client, rpc, auth):
    rpc.answer("notify", "list_deliveries", remote(errors.Forbidden(
        "This needs one of the roles: network_admin, network_ops.")))

    body = problem_of(client.get("/v1/deliveries", headers=auth), 403, "forbidden")

    assert "network_admin" in body["detail"]


def test_unexpected_remote_error_is_a_500_without_the_remote_message(client, rpc, auth):
    secret = 'relation "bookings" does not exist at 10.0.3.7 user=booking password=hunter2'
    rpc.answer("booking", "book", RemoteError({
        "exc_type": "ProgrammingError", "exc_path": "sqlalchemy.exc.ProgrammingError",
        "exc_args": [secret], "value": secret}))

    response = client.post("/v1/bookings", json=BOOKING, headers=auth)

    problem_of(response, 500, "internal-error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "10.0.3.7" not in text and "ProgrammingError" not in text


def test_bug_in_the_gateway_is_a_500_without_internals(client, rpc, auth):
    rpc.answer("booking", "book", RuntimeError("secret internals"))

    response = client.post("/v1/bookings", json=BOOKING, headers=auth)

    problem_of(response, 500, "internal-error")
    assert "secret internals" not in response.get_data(as_text=True)


def test_rpc_timeout_is_a_504(client, rpc, auth):
    rpc.answer("booking", "book", RpcTimeout("booking.book did not answer in 5 s"))

    body = problem_of(client.post("/v1/bookings", json=BOOKING, headers=auth), 504,
                      "service-timeout")

    assert "booking" in body["detail"]


def test_rpc_unavailable_is_a_503_with_retry_after(client, rpc, auth):
    rpc.answer("booking", "book", RpcUnavailable("no booking service is listening"))

    response = client.post("/v1/bookings", json=BOOKING, headers=auth)

    body = problem_of(response, 503, "service-unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "booking" in body["detail"]


# --- call ids -------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/health"), ("GET", "/v1/nowhere"), ("POST", "/v1/bookings"), ("GET", "/openapi.json"),
])
def test_every_response_has_a_call_id(client, method, path):
    response = client.open(path, method=method)

    assert re.fullmatch(rf"gateway\.{method.lower()}\.[0-9a-f-]{{36}}",
                        response.headers["X-Call-Id"])


def test_each_request_gets_its_own_call_id_passed_to_the_rpc(client, rpc, auth):
    first = client.post("/v1/bookings", json=BOOKING, headers=auth)
    second = client.post("/v1/bookings", json=BOOKING, headers=auth)

    assert first.headers["X-Call-Id"] != second.headers["X-Call-Id"]
    assert [call.call_id_stack for call in rpc.calls] == [
        [first.headers["X-Call-Id"]], [second.headers["X-Call-Id"]]]


# --- /openapi.json and /docs -----------------------------------------------------


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def resolve(spec, schema):
    ref = schema["$ref"]
    assert ref.startswith("#/components/schemas/")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_document_is_valid_openapi_3(spec):
    validate_openapi(spec)  # raises on an invalid document

    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_openapi_documents_every_route_with_its_request_schema(spec, route):
    operation = spec["paths"][route.path][route.method.lower()]

    assert operation["operationId"] == f"{route.service}_{route.rpc}"
    assert str(route.status) in operation["responses"]
    assert ("security" in operation) == route.authenticated
    path_params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
    assert path_params == set(re.findall(r"{(\w+)}", route.path))

    if route.body is not None and route.body_media_type == "text/csv":
        # The file itself travels as text; its rows are validated by the service.
        assert operation["requestBody"]["content"]["text/csv"]["schema"]["type"] == "string"
    elif route.body is not None:
        component = resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
        schema = route.body()
        loadable = {name for name, f in schema.fields.items() if not f.dump_only}
        # A partial schema (PATCH) takes any subset of its (named) fields.
        partial = set(schema.fields) if schema.partial is True else set(schema.partial or ())
        required = {name for name, f in schema.fields.items()
                    if f.required and name not in partial}
        assert loadable <= set(component["properties"])
        assert required == set(component.get("required", []))
    else:
        assert "requestBody" not in operation

    if route.query is not None:
        query_params = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert query_params == set(route.query().fields)

    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert ("Idempotency-Key" in headers) == route.idempotent_create

    for status in set(route.errors) | {503, 504}:
        assert "application/problem+json" in operation["responses"][str(status)]["content"]


def test_openapi_documents_no_route_the_gateway_does_not_serve(spec):
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    scim = {(path, method) for path, method in documented if path.startswith("/scim/v2/")}

    assert documented - scim == {(route.path, route.method) for route in ROUTES}
    assert scim == {
        ("/scim/v2/ServiceProviderConfig", "GET"), ("/scim/v2/ResourceTypes", "GET"),
        ("/scim/v2/ResourceTypes/{id}", "GET"), ("/scim/v2/Schemas", "GET"),
        ("/scim/v2/Schemas/{id}", "GET"), ("/scim/v2/Users", "GET"), ("/scim/v2/Users", "POST"),
        ("/scim/v2/Users/.search", "POST"), ("/scim/v2/Users/{id}", "GET"),
        ("/scim/v2/Users/{id}", "PUT"), ("/scim/v2/Users/{id}", "PATCH"),
        ("/scim/v2/Users/{id}", "DELETE"), ("/scim/v2/Groups", "GET"),
        ("/scim/v2/Groups", "POST"), ("/scim/v2/Groups/.search", "POST"),
        ("/scim/v2/Groups/{id}", "GET"), ("/scim/v2/Groups/{id}", "PUT"),
        ("/scim/v2/Groups/{id}", "PATCH"), ("/scim/v2/Groups/{id}", "DELETE")}
    assert all(spec["paths"][path][method.lower()]["tags"] == ["SCIM"] for path, method in scim)


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/docs")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 4
    assert all(asset.startswith("/docs/static/") for asset in assets)
    # The one script of our own is a file (the page's CSP forbids inline scripts).
    assert '"/openapi.json"' in client.get("/docs/static/relais-docs.js").get_data(as_text=True)


@pytest.mark.parametrize("asset, content_type", [
    ("swagger-ui.css", "text/css"),
    ("swagger-ui-bundle.js", "text/javascript"),
    ("favicon-32x32.png", "image/png"),
    ("relais-docs.js", "text/javascript"),
])
def test_docs_assets_are_served_with_their_content_type(client, asset, content_type):
    response = client.get(f"/docs/static/{asset}")

    assert response.status_code == 200
    assert response.mimetype == content_type
    assert len(response.get_data()) > 100
    assert "max-age" in response.headers["Cache-Control"]


def test_docs_page_links_only_to_assets_that_are_served(client):
    html = client.get("/docs").get_data(as_text=True)

    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


# --- /ready and /health ----------------------------------------------------------


def test_health(client, rpc):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert rpc.calls == [] and rpc.jwks_fetches == 0


def test_ready_when_every_service_has_a_consumer(client, rpc):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "broker": "ok",
                                   "services": {name: "ok" for name in SERVICES}}


def test_not_ready_names_the_service_without_consumer(client, rpc):
    rpc.client.consumers["rpc-booking"] = 0
    del rpc.client.consumers["rpc-notify"]

    response = client.get("/ready")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["services"] == {"identity": "ok", "booking": "no consumer",
                                "billing": "ok", "notify": "absent"}


def test_not_ready_when_the_broker_is_unreachable(client, rpc):
    rpc.client.error = ConnectionRefusedError("[Errno 111] Connection refused")

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable",
                                   "broker": "unreachable (ConnectionRefusedError)"}


def test_a_binary_route_sends_the_services_base64_as_bytes(client, rpc, auth):
    rpc.answer("billing", "document_pdf", base64.b64encode(b"%PDF-1.7 \x00\xff").decode())

    response = client.get("/v1/documents/d-1/factur-x.pdf", headers=auth)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data == b"%PDF-1.7 \x00\xff"
    assert rpc.calls[-1].kwargs["document_id"] == "d-1"
    # Rendered once after finalization and stored: the default RPC timeout.
    assert rpc.timeouts[("billing", "document_pdf")] is None


def test_a_document_not_rendered_yet_is_a_503_that_says_when_to_try_again(client, rpc, auth):
    rpc.answer("billing", "document_pdf", remote(errors.Unavailable(
        "F2026-000001's Factur-X files are being rendered: try again in a minute.",
        code="document-not-rendered", fields={"retry_after_seconds": [30]})))

    response = client.get("/v1/documents/d-1/factur-x.pdf", headers=auth)

    assert (response.status_code, response.headers["Retry-After"]) == (503, "30")
    assert response.json["type"].endswith("/document-not-rendered")


def test_ordinary_routes_keep_the_default_rpc_timeout(client, rpc, auth):
    client.get("/v1/documents/d-1", headers=auth)
    assert rpc.timeouts[("billing", "get_document")] is None
