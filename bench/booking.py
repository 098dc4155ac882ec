"""Booking benchmark (prints figures; not a test).

    .venv/bin/python -m bench.booking [--relays 1000] [--bookings 1000000] [--searches 500]

1. A throw-away network (its own databases and RabbitMQ vhost) is migrated,
   then filled in SQL with generate_series: N relays across metropolitan France,
   20 spaces each (18 desks, 2 rooms), and M existing bookings spread over the
   days around the benchmark day (no RPC per row).
2. Availability search for a random point and the benchmark day (desk,
   morning, 30 km): latency p50/p99 in the service code against PostgreSQL,
   then through the HTTP gateway.
3. Booking throughput through the gateway ("any desk at relay X", 32 clients).
4. Contention: 64 clients race for one slot at a relay with 10 desks; counts
   201s and 409s, and checks in PostgreSQL that no desk holds two bookings.
"""
import argparse
import os
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from devtools.network import Network
from gateway.rpc import RpcClient
from services.booking import availability
from services.booking.public_holidays import holiday_name
from contracts.rpc.booking import AvailabilityQuerySchema

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
PASSWORD = "bench-password-123"
FRANCE = (43.3, 50.8, -1.2, 7.5)  # lat min, lat max, lon min, lon max


def open_day(days_ahead):
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5 or holiday_name(day, "23"):
        day += timedelta(days=1)
    return day


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(label, seconds):
    ms = [s * 1000 for s in seconds]
    print(f"  {label}: n={len(ms)} p50={percentile(ms, 50):.1f} ms  p99={percentile(ms, 99):.1f} ms"
          f"  mean={statistics.fmean(ms):.1f} ms")


def generate(engine, relays, bookings, bench_day):
    """Relays, spaces and bookings in SQL. Each space gets one half-day a day
    on consecutive days around the benchmark day, morning or afternoon by
    turns (the phase differs per space), so the searched morning is taken for
    about half the spaces."""
    per_space = max(1, bookings // (relays * 20))
    first_day = bench_day - timedelta(days=per_space // 2)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("""
            INSERT INTO relays (id, name, address, postcode, commune, department, latitude,
                                longitude, timezone, check_in_secret)
            SELECT gen_random_uuid(), 'Relais ' || n, n || ' rue du Bench', '23000', 'Bench',
                   '23', :lat0 + random() * (:lat1 - :lat0), :lon0 + random() * (:lon1 - :lon0),
                   'Europe/Paris', md5(n::text)
            FROM generate_series(1, :relays) AS n"""),
            {"relays": relays, "lat0": FRANCE[0], "lat1": FRANCE[1], "lon0": FRANCE[2],
             "lon1": FRANCE[3]})
        conn.execute(text("""
            INSERT INTO opening_hours (relay_id, weekday, morning_opens, morning_closes,
                                       afternoon_opens, afternoon_closes)
            SELECT id, d, '08:30', '12:30', '13:30', '18:00'
            FROM relays, generate_series(0, 6) AS d"""))
        conn.execute(text("""
            INSERT INTO spaces (id, relay_id, kind, name, capacity)
            SELECT gen_random_uuid(), r.id, CASE WHEN n <= 18 THEN 'desk' ELSE 'meeting_room' END,
                   'Espace ' || lpad(n::text, 2, '0'), CASE WHEN n <= 18 THEN 1 ELSE 8 END
            FROM relays r, generate_series(1, 20) AS n"""))
        # Bookings already over are completed, as booking's timer would have
        # left them: generated "confirmed", half a million of them kept the
        # timer completing them (and the outbox relay publishing) all through
        # the measurements.
        conn.execute(text("""
            INSERT INTO bookings (id, space_id, relay_id, member_id, organisation_id, date, slot,
                                  starts_at, ends_at, status, no_show_at, completed_at)
            SELECT gen_random_uuid(), s.id, s.relay_id, gen_random_uuid(), NULL, b.day, b.slot,
                   b.starts_at, b.ends_at,
                   CASE WHEN b.ends_at <= now() THEN 'completed' ELSE 'confirmed' END, NULL,
                   CASE WHEN b.ends_at <= now() THEN b.ends_at END
            FROM spaces s,
                 LATERAL (SELECT (:first_day + k)::date AS day, (k + abs(hashtext(s.id::text))) % 2 AS half
                          FROM generate_series(0, :per_space - 1) AS k) AS d,
                 LATERAL (SELECT d.day,
                                 CASE d.half WHEN 0 THEN 'morning' ELSE 'afternoon' END AS slot,
                                 CASE d.half WHEN 0 THEN time '08:30' ELSE time '13:30' END AS opens,
                                 CASE d.half WHEN 0 THEN time '12:30' ELSE time '18:00' END AS closes
                         ) AS h,
                 LATERAL (SELECT h.day, h.slot,
                                 (h.day + h.opens) AT TIME ZONE 'Europe/Paris' AS starts_at,
                                 (h.day + h.closes) AT TIME ZONE 'Europe/Paris' AS ends_at
                         ) AS b"""),
            {"first_day": first_day, "per_space": per_space})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        count = conn.execute(text("SELECT count(*) FROM bookings")).scalar()
    print(f"  generated {relays} relays, {relays * 20} spaces, {count} bookings "
          f"in {time.perf_counter() - started:.1f} s")


def random_point(rng):
    return (rng.uniform(FRANCE[0] + 0.5, FRANCE[1] - 0.5), rng.uniform(FRANCE[2] + 0.5, FRANCE[3] - 0.5))


def search_in_process(engine, bench_day, searches, rng):
    schema = AvailabilityQuerySchema()
    latencies, found = [], []
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        for _ in range(searches):
            lat, lon = random_point(rng)
            query = schema.load({"latitude": lat, "longitude": lon, "date": bench_day.isoformat(),
                                 "slot": "morning"})
            started = time.perf_counter()
            result = availability.search(session, query, now)
            latencies.append(time.perf_counter() - started)
            found.append(len(result))
            session.rollback()
    report("availability search, service code + PostgreSQL", latencies)
    print(f"  relays found per search: mean {statistics.fmean(found):.1f}")


def warm_gateway(base_url, bench_day, threads=32, seconds=3.0):
    """Searches nobody measures, from as many clients as the gateway has
    threads: each thread opens its pika connection on first use, and the
    services compile their statements on first use; measured, those first
    calls were the p99 of a network just started."""
    deadline = time.monotonic() + seconds

    def client(number):
        http, rng = requests.Session(), random.Random(number)
        while time.monotonic() < deadline:
            lat, lon = random_point(rng)
            http.get(base_url + "/v1/availability", params={
                "latitude": lat, "longitude": lon, "date": bench_day.isoformat(),
                "slot": "morning"}, timeout=10).raise_for_status()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))


def search_over_http(base_url, bench_day, searches, rng):
    warm_gateway(base_url, bench_day)
    http = requests.Session()
    latencies = []
    for _ in range(searches):
        lat, lon = random_point(rng)
        started = time.perf_counter()
        response = http.get(base_url + "/v1/availability", params={
            "latitude": lat, "longitude": lon, "date": bench_day.isoformat(), "slot": "morning"},
            timeout=10)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    report("availability search through the gateway (HTTP + RPC)", latencies)


def search_over_rpc(network, bench_day, searches, rng):
    """The same searches as the gateway's own RPC client makes them, without
    HTTP: what the gateway's HTTP side adds is the difference with the line
    above, what RabbitMQ, nameko and the reply add the difference with the
    in-process line."""
    client = RpcClient(network.amqp_uri_of("gateway"), timeout=10)
    try:
        latencies = []
        for _ in range(searches):
            lat, lon = random_point(rng)
            started = time.perf_counter()
            client.call("booking", "search_availability", query={
                "latitude": lat, "longitude": lon, "date": bench_day.isoformat(),
                "slot": "morning"})
            latencies.append(time.perf_counter() - started)
    finally:
        client.close()
    report("availability search over RPC (the gateway's client, no HTTP)", latencies)


def login(base_url, email, password):
    for attempt in range(5):  # identity may still be busy after a heavy run
        answer = requests.post(base_url + "/v1/auth/token",
                               json={"email": email, "password": password}, timeout=15)
        if answer.status_code == 200:
            break
        time.sleep(1 + attempt)
    answer.raise_for_status()
    token = answer.json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def members(base_url, admin, count, label):
    organisation = admin.post(base_url + "/v1/organisations", json={
        "kind": "individual", "name": f"Bench {label}"}, timeout=10).json()
    made = []
    for n in range(count):
        email = f"{label}-{n}-{uuid.uuid4().hex[:6]}@bench.example"
        created = admin.post(base_url + f"/v1/organisations/{organisation['id']}/users", json={
            "email": email, "full_name": f"Membre {n}", "password": PASSWORD}, timeout=30)
        assert created.status_code == 201, created.text
        made.append(email)
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda email: login(base_url, email, PASSWORD), made))


def booking_throughput(base_url, engine, clients, seconds):
    relay_ids = [row[0] for row in engine.connect().execute(text(
        "SELECT id::text FROM relays ORDER BY random() LIMIT 200"))]
    sessions = members(base_url, ADMIN_SESSION[0], clients, "throughput")
    statuses, latencies, lock = {}, [], threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number):
        http, k = sessions[number], 0
        while time.monotonic() < deadline:
            # Each client books its own days far ahead (no member overlap), anywhere,
            # skipping public holidays (the generated relays are open every weekday).
            day = date.today() + timedelta(days=30 + k // 2)
            if holiday_name(day, "23"):
                k += 2
                continue
            started = time.perf_counter()
            response = http.post(base_url + "/v1/bookings", json={
                "relay_id": random.choice(relay_ids), "date": day.isoformat(),
                "slot": ("morning", "afternoon")[k % 2]}, timeout=10)
            with lock:
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            k += 1
            if k >= 100:  # stay inside the 90-day horizon
                break

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    print(f"  {statuses.get(201, 0)} bookings in {elapsed:.1f} s with {clients} clients: "
          f"{statuses.get(201, 0) / elapsed:.0f} bookings/s  (statuses {statuses})")
    report("POST /v1/bookings (any desk)", latencies)


def contention(base_url, engine, clients, desks):
    admin = ADMIN_SESSION[0]
    relay = admin.post(base_url + "/v1/relays", json={
        "name": "Relais de la course", "address": "1 place du Bench", "postcode": "23000",
        "commune": "Guéret", "latitude": 46.17, "longitude": 1.87,
        "timezone": "Europe/Paris"}, timeout=10).json()
    for n in range(desks):
        admin.post(base_url + f"/v1/relays/{relay['id']}/spaces",
                   json={"kind": "desk", "name": f"Bureau {n + 1:02d}"}, timeout=10)
    sessions = members(base_url, admin, clients, "race")
    day = open_day(3).isoformat()
    barrier = threading.Barrier(clients)

    def race(number):
        barrier.wait()
        return sessions[number].post(base_url + "/v1/bookings", json={
            "relay_id": relay["id"], "date": day, "slot": "day"}, timeout=30).status_code

    with ThreadPoolExecutor(clients) as pool:
        codes = list(pool.map(race, range(clients)))
    held = engine.connect().execute(text(
        "SELECT count(*), count(DISTINCT space_id) FROM bookings WHERE relay_id = :relay "
        "AND status = 'confirmed'"), {"relay": relay["id"]}).one()
    print(f"  {clients} clients, {desks} desks: {codes.count(201)} × 201, "
          f"{codes.count(409)} × 409, others {[c for c in codes if c not in (201, 409)]}")
    print(f"  in PostgreSQL: {held[0]} confirmed bookings on {held[1]} distinct desks "
          f"-> double bookings: {held[0] - held[1]}")


ADMIN_SESSION = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relays", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20, help="throughput run length")
    args = parser.parse_args()
    rng = random.Random(42)
    base = 29000 + 100 * SLOT
    network = Network(
        name=f"relais_bench{SLOT or ''}", vhost=f"relais_bench{SLOT or ''}",
        gateway_port=base + 80, service_port_base=base, smtp_port=base + 25,
        mail_web_port=base + 26, var_dir=Path("var/bench"),
        admin_email="admin@bench.example", admin_password="bench-admin-password",
        gunicorn_workers=2, gunicorn_threads=16,
        extra_env={"RELAIS_MAX_WORKERS": "20", "RELAIS_LOG_LEVEL": "WARNING"})
    bench_day = open_day(7)
    print(f"== booking benchmark: {args.relays} relays, {args.bookings} bookings, "
          f"day {bench_day}")
    network.reset()
    network.prepare()
    engine = create_engine(network.database_url("booking"))
    generate(engine, args.relays, args.bookings, bench_day)
    search_in_process(engine, bench_day, args.searches, rng)
    network.start()
    try:
        ADMIN_SESSION.append(login(network.gateway_url, network.admin_email,
                                   network.admin_password))
        search_over_http(network.gateway_url, bench_day, min(args.searches, 300), rng)
        search_over_rpc(network, bench_day, min(args.searches, 300), rng)
        booking_throughput(network.gateway_url, engine, 32, args.seconds)
        contention(network.gateway_url, engine, 64, 10)
    finally:
        network.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
