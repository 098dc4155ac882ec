"""The OpenAPI document states the rules the schemas enforce, in terms clients
and fuzzers read (tests/e2e/test_api_contract.py runs schemathesis against
the live API; these check the document's pieces one by one, fast)."""
import json
import re
from datetime import date, datetime, timedelta

import pytest
from marshmallow import ValidationError

from common.schemas import DATE_PATTERN, FIRST_DATE, LAST_DATE, MONTH_PATTERN, check_month
from contracts.events import EVENTS
from contracts.rpc.identity import OrganisationSchema, REQUIRED_FOR_CORPORATE
from contracts.rpc.notify import EVENT_PATTERNS
from gateway.openapi import HOUR_MINUTE_PATTERN, build_spec
from gateway.routes import ROUTES
from services.notify.webhook_rules import valid_pattern


@pytest.fixture(scope="module")
def spec():
    return build_spec(ROUTES)


def operation(spec, method, path):
    return spec["paths"][path][method.lower()]


def test_no_bound_is_left_where_nobody_reads_it(spec):
    assert "x-minimum" not in json.dumps(spec) and "x-maximum" not in json.dumps(spec)


@pytest.mark.parametrize("day", [FIRST_DATE, LAST_DATE, date(2027, 2, 28), date(2064, 12, 9)])
def test_the_date_pattern_takes_every_day_of_the_window(day):
    assert re.search(DATE_PATTERN, day.isoformat())


@pytest.mark.parametrize("text", [(FIRST_DATE - timedelta(days=1)).isoformat(),
                                  (LAST_DATE + timedelta(days=1)).isoformat(),
                                  "9999-01-01", "0001-01-01", "20270105", "2027-1-05"])
def test_the_date_pattern_refuses_what_is_outside_the_window(text):
    assert not re.search(DATE_PATTERN, text)


@pytest.mark.parametrize("text", ["2000-01", "2100-12", "2026-11", "1999-12", "2101-01",
                                  "2026-13", "2026-00", "202611", ""])
def test_the_month_pattern_agrees_with_check_month(text):
    try:
        check_month(text)
        accepted = True
    except ValidationError:
        accepted = False

    assert bool(re.search(MONTH_PATTERN, text)) == accepted


@pytest.mark.parametrize("text", ["08:30", "8:30", "8:5", "23:59", "00:00", "24:00", "12:60",
                                  "0830", "08:30:00", " 8:30", "12:3a"])
def test_the_time_pattern_agrees_with_the_schemas_time_format(text):
    try:
        datetime.strptime(text, "%H:%M")
        accepted = True
    except ValueError:
        accepted = False

    assert bool(re.search(HOUR_MINUTE_PATTERN, text)) == accepted


def test_dates_in_requests_carry_the_window_as_a_pattern(spec):
    rate_card = spec["components"]["schemas"]["RateCard"]["properties"]["valid_from"]
    day_query = next(parameter for parameter in operation(
        spec, "GET", "/v1/relays/{relay_id}/day")["parameters"] if parameter["name"] == "date")

    assert rate_card["format"] == "date" and rate_card["pattern"] == DATE_PATTERN
    assert day_query["schema"]["pattern"] == DATE_PATTERN


def test_corporate_fields_are_required_for_corporate_accounts_only(spec):
    organisation = spec["components"]["schemas"]["Organisation"]
    corporate, others = organisation["oneOf"]

    assert corporate["properties"]["kind"]["enum"] == ["corporate"]
    assert set(corporate["required"]) == {"kind", *REQUIRED_FOR_CORPORATE}
    assert "corporate" not in others["properties"]["kind"]["enum"]
    with pytest.raises(ValidationError) as refused:
        OrganisationSchema().load({"kind": "corporate", "name": "Assureur"})
    assert set(refused.value.messages) == set(REQUIRED_FOR_CORPORATE)
    assert OrganisationSchema().load({"kind": "individual", "name": "Camille"})


@pytest.mark.parametrize("route", [route for route in ROUTES if route.body is not None],
                         ids=lambda route: f"{route.method} {route.path}")
def test_every_route_that_reads_a_body_documents_415_413_and_400(spec, route):
    responses = operation(spec, route.method, route.path)["responses"]

    assert {"400", "413", "415"} <= set(responses)


def test_the_idempotency_key_rule_is_documented(spec):
    (header,) = [parameter for parameter in operation(spec, "POST", "/v1/bookings")["parameters"]
                 if parameter["in"] == "header"]

    assert header["name"] == "Idempotency-Key"
    assert header["schema"]["minLength"] == 1 and header["schema"]["maxLength"] == 255
    assert re.search(header["schema"]["pattern"], "retry-1 ~ ok")
    assert not re.search(header["schema"]["pattern"], "   ")
    assert not re.search(header["schema"]["pattern"], "clé")


def test_a_new_password_is_documented_with_its_policy(spec):
    password = spec["components"]["schemas"]["PasswordSet"]["properties"]["password"]

    assert (password["minLength"], password["maxLength"]) == (12, 256)
    assert password["format"] == "password"
    assert "5 different" in password["description"]


def test_a_relay_time_zone_is_one_of_the_iana_names(spec):
    zones = spec["components"]["schemas"]["RelayCreate"]["properties"]["timezone"]["enum"]

    assert "Europe/Paris" in zones and "America/Cayenne" in zones and "Mars/Olympus" not in zones


def test_webhook_event_patterns_are_those_notify_accepts():
    assert all(valid_pattern(pattern, list(EVENTS)) for pattern in EVENT_PATTERNS)
    assert not valid_pattern("identity.user.*", list(EVENTS))
    assert "identity.user.*" not in EVENT_PATTERNS


@pytest.mark.parametrize("create, target, parameters", [
    (("POST", "/v1/relays"), "booking_get_relay", {"relay_id": "$response.body#/id"}),
    (("POST", "/v1/relays/{relay_id}/closures"), "booking_delete_closure",
     {"closure_id": "$response.body#/id", "relay_id": "$request.path.relay_id"}),
    (("POST", "/v1/bookings"), "booking_cancel_booking", {"booking_id": "$response.body#/id"}),
    (("POST", "/v1/organisations/{organisation_id}/users"), "identity_deactivate_user",
     {"user_id": "$response.body#/id"}),
    (("POST", "/scim/v2/Users"), "scim_get_user", {"id": "$response.body#/id"}),
])
def test_what_a_post_creates_links_to_the_operations_on_it(spec, create, target, parameters):
    links = operation(spec, *create)["responses"]["201"]["links"]

    assert links[target] == {"operationId": target, "parameters": parameters}


def test_every_link_names_an_operation_of_the_document(spec):
    operation_ids = {op["operationId"] for ops in spec["paths"].values() for op in ops.values()}
    linked = {link["operationId"] for ops in spec["paths"].values() for op in ops.values()
              for answer in op["responses"].values() for link in answer.get("links", {}).values()}

    assert linked and linked <= operation_ids


def test_scim_is_documented_under_its_own_tag_with_its_media_type(spec):
    create = operation(spec, "POST", "/scim/v2/Users")

    assert create["tags"] == ["SCIM"]
    assert create["security"] == [{"scim_token": []}]
    assert "application/scim+json" in create["requestBody"]["content"]
    assert "application/scim+json" in create["responses"]["400"]["content"]
    assert "SCIM" in [tag["name"] for tag in spec["tags"]]


@pytest.mark.parametrize("component, field", [
    ("Policy", "updated_by"), ("Policy", "updated_at"),           # a policy never set
    ("Closure", "id"),                                            # a public holiday
    ("Profile", "updated_at"), ("Profile", "policy_home_commune"),  # an empty profile
    ("Profile", "policy_home_latitude"), ("Profile", "policy_home_set_at"),
])
def test_what_an_answer_may_hold_as_null_is_nullable(spec, component, field):
    assert spec["components"]["schemas"][component]["properties"][field]["nullable"] is True
