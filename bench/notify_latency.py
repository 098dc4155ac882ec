"""notify's latency: event -> mail and event -> webhook under 50 bookings/s,
and the fan-out of one event to 1,000 webhook endpoints.

    RELAIS_TEST_SLOT=N .venv/bin/python -m bench.notify_latency [--rate 50] [--seconds 20]

notify runs as in production (``common.run``, its own process and database,
RabbitMQ); this process plays booking (it publishes ``booking.confirmed``
envelopes on ``booking.events`` at the given rate), an SMTP server and an HTTP
receiver on loopback, and times each mail and delivery from the event's
``occurred_at``. Figures go to stdout and ``bench/results/notify-<UTC>.json``.
Names and ports derive from the slot: databases and vhost
``relais_bench<N>_notify``, ports 18000 + 1000 x N + 200..230.
"""
import argparse
import json
import os
import shutil
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from aiosmtpd.controller import Controller
from kombu import Connection, Exchange
from sqlalchemy import create_engine, text

from bench.e2e_booking import RESULTS_DIR, percentile
from common.broker_users import user_id_of
from common.events import make_envelope
from devtools.network import Network

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
NAME = f"relais_bench{SLOT or ''}_notify"
PORT = 18000 + 1000 * SLOT + 200    # services PORT+1..4, SMTP PORT+25, receiver PORT+30
MEMBERS = 64
ORGANISATION = str(uuid.uuid4())


class MailClock:
    """An SMTP server that notes when each mail arrived, by its Message-ID
    (``<event_id@relais-des-possibles>``). It advertises PIPELINING, as
    Postfix and Exim do (aiosmtpd takes pipelined commands without saying
    so), unless ``--no-pipelining``."""

    def __init__(self, pipelining=True):
        self.arrived = {}
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        start = content.find(b"Message-ID: <") + len(b"Message-ID: <")
        self.arrived[content[start:content.find(b"@", start)].decode()] = time.time()
        return "250 OK"


def webhook_clock():
    arrived = {}                  # (endpoint path, event_id) -> time

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keeps connections open, as receivers in production do

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            arrived[(self.path, json.loads(body)["event_id"])] = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return arrived, Handler


class Receiver(ThreadingHTTPServer):
    """A listen backlog for the fan-out's burst of connections (the default,
    5, dropped some of them: retried 5 s later, they made the fan-out's tail)."""
    request_queue_size = 1024


def seed(database_url, receiver, endpoints):
    """Members (notify's contacts) and ``endpoints`` endpoints of network scope
    that want booking.confirmed, written in notify's tables directly."""
    engine = create_engine(database_url)
    members = [str(uuid.uuid4()) for _ in range(MEMBERS)]
    with engine.begin() as conn:
        for n, member in enumerate(members):
            conn.execute(text(
                "INSERT INTO contacts (user_id, email, full_name, organisation_id, roles) "
                "VALUES (:id, :email, :name, :org, '{member}')"),
                {"id": member, "email": f"membre{n}@bench.example", "name": f"Membre {n}",
                 "org": ORGANISATION})
    add_endpoints(engine, receiver, range(endpoints))
    engine.dispose()
    return members


def add_endpoints(engine, receiver, numbers):
    with engine.begin() as conn:
        for n in numbers:
            endpoint = str(uuid.uuid4())
            conn.execute(text(
                "INSERT INTO webhook_endpoints (id, organisation_id, scope, relay_ids, created_by,"
                " url, event_types, description, enabled) VALUES (:id, :org, 'network', '[]',"
                " :org, :url, '[\"booking.confirmed\"]', 'bench', true)"),
                {"id": endpoint, "org": ORGANISATION, "url": f"{receiver}/e/{n}"})
            conn.execute(text("INSERT INTO webhook_secrets (id, endpoint_id, secret) VALUES "
                              "(:id, :endpoint, :secret)"),
                         {"id": str(uuid.uuid4()), "endpoint": endpoint,
                          "secret": "whsec_" + "YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC0xMjM0NTY="})


def booking_confirmed(member, day):
    starts = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=7, minutes=30)
    return {"booking_id": str(uuid.uuid4()), "relay_id": str(uuid.uuid4()),
            "relay_name": "Relais du banc", "relay_address": "1 place, 23000 Guéret",
            "space_id": str(uuid.uuid4()), "space_name": "Poste 1", "space_kind": "desk",
            "member_id": member, "organisation_id": ORGANISATION, "series_id": None,
            "date": day.isoformat(), "slot": "morning", "half_days": 1,
            "timezone": "Europe/Paris", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(),
            "local_starts_at": (starts + timedelta(hours=1)).isoformat(),
            "local_ends_at": (starts + timedelta(hours=5)).isoformat(),
            "duration_minutes": 240}


def publish(amqp_uri, envelopes, rate):
    """Publish at ``rate`` per second, each stamped as it leaves; returns
    {event_id: occurred_at epoch}. ``amqp_uri`` logs in as booking's broker
    user, and each message carries it as ``user_id`` (the broker checks it),
    as booking's outbox relay does: notify parks events from anyone else."""
    sent = {}
    user_id = user_id_of(amqp_uri)
    exchange = Exchange("booking.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        start = time.monotonic()
        for index, envelope in enumerate(envelopes):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            envelope["occurred_at"] = datetime.now(timezone.utc).isoformat()
            sent[envelope["event_id"]] = datetime.fromisoformat(envelope["occurred_at"]).timestamp()
            producer.publish(envelope, exchange=exchange, routing_key="booking.confirmed",
                             serializer="json", user_id=user_id)
    return sent


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def latencies_ms(sent, arrived):
    """Milliseconds from each event's occurred_at to its arrival, ascending;
    ``arrived`` is keyed by event id (mails) or (endpoint path, event id)."""
    values = []
    for key, at in arrived.items():
        event_id = key[1] if isinstance(key, tuple) else key
        if event_id in sent:
            values.append(round((at - sent[event_id]) * 1000, 1))
    return sorted(values)


def summary(values, expected):
    return {"count": len(values), "expected": expected,
            "p50_ms": percentile(values, 0.5), "p99_ms": percentile(values, 0.99),
            "max_ms": values[-1] if values else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="bookings per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of the load")
    parser.add_argument("--fan-out", type=int, default=1000, help="endpoints for one event")
    parser.add_argument("--no-pipelining", action="store_true",
                        help="the SMTP server does not advertise PIPELINING")
    parser.add_argument("--log-statements", action="store_true",
                        help="notify's sessions (only them) log every statement in "
                             "PostgreSQL's log (log_statement=all as a connection option)")
    args = parser.parse_args(argv)
    var_dir = RESULTS_DIR / "var-notify"
    shutil.rmtree(var_dir, ignore_errors=True)
    extra_env = {"RELAIS_DAILY_MAILS": "0"}
    network = Network(name=NAME, vhost=NAME, service_port_base=PORT, smtp_port=PORT + 25,
                      var_dir=var_dir, extra_env=extra_env)
    if args.log_statements:
        extra_env["RELAIS_DATABASE_URL"] = (network.database_url("notify")
                                            + "?options=-c%20log_statement%3Dall")
    mails = MailClock(pipelining=not args.no_pipelining)
    smtp = Controller(mails, hostname="127.0.0.1", port=PORT + 25)
    hooks, handler = webhook_clock()
    receiver = Receiver(("127.0.0.1", PORT + 30), handler)
    receiver_url = f"http://127.0.0.1:{PORT + 30}"
    results = {"rate_per_s": args.rate, "seconds": args.seconds, "fan_out": args.fan_out,
               "smtp_pipelining": not args.no_pipelining}
    try:
        print(f"preparing {NAME} (databases, vhost, migrations)", flush=True)
        network.reset()
        network.prepare()
        smtp.start()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        members = seed(network.database_url("notify"), receiver_url, endpoints=1)
        network.start_service("notify")
        health = f"http://127.0.0.1:{network.service_port('notify')}/health"
        if not wait(lambda: _ok(health), 60):
            raise SystemExit(f"notify did not start: see {var_dir}/log/notify.log")
        time.sleep(2)   # its consumers bind their queues after /health answers

        count = int(args.rate * args.seconds)
        day = date.today() + timedelta(days=30)
        envelopes = [make_envelope("booking", "booking.confirmed",
                                   booking_confirmed(members[i % MEMBERS], day), version=2)
                     for i in range(count)]
        print(f"load: {count} booking.confirmed at {args.rate:g}/s", flush=True)
        notify_pid = network.processes["notify"].pid
        results["load_average_before"] = os.getloadavg()
        cpu_before, started = cpu_seconds(notify_pid), time.time()
        sent = publish(network.amqp_uri_of("booking"), envelopes, args.rate)
        wait(lambda: len(mails.arrived) >= count and len(hooks) >= count, 120)
        # notify's CPU while it handled the load (its timers' idle ticks included)
        results["notify_cpu_ms_per_event"] = round(
            (cpu_seconds(notify_pid) - cpu_before) * 1000 / count, 2)
        last = max(list(mails.arrived.values()) + list(hooks.values()), default=started)
        results["handled_per_s"] = round(count / max(last - started, 1e-9), 1)
        results["load_average_after"] = os.getloadavg()
        results["event_to_mail"] = summary(latencies_ms(sent, mails.arrived), count)
        results["event_to_webhook"] = summary(latencies_ms(sent, hooks), count)

        engine = create_engine(network.database_url("notify"))
        add_endpoints(engine, receiver_url, range(1, args.fan_out))
        engine.dispose()
        hooks.clear()
        print(f"fan-out: one event to {args.fan_out} endpoints", flush=True)
        one = [make_envelope("booking", "booking.confirmed",
                             booking_confirmed(members[0], day), version=2)]
        sent = publish(network.amqp_uri_of("booking"), one, 1)
        wait(lambda: len(hooks) >= args.fan_out, 180)
        results["fan_out_webhooks"] = summary(latencies_ms(sent, hooks), args.fan_out)
    finally:
        network.stop()
        smtp.stop()
        receiver.shutdown()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"notify-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(f"load average {results.get('load_average_before')} before, "
          f"{results.get('load_average_after')} after the load; notify "
          f"{results.get('notify_cpu_ms_per_event')} ms of CPU an event, all handled at "
          f"{results.get('handled_per_s')} events/s")
    for name in ("event_to_mail", "event_to_webhook", "fan_out_webhooks"):
        figures = results.get(name, {})
        print(f"{name:18} {figures.get('count')}/{figures.get('expected')} "
              f"p50 {figures.get('p50_ms')} ms  p99 {figures.get('p99_ms')} ms  "
              f"max {figures.get('max_ms')} ms")


def _ok(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
