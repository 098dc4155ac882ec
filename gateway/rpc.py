"""A pika client that speaks nameko's AMQP RPC protocol.

Request: published to the ``nameko-rpc`` topic exchange with routing key
``service.method``, body ``{"args": [], "kwargs": {...}}``, ``content_type``
application/json (without it the nameko worker crashes), ``reply_to`` a routing
key bound to our reply queue on the same exchange, and the
``nameko.call_id_stack`` header. Reply: ``{"result": ..., "error": null|{...}}``.

pika connections are not thread-safe: each thread of each gunicorn worker gets
its own client, opened on first use (so after the fork).

An idle connection stays alive: a blocking pika connection answers the
broker's heartbeats only while someone drives its I/O, so a keeper thread per
process drives each idle client's connection (under the client's lock, never
while its thread uses it). Should the broker drop a connection anyway, every
use of it (a call, the readiness probe) reconnects once before giving up.

Every request carries the ``user_id`` of the gateway's broker user: the broker
checks it against the connection, and services accept caller context only
from the users allowed to call them (``common/rpc.py``).
"""
import json
import logging
import threading
import time
import uuid
import weakref

import pika
from pika.exceptions import AMQPError

from common.broker_users import user_id_of
from common.config import broker_nodes
from gateway import jsoncodec

RPC_EXCHANGE = "nameko-rpc"
# What the broker (and ops, in its management pages) calls our connections.
CONNECTION_NAME = "relais-gateway"
# How often idle connections are driven: well within any heartbeat timeout
# (RabbitMQ's default is 60 s; it drops a connection after two missed beats).
KEEP_ALIVE_SECONDS = 5.0

log = logging.getLogger("gateway.rpc")


class RpcUnavailable(Exception):
    """The broker is unreachable, or no queue takes this service's calls."""


class RpcTimeout(Exception):
    """The service did not answer in time."""


class RemoteError(Exception):
    """The service answered with an error."""

    def __init__(self, error):
        super().__init__(error.get("value"))
        self.exc_type = error.get("exc_type")
        self.exc_path = error.get("exc_path")
        self.exc_args = error.get("exc_args") or []


class RpcClient:
    def __init__(self, amqp_uri, timeout):
        # One node or a cluster's, ``;``-separated as the services take them
        # (common/config.py). kombu also accepts pyamqp://; pika knows only amqp://.
        self.nodes = [node.replace("pyamqp://", "amqp://", 1) for node in broker_nodes(amqp_uri)]
        self.user_id = user_id_of(self.nodes[0])
        self.timeout = timeout
        self.connection = None
        self.pending = None
        # Held by the thread that owns the client while it uses it, and by the
        # keeper while it drives an idle connection.
        self.lock = threading.Lock()

    def connect(self):
        # pika tries the nodes in turn and connects to the first that answers.
        nodes = [pika.URLParameters(node) for node in self.nodes]
        for parameters in nodes:
            parameters.client_properties = {"connection_name": CONNECTION_NAME}
        self.connection = pika.BlockingConnection(nodes)
        self.channel = self.connection.channel()
        # declared with the broker users (common/broker_users.py): only checked here
        self.channel.exchange_declare(RPC_EXCHANGE, passive=True)
        self.reply_key = f"gateway-{uuid.uuid4()}"
        queue = f"rpc.reply-{self.reply_key}"
        self.channel.queue_declare(queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(queue, RPC_EXCHANGE, routing_key=self.reply_key)
        self.channel.basic_consume(queue, self._on_reply, auto_ack=True)
        self.channel.add_on_return_callback(self._on_return)

    def close(self):
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.close()
            except AMQPError:
                pass
        self.connection = None

    # One thread uses a client, so at most one call is in flight: anything that
    # is not about it (a reply that came after its call timed out) is dropped.
    def _on_reply(self, channel, method, properties, body):
        if properties.correlation_id == self.pending:
            self.reply = body

    def _on_return(self, channel, method, properties, body):
        if properties.correlation_id == self.pending:
            self.unroutable = True

    def _connected(self, action):
        """``action()`` on an open connection, reconnecting once if it went
        stale (the broker may have dropped it: a restart, an idle cut)."""
        for attempt in (1, 2):
            try:
                if self.connection is None or not self.connection.is_open:
                    self.connect()
                return action()
            except AMQPError as exc:
                self.close()
                if attempt == 2:
                    raise RpcUnavailable(f"message broker unreachable: {type(exc).__name__}")

    def _publish(self, routing_key, body, properties):
        def publish():
            properties.reply_to = self.reply_key
            self.channel.basic_publish(RPC_EXCHANGE, routing_key, body, properties,
                                       mandatory=True)
        self._connected(publish)

    def keep_alive(self):
        """Drive an idle connection's I/O (heartbeats both ways), if nobody is
        using it; a connection found dead is closed, to reopen on next use."""
        if not self.lock.acquire(blocking=False):
            return  # in use: its own thread drives it
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.process_data_events(time_limit=0)
        except AMQPError:
            self.close()
        finally:
            self.lock.release()

    def call(self, service, method, call_id_stack=(), timeout=None, **kwargs):
        with self.lock:
            return self._call(service, method, call_id_stack, timeout, **kwargs)

    def _call(self, service, method, call_id_stack=(), timeout=None, **kwargs):
        timeout = timeout or self.timeout
        correlation_id = str(uuid.uuid4())
        properties = pika.BasicProperties(
            correlation_id=correlation_id,
            content_type="application/json",
            user_id=self.user_id,
            headers={"nameko.call_id_stack": list(call_id_stack)},
            # A request nobody took in time is dropped rather than run late.
            expiration=str(int(timeout * 1000)),
        )
        body = json.dumps({"args": [], "kwargs": kwargs})
        self.pending, self.reply, self.unroutable = correlation_id, None, False
        self._publish(f"{service}.{method}", body, properties)
        deadline = time.monotonic() + timeout
        try:
            while self.reply is None:
                if self.unroutable:
                    raise RpcUnavailable(f"no {service} service is listening")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RpcTimeout(f"{service}.{method} did not answer in {timeout:g} s")
                self.connection.process_data_events(time_limit=min(remaining, 1.0))
        except AMQPError as exc:
            self.close()
            raise RpcUnavailable(f"message broker connection lost: {type(exc).__name__}")
        finally:
            self.pending = None
        reply = jsoncodec.loads(self.reply)
        if reply.get("error"):
            raise RemoteError(reply["error"])
        return reply.get("result")

    def queue_consumers(self, queue):
        """How many consumers a queue has (None: no such queue)."""
        def count():
            probe = self.connection.channel()  # a failed passive declare closes its channel
            try:
                return probe.queue_declare(queue, passive=True).method.consumer_count
            except pika.exceptions.ChannelClosedByBroker:
                return None
            finally:
                if probe.is_open:
                    probe.close()
        with self.lock:
            return self._connected(count)


class ThreadLocalRpc:
    """One RpcClient per thread, created on first use; a keeper thread, started
    with the first client (so after gunicorn's fork), keeps them alive."""

    def __init__(self, amqp_uri, timeout, keep_alive_seconds=KEEP_ALIVE_SECONDS):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.keep_alive_seconds = keep_alive_seconds
        self.local = threading.local()
        self.clients = weakref.WeakSet()
        self.keeper = None
        self.keeper_lock = threading.Lock()

    @property
    def client(self):
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = RpcClient(self.amqp_uri, self.timeout)
            with self.keeper_lock:
                self.clients.add(client)
                if self.keeper is None:
                    self.keeper = threading.Thread(target=self._keep_alive, daemon=True,
                                                   name="rpc-keep-alive")
                    self.keeper.start()
        return client

    def _keep_alive(self):
        while True:
            time.sleep(self.keep_alive_seconds)
            with self.keeper_lock:
                clients = list(self.clients)
            for client in clients:
                try:
                    client.keep_alive()
                except Exception:  # the keeper must outlive any one connection
                    log.exception("keeping an RPC connection alive failed")

    def call(self, service, method, **kwargs):
        return self.client.call(service, method, **kwargs)
