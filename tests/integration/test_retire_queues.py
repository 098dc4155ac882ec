"""Retiring the queues of consumers a service no longer has
(``python -m common.queues retire``), on the test's own vhost of the real
RabbitMQ: each with its retry and dead-letter queues, only when empty unless
--force, never while a process consumes it, and never a queue still in use."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection

from common import queues
from services.notify.service import RETIRED_QUEUES
from tests.integration.conftest import RABBIT_API

ROOT = Path(__file__).resolve().parents[2]
IN_USE = "evt-booking-booking.confirmed--notify.on_booking_confirmed"
HOLDING = "evt-billing-billing.invoice_finalized--notify.on_invoice_finalized"


@pytest.fixture
def management(rabbit_config):
    return queues.Broker(RABBIT_API.replace("guest:guest@", ""), ("guest", "guest"),
                         rabbit_config["vhost"])


def family(name):
    return [name, name + ".retry.500", name + ".retry.5000", name + ".dead"]


@pytest.fixture
def upgraded_broker(management, rabbit_config):
    """A vhost that ran the former notify: every retired queue's family, one
    dead letter left in one of them, and the queues the new notify uses."""
    for name in [*family(IN_USE), *(queue for name in RETIRED_QUEUES for queue in family(name))]:
        management.declare(name, queues.durable_arguments(queues.CLASSIC))
    publish(rabbit_config, HOLDING + ".dead")
    return management


def publish(rabbit_config, queue):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        connection.Producer().publish({"event_id": "e-1"}, exchange="", routing_key=queue,
                                      delivery_mode=2)


def names(management):
    return {queue["name"] for queue in management.queues()}


def retire(rabbit_config, *options):
    env = dict(os.environ, RELAIS_AMQP_URI=rabbit_config["AMQP_URI"],
               RELAIS_BROKER_API=RABBIT_API.replace("guest:guest@", ""),
               RELAIS_BROKER_VHOST=rabbit_config["vhost"])
    return subprocess.run([sys.executable, "-m", "common.queues", "retire",
                           "services.notify.service", *options], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_retire_deletes_the_empty_retired_queues_and_leaves_a_holding_one_until_forced(
        upgraded_broker, rabbit_config):
    first = retire(rabbit_config)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "1 retired queue(s) left" in first.stderr
    assert f"{HOLDING}: left, messages wait in {HOLDING}.dead (1)" in first.stdout
    assert f"{RETIRED_QUEUES[0]}.retry.500: deleted" in first.stdout
    assert names(upgraded_broker) == {*family(IN_USE), *family(HOLDING)}

    again = retire(rabbit_config)   # the rest is already gone: said, not an error
    assert f"{RETIRED_QUEUES[0]}: not there" in again.stdout

    forced = retire(rabbit_config, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert f"{HOLDING}.dead: deleted, 1 message(s) dropped" in forced.stdout
    assert names(upgraded_broker) == set(family(IN_USE))


def test_a_retired_queue_a_process_still_consumes_is_left_even_forced(
        management, rabbit_config):
    retired = RETIRED_QUEUES[0]
    for name in family(retired):
        management.declare(name, queues.durable_arguments(queues.CLASSIC))
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        channel.basic_consume(retired, callback=lambda message: None)
        said = []
        deleted, left = queues.retire(management, rabbit_config["AMQP_URI"], [retired],
                                      force=True, say=said.append)
    assert (deleted, left) == ([], [retired])
    assert said == [f"{retired}: left, a process still consumes {retired} "
                    "(one of the former version?)"]
    assert set(family(retired)) <= names(management)
