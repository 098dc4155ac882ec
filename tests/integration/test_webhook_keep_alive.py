"""Kept-alive webhook connections (common.outbound.PinnedSessions): a second
delivery to the same checked address reuses the first one's connection; the
URL is checked again before each call, and a name that now resolves elsewhere
gets a new connection to the new address, or none when the new address is
refused. Real HTTP/1.1 receivers on loopback that note which connection (the
caller's port) each request came on."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
import pytest

from common.outbound import PinnedSessions
from services.notify import webhook_sender
from services.notify.webhooks import Settings

SETTINGS = Settings(allow_loopback=True, timeout_seconds=2, max_response_bytes=1024)


class KeepAliveReceiver:
    """Answers 200 with ``answer_bytes`` bytes (after ``delay`` seconds for a
    path ending in /slow), keeping the connection open (HTTP/1.1)."""

    def __init__(self, host="127.0.0.1", port=0, answer_bytes=2, fill=b"x"):
        self.connections = []     # per request: (caller's port, path)
        self.cookies = []         # per request: its Cookie header, or None
        self.answer_bytes, self.fill = answer_bytes, fill
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                receiver.connections.append((self.client_address[1], self.path))
                receiver.cookies.append(self.headers.get("cookie"))
                if self.path.endswith("/slow"):
                    eventlet.sleep(1.0)
                self.send_response(200)
                self.send_header("Content-Length", str(receiver.answer_bytes))
                self.send_header("Set-Cookie", "tenant=first; Path=/")
                self.end_headers()
                self.wfile.write(receiver.fill * receiver.answer_bytes)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started = []

    def start(**kwargs):
        started.append(KeepAliveReceiver(**kwargs))
        return started[-1]

    yield start
    for each in started:
        each.stop()


@pytest.fixture
def sessions():
    kept = PinnedSessions()
    yield kept
    kept.close()


def delivery(url, number=1):
    return {"id": f"msg_keep_alive_{number}", "url": url, "payload": {"type": "webhook.test"},
            "secrets": ["whsec_" + "a2VlcC1hbGl2ZS1zZWNyZXQta2VlcC1hbGl2ZS0xMjM="]}


def send(url, sessions, resolve, number=1, settings=SETTINGS):
    return webhook_sender.send(delivery(url, number), settings, resolve=resolve,
                               sessions=sessions)


def test_two_deliveries_to_one_address_share_a_connection(receivers, sessions):
    target = receivers()
    url = f"http://localhost:{target.port}/hook"
    checks = []

    def resolve(parts):
        checks.append(parts.hostname)
        return ["127.0.0.1"]

    first = send(url, sessions, resolve, 1)
    second = send(url, sessions, resolve, 2)

    assert (first["status_code"], second["status_code"]) == (200, 200)
    assert checks == ["localhost", "localhost"]          # checked before each call
    (port_1, _), (port_2, _) = target.connections
    assert port_1 == port_2 and len(sessions) == 1
    assert target.cookies == [None, None]     # another tenant's call may share the session


def test_without_the_kept_sessions_each_delivery_has_its_own_connection(receivers):
    target = receivers()
    url = f"http://localhost:{target.port}/hook"
    for number in (1, 2):
        assert send(url, None, lambda parts: ["127.0.0.1"], number)["status_code"] == 200
    (port_1, _), (port_2, _) = target.connections
    assert port_1 != port_2


def test_a_name_resolving_elsewhere_gets_a_new_connection_pinned_to_the_new_address(
        receivers, sessions):
    first = receivers()
    second = receivers(host="127.0.0.2", port=first.port)
    url = f"http://localhost:{first.port}/hook"
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])

    assert send(url, sessions, lambda parts: next(answers), 1)["status_code"] == 200
    assert send(url, sessions, lambda parts: next(answers), 2)["status_code"] == 200

    assert len(first.connections) == 1 and len(second.connections) == 1
    assert len(sessions) == 2


def test_a_name_now_resolving_inside_is_refused_though_a_connection_is_kept(
        receivers, sessions):
    target = receivers()
    url = f"http://localhost:{target.port}/hook"
    public_then_inside = iter([["127.0.0.1"], ["127.0.0.1", "10.0.0.7"]])

    assert send(url, sessions, lambda parts: next(public_then_inside), 1)["status_code"] == 200
    refused = send(url, sessions, lambda parts: next(public_then_inside), 2)

    assert refused["status_code"] is None and refused["error"].startswith("refused")
    assert len(target.connections) == 1


def test_an_answer_cut_at_the_bound_does_not_leave_its_connection_to_the_next_call(
        receivers, sessions):
    target = receivers(answer_bytes=10_000)        # more than SETTINGS.max_response_bytes
    url = f"http://localhost:{target.port}/hook"
    first = send(url, sessions, lambda parts: ["127.0.0.1"], 1)
    target.answer_bytes = 2
    second = send(url, sessions, lambda parts: ["127.0.0.1"], 2)

    assert (first["status_code"], second["status_code"]) == (200, 200)
    assert len(first["excerpt"]) == SETTINGS.excerpt_chars
    (port_1, _), (port_2, _) = target.connections
    assert port_1 != port_2


def test_a_slow_call_holds_only_its_own_connection(receivers, sessions):
    target = receivers()
    base = f"http://localhost:{target.port}"
    slow = eventlet.spawn(send, f"{base}/slow", sessions, lambda parts: ["127.0.0.1"], 1)
    eventlet.sleep(0.2)
    started = time.monotonic()
    quick = send(f"{base}/quick", sessions, lambda parts: ["127.0.0.1"], 2)

    assert quick["status_code"] == 200 and time.monotonic() - started < 0.5
    assert slow.wait()["status_code"] == 200
    ports = dict((path, port) for port, path in target.connections)
    assert ports["/slow"] != ports["/quick"]


def test_an_answer_with_nul_bytes_leaves_an_excerpt_postgresql_can_store(receivers, sessions):
    target = receivers(answer_bytes=3, fill=b"\x00")
    outcome = send(f"http://localhost:{target.port}/hook", sessions, lambda parts: ["127.0.0.1"])
    assert outcome["status_code"] == 200 and outcome["excerpt"] == "\ufffd" * 3
