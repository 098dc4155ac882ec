"""Inspect and replay dead-lettered events.

    python -m common.deadletters list                 # dead-letter queues and their depth
    python -m common.deadletters show QUEUE [N]       # the first N messages, with their error
    python -m common.deadletters replay QUEUE         # move them back to the handler's queue

Run it as the ops broker user (``RELAIS_AMQP_URI=amqp://relais-ops:...@host:5672/``):
its permissions allow exactly this (common/broker_users.py), and consumers
accept a replayed event from it.

Read-only, over HTTP: ``GET /v1/dead-letters`` (network staff), which asks
every service's ``dead_letters`` RPC (common/service.py) for its own queues.

QUEUE is a handler queue (``evt-booking-booking.confirmed--billing.on_booking_confirmed``)
or its ``.dead`` queue. Replay resets the attempt count, so each message gets
its full retries again; the handler's inbox makes a replay of an event that was
in fact handled harmless. An event parked because a broker user other than its
source published it (``untrusted_publisher`` in ``show``) is forged: replay
leaves it where it is.
"""
import json
import sys
from urllib.parse import unquote, urlparse

import requests
from kombu import Connection

from common import config
from common.consumer import (
    ATTEMPT_HEADER, ERROR_HEADER, UNTRUSTED_HEADER, dead_letter_queue_name,
)
from common.queues import move_messages

MANAGEMENT_API = "http://127.0.0.1:15672/api"


def handler_queue_of(name):
    return name[: -len(".dead")] if name.endswith(".dead") else name


def list_dead_letter_queues(api=MANAGEMENT_API, auth=("guest", "guest")):
    queues = requests.get(f"{api}/queues", auth=auth, timeout=10).json()
    return [(queue["vhost"], queue["name"], queue.get("messages", 0))
            for queue in queues if queue["name"].endswith(".dead")]


def _peek(channel, dead, limit):
    """The first ``limit`` messages of a dead-letter queue, left in it: they
    are never acked, and closing the channel puts them back, in order."""
    shown = []
    for _ in range(limit):
        message = channel.basic_get(dead, no_ack=False)
        if message is None:
            break
        shown.append({"error": (message.headers or {}).get(ERROR_HEADER),
                      "attempts": (message.headers or {}).get(ATTEMPT_HEADER),
                      "untrusted_publisher": (message.headers or {}).get(UNTRUSTED_HEADER),
                      "body": json.loads(message.body)})
    return shown


def show(amqp_uri, queue, limit=10):
    dead = dead_letter_queue_name(handler_queue_of(queue))
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        shown = _peek(channel, dead, limit)
        channel.close()
    return shown


def report(amqp_uri, service, dead_letter_queues, samples=3):
    """Each of a service's dead-letter queues: its depth and its first few
    events (type, id, error; never their data, which may name people), for
    the read-only ``dead_letters`` RPC every service answers."""
    rows = []
    with Connection(amqp_uri) as connection:
        # one channel for the depths (a passive declare of a queue that
        # exists leaves it open), another only where there is something to peek
        depths = connection.channel()
        for dead in sorted(dead_letter_queues):
            depth = depths.queue_declare(dead, passive=True).message_count
            peeked = []
            if depth:
                channel = connection.channel()
                peeked = _peek(channel, dead, min(depth, samples))
                channel.close()
            rows.append({"service": service, "queue": dead, "depth": depth, "samples": [
                _sample(message) for message in peeked]})
        depths.close()
    return rows


def _sample(message):
    body = message["body"] if isinstance(message["body"], dict) else {}
    return {"event_id": body.get("event_id"), "event_type": body.get("type"),
            "occurred_at": body.get("occurred_at"), "attempts": message["attempts"],
            "error": (message["error"] or "")[:300] or None}


def replay(amqp_uri, queue, limit=10_000):
    """Move up to ``limit`` messages from the dead-letter queue back to the
    handler queue; publish (confirmed) before ack, so nothing is lost."""
    target = handler_queue_of(queue)

    def fresh_attempts(message):
        if UNTRUSTED_HEADER in (message.headers or {}):
            return None  # forged: it stays where it is
        return {key: value for key, value in (message.headers or {}).items()
                if key != ATTEMPT_HEADER}
    return move_messages(amqp_uri, dead_letter_queue_name(target), target, fresh_attempts, limit)


def main(argv):
    command = argv[1] if len(argv) > 1 else "list"
    uri = config.amqp_uri()
    if command == "list":
        parts = urlparse(uri)
        api = config.env("BROKER_API", MANAGEMENT_API)
        for vhost, name, depth in list_dead_letter_queues(
                api, (unquote(parts.username or "guest"), unquote(parts.password or "guest"))):
            print(f"{depth:8d}  {vhost}  {name}")
    elif command == "show" and len(argv) >= 3:
        print(json.dumps(show(uri, argv[2], int(argv[3]) if len(argv) > 3 else 10), indent=2))
    elif command == "replay" and len(argv) == 3:
        print(f"replayed {replay(uri, argv[2])} message(s) to {handler_queue_of(argv[2])}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
