"""Security (issue 13): text is checked after decoding (an escaped NUL in a SCIM
filter) and JSON is bounded in depth before parsing: precise 400s, never a 500."""
import json

from tests.e2e.conftest import assert_problem, assert_scim_error, scim_client


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
