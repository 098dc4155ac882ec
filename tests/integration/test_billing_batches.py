"""billing's ``booking.confirmed`` consumer takes its events in batches
(``common.consumer.BatchEventHandler``, ``common.entrypoints.consumes_in_batches``),
through real RabbitMQ queues and a real PostgreSQL: what arrives while a batch
is handled is gathered into the next one; each event keeps its own inbox mark,
its own retries and dead letter; nothing is lost when a worker dies.

To make a batch deterministic, the first event's worker is held inside its
transaction (``HeldFirstBatch``) while the next events arrive: they can only
gather, then are handed over together once it is released."""
import time
from unittest import mock

import eventlet
import pytest
from sqlalchemy import event

from common import deadletters
from common.consumer import BatchEventHandler
from services.billing import usage
from services.billing.service import BillingService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import (  # noqa: F401 (a fixture)
    BILLING_QUEUE, billing_with_rate_card, confirmed_booking, usage_lines,
)


class HeldFirstBatch:
    """``usage.record_usages`` that notes each batch's bookings and holds the
    first batch until ``release()`` (or for ever: ``stuck_batch``, a batch
    whose worker is killed)."""

    def __init__(self, stuck_batch=None):
        self.batches = []
        self.entered = eventlet.Event()
        self.released = eventlet.Event()
        self.stuck_batch = stuck_batch
        self.real = usage.record_usages

    def __call__(self, uow, bookings):
        self.batches.append([booking["booking_id"] for booking in bookings])
        if len(self.batches) == 1:
            self.entered.send()
            self.released.wait()
        if len(self.batches) == self.stuck_batch:
            eventlet.sleep(60)  # the worker is killed here, inside its transaction
        return self.real(uow, bookings)

    def release(self):
        self.released.send()

    def sizes(self):
        return [len(batch) for batch in self.batches]


@pytest.fixture
def held():
    recorder = HeldFirstBatch()
    with mock.patch.object(usage, "record_usages", recorder):
        yield recorder
    if not recorder.released.ready():
        recorder.release()


def batch_handler(container):
    (handler,) = [entrypoint for entrypoint in container.entrypoints
                  if isinstance(entrypoint, BatchEventHandler)]
    return handler


def gathered(container, count):
    """Wait until ``count`` events wait for the next batch."""
    return wait_for(lambda: len(batch_handler(container).gathered) == count)


def outcome(container, name):
    return container.relais_metrics.events_consumed.labels(
        "billing", "booking.confirmed", name)._value.get()


def workers(container):
    """How many workers ran the consumer (EntrypointMetrics times each one)."""
    return container.relais_metrics.registry.get_sample_value(
        "relais_entrypoint_latency_seconds_count",
        {"service": "billing", "entrypoint": "on_booking_confirmed"})


def counting_statements(container):
    """The statements the consumer sends to billing's database (the outbox
    relay's polling on the same engine is left out)."""
    (database,) = [provider for provider in container.dependencies
                   if getattr(provider, "attr_name", None) == "db"]
    sent = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def note(connection, cursor, statement, parameters, context, executemany):
        if any(table in statement for table in ("inbox", "usage_lines", "rate_cards")):
            sent.append(statement.split()[0])
    return sent


def booking_ids(databases):
    return sorted(str(line["booking_id"]) for line in usage_lines(databases))


def test_a_burst_of_bookings_is_recorded_by_two_workers_and_six_statements(
        billing_with_rate_card, publish_event, databases, held):
    container = billing_with_rate_card()
    statements = counting_statements(container)
    first = publish_event("booking", "booking.confirmed", confirmed_booking())
    held.entered.wait(10)
    # More than nameko's max_workers (10): the prefetch lets a batch pass it.
    burst = [publish_event("booking", "booking.confirmed", confirmed_booking())
             for _ in range(29)]
    assert gathered(container, 29)
    held.release()

    assert wait_for(lambda: len(usage_lines(databases)) == 30)
    assert held.sizes() == [1, 29]
    assert booking_ids(databases) == sorted(
        envelope["data"]["booking_id"] for envelope in [first] + burst)
    assert wait_for(lambda: workers(container) == 2)
    # each batch: its inbox marks, its prices in force, its lines
    assert statements == ["INSERT", "SELECT", "INSERT"] * 2
    assert wait_for(lambda: outcome(container, "handled") == 30)  # still counted per event
    assert len(rows(databases["billing"], "SELECT * FROM inbox WHERE consumer = "
                    "'billing.on_booking_confirmed'")) == 30


def test_at_low_load_an_event_is_handled_at_once_alone(billing_with_rate_card, publish_event,
                                                       databases):
    container = billing_with_rate_card()
    recorded = HeldFirstBatch()
    recorded.release()
    with mock.patch.object(usage, "record_usages", recorded):
        for number in (1, 2):
            published = time.monotonic()
            publish_event("booking", "booking.confirmed", confirmed_booking())
            assert wait_for(lambda: len(usage_lines(databases)) == number, timeout=5)
            # no timer waits for a batch to fill (a batch may hold 100 events)
            assert time.monotonic() - published < 1.0
    assert recorded.sizes() == [1, 1]
    assert workers(container) == 2


def test_an_event_delivered_twice_in_a_batch_and_again_later_leaves_one_line(
        billing_with_rate_card, publish_event, databases, held):
    container = billing_with_rate_card()
    publish_event("booking", "booking.confirmed", confirmed_booking())
    held.entered.wait(10)
    twice = publish_event("booking", "booking.confirmed", confirmed_booking())
    publish_event("booking", "booking.confirmed", None, envelope=twice)
    other = publish_event("booking", "booking.confirmed", confirmed_booking())
    assert gathered(container, 3)
    held.release()
    assert wait_for(lambda: len(usage_lines(databases)) == 3)
    # the second copy was not handed to the handler
    assert held.batches[1] == [twice["data"]["booking_id"], other["data"]["booking_id"]]

    publish_event("booking", "booking.confirmed", None, envelope=twice)  # a later batch
    assert wait_for(lambda: outcome(container, "handled") == 5)
    assert len(held.batches) == 2  # the redelivery found its inbox mark: no work
    assert len(usage_lines(databases)) == 3
    assert len(rows(databases["billing"], "SELECT * FROM inbox WHERE event_id = :id",
                    id=twice["event_id"])) == 1


def test_a_poison_event_goes_to_retry_then_dead_letters_while_its_batch_commits(
        billing_with_rate_card, publish_event, databases, broker, held):
    container = billing_with_rate_card()
    publish_event("booking", "booking.confirmed", confirmed_booking())
    held.entered.wait(10)
    # Valid for its contract, but too long for the line's INTEGER column: the
    # batch's one INSERT fails, so the whole batch's transaction does.
    poison = dict(confirmed_booking(), duration_minutes=2 ** 31)
    good = [confirmed_booking() for _ in range(4)]
    for booking in good[:2] + [poison] + good[2:]:
        publish_event("booking", "booking.confirmed", booking)
    assert gathered(container, 5)
    held.release()

    parked = wait_for(lambda: deadletters.show(broker.uri("ops"), BILLING_QUEUE))
    (dead,) = parked
    assert dead["body"]["data"]["booking_id"] == poison["booking_id"]
    assert dead["attempts"] == 3  # the batch (then alone), and two retries alone
    assert "out of range" in dead["error"]
    assert held.sizes()[:2] == [1, 5]
    assert sorted(held.sizes()[2:]) == [1, 1, 1, 1, 1, 1, 1]  # apart: 5, then 2 retries
    lines = booking_ids(databases)
    assert len(lines) == 5 and poison["booking_id"] not in lines
    assert set(booking["booking_id"] for booking in good) <= set(lines)
    assert wait_for(lambda: (outcome(container, "handled"), outcome(container, "retried"),
                             outcome(container, "dead_lettered")) == (5, 2, 1))


def test_a_worker_killed_mid_batch_loses_nothing(billing_with_rate_card, publish_event,
                                                 databases, container_factory, config_for):
    recorder = HeldFirstBatch(stuck_batch=2)
    first = billing_with_rate_card()
    with mock.patch.object(usage, "record_usages", recorder):
        publish_event("booking", "booking.confirmed", confirmed_booking())
        recorder.entered.wait(10)
        burst = [publish_event("booking", "booking.confirmed", confirmed_booking())
                 for _ in range(5)]
        assert gathered(first, 5)
        recorder.release()
        # the second batch is inside its transaction (its inbox marks written)
        assert wait_for(lambda: recorder.sizes() == [1, 5])
        first.kill()
        assert len(usage_lines(databases)) == 1
        assert not rows(databases["billing"], "SELECT 1 FROM inbox WHERE event_id::text = "
                        "ANY(:ids)", ids=[envelope["event_id"] for envelope in burst])
        second = container_factory(BillingService, config_for("billing"))
        second.start()
        assert wait_for(lambda: len(usage_lines(databases)) == 6)
    eventlet.sleep(0.3)  # room for a duplicate to show up
    assert len(usage_lines(databases)) == 6
    assert set(envelope["data"]["booking_id"] for envelope in burst) <= set(booking_ids(databases))
