"""End-to-end benchmark: the booking path through the gateway against the raw
nameko RPC ceiling of this machine.

    .venv/bin/python -m bench.e2e_booking            # about 2-3 minutes

In one run it starts its own network (databases ``relais_bench_*``, RabbitMQ
vhost ``relais_bench``, gateway on 127.0.0.1:18180, services on 18101-18104,
SMTP sink on 18125/18126; with ``RELAIS_TEST_SLOT=N``: ``relais_benchN``, ports
+1000 x N) plus a one-method echo service, then measures:

(a) echo: ``bench_echo.echo`` called with the gateway's own pika RPC client,
    one client (and connection) per thread, at 1, 8 and 32 concurrent clients;
(b) booking: ``POST /v1/bookings`` with a bearer token over HTTP, one
    ``requests.Session`` per thread, at 1, 8 and 32 concurrent clients; each
    latency is request sent -> HTTP response received, through the 5 steps
    client -> gateway (token check, validation) -> RPC over RabbitMQ -> booking
    service (transaction: idempotency row, booking, outbox row) -> reply -> HTTP.

It prints throughput, p50 and p99 for each, the ratio (b)/(a), whether each of
issue 7's goals is met (at 32 clients: booking >= 0.2 x echo throughput, booking
p99 < 150 ms, <= 10 ms of CPU machine-wide per booking; at 1 client: booking
p50 < 10 ms), the CPU each process used, and writes it all as JSON to
``bench/results/<timestamp>.json``. See bench/README.md.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pika
import requests
from sqlalchemy import create_engine, text

from common.migrate import SERVICES
from devtools.demo import Api
from devtools.network import RABBIT_API, Network
from gateway.rpc import RpcClient
from services.booking.public_holidays import holiday_name
from services.booking.slots import WEEKDAYS

# nameko 2.14 needs eventlet (imported later, through the services' modules); its
# deprecation notice says nothing this benchmark can act on.
warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
# RELAIS_TEST_SLOT keeps two checkouts' runs apart, as for the tests: slot 0 is
# relais_bench_* on 18xxx, slot 2 relais_bench2_* on 20xxx.
SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
NAME = f"relais_bench{SLOT or ''}"
PORT = 18000 + 1000 * SLOT        # gateway PORT+180, services PORT+101.., SMTP PORT+125, web PORT+190
ECHO_HTTP_ADDRESS = f"127.0.0.1:{PORT + 990}"
MEMBER_PASSWORD = "bench-member-password-2026"
RPC_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0
GOAL_CLIENTS = 32
GOAL_RATIO = 0.2
GOAL_P99_MS = 150.0
GOAL_CPU_MS_PER_BOOKING = 10.0
GOAL_ONE_CLIENT_P50_MS = 10.0
# A "lane" is a (member, desk) pair: a member holds one booking per half-day and
# so does a desk, so one lane has ~170 half-days to book (85 days x morning and
# afternoon). Every level shares the same lanes out among its clients (1 client:
# all of them in turn; 32 clients: 2 each) and the calendar is emptied between
# levels: ~10,000 bookings per level, room for ~900 req/s for 11 s.
LANES = 64
BOOKING_DAYS_AHEAD = 85          # the service accepts 90; keep clear of the edge
MAX_ERROR_SAMPLES = 5


# -- measurement ---------------------------------------------------------------

def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class Level:
    """One scenario at one concurrency: ``clients`` threads each run
    ``setup(i)`` once, then ``op(state)`` in a loop. Calls during the warm-up
    are not counted; the measured window ends after ``duration`` seconds, after
    ``max_requests`` measured calls, or when a client runs out of work
    (``op`` raises Exhausted), whichever comes first."""

    def __init__(self, scenario, clients, setup, op, warmup, duration, max_requests):
        self.scenario, self.clients = scenario, clients
        self.setup, self.op = setup, op
        self.warmup, self.duration, self.max_requests = warmup, duration, max_requests
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.measured = 0
        self.stopped_at = None
        self.stop_reason = None
        self.samples = [[] for _ in range(clients)]   # (t_start, t_end, ok, detail)
        self.setup_errors = []

    def halt(self, reason):
        with self.lock:
            if self.stopped_at is None:
                self.stopped_at = time.perf_counter()
                self.stop_reason = reason
        self.stop.set()

    def worker(self, index, barrier):
        try:
            state = self.setup(index)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            self.setup_errors.append(f"client {index}: {type(exc).__name__}: {exc}")
            state = None
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            return
        if state is None:
            return
        samples = self.samples[index]
        ops = 0
        try:
            while not self.stop.is_set() and ops < 1_000_000:
                ops += 1
                started = time.perf_counter()
                try:
                    ok, detail = self.op(state)
                except Exhausted:
                    self.halt("a client ran out of planned bookings")
                    return
                ended = time.perf_counter()
                if started >= self.measure_from:
                    samples.append((started, ended, ok, detail))
                    with self.lock:
                        self.measured += 1
                        full = self.measured >= self.max_requests
                    if full:
                        self.halt(f"reached {self.max_requests} requests")
        finally:
            close = getattr(state, "close", None)
            if close:
                close()

    def run(self, cpu_probe):
        barrier = threading.Barrier(self.clients + 1)
        self.measure_from = float("inf")
        threads = [threading.Thread(target=self.worker, args=(i, barrier), daemon=True,
                                    name=f"{self.scenario}-{i}") for i in range(self.clients)]
        for thread in threads:
            thread.start()
        barrier.wait(timeout=120)
        self.measure_from = time.perf_counter() + self.warmup
        time.sleep(self.warmup)
        before = cpu_probe.sample()
        self.stop.wait(self.duration)
        self.halt(self.stop_reason or "duration")
        cpu = cpu_probe.since(before)
        for thread in threads:
            thread.join(timeout=HTTP_TIMEOUT + 5)
        return self.summary(cpu)

    def summary(self, cpu):
        window = max(self.stopped_at - self.measure_from, 1e-9)
        latencies, errors, samples = [], Counter(), []
        for per_client in self.samples:
            for started, ended, ok, detail in per_client:
                if ended > self.stopped_at:
                    continue  # finished after the window closed
                if ok:
                    latencies.append((ended - started) * 1000)
                else:
                    errors[detail[0]] += 1
                    if len(samples) < MAX_ERROR_SAMPLES:
                        samples.append(detail[1])
        latencies.sort()
        requests_done = len(latencies) + sum(errors.values())
        return {
            "scenario": self.scenario, "clients": self.clients,
            "window_s": round(window, 3), "stop_reason": self.stop_reason,
            "requests": requests_done, "ok": len(latencies),
            "errors": sum(errors.values()), "errors_by_kind": dict(errors),
            "error_samples": samples, "setup_errors": self.setup_errors,
            "throughput_rps": round(len(latencies) / window, 1),
            "p50_ms": round(percentile(latencies, 0.50), 2) if latencies else None,
            "p90_ms": round(percentile(latencies, 0.90), 2) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
            "max_ms": round(latencies[-1], 2) if latencies else None,
            "cpu": cpu_per_request(cpu, len(latencies) / window),
        }


def cpu_per_request(cpu, throughput):
    """Add the CPU milliseconds each successful request cost, machine-wide and
    per process group (cores used / throughput)."""
    if throughput:
        cpu["machine_cpu_ms_per_request"] = round(1000 * cpu["machine_cores_busy"] / throughput, 2)
        cpu["cpu_ms_per_request"] = {name: round(1000 * cores / throughput, 2)
                                     for name, cores in cpu["cores_used"].items()}
        cpu["postgres_cpu_ms_per_request_by_database"] = {
            name: round(1000 * cores / throughput, 2)
            for name, cores in cpu.get("postgres_cores_by_database", {}).items()}
    return cpu


class Exhausted(Exception):
    """A client has no unbooked (member, desk, date, slot) left."""


# -- where the CPU goes ----------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OTHERS = "other processes"
BENCH_POSTGRES = "postgres (bench dbs)"
# A backend's command line names its database: "postgres: postgres relais_bench3_billing ..."
BENCH_DATABASE = re.compile(rf" {NAME}_([a-z]+) ")
# In billing's /metrics: how many booking.confirmed events it handled, and in how many workers.
BILLING_SAMPLES = {
    "events": re.compile(r'^relais_events_consumed_total\{(?=[^}]*event_type="booking\.confirmed")'
                         r'(?=[^}]*outcome="handled")[^}]*\} ([0-9.e+]+)$', re.M),
    "workers": re.compile(r'^relais_entrypoint_latency_seconds_count\{'
                          r'(?=[^}]*entrypoint="on_booking_confirmed")[^}]*\} ([0-9.e+]+)$', re.M),
}


def read_proc():
    """pid -> (ppid, comm, cpu seconds, cmdline) for every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
            with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                cmdline = cmd.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        table[int(entry)] = (int(rest[1]), comm,
                             (int(rest[11]) + int(rest[12])) / CLOCK_TICKS, cmdline)
    return table


def read_machine_cpu():
    """(busy seconds, total seconds) of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLOCK_TICKS, sum(fields) / CLOCK_TICKS


class CpuProbe:
    """CPU seconds used by each part of the benchmark during a window."""

    def __init__(self, network):
        self.network = network

    def groups(self, table):
        # The network's processes are the benchmark's children: claim them first.
        roots = {name: process.pid for name, process in self.network.processes.items()}
        roots["bench client"] = os.getpid()
        children = {}
        for pid, (ppid, *_rest) in table.items():
            children.setdefault(ppid, []).append(pid)
        seen = {}
        for name, root in roots.items():
            stack = [root]
            while stack:
                pid = stack.pop()
                if pid in table and pid not in seen:
                    seen[pid] = name
                    stack.extend(children.get(pid, []))
        for pid, (_ppid, comm, _cpu, cmdline) in table.items():
            if pid in seen:
                continue
            if comm == "beam.smp":
                seen[pid] = "rabbitmq (shared)"
            elif comm.startswith("postgres"):
                seen[pid] = (BENCH_POSTGRES if NAME in cmdline
                             else "postgres (other: wal, checkpoints, other dbs)")
        return seen

    def billing_consumer(self):
        """{events, workers}: billing's booking.confirmed events handled so far,
        and the workers that handled them (more than one event a worker: batches)."""
        try:
            text = requests.get(f"http://127.0.0.1:{self.network.service_port('billing')}"
                                "/metrics", timeout=5).text
        except requests.RequestException:
            return {}
        return {name: sum(float(value) for value in pattern.findall(text))
                for name, pattern in BILLING_SAMPLES.items()}

    def sample(self):
        return time.perf_counter(), read_machine_cpu(), read_proc(), self.billing_consumer()

    def since(self, before):
        started, (busy0, total0), table0, billing0 = before
        ended, (busy1, total1), table1, billing1 = self.sample()
        wall = max(ended - started, 1e-9)
        used, by_database = Counter(), Counter()
        groups = self.groups(table1)
        for pid in table1:
            groups.setdefault(pid, OTHERS)
        for pid, name in groups.items():
            if pid in table0 and table0[pid][1] == table1[pid][1]:
                seconds = table1[pid][2] - table0[pid][2]
            else:  # born during the window
                seconds = table1[pid][2]
            used[name] += seconds
            if name == BENCH_POSTGRES:
                database = BENCH_DATABASE.search(table1[pid][3])
                by_database[database.group(1) if database else "(none)"] += seconds
        cpu = {
            "machine_busy_pct": round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1),
            "machine_cores_busy": round((busy1 - busy0) / wall, 2),
            "cores_used": {name: round(seconds / wall, 2)
                           for name, seconds in sorted(used.items(), key=lambda kv: -kv[1])},
            "postgres_cores_by_database": {
                name: round(seconds / wall, 3)
                for name, seconds in sorted(by_database.items(), key=lambda kv: -kv[1])},
        }
        if billing0 and billing1:
            events = billing1["events"] - billing0["events"]
            workers = billing1["workers"] - billing0["workers"]
            cpu["billing_confirmed"] = {"events": events, "workers": workers,
                                        "events_per_worker": round(events / workers, 2)
                                        if workers else None}
        return cpu


# -- the network -------------------------------------------------------------------

def check_ports_free(ports):
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                raise SystemExit(f"127.0.0.1:{port} is already in use: is another benchmark "
                                 "running? Stop it first.")


def start_echo(network):
    # the echo service is no Relais component: it runs as the broker's admin
    env = dict(network.env(), RELAIS_AMQP_URI=network.amqp_uri,
               RELAIS_DATABASE_URL=network.database_url("unused"),
               RELAIS_HTTP_ADDRESS=ECHO_HTTP_ADDRESS)
    network.spawn("bench-echo", [sys.executable, "-m", "common.run", "bench.echo_service"],
                  env)
    client = RpcClient(network.amqp_uri, timeout=2)
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if client.call("bench_echo", "echo", value="ping") == "ping":
                    return
            except Exception as exc:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the echo service did not answer in 60 s: {exc!r}")
                if network.processes["bench-echo"].poll() is not None:
                    raise RuntimeError("the echo service exited; see "
                                       f"{network.var_dir / 'log' / 'bench-echo.log'}")
                time.sleep(0.2)
    finally:
        client.close()


def seed(network, desks, members):
    """One relay with ``desks`` desks and a desk rate card, one corporate
    organisation with ``members`` members; returns desk ids and member tokens."""
    base = network.gateway_url
    admin = Api(base)
    admin_token = admin.token(network.admin_email, network.admin_password)
    admin = Api(base, admin_token)
    # Open every day (not the Mon-Fri default) for more half-days to book.
    relay = admin.post("/v1/relays", {
        "name": "Relais du banc d'essai", "address": "1 place du Banc", "postcode": "23000",
        "commune": "Guéret", "latitude": 46.1714, "longitude": 1.8717,
        "timezone": "Europe/Paris", "opening_hours": {
            weekday: {"morning": {"opens": "08:30", "closes": "12:30"},
                      "afternoon": {"opens": "13:30", "closes": "18:00"}}
            for weekday in WEEKDAYS}},
        key="bench-relay")
    admin.post_when_known(f"/v1/relays/{relay['id']}/rate-cards", {
        "space_kind": "desk", "half_day_price_cents": 1250, "vat_rate_bp": 2000,
        "valid_from": date.today().isoformat()}, "bench-rate-desk")
    company = admin.post("/v1/organisations", {
        "kind": "corporate", "name": "Banc d'essai SA", "legal_name": "Banc d'essai SA",
        "siret": "12345678900012", "billing_email": "factures@bench.example",
        "billing_address": "1 place du Banc, 23000 Guéret"}, key="bench-company")

    def make_desk(n):
        api = Api(base, admin_token)
        return api.post(f"/v1/relays/{relay['id']}/spaces",
                        {"kind": "desk", "name": f"Bureau {n + 1:02d}"},
                        key=f"bench-desk-{n}")["id"]

    def make_member(n):
        api = Api(base, admin_token)
        email = f"bench.member{n:03d}@bench.example"
        # argon2 (hash, then verify) on a machine busy with other work can
        # outlast the gateway's 5 s: both calls are safe to repeat (the
        # creation has an Idempotency-Key).
        patiently(lambda: api.post(f"/v1/organisations/{company['id']}/users", {
            "email": email, "full_name": f"Membre {n:03d}", "roles": ["member"],
            "password": MEMBER_PASSWORD}, key=f"bench-member-{n}"))
        return patiently(lambda: Api(base).token(email, MEMBER_PASSWORD))

    with ThreadPoolExecutor(4) as pool:
        desk_ids = list(pool.map(make_desk, range(desks)))
        tokens = list(pool.map(make_member, range(members)))
    return desk_ids, tokens


def patiently(call, attempts=5):
    """``call()``, again after a gateway timeout (504)."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RuntimeError as exc:
            if " 504 " not in str(exc) or attempt == attempts:
                raise
            time.sleep(1)


def half_days(today):
    """Every (date, slot) a member can book from tomorrow on (the bench relay
    opens every day but public holidays): morning and afternoon, which do not
    overlap."""
    plan = []
    for offset in range(1, BOOKING_DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        if holiday_name(day, "23"):  # the relay (in Creuse) closes on public holidays
            continue
        plan.extend((day.isoformat(), slot) for slot in ("morning", "afternoon"))
    return plan


def wait_until_settled(network, timeout=30):
    """Wait until every service's outbox is published and the event queues are
    drained, so that one level's background work (billing, notify) does not run
    during the next one. Returns what it saw."""
    started = time.monotonic()
    engines = {service: create_engine(network.database_url(service)) for service in SERVICES}
    queues = [q["name"] for q in requests.get(
        f"{RABBIT_API}/queues/{quote(network.vhost, safe='')}?columns=name",
        timeout=10).json() if q["name"].startswith("evt-")]
    connection = pika.BlockingConnection(pika.URLParameters(network.amqp_uri))
    try:
        while True:
            outbox = {}
            for service, engine in engines.items():
                with engine.connect() as conn:
                    outbox[service] = conn.execute(text(
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
            ready = {}
            for name in queues:
                channel = connection.channel()
                try:
                    ready[name] = channel.queue_declare(name, passive=True).method.message_count
                except pika.exceptions.ChannelClosedByBroker:
                    continue
                if channel.is_open:
                    channel.close()
            waiting = sum(outbox.values()) + sum(ready.values())
            elapsed = time.monotonic() - started
            if waiting == 0 or elapsed > timeout:
                return {"settled": waiting == 0, "seconds": round(elapsed, 1),
                        "outbox_unpublished": {k: v for k, v in outbox.items() if v},
                        "queued_events": {k: v for k, v in ready.items() if v}}
            time.sleep(0.25)
    finally:
        connection.close()
        for engine in engines.values():
            engine.dispose()


def clear_calendar(network):
    """Empty the bench booking database's calendar so that the next level books
    the same lanes from the same empty table (this database is the benchmark's
    own and thrown away; billing and notify keep their rows, nothing reads them)."""
    engine = create_engine(network.database_url("booking"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            deleted = conn.execute(text("DELETE FROM bookings")).rowcount
            conn.execute(text("VACUUM ANALYZE bookings"))
    finally:
        engine.dispose()
    return deleted


def dead_letters(network):
    """Messages sitting in dead-letter queues at the end (should be none)."""
    queues = requests.get(f"{RABBIT_API}/queues/{quote(network.vhost, safe='')}"
                          "?columns=name,messages", timeout=10).json()
    return {q["name"]: q.get("messages", 0) for q in queues
            if q["name"].endswith(".dead") and q.get("messages")}


# -- the two scenarios -------------------------------------------------------------

class EchoClient:
    def __init__(self, amqp_uri, index):
        self.rpc = RpcClient(amqp_uri, RPC_TIMEOUT)
        self.payload = {"client": index, "text": "x" * 64}
        self.rpc.call("bench_echo", "echo", value=self.payload)  # connect now

    def close(self):
        self.rpc.close()


def echo_op(client):
    try:
        result = client.rpc.call("bench_echo", "echo", value=client.payload)
    except Exception as exc:  # noqa: BLE001 - counted as an error
        return False, (type(exc).__name__, f"{type(exc).__name__}: {exc}")
    if result != client.payload:
        return False, ("wrong-reply", f"echo answered {result!r}")
    return True, None


class BookingClient:
    """Books in turn through its lanes (member token, desk), each lane walking
    the same (date, slot) list: no member and no desk is ever booked twice for
    the same half-day, so every request should get 201."""

    def __init__(self, url, lanes, plan):
        self.url = url
        self.lanes = lanes
        self.plan = plan
        self.position = 0
        self.http = requests.Session()

    def next_request(self):
        step = self.position
        self.position += 1
        lane, half_day = step % len(self.lanes), step // len(self.lanes)
        if half_day >= len(self.plan):
            raise Exhausted()
        token, desk = self.lanes[lane]
        day, slot = self.plan[half_day]
        return token, {"space_id": desk, "date": day, "slot": slot}

    def close(self):
        self.http.close()


def booking_op(client):
    token, body = client.next_request()
    try:
        response = client.http.post(client.url, json=body, timeout=HTTP_TIMEOUT, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    except requests.RequestException as exc:
        return False, (type(exc).__name__, f"{type(exc).__name__}: {exc}")
    if response.status_code != 201:
        return False, (str(response.status_code),
                       f"{response.status_code} {body} -> {response.text[:300]}")
    return True, None


def warm_gateway(network, tokens, threads, seconds):
    """Open every gunicorn thread's pika connection (each is opened on first
    use) before measuring, with reads that book nothing."""
    deadline = time.monotonic() + seconds
    url = f"{network.gateway_url}/v1/bookings?limit=1"

    def reader(index):
        session = requests.Session()
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        count = 0
        while time.monotonic() < deadline and count < 10_000:
            session.get(url, headers=headers, timeout=HTTP_TIMEOUT).raise_for_status()
            count += 1
        session.close()
        return count

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(reader, range(threads)))


# -- report --------------------------------------------------------------------------

def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def report(results, ratios, goal):
    lines = ["", f"{'scenario':<9} {'clients':>7} {'requests':>9} {'errors':>7} "
                 f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"]
    for r in results:
        lines.append(f"{r['scenario']:<9} {r['clients']:>7} {r['requests']:>9} "
                     f"{r['errors']:>7} {r['throughput_rps']:>8.1f} "
                     f"{fmt(r['p50_ms'], '8.2f'):>8} {fmt(r['p99_ms'], '8.2f'):>8}")
    lines += ["", f"{'clients':>7} {'booking/echo req/s':>19} {'booking p99 ms':>15} "
                  f"{'echo p99 ms':>12}"]
    for r in ratios:
        lines.append(f"{r['clients']:>7} {fmt(r['throughput_ratio'], '19.3f'):>19} "
                     f"{fmt(r['booking_p99_ms'], '15.2f'):>15} {fmt(r['echo_p99_ms'], '12.2f'):>12}")
    checks = goal["checks"]
    verdict = lambda name: "met" if checks[name] else "NOT met"  # noqa: E731
    lines += ["", f"goals ({'ALL MET' if goal['met'] else 'NOT ALL MET'}):",
              f"  booking/echo at {GOAL_CLIENTS} clients >= {GOAL_RATIO:g}: "
              f"{fmt(goal['throughput_ratio'], '.3f')} {verdict('ratio')}",
              f"  booking p99 at {GOAL_CLIENTS} clients < {GOAL_P99_MS:g} ms: "
              f"{fmt(goal['booking_p99_ms'], '.2f')} ms {verdict('p99')}",
              f"  CPU per booking at {GOAL_CLIENTS} clients <= {GOAL_CPU_MS_PER_BOOKING:g} ms: "
              f"{fmt(goal['cpu_ms_per_booking'], '.1f')} ms {verdict('cpu')}",
              f"  booking p50 at 1 client < {GOAL_ONE_CLIENT_P50_MS:g} ms: "
              f"{fmt(goal['one_client_p50_ms'], '.2f')} ms {verdict('one_client_p50')}",
              f"  no booking error at {GOAL_CLIENTS} clients: {verdict('no_errors')}"]
    lines += ["", "CPU during each measured window: machine busy %, CPU ms per successful "
                  "request (whole machine), then cores used (CPU ms per request) by each part:"]
    for r in results:
        cpu = r["cpu"]
        per_request = cpu.get("cpu_ms_per_request", {})
        parts = ", ".join(f"{name} {cores:.2f} ({fmt(per_request.get(name), '.1f')})"
                          for name, cores in cpu["cores_used"].items() if cores >= 0.02)
        lines.append(f"  {r['scenario']:<8}{r['clients']:>3}: busy {cpu['machine_busy_pct']:.0f}%, "
                     f"{fmt(cpu.get('machine_cpu_ms_per_request'), '.1f')} ms/req | {parts}")
        by_database = cpu.get("postgres_cpu_ms_per_request_by_database", {})
        if r["scenario"] == "booking" and by_database:
            lines.append("      postgres (bench dbs) by database, CPU ms per request: " + ", ".join(
                f"{name} {ms:.2f}" for name, ms in by_database.items() if ms >= 0.01))
        confirmed = cpu.get("billing_confirmed")
        if r["scenario"] == "booking" and confirmed and confirmed["workers"]:
            lines.append(f"      billing: {confirmed['events']:.0f} booking.confirmed events in "
                         f"{confirmed['workers']:.0f} workers ({confirmed['events_per_worker']} "
                         "events a worker)")
    busy_elsewhere = [f"{r['scenario']} x{r['clients']} {r['cpu']['cores_used'].get(OTHERS, 0):.2f}"
                      for r in results if r["cpu"]["cores_used"].get(OTHERS, 0) >= 0.2]
    if busy_elsewhere:
        lines.append("  warning: processes outside the benchmark used >= 0.2 core during "
                     f"{', '.join(busy_elsewhere)}: figures are noisier than usual")
    problems = [r for r in results if r["errors"] or r["setup_errors"]
                or r["stop_reason"] not in ("duration",)]
    for r in problems:
        lines.append(f"  note {r['scenario']} x{r['clients']}: stopped by {r['stop_reason']}; "
                     f"errors {r['errors_by_kind']} {r['error_samples']} {r['setup_errors']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8,32",
                        help="concurrency levels, comma separated (default 1,8,32)")
    parser.add_argument("--echo-seconds", type=float, default=10.0)
    parser.add_argument("--booking-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--max-requests", type=int, default=20_000,
                        help="cap on measured requests per level")
    args = parser.parse_args(argv)
    levels = [int(part) for part in args.clients.split(",")]
    if not all(1 <= level <= 256 for level in levels):
        raise SystemExit("--clients: each level between 1 and 256")
    durations = [args.echo_seconds, args.booking_seconds, args.warmup_seconds]
    if not all(0 < value <= 120 for value in durations):
        raise SystemExit("durations between 0 and 120 s")

    started_at = datetime.now(timezone.utc)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    var_dir = RESULTS_DIR / "var"
    shutil.rmtree(var_dir, ignore_errors=True)
    network = Network(name=NAME, vhost=NAME, gateway_port=PORT + 180,
                      service_port_base=PORT + 100, smtp_port=PORT + 125,
                      mail_web_port=PORT + 126, web_port=PORT + 190, var_dir=var_dir)
    check_ports_free([PORT + 180, PORT + 125, PORT + 126, PORT + 190, PORT + 990]
                     + [PORT + 101 + i for i in range(len(SERVICES))])
    probe = CpuProbe(network)

    # Lanes: each level gets its own members and desks, so levels never collide.
    if max(levels) > LANES:
        raise SystemExit(f"--clients: at most {LANES} (one member of its own per client)")
    plan = half_days(date.today())

    def log(message):
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def terminated(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    # SIGTERM (and SIGINT, which a shell may ignore in background jobs) unwinds
    # through the finally below, so the network is always stopped.
    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)
    results, extra = [], {}
    try:
        log(f"preparing a clean network ({NAME}_* databases, vhost {NAME})")
        network.reset()
        network.prepare()
        network.start()
        start_echo(network)
        log(f"network up; seeding 1 relay, {LANES} desks, {LANES} members")
        desks, tokens = seed(network, LANES, LANES)
        lanes = list(zip(tokens, desks))
        extra["settle_after_seed"] = wait_until_settled(network)

        for level in levels:
            log(f"echo x{level}: {args.warmup_seconds:g} s warm-up + {args.echo_seconds:g} s")
            run = Level("echo", level, lambda i: EchoClient(network.amqp_uri, i), echo_op,
                        args.warmup_seconds, args.echo_seconds, args.max_requests)
            results.append(run.run(probe))

        log("warming the gateway's threads")
        extra["gateway_warmup_requests"] = warm_gateway(network, tokens, 32, 3)
        extra["settle"] = []
        for level in levels:
            # Client i books through lanes i, i + level, i + 2 level...
            shares = [lanes[i::level] for i in range(level)]
            log(f"booking x{level} ({len(shares[0])} member/desk lane(s) per client): "
                f"{args.warmup_seconds:g} s warm-up + {args.booking_seconds:g} s")
            url = f"{network.gateway_url}/v1/bookings"
            run = Level("booking", level,
                        lambda i, shares=shares: BookingClient(url, shares[i], plan),
                        booking_op, args.warmup_seconds, args.booking_seconds,
                        args.max_requests)
            results.append(run.run(probe))
            settle = wait_until_settled(network)
            settle["after"] = f"booking x{level}"
            extra["settle"].append(settle)
            log(f"background work settled in {settle['seconds']} s: {settle}")
            settle["bookings_cleared"] = clear_calendar(network)
        extra["dead_letters"] = dead_letters(network)
    finally:
        log("stopping the network")
        network.stop()

    by_key = {(r["scenario"], r["clients"]): r for r in results}
    ratios = []
    for level in levels:
        echo, booking = by_key.get(("echo", level)), by_key.get(("booking", level))
        if echo and booking:
            ratios.append({
                "clients": level,
                "throughput_ratio": round(booking["throughput_rps"] / echo["throughput_rps"], 3)
                if echo["throughput_rps"] else None,
                "booking_p99_ms": booking["p99_ms"], "echo_p99_ms": echo["p99_ms"],
            })
    at_goal = next((r for r in ratios if r["clients"] == GOAL_CLIENTS), None)
    booking_at_goal = by_key.get(("booking", GOAL_CLIENTS))
    one_client = by_key.get(("booking", 1))
    goal = {
        "clients": GOAL_CLIENTS, "min_ratio": GOAL_RATIO, "max_p99_ms": GOAL_P99_MS,
        "max_cpu_ms_per_booking": GOAL_CPU_MS_PER_BOOKING,
        "max_one_client_p50_ms": GOAL_ONE_CLIENT_P50_MS,
        "throughput_ratio": at_goal and at_goal["throughput_ratio"],
        "booking_p99_ms": at_goal and at_goal["booking_p99_ms"],
        "cpu_ms_per_booking": booking_at_goal
        and booking_at_goal["cpu"].get("machine_cpu_ms_per_request"),
        "one_client_p50_ms": one_client and one_client["p50_ms"],
    }
    checks = {
        "ratio": goal["throughput_ratio"] is not None and goal["throughput_ratio"] >= GOAL_RATIO,
        "p99": goal["booking_p99_ms"] is not None and goal["booking_p99_ms"] < GOAL_P99_MS,
        "cpu": goal["cpu_ms_per_booking"] is not None
        and goal["cpu_ms_per_booking"] <= GOAL_CPU_MS_PER_BOOKING,
        "one_client_p50": goal["one_client_p50_ms"] is not None
        and goal["one_client_p50_ms"] < GOAL_ONE_CLIENT_P50_MS,
        "no_errors": bool(booking_at_goal) and booking_at_goal["errors"] == 0,
    }
    goal["checks"] = checks
    goal["met"] = all(checks.values())
    print(report(results, ratios, goal))
    if extra.get("dead_letters"):
        print(f"  dead letters at the end: {extra['dead_letters']}")

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{stamp}.json"
    out.write_text(json.dumps({
        "started_at": started_at.isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "config": {"levels": levels, "echo_seconds": args.echo_seconds,
                   "booking_seconds": args.booking_seconds,
                   "warmup_seconds": args.warmup_seconds, "max_requests": args.max_requests,
                   "gunicorn_workers": network.gunicorn_workers,
                   "gunicorn_threads": network.gunicorn_threads,
                   "lanes": LANES, "booking_days_ahead": BOOKING_DAYS_AHEAD},
        "results": results, "ratios": ratios, "goal": goal, **extra,
    }, indent=2))
    print(f"\nfigures written to {out.relative_to(BENCH_DIR.parent)}")
    return 0 if all(r["errors"] == 0 and not r["setup_errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
