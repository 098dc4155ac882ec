"""A bounded soak: two replicas of everything, killed at random, and nothing
lost or doubled.

    RELAIS_TEST_SLOT=N .venv/bin/python -m bench.soak --bookings 1000 --seed 1

The whole network (``devtools.network``, as processes) runs with TWO processes
of each service (identity, booking, billing, notify) and two gateways (two
gunicorn instances on two ports). Client threads book desks over HTTP with an
Idempotency-Key, each attempt through either gateway, and retry 502/503/504
and connection errors with the same key, as a real client does (the retry
loop is devtools/api_client.py's ``book``, the resilience test's too); some bookings are then
cancelled. Meanwhile a chaos thread ``kill -9``s a random replica (its whole
process group) every few seconds and restarts it after a short pause; it
waits until the restarted one is ready before the next kill, so one replica
of each component is always up (as a rolling disruption budget would allow).

At the end it waits for the background work to settle and checks, printing
OK/FAIL for each and exiting 1 if any fails: no two active bookings of a
space (or of a member) overlap; every booking a client was told about exists,
and no other; each booking has exactly one usage line; each booking.confirmed
and booking.cancelled event reached billing and notify and gave exactly one
mail (by its Message-ID); no mail twice; no outbox row unpublished; no event
left queued; every dead-letter queue empty; every replica ready.

Its own databases ``relais_soak<slot>_*``, vhost ``relais_soak<slot>`` on the
shared broker (classic queues) and ports 28000 + 100 x slot + 40..54 (beside
the e2e and resilience tests' ranges). Logs: ``bench/results/soak/log/``.
"""
import argparse
import os
import random
import shutil
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from bench.e2e_booking import dead_letters, wait_until_settled
from common.migrate import SERVICES
from devtools.api_client import Client, book, new_member, relay_desks_and_company
from devtools.dates import open_days
from devtools.network import Network
from devtools.smtp_sink import read_messages

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "soak"
ACTIVE = "('confirmed', 'checked_in', 'completed')"   # services/booking/models.py


class Stopped(Exception):
    """The soak is being stopped (Ctrl-C, SIGTERM): client threads give up."""


class EitherGateway:
    """A member's client that sends each attempt through one of the two
    gateways at random, so a retry after a dead gateway finds the other."""

    def __init__(self, clients, rng, stop):
        self.clients, self.rng, self.stop = clients, rng, stop

    def post(self, path, **kwargs):
        if self.stop.is_set():
            raise Stopped()
        return self.rng.choice(self.clients).post(path, **kwargs)


# -- the network and its replicas ------------------------------------------------

def soak_network(slot):
    base = 28000 + 100 * slot + 40
    return Network(
        name=f"relais_soak{slot}", vhost=f"relais_soak{slot}", service_port_base=base,
        gateway_port=base + 10, web_port=base + 12, smtp_port=base + 13,
        mail_web_port=base + 14, var_dir=RESULTS_DIR,
        admin_email="admin@soak.example", admin_password="soak-admin-password",
        gunicorn_workers=2, gunicorn_threads=4,
        # the resilience test's settings, on classic queues (the shared broker)
        extra_env={"RELAIS_RETRY_DELAYS_MS": "1000", "RELAIS_RPC_TIMEOUT_SECONDS": "5",
                   "RELAIS_DAILY_MAILS": "0",
                   "RELAIS_LIMITS_PREFIX": f"relais:soak{slot}:{uuid.uuid4().hex}:"})


class Replicas:
    """The killable processes: ``booking``, ``booking-2``, ..., ``gateway``,
    ``gateway-2``. The first of each is the one ``Network.start`` starts."""

    def __init__(self, network):
        self.network = network

    def names(self):
        return [name for component in (*SERVICES, "gateway")
                for name in (component, f"{component}-2")]

    def start_second_ones(self):
        for name in self.names():
            if name.endswith("-2"):
                self.start(name)

    def start(self, name):
        component = name.removesuffix("-2")
        if component == "gateway":
            self.network.start_gateway(name, self.http_port(name))
        else:
            self.network.start_service(component, name, self.http_port(name))

    def http_port(self, name):
        """Gateways on gateway_port and the next one; services' second
        replicas on the four ports after the first ones'."""
        component, second = name.removesuffix("-2"), name.endswith("-2")
        if component == "gateway":
            return self.network.gateway_port + second
        return self.network.service_port(component) + 4 * second

    def ready(self, name):
        try:
            return requests.get(f"http://127.0.0.1:{self.http_port(name)}/ready",
                                timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def kill(self, name):
        """``kill -9`` the process group: gunicorn's workers die with their master."""
        process = self.network.processes[name]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def restart(self, name):
        # keep the killed process's log: Network.spawn starts a new one
        log = self.network.var_dir / "log" / f"{name}.log"
        with open(log.with_suffix(".killed.log"), "ab") as kept:
            kept.write(log.read_bytes() + f"\n--- killed at {time.strftime('%H:%M:%S')}\n".encode())
        self.start(name)


def chaos(replicas, rng, stop, every, pause, kills, log):
    """Kill a random replica every ``every`` s (on average), restart it after
    ``pause`` s, and wait until it is ready before choosing the next one.
    Replicas are killed in rounds, each round in a random order, so even a
    short soak spreads its kills over every component."""
    victims = []
    while not stop.wait(rng.uniform(every / 2, every * 3 / 2)):
        if not victims:
            victims = rng.sample(replicas.names(), len(replicas.names()))
        name = victims.pop()
        replicas.kill(name)
        kills[name.removesuffix("-2")] += 1
        log(f"chaos: killed {name}")
        stop.wait(rng.uniform(pause / 2, pause * 3 / 2))
        replicas.restart(name)
        deadline = time.monotonic() + 120
        while not replicas.ready(name) and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.5)


# -- what the clients do ------------------------------------------------------------

def seed(network, people, gateways, rng, stop):
    """One relay, ``people`` desks, one company with ``people`` members logged
    in (each member's token shared by one client per gateway)."""
    admin = Client(network.gateway_url).login(network.admin_email, network.admin_password)
    desks, company_id = relay_desks_and_company(admin, people)
    members = []
    for _ in range(people):
        _, client = new_member(admin, network, company_id, "mutuelle.example")
        token = client.tokens["access_token"]
        members.append(EitherGateway([Client(url).bearer(token) for url in gateways], rng, stop))
    return desks, members


def plan(bookings, rng):
    """(member, request, cancel afterwards?) for each booking, and the number
    of members and desks. Members, desks, days and half-days are drawn at
    random over about twice as many places as requests, so some requests are
    refused (the desk or the member is taken): the no-double-booking rules
    work under the kills. Days stay within booking's 90-day horizon."""
    people = max(30, -(-bookings // 50))
    days = open_days(min(50, max(4, -(-bookings // people))))
    return people, [(rng.randrange(people),
                     {"space_id": rng.randrange(people), "date": rng.choice(days),
                      "slot": rng.choice(("morning", "afternoon"))},
                     rng.random() < 0.1) for _ in range(bookings)]


def book_and_maybe_cancel(member, request, key, cancel, think):
    """(status, body, tries, cancelled): the booking, then perhaps its
    cancellation, retried the same way with a key of its own. ``think``
    seconds first, as a person would: the bookings then span many kills."""
    time.sleep(think)
    status, body, tries = book(member, request, key)
    if status != 201 or not cancel:
        return status, body, tries, False
    cancel_status, cancel_body, cancel_tries = book(
        member, {}, f"{key}-cancel", path=f"/v1/bookings/{body['id']}/cancel")
    # a retried cancellation may find the booking cancelled by its first
    # attempt, whose answer was lost
    if not (cancel_status == 200 or (cancel_status == 409 and cancel_tries > 1)):
        raise RuntimeError(f"cancelling {body['id']}: {cancel_status} {cancel_body}")
    return status, body, tries + cancel_tries - 1, True


def drive(requests_to_make, desks, members, clients, think):
    """Make the bookings from ``clients`` threads; their answers."""
    run = uuid.uuid4().hex[:8]
    pool = ThreadPoolExecutor(clients)
    futures = [pool.submit(book_and_maybe_cancel, members[member],
                           dict(request, space_id=desks[request["space_id"]]),
                           f"soak-{run}-{index}", cancel, think)
               for index, (member, request, cancel) in enumerate(requests_to_make)]
    try:
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# -- the checks -----------------------------------------------------------------------

def query(network, service, sql):
    engine = create_engine(network.database_url(service))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()


def overlaps(network, column):
    """Pairs of active bookings of one space (or member) whose times overlap."""
    return query(network, "booking", f"""
        SELECT a.id, b.id FROM bookings a JOIN bookings b
          ON a.{column} = b.{column} AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
         WHERE a.status IN {ACTIVE} AND b.status IN {ACTIVE}""")


def booking_events(network):
    """{event_id: (type, booking_id)} of booking's outbox, confirmed and cancelled."""
    return {str(event_id): (kind, booking_id) for event_id, kind, booking_id in query(
        network, "booking", "SELECT event_id, event_type, envelope->'data'->>'booking_id' "
        "FROM outbox WHERE event_type IN ('booking.confirmed', 'booking.cancelled')")}


def mails_by_event(network, expected_mails):
    """Wait (up to 3 min) until every expected Message-ID is in the sink, then
    5 s more so that a late duplicate would show; every mail's Message-ID."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ids = {m["message_id"] for m in read_messages(network.maildir)}
        if expected_mails <= ids:
            break
        time.sleep(1)
    time.sleep(5)
    return Counter(m["message_id"] for m in read_messages(network.maildir))


def check(network, replicas, answers):
    """[(name, ok, detail)] of every end check, and how many mails were sent twice."""
    settled = wait_until_settled(network, timeout=300)
    checks = [("background work settled (outboxes, event queues)", settled["settled"],
               f"{settled['seconds']} s" if settled["settled"] else str(settled))]
    space_pairs, member_pairs = overlaps(network, "space_id"), overlaps(network, "member_id")
    checks.append(("no double booking of a space", not space_pairs, f"{len(space_pairs)} pairs"))
    checks.append(("no double booking of a member", not member_pairs,
                   f"{len(member_pairs)} pairs"))

    told = {body["id"] for status, body, _, _ in answers if status == 201}
    stored = {str(row[0]) for row in query(network, "booking", "SELECT id FROM bookings")}
    checks.append(("bookings stored = bookings answered 201 (one per key)", told == stored,
                   f"{len(stored)} stored, {len(told)} answered; "
                   f"{len(stored - told)} unknown, {len(told - stored)} missing"))
    lines = Counter(str(row[0]) for row in query(
        network, "billing", "SELECT booking_id FROM usage_lines WHERE booking_id IS NOT NULL"))
    checks.append(("one usage line per booking, none doubled",
                   set(lines) == stored and set(lines.values()) <= {1},
                   f"{sum(lines.values())} lines for {len(lines)} bookings; "
                   f"{len(stored - set(lines))} without, "
                   f"{sum(1 for n in lines.values() if n > 1)} doubled"))

    events = booking_events(network)
    for consumer in ("billing", "notify"):
        handled = {str(row[0]) for row in query(network, consumer, "SELECT event_id FROM inbox")}
        lost = set(events) - handled
        checks.append((f"{consumer} handled every booking.confirmed/cancelled event",
                       not lost, f"{len(events)} events, {len(lost)} not handled"))
    confirmed = {b for kind, b in events.values() if kind == "booking.confirmed"}
    checks.append(("one booking.confirmed event per booking", confirmed == stored and
                   sum(kind == "booking.confirmed" for kind, _ in events.values()) == len(stored),
                   f"{len(confirmed)} booked in events, {len(stored)} stored"))
    expected = {f"<{event_id}@relais-des-possibles>" for event_id in events}
    mails = mails_by_event(network, expected)
    doubled = [mid for mid, n in mails.items() if n > 1]
    checks.append(("one mail per booking.confirmed/cancelled event (Message-ID)",
                   expected <= set(mails), f"{len(expected)} expected, "
                   f"{len(expected - set(mails))} missing"))
    checks.append(("no mail sent twice", not doubled,
                   f"{sum(mails.values())} mails, {len(doubled)} doubled"))

    unpublished = {service: query(network, service, "SELECT count(*) FROM outbox "
                                  "WHERE published_at IS NULL")[0][0] for service in SERVICES}
    checks.append(("no outbox row unpublished", not any(unpublished.values()), str(unpublished)))
    dead = dead_letters(network)
    checks.append(("dead-letter queues empty", not dead, str(dead) if dead else "none"))
    unready = [name for name in replicas.names() if not wait_ready(replicas, name)]
    checks.append(("every replica ready (/ready)", not unready,
                   f"unready: {unready}" if unready else f"{len(replicas.names())} of "
                   f"{len(replicas.names())}"))
    return checks, len(doubled)


def wait_ready(replicas, name, timeout=60):
    deadline = time.monotonic() + timeout
    while not replicas.ready(name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


# -- the run ----------------------------------------------------------------------------

def soak(bookings, seed_value, clients=6, think=0.5, kill_every=3.0, pause=2.0, slot=None,
         log=print):
    """Run the soak; returns its figures (a dict) with ``checks``."""
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0")) if slot is None else slot
    rng = random.Random(seed_value)
    shutil.rmtree(RESULTS_DIR, ignore_errors=True)
    network = soak_network(slot)
    replicas = Replicas(network)
    gateways = [f"http://127.0.0.1:{replicas.http_port(name)}" for name in ("gateway", "gateway-2")]
    stop, kills = threading.Event(), Counter()
    chaos_thread = threading.Thread(target=chaos, daemon=True, args=(
        replicas, random.Random(seed_value + 1), stop, kill_every, pause, kills, log))
    try:
        log(f"preparing {network.name}_* databases and vhost {network.vhost}")
        network.reset()
        network.prepare()
        network.start(ready_timeout=300)
        replicas.start_second_ones()
        for name in replicas.names():
            if not wait_ready(replicas, name, timeout=180):
                raise RuntimeError(f"{name} not ready; see {RESULTS_DIR / 'log'}")
        people, requests_to_make = plan(bookings, rng)
        desks, members = seed(network, people, gateways, rng, stop)
        log(f"two replicas of everything ready; seeded 1 relay, {people} desks, {people} "
            f"members; {bookings} bookings from {clients} threads while the chaos kills")
        started, load_at_start = time.monotonic(), os.getloadavg()
        chaos_thread.start()
        answers = drive(requests_to_make, desks, members, clients, think)
        load_at_end = os.getloadavg()
        stop.set()
        chaos_thread.join()
        elapsed = time.monotonic() - started
        log(f"{len(answers)} answered in {elapsed:.0f} s; checking")
        checks, mails_sent_twice = check(network, replicas, answers)
    finally:
        stop.set()
        if chaos_thread.is_alive():
            chaos_thread.join(timeout=180)   # it may be restarting a replica
        log("stopping the network")
        network.stop()
    statuses = Counter(status for status, _, _, _ in answers)
    return {
        "bookings": bookings, "seed": seed_value, "clients": clients, "think_s": think,
        "confirmed": statuses[201], "refused": sum(n for s, n in statuses.items() if s != 201),
        "statuses": dict(statuses), "cancelled": sum(c for _, _, _, c in answers),
        "retried_requests": sum(tries > 1 for _, _, tries, _ in answers),
        "retries": sum(tries - 1 for _, _, tries, _ in answers),
        "kills": dict(kills), "elapsed_s": round(elapsed, 1),
        "requests_per_s": round(len(answers) / elapsed, 1), "checks": checks,
        "mails_sent_twice": mails_sent_twice,
        # the machine is shared: its load says how much the figures are worth
        "load_average": (load_at_start, load_at_end),
    }


def report(figures):
    rows = [("bookings attempted", figures["bookings"]),
            ("confirmed (201)", figures["confirmed"]),
            ("refused", f"{figures['refused']} {figures['statuses']}"),
            ("cancelled afterwards", figures["cancelled"]),
            ("requests retried / retries", f"{figures['retried_requests']} / {figures['retries']}"),
            ("client threads, think time", f"{figures['clients']}, {figures['think_s']} s"),
            ("kills (kill -9, restarted)", f"{sum(figures['kills'].values())} {figures['kills']}"),
            ("elapsed (bookings)", f"{figures['elapsed_s']} s"),
            ("throughput", f"{figures['requests_per_s']} bookings/s answered"),
            ("load average 1/5/15 min", "at the start " + ", then at the end ".join(
                " ".join(f"{x:.1f}" for x in load) for load in figures["load_average"]))]
    lines = [f"{name:<28} {value}" for name, value in rows]
    lines += [f"{'OK  ' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in figures["checks"]]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    parser.add_argument("--think", type=float, default=0.5,
                        help="seconds each client waits before a booking (default 0.5)")
    parser.add_argument("--kill-every", type=float, default=3.0,
                        help="seconds between kills, on average (default 3)")
    parser.add_argument("--pause", type=float, default=2.0,
                        help="seconds a killed replica stays down, on average (default 2)")
    args = parser.parse_args(argv)

    def terminated(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    # SIGTERM and SIGINT unwind through soak()'s finally: the network is stopped.
    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)

    def log(message):
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    figures = soak(args.bookings, args.seed, args.clients, args.think, args.kill_every,
                   args.pause, log=log)
    print(f"\n$ python -m bench.soak --bookings {args.bookings} --seed {args.seed}\n"
          + report(figures))
    return 0 if all(ok for _, ok, _ in figures["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
