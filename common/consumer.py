"""A nameko event handler that never drops an event.

nameko's ``event_handler`` acks a message even when the handler raises, which
silently loses it. ``consume_event`` acks only after success. On failure it
re-publishes the message (with publisher confirms, before the ack) to a retry
queue whose TTL dead-letters it back to the handler's queue: one retry queue per
backoff step. After the last step the message goes to ``<queue>.dead``, where
ops can inspect it and replay it (``python -m common.deadletters``).

Topology for a handler queue Q (nameko's name: ``evt-<source>-<type>--<service>.<method>``)::

    <source>.events --type--> Q --fails--> Q.retry.<ms> --TTL--> Q
                                           ... after the last retry --> Q.dead

If the worker dies mid-flight the message was never acked, so RabbitMQ
redelivers it; the handler's inbox check makes the redelivery harmless.

``consume_event(..., batches=True)`` (``BatchEventHandler``) consumes one
event type in batches, with the same guarantees per event: the events that
arrive while a batch is handled make the next one, handed to one worker.

Only the event's source publishes it: a message whose ``user_id`` (checked by
the broker, common/broker_users.py) is not the source's broker user, this
service's own (its retries) or the ops tool's (a replay) is parked in the
dead-letter queue unread, marked with ``x-relais-untrusted-publisher``, which
``common.deadletters`` never replays: a compromised service cannot forge
another's events.
"""
import functools
import logging
import re
import uuid
from datetime import datetime

from amqp.exceptions import ConnectionError as AmqpConnectionError
from amqp.exceptions import RecoverableConnectionError
from kombu import Queue
from kombu.common import maybe_declare
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher, get_connection
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import QueueConsumer

from common import broker_users, metrics, queues
from common.events import EnvelopeSchema

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-relais-attempt"
ERROR_HEADER = "x-relais-error"
ORIGIN_HEADER = "x-relais-origin-queue"
UNTRUSTED_HEADER = "x-relais-untrusted-publisher"

_envelope_schema = EnvelopeSchema()
_EVENT_TYPE = re.compile(r"^[a-z]+\.[a-z_]+$")


def plainly_an_envelope(body):
    """True when ``body`` is an envelope exactly as ``make_envelope`` writes it,
    checked in a few microseconds; anything else (including what the schema
    would still accept, such as a version sent as "1") goes through
    ``EnvelopeSchema``, which decides and says what is wrong."""
    try:
        return (type(body) is dict and type(body.get("data")) is dict
                and type(body.get("source")) is str
                and type(body.get("version")) is int and body["version"] >= 1
                and type(body.get("type")) is str and _EVENT_TYPE.fullmatch(body["type"]) is not None
                and type(body.get("event_id")) is str and bool(uuid.UUID(body["event_id"]))
                and type(body.get("occurred_at")) is str
                and datetime.fromisoformat(body["occurred_at"]).tzinfo is not None)
    except ValueError:
        return False


def retry_queue_name(queue_name, delay_ms):
    return f"{queue_name}.retry.{delay_ms}"


def dead_letter_queue_name(queue_name):
    return f"{queue_name}.dead"


# What an ack or a requeue raises when the broker node went away under it.
LOST_CONNECTION = (OSError, AmqpConnectionError, RecoverableConnectionError)


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer, whose acks survive losing the broker.

    nameko catches only amqp's ``ConnectionError`` around an ack: a socket
    reset (a broker node killed under a finishing worker) escaped and killed
    the whole service container. Nothing is lost by ignoring it: the broker
    hands every unacked message of a dead connection to the next consumer, and
    the inbox (events) or the idempotency key (RPCs) makes the redelivery
    harmless. Every Relais consumer uses it (events, RPCs, RPC replies), so
    they still share one connection, as nameko's do."""

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except LOST_CONNECTION as exc:
            log.warning("could not ack (%s): the broker will deliver it again", exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except LOST_CONNECTION as exc:
            log.warning("could not requeue (%s): the broker will deliver it again", exc)


class ReliableEventHandler(EventHandler):
    queue_consumer = ReliableQueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        queue_type = config.get("QUEUE_TYPE", queues.CLASSIC)
        # nameko declares the handler queue without arguments: the queue type is ours
        self.queue.queue_arguments = queues.durable_arguments(queue_type)
        self.retry_delays_ms = list(config.get("RETRY_DELAYS_MS", [500, 5000, 30000]))
        self.retry_queues = [
            Queue(retry_queue_name(self.queue.name, delay), durable=True,
                  queue_arguments=queues.retry_arguments(queue_type, delay, self.queue.name))
            for delay in self.retry_delays_ms
        ]
        self.dead_letter_queue = Queue(dead_letter_queue_name(self.queue.name), durable=True,
                                       queue_arguments=queues.durable_arguments(queue_type))
        with get_connection(config["AMQP_URI"]) as connection:
            channel = connection.channel()
            for queue in self.retry_queues + [self.dead_letter_queue]:
                maybe_declare(queue, channel)
        self.republisher = Publisher(config["AMQP_URI"], use_confirms=True, serializer="json",
                                     user_id=broker_users.user_id_of(config["AMQP_URI"]))
        user_prefix = config.get("BROKER_USER_PREFIX")
        self.trusted_publishers = frozenset(
            broker_users.user_name(component, user_prefix) for component in
            (self.source_service, self.container.service_name, broker_users.OPS))
        self.metrics = metrics.for_container(self.container)
        self.metrics.dead_letters.labels(self.container.service_name, self.dead_letter_queue.name
                                         ).set_function(self.dead_letter_depth)

    def dead_letter_depth(self):
        """Read at scrape time; -1 when the broker cannot tell (shows on dashboards)."""
        try:
            with get_connection(self.container.config["AMQP_URI"]) as connection:
                return connection.default_channel.queue_declare(
                    self.dead_letter_queue.name, passive=True).message_count
        except Exception:
            return -1

    def handle_message(self, body, message):
        if not self.parked_unread(body, message):
            super().handle_message(body, message)

    def parked_unread(self, body, message):
        """Park a message that must not be read (an untrusted publisher, a
        malformed envelope) in the dead-letter queue; True if it was."""
        publisher = message.properties.get("user_id")
        if publisher not in self.trusted_publishers:
            self.park(message, self.dead_letter_queue,
                      f"published by broker user {publisher!r}, not by {self.source_service}",
                      "dead_lettered", {UNTRUSTED_HEADER: publisher or "(none)"})
            return True
        # A malformed envelope can never succeed: park it at once, no retries.
        try:
            if not plainly_an_envelope(body):
                _envelope_schema.load(body)
        except (ValidationError, TypeError) as exc:
            error = f"not an event envelope: {getattr(exc, 'messages', exc)}"
            self.park(message, self.dead_letter_queue, error, "dead_lettered")
            return True
        return False

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        self.settle(message, None if exc_info is None else exc_info[1])
        return result, exc_info

    def settle(self, message, error=None):
        """Ack a handled message; park a failed one (``error``, the exception)
        in its next retry queue, or in the dead letters after the last."""
        if error is None:
            self.count("handled")
            self.queue_consumer.ack_message(message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        if attempt < len(self.retry_queues):
            target, outcome = self.retry_queues[attempt], "retried"
        else:
            target, outcome = self.dead_letter_queue, "dead_lettered"
        self.park(message, target, f"{type(error).__name__}: {error}", outcome)

    def park(self, message, target, error, outcome, extra_headers=None):
        """Move a failed message to a retry or dead-letter queue: publish (with
        confirm) first, ack after, so a crash in between duplicates, never loses."""
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        headers = dict(message.headers or {})
        headers.update({
            ATTEMPT_HEADER: attempt + 1,
            ERROR_HEADER: error[:1000],
            ORIGIN_HEADER: self.queue.name,
            **(extra_headers or {}),
        })
        try:
            self.republisher.publish(
                message.body, exchange="", routing_key=target.name, headers=headers,
                message_id=message.properties.get("message_id"),
                serializer=None, content_type=message.content_type,
                content_encoding=message.content_encoding,
            )
        except Exception:
            log.exception("could not park failed event; requeueing it instead")
            self.queue_consumer.requeue_message(message)
            return
        log.warning("event handler %s failed (attempt %s): %s -> %s",
                    self.method_name, attempt + 1, headers[ERROR_HEADER], target.name)
        self.count(outcome)
        self.queue_consumer.ack_message(message)

    def count(self, outcome):
        self.metrics.events_consumed.labels(
            self.container.service_name, self.event_type, outcome).inc()


class OneAtATimeQueueConsumer(ReliableQueueConsumer):
    """A broker connection of its own whose queues hand each consumer one
    message at a time (nameko's default is ``max_workers`` each)."""
    prefetch_count = 1


class OneAtATimeEventHandler(ReliableEventHandler):
    """For a handler that holds its worker long (billing renders a PDF for
    seconds): one event at a time, so a backlog of them (a month end) never
    takes the container's whole worker pool from its RPCs."""
    queue_consumer = OneAtATimeQueueConsumer()


# The most events one batch worker is handed (config ``EVENT_BATCH_MAX``).
MAX_BATCH = 100


def max_batch(config):
    return int(config.get("EVENT_BATCH_MAX", MAX_BATCH))


class BatchQueueConsumer(ReliableQueueConsumer):
    """A broker connection of its own for the batch consumers, whose queues
    hand each of them two batches' worth of messages: the batch being
    handled (unacked until its commit) and the next one, gathering
    meanwhile. With nameko's default (``max_workers``, 10 unacked) a batch
    could never pass 10, and the next one would gather nothing until the
    first was acked."""

    @property
    def prefetch_count(self):
        return 2 * max_batch(self.container.config)


class BatchEventHandler(ReliableEventHandler):
    """Consumes one event type in batches, the way a database commits a
    group of transactions: the first event starts a worker at once; the
    events that arrive while it works are gathered and handed together to the
    next worker, up to ``EVENT_BATCH_MAX``. At low load a batch is one event,
    handled without waiting for others; under load (the outbox relay
    publishes several events a pass) a worker, a transaction and its round
    trips serve many. One batch at a time per consumer and container.

    The method takes the list of envelopes and returns the ones that failed,
    as ``{position: exception}`` (``common.entrypoints.consumes_in_batches``
    writes that method). Each message is then settled alone, as
    ``ReliableEventHandler`` settles one: acked, or parked in its next retry
    queue or the dead letters; an untrusted or malformed one is parked before
    it joins a batch. Nothing is acked before the worker is over, so after its
    commit; a worker killed mid-batch leaves all its messages (and those
    gathered for the next batch) unacked, and the broker delivers them again.
    Each message is acked by itself: a ``multiple`` ack could take along a
    message of another consumer of the shared channel."""
    queue_consumer = BatchQueueConsumer()

    def setup(self):
        super().setup()
        self.max_batch = max_batch(self.container.config)
        self.gathered = []   # (body, message) waiting for the next batch
        self.batch_running = False
        self.stopping = False

    def stop(self):
        self.stopping = True
        super().stop()
        # Not handled: back to the queue now, rather than when the connection closes.
        gathered, self.gathered = self.gathered, []
        for _, message in gathered:
            self.queue_consumer.requeue_message(message)

    def handle_message(self, body, message):
        if not self.parked_unread(body, message):
            self.gathered.append((body, message))
            self.start_batch()

    def start_batch(self):
        """A worker for what is gathered, unless one is at work (then it
        starts the next batch when it is over)."""
        if self.batch_running or self.stopping or not self.gathered:
            return
        batch = self.gathered[:self.max_batch]
        del self.gathered[:self.max_batch]
        messages = [message for _, message in batch]
        self.batch_running = True
        try:
            # No message's headers: the events of a batch come from several
            # calls, so its worker starts a call id stack of its own.
            self.container.spawn_worker(
                self, ([body for body, _ in batch],), {}, context_data={},
                handle_result=functools.partial(self.settle_batch, messages))
        except ContainerBeingKilled:
            self.batch_running = False
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def settle_batch(self, messages, worker_ctx, result=None, exc_info=None):
        failed = {}
        if exc_info is not None:  # nothing of the batch can be said done
            failed = dict.fromkeys(range(len(messages)), exc_info[1])
        elif result:
            failed = result
        for position, message in enumerate(messages):
            self.settle(message, failed.get(position))
        self.batch_running = False
        if self.gathered:
            # From a thread of its own: this worker still holds its slot of
            # the pool, which the next one may need.
            self.container.spawn_managed_thread(self.start_batch,
                                                identifier=f"{self.method_name}.next_batch")
        return result, exc_info


def consume_event(source_service, event_type, one_at_a_time=False, batches=False):
    """Decorate a method ``handler(self, envelope)`` to consume one event type
    reliably: retried with backoff on failure, then dead-lettered.
    ``batches=True``: ``handler(self, envelopes)`` returns ``{position:
    exception}`` of those that failed (``BatchEventHandler``)."""
    if batches:
        handler = BatchEventHandler
    else:
        handler = OneAtATimeEventHandler if one_at_a_time else ReliableEventHandler
    return handler.decorator(source_service, event_type)
