"""Quorum queues, and switching a vhost's classic queues to quorum
(common/queues.py), on the test's own throw-away vhost.

The shared test broker is one node: a handful of quorum queues per test is
what it can carry, so these tests run a probe service with one RPC, one event
handler and one retry step (four queues), never the real services."""
import uuid
from urllib.parse import quote

import pytest
import requests

from common import deadletters, queues
from common.consumer import consume_event
from common.rpc import rpc
from tests.integration.conftest import RABBIT_API, wait_for

HANDLER_QUEUE = "evt-booking-booking.confirmed--notify.on_booking_confirmed"
PROBE_QUEUES = {"rpc-notify", HANDLER_QUEUE, HANDLER_QUEUE + ".retry.50",
                HANDLER_QUEUE + ".dead"}


class Probe:
    """Named notify: its broker user may declare notify's queues and read
    booking's events (common/broker_users.py)."""
    name = "notify"
    handled = []

    @consume_event("booking", "booking.confirmed")
    def on_booking_confirmed(self, envelope):
        if envelope["data"].get("fail"):
            raise RuntimeError("this event always fails")
        Probe.handled.append(envelope["event_id"])

    @rpc()
    def ping(self):
        return "pong"


@pytest.fixture
def probe(container_factory, config_for):
    Probe.handled = []

    def start(queue_type):
        container = container_factory(Probe, config_for(
            "notify", QUEUE_TYPE=queue_type, RETRY_DELAYS_MS=[50]))
        container.start()
        return container
    return start


@pytest.fixture
def management(rabbit_config):
    return queues.Broker(RABBIT_API.replace("guest:guest@", ""), ("guest", "guest"),
                         rabbit_config["vhost"])


def queue_types(management):
    return {q["name"]: q.get("type", "classic") for q in management.queues()
            if q["name"] in PROBE_QUEUES}


def depth(rabbit_config, name):
    return queues.depths(rabbit_config["AMQP_URI"], [name])[name][0]


def event(**data):
    return {"booking_id": str(uuid.uuid4()), **data}


def test_quorum_queues_retry_and_dead_letter(probe, management, rpc, publish_event,
                                             rabbit_config):
    probe(queues.QUORUM)
    assert queue_types(management) == dict.fromkeys(PROBE_QUEUES, "quorum")
    assert rpc("notify").ping() == "pong"

    handled = publish_event("booking", "booking.confirmed", event())
    failing = publish_event("booking", "booking.confirmed", event(fail=True))

    assert wait_for(lambda: Probe.handled == [handled["event_id"]])
    # tried, held 50 ms in the retry queue (dead-lettered back at least once), tried again, parked
    assert wait_for(lambda: depth(rabbit_config, HANDLER_QUEUE + ".dead") == 1)
    (parked,) = deadletters.show(rabbit_config["AMQP_URI"], HANDLER_QUEUE)
    assert (parked["body"]["event_id"], parked["attempts"]) == (failing["event_id"], 2)


def test_switch_to_quorum_keeps_dead_letters_and_bindings(probe, management, publish_event,
                                                          rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    running = probe(queues.CLASSIC)
    failing = publish_event("booking", "booking.confirmed", event(fail=True))
    assert wait_for(lambda: depth(rabbit_config, HANDLER_QUEUE + ".dead") == 1)

    with pytest.raises(queues.Refused, match="stop the services first"):
        queues.switch_to_quorum(management, amqp_uri)
    running.stop()
    waiting = publish_event("booking", "booking.confirmed", event())   # nobody consumes it now
    with pytest.raises(queues.Refused, match=f"{HANDLER_QUEUE} \\(1\\)"):
        queues.switch_to_quorum(management, amqp_uri)
    assert set(queue_types(management).values()) == {"classic"}   # refused: nothing changed

    draining = probe(queues.CLASSIC)   # the services drain their queues, and stop
    assert wait_for(lambda: Probe.handled == [waiting["event_id"]])
    draining.stop()
    switched = queues.switch_to_quorum(management, amqp_uri, say=lambda line: None)

    assert set(switched) == PROBE_QUEUES
    assert queue_types(management) == dict.fromkeys(PROBE_QUEUES, "quorum")
    (kept,) = deadletters.show(amqp_uri, HANDLER_QUEUE)
    assert kept["body"]["event_id"] == failing["event_id"]
    assert not [q for q in management.queues() if q["name"].endswith(queues.SWITCHING_SUFFIX)]

    # The queue is bound as before the service starts: an event published now
    # waits for it. Its own declarations agree with the tool's (no PRECONDITION_FAILED).
    early = publish_event("booking", "booking.confirmed", event())
    probe(queues.QUORUM)
    assert wait_for(lambda: Probe.handled[-1:] == [early["event_id"]])
    vhost = quote(rabbit_config["vhost"], safe="")
    bindings = requests.get(f"{RABBIT_API}/queues/{vhost}/{quote(HANDLER_QUEUE, safe='')}"
                            "/bindings", timeout=10).json()
    assert [(b["source"], b["routing_key"]) for b in bindings if b["source"]] == [
        ("booking.events", "booking.confirmed")]
