"""The queue-type setting, a cluster's nodes in one broker setting, and the
queues retired."""
import importlib

import pytest

from common import broker_users, config, queues
from common.consumer import ReliableEventHandler, ReliableQueueConsumer
from gateway.rpc import RpcClient
from tests.unit.test_security_broker_users import entrypoints

CLUSTER = "amqp://u:p@rabbit-0:5672/relais;amqp://u:p@rabbit-1:5672/relais"


def test_the_queue_type_is_classic_unless_set(monkeypatch):
    monkeypatch.delenv("RELAIS_QUEUE_TYPE", raising=False)
    assert config.queue_type() == "classic"
    monkeypatch.setenv("RELAIS_QUEUE_TYPE", "quorum")
    assert config.nameko_config("booking")["QUEUE_TYPE"] == "quorum"
    monkeypatch.setenv("RELAIS_QUEUE_TYPE", "mirrored")
    with pytest.raises(SystemExit, match="classic, quorum"):
        config.queue_type()


def test_classic_queues_take_no_type_and_quorum_ones_say_it():
    assert queues.durable_arguments("classic") == {}
    assert queues.durable_arguments("quorum") == {"x-queue-type": "quorum"}


def test_a_quorum_retry_queue_dead_letters_at_least_once():
    assert queues.retry_arguments("classic", 500, "evt-q") == {
        "x-message-ttl": 500, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "evt-q"}
    assert queues.retry_arguments("quorum", 500, "evt-q") == {
        "x-queue-type": "quorum", "x-message-ttl": 500, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "evt-q", "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish"}


@pytest.mark.parametrize("name, arguments", [
    ("rpc-booking", {"x-queue-type": "quorum"}),
    ("evt-booking-booking.confirmed--billing.on_booking_confirmed", {"x-queue-type": "quorum"}),
    ("evt-booking-booking.confirmed--billing.on_booking_confirmed.dead", {"x-queue-type": "quorum"}),
    ("evt-booking-booking.confirmed--billing.on_booking_confirmed.retry.5000",
     queues.retry_arguments("quorum", 5000,
                            "evt-booking-booking.confirmed--billing.on_booking_confirmed")),
])
def test_the_switch_declares_each_queue_as_its_service_does(name, arguments):
    assert queues.arguments_of(name, "quorum") == arguments


@pytest.mark.parametrize("name", ["rpc.reply-gateway-1234", "amq.gen-xyz", "test-listener-1",
                                  "evt-booking-booking.confirmed--billing.x.dead.switching"])
def test_the_switch_leaves_other_queues_alone(name):
    assert not queues.RELAIS_QUEUE.match(name)


def test_a_cluster_is_its_nodes_joined_by_semicolons():
    assert config.broker_nodes(CLUSTER + ";") == CLUSTER.split(";")
    assert config.broker_nodes("amqp://guest:guest@127.0.0.1:5672/") == [
        "amqp://guest:guest@127.0.0.1:5672/"]


def test_every_node_of_a_cluster_logs_in_as_the_component():
    uri = broker_users.with_user(CLUSTER, "relais-booking", "s3cret")
    assert uri == ("amqp://relais-booking:s3cret@rabbit-0:5672/relais;"
                   "amqp://relais-booking:s3cret@rabbit-1:5672/relais")
    assert broker_users.user_id_of(uri) == "relais-booking"


def test_the_gateway_tries_each_node_of_the_setting():
    client = RpcClient(CLUSTER.replace("amqp://", "pyamqp://"), timeout=1)
    assert client.nodes == CLUSTER.split(";")
    assert client.user_id == "u"


class _MessageOnADeadConnection:
    class channel:
        connection = object()   # nameko only acks on a connection it believes alive

    def ack(self):
        raise ConnectionResetError(104, "Connection reset by peer")

    requeue = ack


def test_an_ack_on_a_lost_connection_does_not_kill_the_service():
    """The broker redelivers an unacked message of a dead connection: nothing
    to do, and above all not to raise into nameko, which kills the container."""
    consumer = ReliableQueueConsumer()
    consumer.ack_message(_MessageOnADeadConnection())
    consumer.requeue_message(_MessageOnADeadConnection())


def consumed_queues(service):
    """The handler queues ``service`` declares now (nameko's names)."""
    return {f"evt-{ep.source_service}-{ep.event_type}--{service}.{method}"
            for method, ep in entrypoints(service) if isinstance(ep, ReliableEventHandler)}


def test_a_retired_queue_is_one_no_service_consumes_and_a_relais_queue():
    retired = [name for service in broker_users.SERVICES for name in getattr(
        importlib.import_module(f"services.{service}.service"), "RETIRED_QUEUES", ())]
    assert queues.retired_queues(["services.notify.service"]) == tuple(retired)
    consumed = set().union(*(consumed_queues(service) for service in broker_users.SERVICES))
    assert "evt-booking-booking.confirmed--notify.on_booking_confirmed" in consumed
    assert retired and set(retired) & consumed == set()
    assert all(queues.RELAIS_QUEUE.match(name) for name in retired)


def test_a_queue_is_retired_with_its_retry_and_dead_letter_queues_retry_ones_first():
    name = "evt-billing-billing.invoice_finalized--notify.on_invoice_finalized"
    listed = [name + ".dead", name, "rpc-notify", name + ".retry.500", name + "_2",
              name + ".retry.30000", name + ".dead.switching"]
    assert queues.family(name, listed) == [name + ".retry.30000", name + ".retry.500", name,
                                           name + ".dead"]
