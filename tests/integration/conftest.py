"""Integration tests: services run in nameko containers inside the test process,
against the real RabbitMQ (a fresh vhost per test, from nameko's ``rabbit_config``
fixture) and real PostgreSQL databases (``relais_it_<service>``, migrated once
per session and emptied before each test).

Each service logs in to its vhost as its own broker user with its own
permissions, as in production (``common/broker_users.py``); the tests call the
services as the gateway does (``rpc``), publish events as their source does
(``publish_event``), and only observe as RabbitMQ's admin (``listen``)."""
import functools
import os
import socket
import threading
import time
import types
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.rpc import RPC_REPLY_QUEUE_TTL, ServiceProxy, get_rpc_exchange
from nameko.standalone.rpc import ServiceRpcProxy, SingleThreadedReplyListener
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common import broker_users, errors
from common.config import DEFAULT_PG
from common.db import Database, DatabaseSession, UnitOfWork
from common.events import make_envelope
from common.migrate import SERVICES, migrate
from services.booking.service import BookingService
from services.identity.models import Base as IdentityBase
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
def identity_db(databases):
    """A worker's view of identity's database, as a nameko service gets it."""
    provider = Database(IdentityBase)
    provider.container = types.SimpleNamespace(
        config={"DATABASE_URL": database_url("identity")}, service_name="identity")
    provider.setup()
    provider.outbox_has_news = lambda: None
    yield DatabaseSession(provider)
    provider.engine.dispose()


# -- the broker, with one user per component ----------------------------------------
# Users belong to the whole broker: this slot's have their own prefix.
BROKER_USER_PREFIX = f"relais_it{TEST_SLOT}-"
RABBIT_API = "http://guest:guest@127.0.0.1:15672/api"


class TestBroker:
    """This test's vhost, where every component's user has its permissions."""

    def __init__(self, rabbit_config):
        self.admin_uri, self.vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
        self.user_prefix = BROKER_USER_PREFIX

    def user_name(self, component):
        return broker_users.user_name(component, self.user_prefix)

    def uri(self, component):
        return broker_users.with_user(self.admin_uri, self.user_name(component),
                                      broker_users.development_password(component))

    def config(self, component):
        """A nameko config logged in as ``component``."""
        return {"AMQP_URI": self.uri(component), "BROKER_USER_PREFIX": self.user_prefix}


@pytest.fixture(scope="session")
def broker_user_api():
    api = broker_users.ManagementApi(RABBIT_API, auth=None)
    api.put_users(broker_users.development_passwords(), BROKER_USER_PREFIX)
    return api


@pytest.fixture
def broker(rabbit_config, broker_user_api):
    broker_user_api.declare_exchanges(rabbit_config["vhost"])
    for component in broker_users.COMPONENTS:
        broker_user_api.grant(rabbit_config["vhost"], component, BROKER_USER_PREFIX)
    return TestBroker(rabbit_config)


class ComponentReplyListener(SingleThreadedReplyListener):
    """nameko's reply listener, binding as ``component`` may: the gateway's
    reply key is ``gateway-<uuid>``, a service's a bare uuid; the RPC exchange
    is bound to, never declared (common/rpc.py)."""

    def __init__(self, component, timeout=None):
        self.component = component
        super().__init__(timeout=timeout)

    def setup(self):
        reply_uuid = uuid.uuid4()
        self.routing_key = f"gateway-{reply_uuid}" if self.component == "gateway" \
            else str(reply_uuid)
        exchange = get_rpc_exchange(self.container.config)
        exchange.no_declare = True
        self.queue = Queue(f"rpc.reply-{self.component}-{reply_uuid}", exchange=exchange,
                           routing_key=self.routing_key,
                           queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL})
        self.queue_consumer.register_provider(self)


class ComponentRpcProxy(ServiceRpcProxy):
    """A nameko RPC proxy that calls as ``component`` does: logged in as its
    broker user (``config`` from ``broker.config(component)``), its reply queue
    named as that component's, ``user_id`` on every request."""

    def __init__(self, service_name, config, component="gateway", **kwargs):
        super().__init__(service_name, config, reply_listener_cls=functools.partial(
            ComponentReplyListener, component), **kwargs)
        self._proxy = ServiceProxy(self._worker_ctx, service_name, self._reply_listener,
                                   user_id=broker_users.user_id_of(config["AMQP_URI"]))


@pytest.fixture
def config_for(broker):
    def make(service, **overrides):
        config = {
            **broker.config(service),
            "DECLARE_EVENT_EXCHANGES": False,
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
def rpc(broker):
    """rpc("booking") -> a nameko RPC proxy to that service, calling as the
    gateway; rpc("billing", as_component="booking") calls as booking does."""
    proxies = []

    def proxy(service, as_component="gateway"):
        context = ComponentRpcProxy(service, broker.config(as_component), as_component,
                                    timeout=10)
        proxies.append(context)
        return context.start()

    yield proxy
    for context in proxies:
        context.stop()


@pytest.fixture
def publish_event(broker):
    """Publish an event as its source service's outbox relay would (its broker user)."""
    def publish(source, event_type, data, envelope=None):
        envelope = envelope or make_envelope(source, event_type, data)
        uri = broker.uri(source)
        with Connection(uri) as connection:
            producer = connection.Producer()
            producer.publish(envelope, exchange=Exchange(f"{source}.events", type="topic",
                                                         durable=True),
                             routing_key=event_type, serializer="json",
                             user_id=broker_users.user_id_of(uri), declare=[
                                 Exchange(f"{source}.events", type="topic", durable=True)])
        return envelope
    return publish


@pytest.fixture
def smtp_server():
    """smtp_server(handler, **options) -> the port of a real SMTP server
    (aiosmtpd) on loopback calling ``handler``; stopped after the test."""
    from aiosmtpd.controller import Controller
    controllers = []

    def start(handler, **options):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


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


def second_waits_for_first(engine, service, metadata, first, second, seconds=10):
    """A race made deterministic: ``first(uow)`` runs in a transaction kept
    open while ``second(uow)`` runs in another (its own thread), until that
    one waits for a lock (or is over, when nothing serialises them); then
    the first commits. Returns the refusal's code the second raised, or None."""
    refusals = []

    def the_second():
        try:
            with unit_of_work(engine, service, metadata) as uow:
                second(uow)
        except errors.RelaisError as refusal:
            refusals.append(refusal.code)
    with unit_of_work(engine, service, metadata) as uow:
        first(uow)
        other = threading.Thread(target=the_second)
        other.start()
        deadline = time.monotonic() + seconds
        while other.is_alive() and time.monotonic() < deadline and not rows(
                engine, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"):
            time.sleep(0.05)
    other.join()
    return refusals[0] if refusals else None


class unit_of_work:
    """A service's unit of work outside nameko on the test database, committed
    on exit (rolled back on an error): a use case run with the clock, or the
    moment, the test chooses."""

    def __init__(self, engine, service, metadata):
        self.session = Session(engine)
        self.uow = UnitOfWork(self.session, service, metadata)

    def __enter__(self):
        return self.uow

    def __exit__(self, exc_type, *rest):
        if exc_type is None:
            self.session.commit()
        else:
            self.session.rollback()
        self.session.close()


@pytest.fixture
def booking(start_service, rpc):
    """The booking service running, and an RPC proxy to it."""
    start_service(BookingService)
    return rpc("booking")
