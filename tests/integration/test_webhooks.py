"""Webhooks against a real HTTP receiver on loopback: notify runs in-process with
real RabbitMQ and PostgreSQL; every delivery the receiver gets is verified with
the ``standardwebhooks`` library (not with Relais's own code)."""
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook

from common import metrics
from services.notify.service import NotifyService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import (  # noqa: F401 (fixture)
    MEMBER_ID, ORGANISATION_ID, RELAY_ID, confirmed_booking, smtp_sink,
)

OTHER_COMPANY = str(uuid.uuid4())


def admin_of(organisation_id, role="corporate_admin", relay_ids=()):
    return {"user_id": str(uuid.uuid4()), "organisation_id": organisation_id,
            "roles": [role], "relay_ids": list(relay_ids)}


class Receiver:
    """A small HTTP server; ``answers`` is a list of (status, delay) consumed in
    order (then 200). It verifies each delivery with every secret it knows."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.received = []       # (headers, body, verified payload or None)
        self.answer_bytes = {500: 100_000}
        self.secrets = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, delay = receiver.answers.pop(0) if receiver.answers else (200, 0)
                if delay:
                    eventlet.sleep(delay)
                receiver.received.append((headers, body, receiver.verify(body, headers)))
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()
                self.wfile.write(b"x" * receiver.answer_bytes.get(status, 2))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, body, headers):
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except Exception:
                continue
        return None

    def verified(self):
        return [payload for _, _, payload in self.received if payload is not None]

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    started = []

    def start(answers=()):
        started.append(Receiver(answers))
        return started[-1]

    yield start
    for each in started:
        each.stop()


@pytest.fixture
def notify(start_service, rpc):
    def start(**overrides):
        settings = {"WEBHOOKS_ALLOW_LOOPBACK": True, "WEBHOOKS_RETRY_SCHEDULE_MS": [50, 100, 150],
                    "WEBHOOKS_TIMEOUT_SECONDS": 1}
        settings.update(overrides)
        start_service(NotifyService, **settings)
        return rpc("notify")
    return start


def register(notify_rpc, receiver, caller, event_types=("booking.*",), **fields):
    endpoint = notify_rpc.create_webhook_endpoint(caller, dict(
        {"url": receiver.url, "event_types": list(event_types)}, **fields))
    assert endpoint["secret"].startswith("whsec_")
    receiver.secrets.append(endpoint["secret"])
    return endpoint


def test_a_company_gets_its_members_booking_signed_and_no_other_company_gets_it(
        notify, receiver, publish_event):
    rpc = notify()
    ours, theirs, off = receiver(), receiver(), receiver()
    ours_endpoint = register(rpc, ours, admin_of(ORGANISATION_ID))
    register(rpc, theirs, admin_of(OTHER_COMPANY))
    register(rpc, off, admin_of(ORGANISATION_ID), enabled=False)
    relay = receiver()
    register(rpc, relay, admin_of(str(uuid.uuid4()), "relay_manager", [RELAY_ID]))

    envelope = publish_event("booking", "booking.confirmed", confirmed_booking())

    assert wait_for(ours.verified) and wait_for(relay.verified)
    eventlet.sleep(0.5)
    (payload,) = ours.verified()
    assert payload["type"] == "booking.confirmed"
    assert payload["event_id"] == envelope["event_id"]
    assert payload["timestamp"] == envelope["occurred_at"]
    assert payload["data"]["member_id"] == MEMBER_ID
    assert "secret" not in json.dumps(payload)
    assert theirs.received == [] and off.received == []
    (log,) = rpc.list_webhook_deliveries(admin_of(ORGANISATION_ID), ours_endpoint["id"])
    assert log["status"] == "succeeded" and log["attempts"] == 1
    assert log["attempt_log"][0]["status_code"] == 200


def test_two_failures_then_success_makes_three_attempts_logged_and_replay_keeps_the_id(
        notify, receiver, publish_event):
    rpc = notify()
    flaky = receiver([(500, 0), (503, 0)])
    admin = admin_of(ORGANISATION_ID)
    endpoint = register(rpc, flaky, admin)
    publish_event("booking", "booking.cancelled", dict(
        confirmed_booking(), late=False, cancelled_at="2026-12-01T06:00:00+00:00",
        cancelled_by="member", reason=None))

    assert wait_for(lambda: len(flaky.received) == 3, timeout=10)
    (delivery,) = wait_for(lambda: [d for d in rpc.list_webhook_deliveries(admin, endpoint["id"])
                                    if d["status"] == "succeeded"])
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 503, 200]
    assert len(delivery["attempt_log"][0]["response_excerpt"]) == 1000  # bounded
    ids = {headers["webhook-id"] for headers, _, _ in flaky.received}
    assert ids == {delivery["id"]}

    rpc.replay_webhook_delivery(admin, endpoint["id"], delivery["id"])
    assert wait_for(lambda: len(flaky.received) == 4)
    assert flaky.received[-1][0]["webhook-id"] == delivery["id"]
    assert len(flaky.verified()) == 4

    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert rpc.replay_webhook_deliveries(admin, endpoint["id"],
                                         {"since": since, "until": until}) == {"replayed": 1}
    assert wait_for(lambda: len(flaky.received) == 5)


def test_a_hanging_receiver_does_not_delay_another_endpoint(notify, receiver, publish_event):
    rpc = notify(WEBHOOKS_TIMEOUT_SECONDS=3)
    slow, fast = receiver([(200, 2.5)]), receiver()
    register(rpc, slow, admin_of(ORGANISATION_ID))
    register(rpc, fast, admin_of(ORGANISATION_ID))
    started = time.monotonic()
    publish_event("booking", "booking.confirmed", confirmed_booking())
    assert wait_for(fast.verified, timeout=5)
    assert time.monotonic() - started < 2
    assert wait_for(slow.verified, timeout=5)


def test_rotation_signs_with_old_and_new_secret_and_the_test_event(notify, receiver):
    rpc = notify()
    old_only = receiver()
    admin = admin_of(ORGANISATION_ID)
    endpoint = register(rpc, old_only, admin)
    rotated = rpc.rotate_webhook_secret(admin, endpoint["id"], {"grace_seconds": 3600})
    assert rotated["secret"] != endpoint["secret"]
    assert "secret" not in rpc.get_webhook_endpoint(admin, endpoint["id"])

    sent = rpc.send_webhook_test(admin, endpoint["id"])
    assert sent["event_type"] == "webhook.test"
    (payload,) = wait_for(old_only.verified)
    assert payload["type"] == "webhook.test"
    signatures = old_only.received[0][0]["webhook-signature"].split(" ")
    assert len(signatures) == 2
    old_only.secrets = [rotated["secret"]]
    assert old_only.verify(old_only.received[0][1], old_only.received[0][0]) is not None

    rpc.rotate_webhook_secret(admin, endpoint["id"], {"grace_seconds": 0})
    rpc.send_webhook_test(admin, endpoint["id"])
    assert wait_for(lambda: len(old_only.received) == 2)
    assert len(old_only.received[1][0]["webhook-signature"].split(" ")) == 1


def test_unsafe_urls_are_refused_at_creation_and_at_delivery(notify, databases, receiver):
    rpc = notify()
    admin = admin_of(ORGANISATION_ID)
    for url in ("http://example.org/hook", "https://10.0.0.1/hook",
                "https://169.254.169.254/latest", "https://192.168.1.10/hook", "https://[fd00::1]/hook", "ftp://example.org"):
        with pytest.raises(RemoteError) as refused:
            rpc.create_webhook_endpoint(admin, {"url": url, "event_types": ["booking.*"]})
        assert refused.value.exc_type == "InvalidInput", url
    with pytest.raises(RemoteError) as refused:
        rpc.create_webhook_endpoint(admin, {"url": receiver().url, "event_types": ["nope.*"]})
    assert "unknown-event-type" in str(refused.value)

    endpoint = register(rpc, receiver(), admin)
    with databases["notify"].begin() as conn:  # as if its DNS now pointed inside
        conn.exec_driver_sql("UPDATE webhook_endpoints SET url = 'https://10.0.0.1/hook'")
    rpc.send_webhook_test(admin, endpoint["id"])
    (delivery,) = wait_for(lambda: [d for d in rpc.list_webhook_deliveries(admin, endpoint["id"])
                                    if d["attempt_log"]])
    assert delivery["attempt_log"][0]["error"].startswith("refused")
    assert delivery["attempt_log"][0]["status_code"] is None


def test_an_endpoint_failing_too_long_is_disabled_and_its_owner_mailed(
        notify, receiver, publish_event, smtp_sink, rpc):  # noqa: F811
    sink, port = smtp_sink()
    notify_rpc = notify(SMTP_PORT=port, WEBHOOKS_RETRY_SCHEDULE_MS=[100] * 20,
                        WEBHOOKS_DISABLE_AFTER_SECONDS=0.5)
    admin = admin_of(ORGANISATION_ID)
    publish_event("identity", "identity.user_provisioned", {
        "user_id": admin["user_id"], "organisation_id": ORGANISATION_ID,
        "email": "rh@entreprise.example", "full_name": "Rh Admin", "roles": ["corporate_admin"]})
    broken = receiver([(500, 0)] * 100)
    endpoint = register(notify_rpc, broken, admin)
    notify_rpc.send_webhook_test(admin, endpoint["id"])

    assert wait_for(lambda: not notify_rpc.get_webhook_endpoint(admin, endpoint["id"])["enabled"],
                    timeout=10)
    assert wait_for(lambda: sink.received, timeout=5)
    assert "désactivé" in sink.received[0].content.decode("utf-8", "replace") or \
        sink.received[0].rcpt_tos == ["rh@entreprise.example"]
    seen = len(broken.received)
    eventlet.sleep(0.5)
    assert len(broken.received) == seen  # a disabled endpoint receives nothing


def test_cross_tenant_access_is_not_found(notify, receiver):
    rpc = notify()
    endpoint = register(rpc, receiver(), admin_of(ORGANISATION_ID))
    stranger = admin_of(OTHER_COMPANY)
    assert rpc.list_webhook_endpoints(stranger) == []
    for call in (lambda: rpc.get_webhook_endpoint(stranger, endpoint["id"]),
                 lambda: rpc.update_webhook_endpoint(stranger, endpoint["id"], {"enabled": False}),
                 lambda: rpc.delete_webhook_endpoint(stranger, endpoint["id"]),
                 lambda: rpc.rotate_webhook_secret(stranger, endpoint["id"], {}),
                 lambda: rpc.list_webhook_deliveries(stranger, endpoint["id"]),
                 lambda: rpc.send_webhook_test(stranger, endpoint["id"])):
        with pytest.raises(RemoteError) as refused:
            call()
        assert refused.value.exc_type == "NotFound"
    member = {"user_id": str(uuid.uuid4()), "organisation_id": ORGANISATION_ID,
              "roles": ["member"]}
    with pytest.raises(RemoteError) as refused:
        rpc.get_webhook_endpoint(member, endpoint["id"])
    assert refused.value.exc_type == "NotFound"


def test_a_redirect_is_a_failed_attempt_and_a_10_mb_answer_is_cut(notify, receiver):
    rpc = notify()
    admin = admin_of(ORGANISATION_ID)
    moved = receiver([(302, 0)])
    endpoint = register(rpc, moved, admin)
    rpc.send_webhook_test(admin, endpoint["id"])
    (delivery,) = wait_for(lambda: [d for d in rpc.list_webhook_deliveries(admin, endpoint["id"])
                                    if d["status"] == "succeeded"])
    first, second = delivery["attempt_log"]
    assert (first["status_code"], first["error"]) == (302, "redirect not followed")
    assert second["status_code"] == 200 and len(moved.received) == 2  # no call to Location

    huge = receiver()
    huge.answer_bytes[200] = 10 * 1024 * 1024
    endpoint = register(rpc, huge, admin)
    rpc.send_webhook_test(admin, endpoint["id"])
    (delivery,) = wait_for(lambda: [d for d in rpc.list_webhook_deliveries(admin, endpoint["id"])
                                    if d["status"] == "succeeded"])
    assert len(delivery["attempt_log"][0]["response_excerpt"]) == 1000


def test_two_replicas_send_each_delivery_once(notify, start_service, receiver, publish_event):
    rpc = notify()
    start_service(NotifyService, WEBHOOKS_ALLOW_LOOPBACK=True)  # a second replica
    both = receiver()
    register(rpc, both, admin_of(ORGANISATION_ID))
    for _ in range(30):
        publish_event("booking", "booking.confirmed", confirmed_booking())
    assert wait_for(lambda: len(both.verified()) >= 30, timeout=15)
    eventlet.sleep(0.5)
    ids = [headers["webhook-id"] for headers, _, _ in both.received]
    assert len(ids) == len(set(ids)) == 30



def test_attempts_and_the_backlog_are_metrics(start_service, rpc, receiver):
    container = start_service(NotifyService, WEBHOOKS_ALLOW_LOOPBACK=True)
    notify_rpc = rpc("notify")
    admin = admin_of(ORGANISATION_ID)
    endpoint = register(notify_rpc, receiver(), admin)
    notify_rpc.send_webhook_test(admin, endpoint["id"])
    assert wait_for(lambda: [d for d in notify_rpc.list_webhook_deliveries(admin, endpoint["id"])
                             if d["status"] == "succeeded"])
    registry = metrics.for_container(container).registry
    assert registry.get_sample_value("relais_webhook_attempts_total",
                                     {"outcome": "succeeded"}) == 1
    assert registry.get_sample_value("relais_webhook_deliveries_pending") == 0


def member_and_endpoint(notify, receiver, publish_event, smtp_sink, databases):
    """notify with an SMTP server, the member's company's endpoint and the
    member's contact: (the SMTP server, the endpoint's receiver)."""
    sink, port = smtp_sink()
    rpc = notify(SMTP_PORT=port)
    ours = receiver()
    register(rpc, ours, admin_of(ORGANISATION_ID))
    publish_event("identity", "identity.user_provisioned", {
        "user_id": MEMBER_ID, "organisation_id": ORGANISATION_ID,
        "email": "lou@entreprise.example", "full_name": "Lou Nomade", "roles": ["member"]})
    assert wait_for(lambda: rows(databases["notify"], "SELECT 1 FROM contacts"))
    return sink, ours


def test_a_booking_event_reads_its_endpoints_and_member_at_once_and_redelivered_does_nothing(
        notify, receiver, publish_event, smtp_sink, databases):
    """The day-before record's step writes its row and reads the enabled
    endpoints with the member's contact (one statement); the webhooks and the
    mail use them: no statement of their own to read.
    The event delivered again mails nothing, offers nothing, remembers nothing
    more: one mail, one webhook delivery, one day-before row."""
    sink, ours = member_and_endpoint(notify, receiver, publish_event, smtp_sink, databases)
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "contacts" in statement:
            statements.append(statement)
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        envelope = publish_event("booking", "booking.confirmed", confirmed_booking())
        assert wait_for(lambda: sink.received) and wait_for(ours.verified)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    (read,) = statements   # the day-before record written by the same statement
    assert "webhook_endpoints" in read and "preferences" in read
    assert "INSERT INTO bookings" in read

    publish_event("booking", "booking.confirmed", None, envelope=envelope)   # again
    eventlet.sleep(1.5)   # room for a duplicate to show up
    assert len(rows(databases["notify"], "SELECT 1 FROM inbox WHERE event_id = :id",
                    id=envelope["event_id"])) == 3   # the mail, the webhooks, the day-before row
    assert len(sink.received) == 1 and len(ours.verified()) == 1
    assert sink.received[0].rcpt_tos == ["lou@entreprise.example"]
    for table in ("deliveries", "webhook_deliveries", "bookings"):
        assert len(rows(databases["notify"], f"SELECT 1 FROM {table}")) == 1, table


def test_a_member_who_turned_receipts_off_gets_no_confirmation_and_the_webhook_still_goes(
        notify, receiver, publish_event, smtp_sink, databases):
    """The member's choice comes with the endpoints' read (one statement) and
    is obeyed as when the mail read it itself."""
    sink, ours = member_and_endpoint(notify, receiver, publish_event, smtp_sink, databases)
    with databases["notify"].begin() as conn:
        conn.execute(text("INSERT INTO preferences (user_id, category, enabled) "
                          "VALUES (:user_id, 'booking_receipts', false)"), {"user_id": MEMBER_ID})

    envelope = publish_event("booking", "booking.confirmed", confirmed_booking())

    assert wait_for(ours.verified)
    assert wait_for(lambda: len(rows(databases["notify"], "SELECT 1 FROM inbox WHERE "
                                     "event_id = :id", id=envelope["event_id"])) == 3)
    eventlet.sleep(0.5)
    assert sink.received == []
    assert rows(databases["notify"], "SELECT 1 FROM deliveries") == []
