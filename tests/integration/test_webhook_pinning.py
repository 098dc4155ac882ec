"""A webhook call connects to the address that was checked (no DNS rebinding):
the name may resolve to something else by the time of the connection, the call
still goes where the check looked. A real HTTP receiver on loopback."""
import socket

import pytest

from services.notify import webhook_sender
from services.notify.webhooks import Settings
from tests.integration.test_webhooks import receiver  # noqa: F401 (fixture)

SETTINGS = Settings(allow_loopback=True, timeout_seconds=2)


def delivery(url):
    return {"id": "msg_pinning", "url": url, "payload": {"type": "webhook.test"},
            "secrets": ["whsec_" + "cGlubmluZy1zZWNyZXQtcGlubmluZy1zZWNyZXQ="]}


def test_the_call_goes_to_the_checked_address_whatever_the_name_resolves_to_later(
        receiver, monkeypatch):  # noqa: F811
    target = receiver()
    port = target.server.server_address[1]
    # After the check, the name resolves to an address where nothing listens.
    real = socket.getaddrinfo

    def rebound(host, *args, **kwargs):
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.9", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    assert socket.getaddrinfo("localhost", port)[0][4][0] == "127.0.0.9"

    outcome = webhook_sender.send(delivery(f"http://localhost:{port}/hook"), SETTINGS,
                                  resolve=lambda parts: ["127.0.0.1"])

    assert (outcome["status_code"], outcome["error"]) == (200, None)
    ((headers, _, _),) = target.received
    assert headers["host"] == f"localhost:{port}" and headers["webhook-id"] == "msg_pinning"


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "::1"])
def test_a_name_that_resolves_inside_is_refused_before_any_connection(receiver, address):  # noqa: F811
    target = receiver()
    port = target.server.server_address[1]
    outcome = webhook_sender.send(
        delivery(f"http://localhost:{port}/hook"),
        Settings(allow_loopback=False, timeout_seconds=2) if address == "::1" else SETTINGS,
        resolve=lambda parts: ["127.0.0.1", address])
    assert outcome["status_code"] is None and outcome["error"].startswith("refused")
    assert target.received == []
