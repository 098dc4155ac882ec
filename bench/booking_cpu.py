"""CPU of booking's `book` and of billing's `booking.confirmed` consumer, in-process.

No broker, no nameko: the RPC's body (`BookingService.book_once`: caller and
payload loaded, idempotency, `bookings.book`, the reply dumped, the commit with
its outbox row) and the event handler's body (`on_booking_confirmed`: event
loaded, inbox mark, usage line, commit) run in a loop in this process against
copies of the databases a `bench.e2e_booking` run leaves behind (one relay, 64
desks, 64 members, a rate card). Figures per call: this process's CPU
(`time.process_time`) and the CPU the database's PostgreSQL backends used
(from `/proc`), both robust to other load far more than the end-to-end run.

    .venv/bin/python -m bench.e2e_booking                    # once, leaves relais_bench<N>_*
    .venv/bin/python -m bench.booking_cpu --rounds 3 --calls 500

Each round starts from the same state: bookings (with their idempotency and
outbox rows) deleted, then the same (member, desk, half-day) requests; billing
then consumes the `booking.confirmed` events of the last booking round, its
lines and inbox rows deleted before each round, in batches of `--batch`
events a call (1 by default; what its batch consumer hands it under load), its
figures per event. To compare two versions of the code, run it alternately
from both checkouts (`--copy` only on the first).
"""
import argparse
import os
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from sqlalchemy import create_engine, text

from common.config import DEFAULT_PG
from common.db import DatabaseSession, make_engine, ping_after_idle

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
SOURCE = f"relais_bench{SLOT or ''}"  # what bench.e2e_booking leaves behind
COPY = f"relais_bench{SLOT or ''}_cpu"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def copy_databases():
    admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for service in ("booking", "billing"):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{COPY}_{service}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{COPY}_{service}" TEMPLATE "{SOURCE}_{service}"'))
    admin.dispose()


def backends_cpu(conn, database):
    """CPU seconds used so far by the backends connected to ``database``."""
    seconds = 0
    for pid in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                            {"name": database}).scalars():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        seconds += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def worker_db(database, service, base):
    """What a nameko worker sees as ``self.db``, on the engine Database makes."""
    engine = ping_after_idle(make_engine(f"{DEFAULT_PG}/{database}", pool_size=12,
                                         max_overflow=4, pool_recycle=1800))
    provider = SimpleNamespace(engine=engine, metadata=base.metadata,
                               container=SimpleNamespace(service_name=service),
                               outbox_has_news=lambda: None)
    return lambda: DatabaseSession(provider)


def measure(label, admin, database, calls, call, items=None, item="call"):
    """Run ``call(*arguments)`` for each of ``calls``; print the CPU per
    ``item`` (``items`` of them: the calls, or the events of their batches)."""
    cpu_db, cpu, wall = backends_cpu(admin, database), time.process_time(), time.perf_counter()
    for arguments in calls:
        call(*arguments)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu_db = backends_cpu(admin, database) - cpu_db
    n = items or len(calls)
    print(f"{label}: {1000 * cpu / n:.2f} ms CPU here, {1000 * cpu_db / n:.2f} ms CPU in "
          f"PostgreSQL, {1000 * wall / n:.2f} ms wall, per {item} ({n} {item}s in "
          f"{len(calls)} calls)", flush=True)


def bookings(rounds, n):
    from services.booking.models import Base
    from services.booking.service import BookingService
    database = f"{COPY}_booking"
    new_db = worker_db(database, "booking", Base)
    admin = make_engine(f"{DEFAULT_PG}/{database}", isolation_level="AUTOCOMMIT").connect()
    members = admin.execute(text("SELECT CAST(user_id AS text), CAST(organisation_id AS text) "
                                 "FROM members ORDER BY user_id")).all()
    desks = admin.execute(text("SELECT CAST(id AS text) FROM spaces WHERE kind = 'desk' "
                               "ORDER BY name")).scalars().all()
    lanes = min(len(members), len(desks))
    first_day = date.today() + timedelta(days=2)
    calls = []
    for number in range(n):
        lane, half_day = number % lanes, number // lanes
        user_id, organisation_id = members[lane]
        calls.append(({"user_id": user_id, "organisation_id": organisation_id,
                       "roles": ["member"]},
                      {"space_id": desks[lane],
                       "date": (first_day + timedelta(days=half_day // 2)).isoformat(),
                       "slot": ("morning", "afternoon")[half_day % 2]}))

    def book(caller, payload):
        worker = SimpleNamespace(db=new_db(), quote=None, home_from_identity=None,
                                 name="booking")
        BookingService.book_once(worker, caller=caller, payload=payload,
                                 idempotency_key=str(uuid.uuid4()))
        worker.db.close()
    for number in range(rounds):
        admin.execute(text("DELETE FROM bookings; DELETE FROM idempotency_keys; "
                           "DELETE FROM outbox"))
        measure(f"booking.book, round {number + 1}", admin, database, calls, book)


def usage_lines(rounds, n, batch):
    from services.billing.models import Base
    from services.billing.service import BillingService
    from services.billing.settings import load_settings
    database = f"{COPY}_billing"
    new_db = worker_db(database, "billing", Base)
    admin = make_engine(f"{DEFAULT_PG}/{database}", isolation_level="AUTOCOMMIT").connect()
    with make_engine(f"{DEFAULT_PG}/{COPY}_booking").connect() as booking:
        envelopes = booking.execute(text(
            "SELECT envelope FROM outbox WHERE event_type = 'booking.confirmed' ORDER BY id "
            "LIMIT :n"), {"n": n}).scalars().all()
    booking_ids = [envelope["data"]["booking_id"] for envelope in envelopes]
    event_ids = [envelope["event_id"] for envelope in envelopes]
    settings = load_settings({})

    def consume(envelopes):
        worker = SimpleNamespace(db=new_db(), name="billing", settings=settings,
                                 clock=lambda: datetime.now(timezone.utc))
        BillingService.on_booking_confirmed(worker, envelopes)  # a batch, as a worker gets it
        worker.db.close()
    for number in range(rounds):
        admin.execute(text("DELETE FROM usage_lines WHERE booking_id = ANY(CAST(:ids AS uuid[]))"),
                      {"ids": booking_ids})
        admin.execute(text("DELETE FROM inbox WHERE event_id = ANY(CAST(:ids AS uuid[]))"),
                      {"ids": event_ids})
        measure(f"billing.on_booking_confirmed in batches of {batch}, round {number + 1}",
                admin, database,
                [(envelopes[start:start + batch],) for start in range(0, len(envelopes), batch)],
                consume, items=len(envelopes), item="event")
    lines = admin.execute(text("SELECT count(*) FROM usage_lines WHERE booking_id = "
                               "ANY(CAST(:ids AS uuid[]))"), {"ids": booking_ids}).scalar()
    assert lines == len(envelopes), (lines, len(envelopes))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1,
                        help="booking.confirmed events handed to billing's consumer at once")
    parser.add_argument("--copy", action="store_true",
                        help=f"copy {SOURCE}_booking/_billing to {COPY}_* first")
    args = parser.parse_args(argv)
    if args.copy:
        copy_databases()
    bookings(args.rounds, args.calls)
    usage_lines(args.rounds, args.calls, args.batch)


if __name__ == "__main__":
    main()
