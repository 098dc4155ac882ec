"""Integration tests: services run in nameko containers inside the test process,
against the real RabbitMQ (a fresh vhost per test, from nameko's ``rabbit_config``
fixture) and real PostgreSQL databases (``relais_it_<service>``, migrated once
per session and emptied before each test)."""
import os
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from common.config import DEFAULT_PG
from common.events import make_envelope
from common.migrate import SERVICES, migrate
from services.booking.service import BookingService
from tests.polling import wait_for  # noqa: F401 (the tests import it from here)

ADMIN = {"user_id": "00000000-0000-4000-8000-000000000001",
         "organisation_id": "00000000-0000-4000-8000-0000000000aa", "roles": ["network_admin"]}


def member(number, organisation_id="00000000-0000-4000-8000-0000000000bb"):
    return {"user_id": f"00000000-0000-4000-8000-{number:012d}",
            "organisation_id": organisation_id, "roles": ["member"]}


# Two checkouts can run their tests at once on one machine with different
# RELAIS_TEST_SLOT values: databases, vhosts and ports are kept apart by it.
TEST_SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
DATABASE_PREFIX = f"relais_it{TEST_SLOT or ''}"


def database_url(service):
    return f"{DEFAULT_PG}/{DATABASE_PREFIX}_{service}"


@pytest.fixture(scope="session")
def databases():
    admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for service in SERVICES:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE_PREFIX}_{service}" WITH (FORCE)'))
    admin.dispose()
    engines = {}
    for service in SERVICES:
        migrate(service, database_url(service))
        engines[service] = create_engine(database_url(service))
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(autouse=True)
def empty_tables(databases):
    for engine in databases.values():
        with engine.begin() as conn:
            tables = conn.execute(text(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).scalar()
            conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture
def config_for(rabbit_config):
    def make(service, **overrides):
        config = {
            "AMQP_URI": rabbit_config["AMQP_URI"],
            "DATABASE_URL": database_url(service),
            "WEB_SERVER_ADDRESS": "127.0.0.1:0",
            "RETRY_DELAYS_MS": [50, 100],
            "OUTBOX_INTERVAL_SECONDS": 0.05,
            "OUTBOX_MIN_GAP_SECONDS": 0,  # publish at once: tests bind listeners right after set-up
            "max_workers": 10,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": 1,
            "MAIL_FROM": "Relais <no-reply@relais.test>",
            # notify's day-before mails follow the real clock: off, unless a test
            # drives them with an injected one (test_notify_daily_mails.py)
            "DAILY_MAILS": False,
        }
        config.update(overrides)
        return config
    return make


@pytest.fixture
def start_service(container_factory, config_for):
    def start(service_cls, **overrides):
        container = container_factory(service_cls, config_for(service_cls.name, **overrides))
        container.start()
        return container
    return start


@pytest.fixture
def rpc(rabbit_config):
    """rpc("booking") -> a nameko RPC proxy to that service."""
    proxies = []

    def proxy(service):
        context = ServiceRpcProxy(service, rabbit_config, timeout=10)
        proxies.append(context)
        return context.start()

    yield proxy
    for context in proxies:
        context.stop()


@pytest.fixture
def publish_event(rabbit_config):
    """Publish an event as its source service's outbox relay would."""
    def publish(source, event_type, data, envelope=None):
        envelope = envelope or make_envelope(source, event_type, data)
        with Connection(rabbit_config["AMQP_URI"]) as connection:
            producer = connection.Producer()
            producer.publish(envelope, exchange=Exchange(f"{source}.events", type="topic",
                                                         durable=True),
                             routing_key=event_type, serializer="json", declare=[
                                 Exchange(f"{source}.events", type="topic", durable=True)])
        return envelope
    return publish


@pytest.fixture
def listen(rabbit_config):
    """listen("booking", "booking.#") -> a function returning the envelopes seen so far."""
    connections = []

    def bind(source, pattern):
        connection = Connection(rabbit_config["AMQP_URI"])
        connections.append(connection)
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        queue = Queue(f"test-listener-{source}-{len(connections)}", exchange=exchange,
                      routing_key=pattern, exclusive=True)
        queue(connection.default_channel).declare()

        def received(expected, timeout=5):
            messages = []
            deadline = time.monotonic() + timeout
            while len(messages) < expected and time.monotonic() < deadline:
                message = queue(connection.default_channel).get(no_ack=True)
                if message is None:
                    time.sleep(0.02)
                else:
                    messages.append(message.payload)
            return messages
        return received

    yield bind
    for connection in connections:
        connection.release()




def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).mappings().all()


@pytest.fixture
def booking(start_service, rpc):
    """The booking service running, and an RPC proxy to it."""
    start_service(BookingService)
    return rpc("booking")
