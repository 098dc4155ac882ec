"""The queues Relais declares, classic or quorum; switching a running
deployment from classic to quorum queues; retiring the queues of consumers
that are gone.

``RELAIS_QUEUE_TYPE`` (common/config.py) says which kind every durable queue
is: a service's RPC queue (``rpc-<service>``), each event handler's queue
(``evt-<source>-<type>--<service>.<method>``) and its retry (``.retry.<ms>``)
and dead-letter (``.dead``) queues. ``classic`` suits one broker node (the
development and test broker); ``quorum`` replicates each queue on a majority
of a cluster's nodes, so losing one node loses no message (production). Reply
queues stay classic: they are exclusive to one connection, which a quorum
queue cannot be. Every declaration takes its arguments from here, so they
agree: RabbitMQ refuses (``PRECONDITION_FAILED``) a declaration whose
arguments differ from the queue's.

A queue's type cannot change in place. To switch a deployment (see the
README's operations section)::

    # stop every service (the gateway may stay: it answers 503 meanwhile)
    RELAIS_BROKER_API=http://rabbitmq:15672/api RELAIS_BROKER_VHOST=/ \\
    RELAIS_AMQP_URI=amqp://admin:...@rabbitmq:5672/ \\
        python -m common.queues switch-to-quorum
    # set RELAIS_QUEUE_TYPE=quorum on every service and start them

Nothing is lost while the services are stopped: events they emit wait,
unpublished, in their outbox tables. The tool refuses to run while a service
consumes a queue or while a queue other than a dead-letter queue holds a
message (start the services, let them drain, stop them, run it again). Each
classic queue is deleted and declared again as quorum with the same arguments
and bindings, before any service starts: so no event published by the first
service to start can find its consumer's queue missing. A dead-letter queue's
messages are moved to a temporary quorum queue and back (publisher confirms
before each ack): a run that stopped half-way is finished by running it again.

Retiring the queues of consumers a service no longer has (its
``RETIRED_QUEUES``, next to its consumers in its service module, named as
``common.run`` takes it), as the broker's administrator, with the same
environment::

    python -m common.queues retire services.notify.service [--force]

deletes each one with its retry and dead-letter queues, saying what it does.
A queue a process still consumes (one of the former version) is always left;
one whose family holds a message is left unless ``--force`` (which drops the
messages): move them first where the README says.
"""
import argparse
import importlib
import re
import sys
from urllib.parse import quote, unquote, urlparse

import requests
from kombu import Connection

from common import config
from common.broker_users import user_id_of

CLASSIC, QUORUM = config.QUEUE_TYPES

# The durable queues of Relais (names in common/broker_users.py).
RELAIS_QUEUE = re.compile(r"^(rpc-[a-z]+|evt-[a-z]+-[a-z]+\.[a-z_]+--[a-z]+\.[a-z_0-9]+"
                          r"(\.retry\.(?P<delay>[0-9]+)|\.dead)?)$")
SWITCHING_SUFFIX = ".switching"   # where a dead-letter queue's messages wait meanwhile


def durable_arguments(queue_type, **arguments):
    """The arguments of a durable Relais queue of ``queue_type``."""
    if queue_type == QUORUM:
        return {"x-queue-type": QUORUM, **arguments}
    return dict(arguments)


def retry_arguments(queue_type, delay_ms, handler_queue):
    """A retry queue holds a failed event ``delay_ms``, then dead-letters it
    back to its handler's queue."""
    arguments = {"x-message-ttl": delay_ms, "x-dead-letter-exchange": "",
                 "x-dead-letter-routing-key": handler_queue}
    if queue_type == QUORUM:
        # A quorum queue dead-letters "at most once" by default: an event that
        # expires while its handler queue has no leader would be dropped.
        # "at-least-once" (RabbitMQ 3.10) keeps it until the handler queue has
        # confirmed it, and RabbitMQ allows it only with reject-publish.
        arguments.update({"x-dead-letter-strategy": "at-least-once",
                          "x-overflow": "reject-publish"})
    return durable_arguments(queue_type, **arguments)


def arguments_of(name, queue_type):
    """What a service declares ``name`` with (a queue matching RELAIS_QUEUE)."""
    delay = RELAIS_QUEUE.match(name).group("delay")
    if delay:
        return retry_arguments(queue_type, int(delay), name[: -len(f".retry.{delay}")])
    return durable_arguments(queue_type)


def move_messages(amqp_uri, source, target, rewrite=lambda message: message.headers, limit=None):
    """Move messages from queue ``source`` to queue ``target`` (default
    exchange): each is published with a confirm before it is acked, so a crash
    duplicates one, never loses one. ``rewrite(message)`` gives the headers to
    publish with, or None to leave the message where it is. The messages are
    published as the connection's user (the broker allows no other ``user_id``),
    which consumers accept from the ops tool (common/consumer.py). Returns how
    many moved."""
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = connection.Producer(channel)
        while limit is None or moved < limit:
            message = channel.basic_get(source, no_ack=False)
            if message is None:
                break
            headers = rewrite(message)
            if headers is None:
                continue  # unacked: back in the queue when the channel closes
            properties = message.properties
            producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                             content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2,
                             message_id=properties.get("message_id"),
                             user_id=user_id_of(amqp_uri))
            channel.basic_ack(message.delivery_tag)
            moved += 1
    return moved


class Broker:
    """The management API calls the switch needs, on one vhost."""

    def __init__(self, api, auth, vhost):
        self.api, self.vhost = api.rstrip("/"), quote(vhost, safe="")
        self.http = requests.Session()
        self.http.auth = auth

    def _call(self, method, path, **kwargs):
        response = self.http.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def queues(self):
        return self._call("GET", f"/queues/{self.vhost}")

    def bindings(self, queue):
        return [b for b in self._call("GET", f"/queues/{self.vhost}/{quote(queue, safe='')}/bindings")
                if b["source"]]   # the default exchange's implicit binding is not ours to make

    def declare(self, queue, arguments):
        self._call("PUT", f"/queues/{self.vhost}/{quote(queue, safe='')}",
                   json={"durable": True, "auto_delete": False, "arguments": arguments})

    def bind(self, queue, binding):
        self._call("POST", f"/bindings/{self.vhost}/e/{quote(binding['source'], safe='')}"
                   f"/q/{quote(queue, safe='')}",
                   json={"routing_key": binding["routing_key"],
                         "arguments": binding.get("arguments") or {}})

    def delete(self, queue, if_empty=False, if_unused=False):
        """``if_empty``, ``if_unused``: the broker refuses (400) a queue that
        holds a message, or has a consumer, at the moment it would delete it."""
        params = {name: "true" for name, wanted in (("if-empty", if_empty),
                                                    ("if-unused", if_unused)) if wanted}
        self._call("DELETE", f"/queues/{self.vhost}/{quote(queue, safe='')}", params=params)


class Refused(Exception):
    """The switch cannot run now; nothing was changed."""


def depths(amqp_uri, names):
    """``{queue: (messages ready, consumers)}``, asked of the queues themselves:
    the management API's figures can be seconds old."""
    found = {}
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for name in names:
            _, messages, consumers = channel.queue_declare(name, passive=True)
            found[name] = (messages, consumers)
    return found


def switch_to_quorum(broker, amqp_uri, say=print):
    """Declare every classic Relais queue of the vhost again as a quorum queue
    (see the module's docstring). Returns the names of the queues switched."""
    listed = broker.queues()
    classic = sorted(q["name"] for q in listed if RELAIS_QUEUE.match(q["name"])
                     and q.get("type", CLASSIC) == CLASSIC)
    counts = depths(amqp_uri, classic)
    busy = [name for name in classic if counts[name][1]]
    if busy:
        raise Refused(f"stop the services first: {', '.join(busy)} still has consumers")
    holding = [f"{name} ({counts[name][0]})" for name in classic
               if counts[name][0] and not name.endswith(".dead")]
    if holding:
        raise Refused("these queues hold messages; start the services until they are empty, "
                      f"stop them and run this again: {', '.join(holding)}")
    # a run that stopped half-way left some messages set aside
    set_aside = [q["name"] for q in listed if q["name"].endswith(SWITCHING_SUFFIX)]
    for name in classic:
        bindings = broker.bindings(name)
        if counts[name][0]:
            waiting = name + SWITCHING_SUFFIX
            broker.declare(waiting, durable_arguments(QUORUM))
            set_aside.append(waiting)
            say(f"{name}: {move_messages(amqp_uri, name, waiting)} message(s) set aside")
        broker.delete(name)
        broker.declare(name, arguments_of(name, QUORUM))
        for binding in bindings:
            broker.bind(name, binding)
        say(f"{name}: quorum, {len(bindings)} binding(s)")
    for waiting in sorted(set(set_aside)):
        dead = waiting[: -len(SWITCHING_SUFFIX)]
        broker.declare(dead, arguments_of(dead, QUORUM))  # already there, unless a run stopped between
        say(f"{dead}: {move_messages(amqp_uri, waiting, dead)} message(s) back")
        broker.delete(waiting)
    return classic


def retired_queues(modules):
    """The ``RETIRED_QUEUES`` of each service module named (``services.notify.service``,
    as ``common.run`` takes it: common imports no service by itself), in one tuple."""
    return tuple(name for module in modules
                 for name in importlib.import_module(module).RETIRED_QUEUES)


def family(name, names):
    """``name`` and its retry and dead-letter queues among ``names``, in the
    order they are deleted: a retry queue before its handler queue, where it
    would send a message back."""
    member = re.compile(re.escape(name) + r"(\.retry\.[0-9]+|\.dead)?")
    order = {".dead": 2, "": 1}
    return sorted((n for n in names if member.fullmatch(n)),
                  key=lambda n: (order.get(n[len(name):], 0), n))


def retire(broker, amqp_uri, retired, force=False, say=print):
    """Delete each queue of ``retired`` with its retry and dead-letter queues
    (see the module's docstring). Returns the queues deleted and the retired
    names left."""
    listed = [q["name"] for q in broker.queues()]
    deleted, left = [], []
    for name in retired:
        members = family(name, listed)
        if not members:
            say(f"{name}: not there")
            continue
        counts = depths(amqp_uri, members)
        consumed = [m for m in members if counts[m][1]]
        if consumed:
            say(f"{name}: left, a process still consumes {', '.join(consumed)} "
                "(one of the former version?)")
            left.append(name)
            continue
        holding = [f"{m} ({counts[m][0]})" for m in members if counts[m][0]]
        if holding and not force:
            say(f"{name}: left, messages wait in {', '.join(holding)}; move them, "
                "or --force to drop them")
            left.append(name)
            continue
        for queue in members:
            try:
                broker.delete(queue, if_empty=not force, if_unused=True)
            except requests.HTTPError as refused:
                say(f"{queue}: left, the broker refused ({refused.response.text.strip()}): "
                    "a message or a consumer came meanwhile")
                left.append(name)
                break
            dropped = f", {counts[queue][0]} message(s) dropped" if counts[queue][0] else ""
            say(f"{queue}: deleted{dropped}")
            deleted.append(queue)
    return deleted, left


def main(argv):
    """python -m common.queues switch-to-quorum | retire SERVICE_MODULE... [--force],
    as the broker's administrator: ``RELAIS_BROKER_API`` (``http://127.0.0.1:15672/api``),
    ``RELAIS_BROKER_VHOST`` (``/``) and ``RELAIS_AMQP_URI`` (the same vhost; its
    user is the API's)."""
    parser = argparse.ArgumentParser(prog="python -m common.queues", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("switch-to-quorum", help="classic queues declared again as quorum")
    retiring = commands.add_parser("retire", help="delete the queues no consumer reads any more")
    retiring.add_argument("modules", nargs="+", metavar="SERVICE_MODULE",
                          help="whose RETIRED_QUEUES: services.notify.service")
    retiring.add_argument("--force", action="store_true",
                          help="delete them even when they hold messages (dropped)")
    args = parser.parse_args(argv[1:])
    amqp_uri = config.broker_nodes(config.amqp_uri())[0]
    parts = urlparse(amqp_uri)
    broker = Broker(config.env("BROKER_API", "http://127.0.0.1:15672/api"),
                    (unquote(parts.username or "guest"), unquote(parts.password or "guest")),
                    config.env("BROKER_VHOST", "/"))
    if args.command == "retire":
        deleted, left = retire(broker, amqp_uri, retired_queues(args.modules),
                               force=args.force)
        print(f"{len(deleted)} queue(s) deleted")
        if left:
            raise SystemExit(f"{len(left)} retired queue(s) left: see above")
        return
    try:
        switched = switch_to_quorum(broker, amqp_uri)
    except Refused as refused:
        raise SystemExit(f"nothing changed: {refused}") from None
    print(f"{len(switched)} queue(s) switched to quorum; set RELAIS_QUEUE_TYPE=quorum "
          "on every service, then start them")


if __name__ == "__main__":
    main(sys.argv)
