"""Issue 13: the whole network runs with one broker user per component, as
compose and k8s run it, and the booking path works through them (every other
end-to-end test runs on this network too)."""
from urllib.parse import quote

import requests

from common import broker_users
from devtools.network import RABBIT_API
from tests.e2e.conftest import next_weekday, wait_for

COMPONENTS_ON_THE_BROKER = ("gateway", "identity", "booking", "billing", "notify")


def broker_logins(network):
    connections = requests.get(
        f"{RABBIT_API}/vhosts/{quote(network.vhost, safe='')}/connections", timeout=10).json()
    return {connection["user"] for connection in connections}


def test_each_component_logs_in_as_its_own_broker_user(relay_company_employee, admin, network):
    _, desk, _, member = relay_company_employee
    booked = member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(),
                                               "slot": "afternoon"})
    assert booked.status_code == 201, booked.text
    assert wait_for(lambda: admin.get("/v1/usage-lines",
                                      params={"booking_id": booked.json()["id"]}).json())

    expected = {broker_users.user_name(component, network.broker_user_prefix)
                for component in COMPONENTS_ON_THE_BROKER}
    # nobody else (the web pages, the broker's admin) is logged in on the network's vhost
    assert wait_for(lambda: broker_logins(network) == expected), broker_logins(network)
