"""Issue 13: a compromised service cannot impersonate the gateway.

Every component logs in to RabbitMQ as its own user (common/broker_users.py):
these tests take one service's credentials, as an attacker who owns that
process would, and try what the gateway or another service does, against the
real broker and real services.
"""
import json
import uuid

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import text

from common import broker_users, deadletters
from common.consumer import dead_letter_queue_name
from common.events import make_envelope
from gateway.rpc import RemoteError, RpcClient
from services.booking.service import BookingService
from tests.integration.booking_helpers import RELAY
from tests.integration.conftest import ADMIN, rows, wait_for

ACCESS_REFUSED = 403
PRECONDITION_FAILED = 406
DEACTIVATED = "evt-identity-identity.user_deactivated--booking.on_user_deactivated"


def connect(uri):
    # nameko's test vhosts are pyamqp:// URLs; pika speaks the same protocol as amqp://
    return pika.BlockingConnection(pika.URLParameters(uri.replace("pyamqp://", "amqp://", 1)))


def refusal(uri, act):
    """Run ``act(channel)`` logged in with ``uri``; the broker's refusal (its
    reply code and text), or None if it let it through."""
    connection = connect(uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # a refused publish closes the channel before the confirm
        act(channel)
        return None
    except ChannelClosedByBroker as closed:
        return closed.reply_code, closed.reply_text
    finally:
        if connection.is_open:
            connection.close()


def rpc_request(channel, routing_key, exchange="nameko-rpc", **properties):
    """A request as the gateway sends it: caller context of a network admin."""
    body = json.dumps({"args": [], "kwargs": {"caller": ADMIN, "payload": RELAY}})
    channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(
        content_type="application/json", correlation_id=str(uuid.uuid4()),
        reply_to=f"gateway-{uuid.uuid4()}", **properties))


@pytest.fixture
def booking_running(start_service, databases):
    start_service(BookingService)
    return databases["booking"]


def relays(engine):
    return rows(engine, "SELECT name FROM relays")


def test_a_service_cannot_publish_a_request_as_the_gateway(booking_running, broker):
    billing = broker.uri("billing")
    # on the RPC exchange, billing may publish only replies and the RPCs it
    # calls (none of booking's), whatever user it claims or not
    for claimed in ({"user_id": broker.user_name("gateway")},
                    {"user_id": broker.user_name("billing")}, {}):
        code, reason = refusal(billing, lambda channel: rpc_request(
            channel, "booking.create_relay", **claimed))
        assert code == ACCESS_REFUSED and "booking.create_relay" in reason
    # round the RPC exchange, straight into booking's queue (billing may use the
    # default exchange: it parks failed events through it), claiming to be the
    # gateway: the broker checks user_id against the login
    code, reason = refusal(billing, lambda channel: rpc_request(
        channel, "rpc-booking", exchange="", user_id=broker.user_name("gateway")))
    assert code == PRECONDITION_FAILED and "user_id" in reason
    # as itself, the message gets there but no entrypoint takes it
    assert refusal(billing, lambda channel: rpc_request(
        channel, "rpc-booking", exchange="", user_id=broker.user_name("billing"))) is None
    assert relays(booking_running) == []


def test_a_service_takes_requests_only_from_the_callers_it_names(booking_running, broker,
                                                                 rabbit_config):
    request = {"caller": ADMIN, "payload": RELAY}
    # The broker's admin may publish anything, but it is not the gateway: the
    # entrypoint refuses before any worker reads the caller context.
    admin = RpcClient(rabbit_config["AMQP_URI"], timeout=5)
    with pytest.raises(RemoteError) as refused:
        admin.call("booking", "create_relay", **request)
    assert refused.value.exc_path == "common.errors.UntrustedPublisher"
    admin.close()
    assert relays(booking_running) == []

    gateway = RpcClient(broker.uri("gateway"), timeout=5)
    assert gateway.call("booking", "create_relay", **request)["name"] == RELAY["name"]
    # the gateway's readiness probe sees booking's consumers
    assert gateway.queue_consumers("rpc-booking") >= 1
    gateway.close()
    assert relays(booking_running) == [{"name": RELAY["name"]}]


def test_an_rpc_meant_for_one_service_is_refused_from_another(start_service, rpc, broker):
    from services.billing.service import BillingService
    start_service(BillingService)
    quote = {"organisation_id": str(uuid.uuid4()), "relay_id": str(uuid.uuid4()),
             "space_kind": "desk", "date": "2027-03-01", "slot": "morning",
             "duration_minutes": 240}
    assert rpc("billing", as_component="booking").quote(payload=quote) == {
        "priced": False, "price_cents": 0}
    with pytest.raises(Exception) as refused:
        rpc("billing").quote(payload=quote)   # the gateway never quotes
    assert "UntrustedPublisher" in str(refused.value)
    # and notify, which may call identity, may not ask billing
    code, reason = refusal(broker.uri("notify"), lambda channel: rpc_request(
        channel, "billing.quote", user_id=broker.user_name("notify")))
    assert code == ACCESS_REFUSED


@pytest.mark.parametrize("attack", [
    pytest.param(lambda channel: channel.basic_get("rpc-booking"), id="read"),
    pytest.param(lambda channel: channel.basic_consume("rpc-booking", lambda *a: None),
                 id="consume"),
    pytest.param(lambda channel: channel.queue_purge("rpc-booking"), id="purge"),
    pytest.param(lambda channel: channel.queue_delete("rpc-booking"), id="delete"),
    pytest.param(lambda channel: channel.queue_declare("rpc-booking", durable=True),
                 id="declare"),
    pytest.param(lambda channel: channel.basic_get(DEACTIVATED), id="read-event-queue"),
    pytest.param(lambda channel: channel.queue_purge(dead_letter_queue_name(DEACTIVATED)),
                 id="purge-dead-letters"),
    # eavesdrop on booking's requests with a queue of its own
    pytest.param(lambda channel: channel.queue_bind(
        channel.queue_declare(f"rpc.reply-billing-{uuid.uuid4()}", exclusive=True
                              ).method.queue, "nameko-rpc", "booking.*"), id="eavesdrop"),
    pytest.param(lambda channel: channel.exchange_delete("booking.events"),
                 id="delete-another-services-exchange"),
])
def test_a_service_cannot_touch_another_services_queues(booking_running, broker, attack):
    code, reason = refusal(broker.uri("billing"), attack)
    assert code == ACCESS_REFUSED, reason
    connection = connect(broker.uri("booking"))
    try:  # booking's own user still finds its queue where it was
        assert connection.channel().queue_declare("rpc-booking", passive=True).method
    finally:
        connection.close()


def test_a_service_cannot_forge_another_services_events(booking_running, broker):
    member = str(uuid.uuid4())
    envelope = make_envelope("identity", "identity.user_deactivated", {
        "user_id": member, "organisation_id": ADMIN["organisation_id"]})
    body = json.dumps(envelope)
    notify = broker.uri("notify")
    # not on identity's exchange...
    code, _ = refusal(notify, lambda channel: channel.basic_publish(
        "identity.events", "identity.user_deactivated", body,
        pika.BasicProperties(content_type="application/json",
                             user_id=broker.user_name("notify"))))
    assert code == ACCESS_REFUSED
    # ...and what it drops straight into booking's queue is parked unread
    assert refusal(notify, lambda channel: channel.basic_publish(
        "", DEACTIVATED, body, pika.BasicProperties(
            content_type="application/json", user_id=broker.user_name("notify")))) is None
    dead = dead_letter_queue_name(DEACTIVATED)

    def parked():
        connection = connect(broker.uri("ops"))
        try:
            return connection.channel().queue_declare(dead, passive=True).method.message_count
        finally:
            connection.close()
    assert wait_for(lambda: parked() == 1)
    # ops sees it (through the management API, as relais-ops) and why it is there
    listed = deadletters.list_dead_letter_queues(
        auth=(broker.user_name("ops"), broker_users.development_password("ops")))
    assert (broker.vhost, dead) in {(vhost, name) for vhost, name, _ in listed}
    (shown,) = deadletters.show(broker.uri("ops"), DEACTIVATED)
    assert shown["untrusted_publisher"] == broker.user_name("notify")
    # ops never replays a forged event by mistake
    assert deadletters.replay(broker.uri("ops"), DEACTIVATED) == 0
    assert parked() == 1
    with booking_running.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar_one() == 0
