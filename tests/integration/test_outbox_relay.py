"""The outbox relay against real PostgreSQL and RabbitMQ: a batch of rows is
claimed, published and confirmed once, and marked in the same transaction; a
broker that cannot confirm leaves every row of the batch unsent."""
import threading
import types

import pytest

from common.db import make_engine
from common.events import make_envelope
from common.outbox import BatchPublisher, OutboxRelay
from services.booking.models import Base
from tests.integration.conftest import database_url, rows


def relay_for(engine, amqp_uri):
    container = types.SimpleNamespace(service_name="booking", config={"AMQP_URI": amqp_uri})
    return OutboxRelay(engine, Base.metadata.tables["outbox"], container, threading.Event())


@pytest.fixture
def engine(databases):
    engine = make_engine(database_url("booking"))
    yield engine
    engine.dispose()


def write_events(engine, count):
    envelopes = [make_envelope("booking", "booking.relay_updated", {"n": n}) for n in range(count)]
    outbox = Base.metadata.tables["outbox"]
    with engine.begin() as connection:
        connection.execute(outbox.insert(), [
            {"event_id": e["event_id"], "event_type": e["type"], "envelope": e} for e in envelopes])
    return envelopes


def test_a_batch_is_published_with_one_confirm_and_marked_in_one_transaction(
        engine, rabbit_config, listen, monkeypatch):
    received = listen("booking", "booking.#")
    relay = relay_for(engine, rabbit_config["AMQP_URI"])
    batches = []
    real = BatchPublisher._publish_all
    monkeypatch.setattr(BatchPublisher, "_publish_all",
                        lambda self, messages: batches.append(len(messages)) or real(self, messages))
    envelopes = write_events(engine, 30)
    try:
        assert relay.publish_batch() == 30
    finally:
        relay.publisher.close()

    assert batches == [30]
    assert (relay.publisher.published, relay.publisher.confirmed) == (30, 30)
    marks = rows(engine, "SELECT DISTINCT published_at FROM outbox")
    assert len(marks) == 1 and marks[0]["published_at"] is not None  # one transaction's now()
    events = received(30)
    assert [e["event_id"] for e in events] == [e["event_id"] for e in envelopes]  # in order
    assert relay.metrics.registry.get_sample_value(
        "relais_events_published_total",
        {"service": "booking", "event_type": "booking.relay_updated"}) == 30


def test_a_broker_that_cannot_confirm_leaves_the_whole_batch_unsent(
        engine, rabbit_config, listen):
    received = listen("booking", "booking.#")
    write_events(engine, 5)
    away = relay_for(engine, "amqp://guest:guest@127.0.0.1:1/")  # nothing listens there
    with pytest.raises(OSError):
        away.publish_batch()
    assert len(rows(engine, "SELECT id FROM outbox WHERE published_at IS NULL")) == 5

    relay = relay_for(engine, rabbit_config["AMQP_URI"])
    try:
        assert relay.publish_batch() == 5
        # A connection the broker closed meanwhile is reopened once, in the pass.
        relay.publisher.connection.connection.sock.close()
        write_events(engine, 2)
        assert relay.publish_batch() == 2
    finally:
        relay.publisher.close()
    assert len(received(7)) == 7
    assert rows(engine, "SELECT id FROM outbox WHERE published_at IS NULL") == []


def test_two_relays_never_publish_a_row_twice(engine, rabbit_config, listen):
    """Replicas share the backlog: SKIP LOCKED hands each row to one pass."""
    import eventlet
    received = listen("booking", "booking.#")
    write_events(engine, 400)
    relays = [relay_for(engine, rabbit_config["AMQP_URI"]) for _ in range(2)]

    def drain(relay):
        total = 0
        while (count := relay.publish_batch()):
            total += count
        return total

    try:
        counts = [thread.wait() for thread in [eventlet.spawn(drain, r) for r in relays]]
    finally:
        for relay in relays:
            relay.publisher.close()
    assert sum(counts) == 400
    events = received(400)
    assert len({e["event_id"] for e in events}) == 400
    assert received(1, timeout=0.5) == []
