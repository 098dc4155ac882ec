"""Security at the HTTP edge (issue 13's smaller holes), against the whole
network over HTTP: no secret in the access log, the Host header never
reflected, security headers on every response, SCIM's escaped NUL and deep
JSON refused precisely, and what a relay manager may edit."""
import json
import time

from tests.e2e.conftest import Client, assert_problem, corporate_account


def gateway_log(network):
    return (network.var_dir / "log" / "gateway.log").read_text(errors="replace")


def test_no_secret_reaches_the_access_log(relay_company_employee, anonymous, network):
    relay, desk, employee, member = relay_company_employee
    feed = member.post("/v1/calendar-feed")
    assert feed.status_code == 201, feed.text
    token = feed.json()["url"].rsplit("/v1/calendar/", 1)[1][:-len(".ics")]
    assert anonymous.get(f"/v1/calendar/{token}.ics").status_code == 200
    assert anonymous.get(f"/v1/calendar/{token[:-1]}x.ics").status_code == 404
    assert anonymous.get(f"/v1/calendar/{token}").status_code == 404  # no such endpoint
    assert anonymous.get("/v1/relays", params={"secret": token}).status_code == 200
    time.sleep(0.2)
    log = gateway_log(network)
    assert "/v1/calendar/{token}.ics" in log
    assert token not in log and token[:-1] not in log


def scim_client(admin, network):
    company, hr = corporate_account(admin, network)
    token = hr.post(f"/v1/organisations/{company['id']}/scim-tokens", json={"name": "IdP"})
    assert token.status_code == 201, token.text
    return Client(network.gateway_url).bearer(token.json()["secret"])


def assert_scim_error(response, status, scim_type):
    assert response.status_code == status, response.text
    assert response.json()["scimType"] == scim_type, response.text


def test_an_escaped_nul_in_a_scim_filter_is_refused_after_decoding(admin, network):
    scim = scim_client(admin, network)
    for value in ('"a\\u0000b"', '"\\ud800"', '"\\x"'):
        assert_scim_error(scim.get("/scim/v2/Users", params={"filter": f"userName eq {value}"}),
                          400, "invalidFilter")
        assert_scim_error(scim.post("/scim/v2/Users/.search", data=json.dumps(
            {"filter": f"userName eq {value}"}),
            headers={"Content-Type": "application/scim+json"}), 400, "invalidFilter")


def test_deep_json_is_a_400_not_a_500(admin, network, relay_company_employee):
    scim = scim_client(admin, network)
    _, _, _, member = relay_company_employee
    for depth in (40, 200_000):
        body = "[" * depth + "]" * depth
        assert_problem(member.post("/v1/bookings", data=body,
                                   headers={"Content-Type": "application/json"}),
                       400, "malformed-json")
        assert_scim_error(scim.post("/scim/v2/Users", data=body,
                                    headers={"Content-Type": "application/scim+json"}),
                          400, "invalidSyntax")
    nested = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
              "userName": "deep@example.org", "name": {}}
    inner = nested["name"]
    for _ in range(40):
        inner["x"] = {}
        inner = inner["x"]
    assert_scim_error(scim.post("/scim/v2/Users", data=json.dumps(nested),
                                headers={"Content-Type": "application/scim+json"}),
                      400, "invalidSyntax")


def test_public_urls_come_from_configuration_not_from_host(admin, network):
    scim = scim_client(admin, network)
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
            "Content-Type": "application/scim+json"}
    created = scim.post("/scim/v2/Users", headers=evil, data=json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"host-{time.time_ns()}@example.org"}))
    assert created.status_code == 201, created.text
    expected = f"{network.gateway_url}/scim/v2/Users/{created.json()['id']}"
    assert created.headers["Location"] == created.json()["meta"]["location"] == expected
    listed = scim.get("/scim/v2/Users", headers=evil).json()
    config = scim.get("/scim/v2/ServiceProviderConfig", headers=evil).json()
    assert "evil.example" not in json.dumps(listed) + json.dumps(config)


def test_every_response_carries_the_security_headers(network, anonymous, admin):
    responses = {
        "token": anonymous.post("/v1/auth/token", json={"email": "admin@e2e.example",
                                                        "password": "e2e-admin-password"}),
        "api": admin.get("/v1/organisations"), "problem": anonymous.get("/v1/nothing"),
        "health": anonymous.get("/health"), "docs": anonymous.get("/docs"),
        "docs asset": anonymous.get("/docs/static/relais-docs.js"),
        "scim": anonymous.get("/scim/v2/ServiceProviderConfig"),
    }
    for name, response in responses.items():
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], name
        assert headers["X-Frame-Options"] == "DENY", name
        if name != "docs asset":
            assert headers["Cache-Control"] == "no-store", name
    assert responses["token"].status_code == 200 and responses["token"].headers["Pragma"] == \
        "no-cache"
    # /docs runs no inline script: its one script is a file of the gateway's.
    assert "<script>" not in responses["docs"].text
    assert "script-src 'self'" in responses["docs"].headers["Content-Security-Policy"]
