"""The gateway's pika client speaking nameko's RPC protocol to real services."""
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlparse

import pytest
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc

from common.service import CallContext
from gateway.rpc import RemoteError, RpcClient, RpcTimeout, RpcUnavailable, ThreadLocalRpc
from services.booking.service import BookingService
from tests.broker import close_connections, named_connections
from tests.polling import wait_for


class Spy:
    name = "spy"
    call_id_stack = CallContext()

    @rpc
    def echo(self, value):
        return {"value": value, "call_id_stack": self.call_id_stack}


@pytest.fixture
def client(rabbit_config, broker):
    """A client logged in as the broker's admin: it may call the test's own services
    (``broker`` declares the RPC exchange, as in every deployment)."""
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=1.5)
    yield client
    client.close()


@pytest.fixture
def gateway_client(broker):
    """A client logged in as the gateway's broker user, the only one Relais services take."""
    client = RpcClient(broker.uri("gateway"), timeout=1.5)
    yield client
    client.close()


def test_a_call_carries_json_both_ways_and_the_call_id_stack(container_factory, rabbit_config,
                                                            client):
    container_factory(Spy, rabbit_config).start()
    answer = client.call("spy", "echo", call_id_stack=["gateway.get.abc"],
                         value={"text": "Guéret", "cents": 1250, "ok": True})
    assert answer["value"] == {"text": "Guéret", "cents": 1250, "ok": True}
    stack = answer["call_id_stack"]
    assert stack[0] == "gateway.get.abc"
    assert stack[1].startswith("spy.echo.")


def test_a_node_down_in_a_cluster_setting_is_skipped(container_factory, rabbit_config):
    """RELAIS_AMQP_URI lists a cluster's nodes with ``;``: the gateway connects
    to the first that answers (here the first is a closed port)."""
    container_factory(Spy, rabbit_config).start()
    down = rabbit_config["AMQP_URI"].replace(":5672/", ":9/", 1)
    client = RpcClient(f"{down};{rabbit_config['AMQP_URI']}", timeout=1.5)
    try:
        assert client.call("spy", "echo", value=1)["value"] == 1
    finally:
        client.close()


def test_a_service_error_comes_back_with_its_exception_path(start_service, gateway_client):
    start_service(BookingService)
    with pytest.raises(RemoteError) as error:
        gateway_client.call("booking", "get_relay", relay_id="00000000-0000-4000-8000-000000000000")
    assert error.value.exc_path == "common.errors.NotFound"
    assert error.value.exc_args[1] == "not-found"


def test_a_service_nobody_listens_for_is_unavailable_at_once(rabbit_config, client):
    started = time.monotonic()
    with pytest.raises(RpcUnavailable):
        client.call("nobody", "anything")
    assert time.monotonic() - started < 1.0


def test_a_service_that_does_not_answer_times_out(rabbit_config, client):
    # A queue bound like a nameko service's, with no consumer: the call is routed
    # but never answered.
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-sleepy", exchange=exchange, routing_key="sleepy.*",
              durable=True)(connection.default_channel).declare()
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        client.call("sleepy", "work")
    assert 1.4 < time.monotonic() - started < 3.0
    assert client.queue_consumers("rpc-sleepy") == 0
    assert client.queue_consumers("rpc-absent") is None


def test_the_client_reconnects_after_losing_its_connection(container_factory, rabbit_config,
                                                            client):
    container_factory(Spy, rabbit_config).start()
    assert client.call("spy", "echo", value=1)["value"] == 1
    client.connection.close()  # as when the broker drops an idle connection
    assert client.call("spy", "echo", value=2)["value"] == 2


def vhost_of(rabbit_config):
    return unquote(urlparse(rabbit_config["AMQP_URI"]).path[1:])


def test_the_readiness_probe_reconnects_when_the_broker_dropped_every_connection(
        start_service, rabbit_config, broker):
    """What /ready asks: after the broker closed the gateway's connections (an
    idle cut, a broker restart), each thread's next probe reconnects once
    instead of answering "broker unreachable"."""
    start_service(BookingService)
    rpc = ThreadLocalRpc(broker.uri("gateway"), timeout=1.5)
    threads = ThreadPoolExecutor(8)

    def probe(_):
        return rpc.client.queue_consumers("rpc-booking")

    # Eight threads, each with its own connection (more probes than threads).
    assert wait_for(lambda: set(threads.map(probe, range(32))) == {1})
    assert close_connections(vhost_of(rabbit_config), expected=len(rpc.clients)) >= 2
    assert list(threads.map(probe, range(32))) == [1] * 32
    # ... and so do calls.
    assert isinstance(threads.submit(lambda: rpc.call("booking", "list_relays")).result(), list)
    threads.shutdown()


def test_an_idle_connection_answers_the_brokers_heartbeats(rabbit_config, broker):
    """With one-second heartbeats the broker drops a connection nobody drives
    within a few seconds; the keeper drives idle ones, so the same connection
    is still open and in use after an idle spell."""
    rpc = ThreadLocalRpc(broker.uri("gateway") + "?heartbeat=1", timeout=1.5,
                         keep_alive_seconds=0.2)
    client = rpc.client
    assert client.queue_consumers("rpc-nobody") is None
    connection = client.connection
    time.sleep(5)  # idle: well past two missed heartbeats
    assert client.queue_consumers("rpc-nobody") is None
    assert client.connection is connection and connection.is_open
    assert len(named_connections(vhost_of(rabbit_config))) == 1
    client.close()
