"""Sessions shared by two web processes: a visitor logged in on one is logged
in on the other (as behind a load balancer without sticky sessions), and a
log-out on either ends the session everywhere and revokes the refresh token."""
import json
import re

import pytest
import redis
import requests

from tests.e2e.conftest import PASSWORD, corporate_account
from tests.polling import wait_for


@pytest.fixture
def second_web(network):
    port = network.web_port + 2          # base + 92: this slot's, like every port
    network.start_web("web-2", port)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    wait_for(up, timeout=30)
    yield url
    network.stop_process("web-2")


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_two_web_processes_share_a_session_and_a_log_out_ends_it_everywhere(
        network, admin, second_web):
    _, hr = corporate_account(admin, network)
    me = hr.get(f"/v1/users/{_me(hr)}").json()
    browser = requests.Session()          # one cookie jar, two servers on one host
    first, second = network.web_url, second_web

    login = browser.get(f"{first}/login", timeout=10)
    logged = browser.post(f"{first}/login", timeout=10, allow_redirects=False, data={
        "csrf": csrf_of(login.text), "email": me["email"], "password": PASSWORD})
    assert logged.status_code == 303 and logged.headers["Location"] == "/company/employees"

    on_second = browser.get(f"{second}/company/employees", timeout=10, allow_redirects=False)
    assert on_second.status_code == 200, on_second.status_code
    assert me["full_name"] in on_second.text

    store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    (key,) = [k for k in store.scan_iter(network.web_session_prefix + "*")
              if me["email"].encode() in (store.get(k) or b"")]
    assert 0 < store.ttl(key) <= 12 * 3600, "a session expires by itself"
    refresh_token = json.loads(store.get(key))["tokens"]["refresh_token"]

    out = browser.post(f"{second}/logout", data={"csrf": csrf_of(on_second.text)}, timeout=10,
                       allow_redirects=False)
    assert out.status_code == 303
    after = browser.get(f"{first}/company/employees", timeout=10, allow_redirects=False)
    assert after.status_code == 303 and after.headers["Location"].startswith("/login")
    revoked = requests.post(f"{network.gateway_url}/v1/auth/refresh", timeout=10,
                            json={"refresh_token": refresh_token})
    assert revoked.status_code == 401, revoked.text


def _me(client):
    from web.api import token_claims
    return token_claims(client.tokens["access_token"])["sub"]
