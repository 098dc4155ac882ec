"""Security (issue 13): public URLs (SCIM meta.location, Location) come from
configuration (RELAIS_PUBLIC_URL), never from the request's Host header."""
import json
import time

from tests.e2e.conftest import scim_client


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
