"""The broker dropping connections, as it does to idle or stale ones: the
tests ask RabbitMQ's management API (enabled by scripts/lib.sh) to close them,
only in the test's own vhost."""
from urllib.parse import quote

import requests

from gateway.rpc import CONNECTION_NAME
from tests.polling import wait_for

MANAGEMENT_URL = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


def named_connections(vhost, name=CONNECTION_NAME):
    listed = requests.get(f"{MANAGEMENT_URL}/vhosts/{quote(vhost, safe='')}/connections",
                          auth=AUTH, timeout=5)
    listed.raise_for_status()
    return [c["name"] for c in listed.json()
            if c.get("client_properties", {}).get("connection_name") == name]


def close_connections(vhost, expected, name=CONNECTION_NAME):
    """Close the ``expected`` connections named ``name`` in ``vhost`` (waiting
    until the management API lists them all); return how many were closed."""
    found = wait_for(lambda: len(named_connections(vhost, name)) >= expected, timeout=30)
    assert found, f"fewer than {expected} {name} connections in {vhost}"
    closed = named_connections(vhost, name)
    for connection in closed:
        requests.delete(f"{MANAGEMENT_URL}/connections/{quote(connection, safe='')}",
                        auth=AUTH, headers={"X-Reason": "test: the broker drops connections"},
                        timeout=5)
    # The connections closed are gone; the gateway may already have opened new
    # ones (its keeper and readiness threads reconnect), which is what is tested.
    assert wait_for(lambda: not set(closed) & set(named_connections(vhost, name)), timeout=30)
    return len(closed)
