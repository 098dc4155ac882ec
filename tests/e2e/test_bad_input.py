"""Bad input at the gateway: always a 4xx problem+json with a stable type and,
for validation, the fields at fault. Never a 500."""
import re
import uuid

import pytest
from marshmallow import fields

from gateway.routes import ROUTES

from tests.e2e.conftest import (
    Client, assert_problem, corporate_account, new_member, next_weekday, relay_operator, unique,
)


def test_malformed_json_is_a_400(admin):
    response = admin.post("/v1/relays", data="{not json",
                          headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "malformed-json")


def test_missing_and_mistyped_fields_are_listed(admin):
    response = admin.post("/v1/relays", json={"name": "", "latitude": "north",
                                              "timezone": "Mars/Olympus"})
    body = assert_problem(response, 422, "validation-error")
    assert set(body["errors"]) >= {"name", "latitude", "timezone", "address", "postcode",
                                   "commune", "longitude"}


def test_a_json_array_is_not_an_object(admin):
    assert_problem(admin.post("/v1/relays", json=[1, 2]), 422, "validation-error")


def test_unknown_ids_are_404(admin, anonymous):
    missing = str(uuid.uuid4())
    assert_problem(anonymous.get(f"/v1/relays/{missing}"), 404, "not-found")
    assert_problem(anonymous.get("/v1/relays/not-a-uuid"), 404, "not-found")
    assert_problem(admin.post(f"/v1/relays/{missing}/rate-cards", json={
        "space_kind": "desk", "half_day_price_cents": 1000, "valid_from": "2026-01-01"}),
        404, "not-found")
    assert_problem(admin.get(f"/v1/organisations/{missing}"), 404, "not-found")


def test_booking_an_unknown_space_is_404_with_the_field(network, admin):
    organisation = admin.post("/v1/organisations", json={"kind": "individual",
                                                         "name": "Indépendants"}).json()
    email = f"solo-{uuid.uuid4().hex[:6]}@example.org"
    admin.post(f"/v1/organisations/{organisation['id']}/users",
               json={"email": email, "full_name": "Solo", "password": "long-password-123"})
    member = Client(network.gateway_url).login(email, "long-password-123")
    body = assert_problem(member.post("/v1/bookings", json={
        "space_id": str(uuid.uuid4()), "date": next_weekday(), "slot": "morning"}),
        404, "not-found")
    assert "space_id" in body["errors"]


def test_authentication_problems_are_401(anonymous, network):
    assert_problem(anonymous.post("/v1/relays", json={}), 401, "authentication-required")
    anonymous.http.headers["Authorization"] = "Bearer not.a.token"
    assert_problem(anonymous.get("/v1/bookings"), 401, "invalid-token")
    wrong = anonymous.post("/v1/auth/token", json={"email": "admin@e2e.example",
                                                   "password": "wrong"})
    assert_problem(wrong, 401, "invalid-credentials")


def test_roles_are_enforced_by_the_service(network, admin):
    organisation = admin.post("/v1/organisations", json={"kind": "individual",
                                                         "name": "Membres"}).json()
    email = f"m-{uuid.uuid4().hex[:6]}@example.org"
    admin.post(f"/v1/organisations/{organisation['id']}/users",
               json={"email": email, "full_name": "M", "password": "long-password-123"})
    member = Client(network.gateway_url).login(email, "long-password-123")
    assert_problem(member.post("/v1/relays", json={
        "name": "X", "address": "Y", "postcode": "23000", "commune": "Z", "latitude": 46,
        "longitude": 2, "timezone": "Europe/Paris"}), 403, "forbidden")


def test_duplicate_email_is_a_409(admin):
    organisation = admin.post("/v1/organisations", json={"kind": "individual",
                                                         "name": "Doublons"}).json()
    email = f"twice-{uuid.uuid4().hex[:6]}@example.org"
    path = f"/v1/organisations/{organisation['id']}/users"
    assert admin.post(path, json={"email": email, "full_name": "A"}).status_code == 201
    body = assert_problem(admin.post(path, json={"email": email.upper(), "full_name": "B"}),
                          409, "email-taken")
    assert "email" in body["errors"]


def test_unknown_endpoints_and_methods(anonymous):
    assert_problem(anonymous.get("/v1/nothing-here"), 404, "no-such-endpoint")
    response = anonymous.http.delete(anonymous.base_url + "/v1/relays", timeout=5)
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_a_413_not_a_reset_connection(admin):
    response = admin.post("/v1/relays", data=b"{" + b" " * (1024 * 1024) + b"}",
                          headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "payload-too-large")


OUT_OF_RANGE = [
    # (who, method, path, query or body, the field at fault)
    ("anonymous", "GET", "/v1/relays/{relay}/closures", {"start": "9999-12-31"}, "start"),
    ("admin", "POST", "/v1/relays/{relay}/closures",
     {"starts_on": "9999-12-31", "ends_on": "9999-12-31", "reason": "fin des temps"}, "starts_on"),
    ("anonymous", "GET", "/v1/availability", {"latitude": -17.53, "longitude": -149.56,
                                              "date": "9999-12-31", "slot": "afternoon"}, "date"),
    ("anonymous", "GET", "/v1/relays", {"offset": "99999999999999999999"}, "offset"),
    ("anonymous", "GET", "/v1/relays", {"limit": "100000"}, "limit"),
    ("admin", "GET", "/v1/relays/{relay}/week", {"start": "9999-12-30"}, "start"),
    ("admin", "GET", "/v1/relays/{relay}/day", {"date": "0001-01-01"}, "date"),
    ("admin", "GET", "/v1/organisation-usage", {"month": "0000-01"}, "month"),
    ("admin", "GET", "/v1/bookings", {"start": "0001-01-01", "offset": "1000001"}, "start"),
    ("admin", "GET", "/v1/usage-lines", {"offset": "99999999999999999999"}, "offset"),
    ("admin", "GET", "/v1/deliveries", {"offset": "99999999999999999999"}, "offset"),
    ("member", "POST", "/v1/booking-series", {"relay_id": "{relay}", "date": "9999-12-30",
                                              "slot": "morning", "occurrences": 2}, "date"),
    ("member", "POST", "/v1/booking-series", {"relay_id": "{relay}", "date": "2100-12-01",
                                              "slot": "morning", "occurrences": 10},
     "occurrences"),
    ("member", "POST", "/v1/bookings", {"relay_id": "{relay}", "date": "1999-12-31",
                                        "slot": "morning"}, "date"),
]


def test_dates_and_pages_out_of_range_are_422_naming_the_field(
        relay_company_employee, admin, anonymous):
    """Each was a 500 (a date overflowing, an OFFSET past bigint) before."""
    relay, desk, employee, member = relay_company_employee
    clients = {"admin": admin, "anonymous": anonymous, "member": member}
    for who, method, path, values, field in OUT_OF_RANGE:
        path = path.format(relay=relay["id"])
        values = {name: value.format(relay=relay["id"]) if isinstance(value, str) else value
                  for name, value in values.items()}
        response = clients[who].request(method, path, **(
            {"params": values} if method == "GET" else {"json": values}))
        body = assert_problem(response, 422, "validation-error")
        assert field in body["errors"], (path, values, body)
def test_nul_and_lone_surrogates_are_refused_with_the_field_not_a_500(network, admin, anonymous):
    """A NUL cannot be stored in PostgreSQL's text and a lone surrogate cannot be
    encoded (psycopg2, argon2): both used to be 500s wherever a string reached them."""
    from tests.e2e.conftest import corporate_account
    company, hr = corporate_account(admin, network)
    users = f"/v1/organisations/{company['id']}/users"
    for bad in ("\\u0000", "\\ud800"):
        body = '{"email": "x@example.org", "full_name": "A' + bad + 'B"}'
        problem = assert_problem(hr.post(users, data=body,
                                         headers={"Content-Type": "application/json"}),
                                 422, "invalid-characters")
        assert list(problem["errors"]) == ["full_name"]
        login = '{"email": "x@example.org", "password": "correct horse' + bad + '"}'
        problem = assert_problem(anonymous.post("/v1/auth/token", data=login,
                                                headers={"Content-Type": "application/json"}),
                                 422, "invalid-characters")
        assert list(problem["errors"]) == ["password"]
        nested = '{"name": "k", "roles": ["corporate_admin", "x' + bad + '"]}'
        problem = assert_problem(hr.post(f"/v1/organisations/{company['id']}/api-keys",
                                         data=nested,
                                         headers={"Content-Type": "application/json"}),
                                 422, "invalid-characters")
        assert list(problem["errors"]) == ["roles.1"]
    problem = assert_problem(hr.get(users, params={"email": "a\x00b@example.org"}),
                             422, "invalid-characters")
    assert list(problem["errors"]) == ["email"]
    problem = assert_problem(hr.post(f"{users}/import", data=b"email,full_name\na@b.fr,A\x00\n",
                                     headers={"Content-Type": "text/csv"}),
                             422, "invalid-characters")
    assert list(problem["errors"]) == ["csv"]
    refresh = '{"refresh_token": "rrt_\\u0000"}'
    assert_problem(anonymous.post("/v1/auth/refresh", data=refresh,
                                  headers={"Content-Type": "application/json"}),
                   422, "invalid-characters")


HALF_GIVEN_HOURS = [
    {"opening_hours": {"monday": {"morning": {}}}},
    {"opening_hours": {"monday": {"morning": {"opens": "08:00"}}}},
    {"opening_hours": {"morning": {"opens": "08:00"}}},
    {"opening_hours": {"monday": {}}},
]


@pytest.fixture
def relay_and_its_manager(admin, network):
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais de Chénérailles"), "address": "1 place", "postcode": "23130",
        "commune": "Chénérailles", "latitude": 46.11, "longitude": 2.17,
        "timezone": "Europe/Paris"}).json()
    return relay, relay_operator(admin, network, relay["id"])


@pytest.mark.parametrize("body", HALF_GIVEN_HOURS)
def test_half_given_opening_hours_are_a_422_with_the_fields(relay_and_its_manager, body):
    relay, manager = relay_and_its_manager
    problem = assert_problem(manager.request("PATCH", f"/v1/relays/{relay['id']}", json=body),
                             422, "validation-error")
    assert problem["errors"] and all(field.startswith("opening_hours.")
                                     for field in problem["errors"])
    # ... and the relay's hours are unchanged.
    assert manager.get(f"/v1/relays/{relay['id']}").json()["opening_hours"]["monday"] == {
        "morning": {"opens": "08:30", "closes": "12:30"},
        "afternoon": {"opens": "13:30", "closes": "18:00"}}


def test_callers_without_the_right_are_refused_before_the_body_is_read(
        admin, network, relay_and_its_manager):
    """Every PATCH and PUT that needs a role: a plain member gets 403 whatever
    the body, never a 422 that would describe what the body should be."""
    relay, _ = relay_and_its_manager
    company, _ = corporate_account(admin, network, "Mutuelle")
    _, member = new_member(admin, network, company["id"], "mutuelle.example")
    for method, path in [
            ("PATCH", f"/v1/relays/{relay['id']}"),
            ("PUT", f"/v1/organisations/{company['id']}/policy"),
            ("PUT", f"/v1/relays/{relay['id']}/operator"),
            ("PATCH", f"/v1/webhook-endpoints/{uuid.uuid4()}"),
            ("POST", "/v1/relays")]:
        for body in HALF_GIVEN_HOURS[:1] + [{"radius_km": "far"}, []]:
            response = member.request(method, path, json=body)
            problem = assert_problem(response, 403, "forbidden")
            assert "errors" not in problem, (method, path)


def date_fields(schema_class):
    """The loadable date fields of a request schema (top level)."""
    schema = schema_class()
    return [name for name, field in schema.fields.items()
            if isinstance(field, fields.Date) and not field.dump_only]


DATED_INPUTS = [(route, where, name) for route in ROUTES
                if "access_token" in route.credentials
                and route.body_media_type == "application/json"
                for where, schema in (("body", route.body), ("query", route.query))
                if schema is not None for name in date_fields(schema)]


@pytest.mark.parametrize("route,where,name", DATED_INPUTS,
                         ids=[f"{r.method} {r.path} {w}.{n}" for r, w, n in DATED_INPUTS])
def test_every_date_the_api_takes_is_yyyy_mm_dd_between_2000_and_2100(admin, route, where, name):
    """One date rule everywhere (common/schemas.py's BoundedDate): ISO 8601's
    extended format only, within 2000–2100; a 422 naming the field."""
    path = route.path.format(**{p: str(uuid.uuid4()) for p in
                                re.findall(r"{(\w+)}", route.path)})
    for bad in ("9999-01-01", "0001-01-01", "20270105", "2027-W01-2", "2027-1-5"):
        if where == "body":
            response = admin.request(route.method, path, json={name: bad})
        else:
            response = admin.request(route.method, path, params={name: bad})
        problem = assert_problem(response, 422, "validation-error")
        assert name in problem["errors"], (bad, problem)


def test_a_rate_card_starting_outside_the_date_window_is_refused(admin, relay_and_its_manager):
    relay, _ = relay_and_its_manager
    for bad in ("9999-01-01", "0001-01-01", "20270105"):
        problem = assert_problem(admin.post(f"/v1/relays/{relay['id']}/rate-cards", json={
            "space_kind": "desk", "half_day_price_cents": 1000, "valid_from": bad}),
            422, "validation-error")
        assert list(problem["errors"]) == ["valid_from"]
    assert admin.get(f"/v1/relays/{relay['id']}/rate-cards").json() == []
