"""PostgreSQL cutting the services' connections mid-run (a restart, a
failover, an administrator's pg_terminate_backend): a request caught by it is
refused as ``Unavailable`` / ``database-unavailable`` (the gateway's 503 with
Retry-After), never a bug; a retry with its Idempotency-Key goes through; the
services recover without a restart, and nothing is half-written."""
import eventlet
from nameko.exceptions import RemoteError
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from common.config import DEFAULT_PG
from services.billing.service import BillingService
from services.booking.service import BookingService
from tests.integration.booking_helpers import next_open_day, relay_with
from tests.integration.conftest import DATABASE_PREFIX, database_url, member, wait_for

BOOKINGS = 40


def terminate_backends(service):
    """Cut every connection to ``service``'s database, as PostgreSQL does on a restart."""
    admin = create_engine(f"{DEFAULT_PG}/postgres", poolclass=NullPool)
    with admin.begin() as conn:
        cut = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"),
            {"name": f"{DATABASE_PREFIX}_{service}"}).scalar()
    admin.dispose()
    return cut


def count(service, sql):
    """Read with a connection of its own: the tests' pooled ones were cut too."""
    engine = create_engine(database_url(service), poolclass=NullPool)
    with engine.connect() as conn:
        found = conn.execute(text(sql)).scalar()
    engine.dispose()
    return found


def book(booking, refused, number, request):
    """Book as member ``number``, retrying with the same Idempotency-Key while
    the answer is "database unavailable" (as a client told 503 + Retry-After does)."""
    key = f"outage-{number}-{request['slot']}"
    while True:
        try:
            return booking.book(caller=member(number), payload=request, idempotency_key=key)
        except RemoteError as error:
            # only ever "try again", never an internal error
            assert error.exc_type == "Unavailable" and "'database-unavailable'" in str(error), error
            refused.append(key)
            eventlet.sleep(0.05)


def test_bookings_survive_the_database_cutting_connections(start_service, rpc, databases):
    start_service(BookingService)
    start_service(BillingService)
    booking = rpc("booking")
    _, desks = relay_with(booking, desks=BOOKINGS)
    day = next_open_day()
    cutting = True

    def cut_now_and_then():
        while cutting:
            eventlet.sleep(0.15)
            terminate_backends("booking")
            terminate_backends("billing")

    # Once before the first request, so that one is caught whatever the pace:
    # the 40 bookings can take less than the cutter's first pause (a booking is
    # ~3 ms), and then no request met a cut. A connection cut while idle in the
    # pool fails at its first use (it is pinged only after 10 s idle).
    terminate_backends("booking")
    terminate_backends("billing")
    cutter = eventlet.spawn(cut_now_and_then)
    refused = []
    try:
        made = [book(booking, refused, number, {"space_id": desk["id"], "date": day,
                                                "slot": "morning"})
                for number, desk in enumerate(desks, start=1)]
    finally:
        cutting = False
        cutter.wait()
    for engine in databases.values():
        engine.dispose()   # their pooled connections were cut as well

    assert refused, "no request was caught by a cut connection: the test proves nothing"
    assert len({b["id"] for b in made}) == BOOKINGS   # a retry never booked twice
    # Recovered without a restart: the first use of a connection cut by the
    # last round fails (and drops every older one from the pool), no more.
    after = []
    book(booking, after, 1, {"space_id": desks[0]["id"], "date": day, "slot": "afternoon"})
    assert len(after) <= 1
    # nothing half-written: each booking with its event, each event consumed once
    assert count("booking", "SELECT count(*) FROM bookings") == BOOKINGS + 1
    assert count("booking", "SELECT count(*) FROM outbox WHERE event_type = 'booking.confirmed'"
                 ) == BOOKINGS + 1
    assert wait_for(lambda: count("billing", "SELECT count(*) FROM usage_lines") == BOOKINGS + 1,
                    timeout=30)
    assert count("billing", "SELECT count(DISTINCT booking_id) FROM usage_lines") == BOOKINGS + 1
